-- What Prisma Migrate's PostgreSQL renderer writes for wide.prisma,
-- written by hand after its rules (sql_renderer/postgres_renderer.rs and
-- sql_schema_calculator.rs of prisma-engines).

-- CreateEnum
CREATE TYPE "status" AS ENUM ('active', 'inactive');

-- CreateEnum
CREATE TYPE "Flag" AS ENUM ('A', 'B');

-- CreateTable
CREATE TABLE "accounts" (
    "id" BIGSERIAL NOT NULL,
    "code" CHAR(8) NOT NULL,
    "status" "status" NOT NULL DEFAULT 'active',
    "flags" "Flag"[] DEFAULT ARRAY['A', 'B']::"Flag"[],
    "balance" DECIMAL(65,30) NOT NULL DEFAULT 1.50,
    "ratio" DOUBLE PRECISION NOT NULL DEFAULT -1.5,
    "small" SMALLINT NOT NULL DEFAULT -5,
    "big" BIGINT NOT NULL DEFAULT 3000000000,
    "neg" BIGINT NOT NULL DEFAULT -1,
    "label" VARCHAR(40) NOT NULL DEFAULT 'it''s',
    "uid" UUID NOT NULL DEFAULT gen_random_uuid(),
    "cuid" TEXT NOT NULL,
    "born" DATE NOT NULL DEFAULT '2020-01-01 00:00:00.123 +02:00',
    "wakes" TIME(0) NOT NULL DEFAULT '2020-01-01 07:30:00 +00:00',
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT '2020-06-01 10:00:00.500 +02:30',
    "local" TIMESTAMP(3) NOT NULL DEFAULT '2020-06-01 10:00:00.500 +02:30',
    "settings" JSONB NOT NULL DEFAULT '{"b": 1, "a": [1.50, 2e2]}',
    "raw" JSON NOT NULL DEFAULT '[1, 2]',
    "blob" BYTEA NOT NULL DEFAULT '\x0102',
    "tags" TEXT[] DEFAULT ARRAY['a', 'b']::TEXT[],
    "nums" INTEGER[] DEFAULT ARRAY[1, -2]::INTEGER[],
    "scores" DOUBLE PRECISION[] DEFAULT ARRAY[1.5, 2]::DOUBLE PRECISION[],
    "empty" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "active" BOOLEAN NOT NULL DEFAULT true,
    "note" TEXT,
    "ip" INET,
    "money" MONEY,
    "updatedAt" TIMESTAMP(6) NOT NULL,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Member" (
    "tenant" INTEGER NOT NULL,
    "number" INTEGER NOT NULL,
    "account_id" BIGINT,
    "parentTenant" INTEGER,
    "parentNumber" INTEGER,

    CONSTRAINT "member_pk" PRIMARY KEY ("tenant","number")
);

-- CreateTable
CREATE TABLE "Group" (
    "id" UUID NOT NULL,

    CONSTRAINT "Group_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Tag" (
    "name" TEXT NOT NULL,

    CONSTRAINT "Tag_pkey" PRIMARY KEY ("name")
);

-- CreateTable
CREATE TABLE "Post" (
    "id" SERIAL NOT NULL,
    "authorId" INTEGER NOT NULL,

    CONSTRAINT "Post_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ThisIsAVeryLongModelNameForTestingTruncationOfConstraintNames" (
    "id" SERIAL NOT NULL,
    "anotherQuiteLongFieldNameHere" TEXT NOT NULL,
    "postIdentifierWithALongName" INTEGER NOT NULL,

    CONSTRAINT "ThisIsAVeryLongModelNameForTestingTruncationOfConstraintNa_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "_AccountToGroup" (
    "A" BIGINT NOT NULL,
    "B" UUID NOT NULL,

    CONSTRAINT "_AccountToGroup_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateTable
CREATE TABLE "_friends" (
    "A" UUID NOT NULL,
    "B" UUID NOT NULL,

    CONSTRAINT "_friends_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateTable
CREATE TABLE "_PostToTag" (
    "A" INTEGER NOT NULL,
    "B" TEXT NOT NULL,

    CONSTRAINT "_PostToTag_AB_pkey" PRIMARY KEY ("A","B")
);

-- CreateIndex
CREATE UNIQUE INDEX "account_code_uq" ON "accounts"("code");

-- CreateIndex
CREATE UNIQUE INDEX "Member_tenant_account_id_key" ON "Member"("tenant", "account_id");

-- CreateIndex
CREATE INDEX "member_number_idx" ON "Member"("number" DESC, "tenant");

-- CreateIndex
CREATE UNIQUE INDEX "ThisIsAVeryLongModelNameForTestingTruncationOfConstraintNam_key" ON "ThisIsAVeryLongModelNameForTestingTruncationOfConstraintNames"("anotherQuiteLongFieldNameHere");

-- CreateIndex
CREATE INDEX "ThisIsAVeryLongModelNameForTestingTruncationOfConstraintNam_idx" ON "ThisIsAVeryLongModelNameForTestingTruncationOfConstraintNames"("postIdentifierWithALongName", "anotherQuiteLongFieldNameHere");

-- CreateIndex
CREATE INDEX "_AccountToGroup_B_index" ON "_AccountToGroup"("B");

-- CreateIndex
CREATE INDEX "_friends_B_index" ON "_friends"("B");

-- CreateIndex
CREATE INDEX "_PostToTag_B_index" ON "_PostToTag"("B");

-- AddForeignKey
ALTER TABLE "Member" ADD CONSTRAINT "Member_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Member" ADD CONSTRAINT "member_parent_fk" FOREIGN KEY ("parentTenant", "parentNumber") REFERENCES "Member"("tenant", "number") ON DELETE NO ACTION ON UPDATE SET NULL;

-- AddForeignKey
ALTER TABLE "ThisIsAVeryLongModelNameForTestingTruncationOfConstraintNames" ADD CONSTRAINT "ThisIsAVeryLongModelNameForTestingTruncationOfConstraintNa_fkey" FOREIGN KEY ("postIdentifierWithALongName") REFERENCES "Post"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_AccountToGroup" ADD CONSTRAINT "_AccountToGroup_A_fkey" FOREIGN KEY ("A") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_AccountToGroup" ADD CONSTRAINT "_AccountToGroup_B_fkey" FOREIGN KEY ("B") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_friends" ADD CONSTRAINT "_friends_A_fkey" FOREIGN KEY ("A") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_friends" ADD CONSTRAINT "_friends_B_fkey" FOREIGN KEY ("B") REFERENCES "Group"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_PostToTag" ADD CONSTRAINT "_PostToTag_A_fkey" FOREIGN KEY ("A") REFERENCES "Post"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "_PostToTag" ADD CONSTRAINT "_PostToTag_B_fkey" FOREIGN KEY ("B") REFERENCES "Tag"("name") ON DELETE CASCADE ON UPDATE CASCADE;
