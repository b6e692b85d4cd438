// The Prisma CLI's configuration (Prisma 7): the schema, the migrations
// folder this workspace shares with `migrate`, and the connection. Prisma
// Migrate must use the direct endpoint, like `migrate` does: DIRECT_URL
// when set (not RDS Proxy), else DATABASE_URL.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DIRECT_URL ?? process.env.DATABASE_URL ?? "" },
});
