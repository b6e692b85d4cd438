-- What Prisma Migrate's PostgreSQL renderer writes for types.prisma,
-- written by hand after its rules.

CREATE TYPE "E" AS ENUM ('X', 'Y');
CREATE TABLE "W" (
    "id" UUID NOT NULL DEFAULT '5F1B1C5E-0000-0000-0000-00000000000A',
    "tz" TIMETZ(3) NOT NULL DEFAULT '2020-06-01 10:00:00.250 -05:30',
    "ip" INET NOT NULL DEFAULT '10.0.0.1/32',
    "bits" BIT(3) NOT NULL DEFAULT '101',
    "vbits" VARBIT NOT NULL DEFAULT '1',
    "xml" XML NOT NULL DEFAULT '<a/>',
    "ch" CHAR(2) NOT NULL DEFAULT 'ab',
    "js" JSONB[] DEFAULT ARRAY['{"b":1,"a":2}', '[]']::JSONB[],
    "dts" TIMESTAMP(3)[] DEFAULT ARRAY['2020-01-01 00:00:00.123456700 +02:00']::TIMESTAMP(3)[],
    "decs" DECIMAL(65,30)[] DEFAULT ARRAY[1.5, 2, -1.5]::DECIMAL(65,30)[],
    "bigs" BIGINT[] DEFAULT ARRAY[-1, 3000000000]::BIGINT[],
    "blobs" BYTEA[] DEFAULT ARRAY['\x01']::BYTEA[],
    "es" "E"[] DEFAULT ARRAY[]::"E"[],
    "dflt" DECIMAL(65,30) NOT NULL DEFAULT 2.50,
    "money" MONEY NOT NULL DEFAULT 1.5,
    "f1e3" DOUBLE PRECISION NOT NULL DEFAULT 1000.0,
    "r" REAL NOT NULL DEFAULT -0.5,
    "sm" SMALLINT NOT NULL DEFAULT 0,
    "bigserial" BIGSERIAL NOT NULL,
    "oid" OID NOT NULL DEFAULT 5,
    "jb" JSONB NOT NULL DEFAULT '{"k": "v\n\u0041"}',
    "txt" TEXT NOT NULL DEFAULT 'multi
line "q" back\slash',

    CONSTRAINT "W_pkey" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "W_bigserial_key" ON "W"("bigserial");
