//! The `User` table, exactly as Prisma Migrate creates it for
//! `prisma/schema.prisma` (`prisma migrate dev --name init`).
//!
//! The SQL is Prisma's own, statement for statement: sea-query's typed
//! builder would make `id` an identity column and `createdAt` a
//! `timestamp(6)`, and the Lambda's Prisma Client must find the catalog
//! Prisma itself would have made (`SERIAL`, `TIMESTAMP(3)`, `User_pkey`,
//! `User_email_key`, `User_id_seq`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
-- CreateTable
CREATE TABLE "User" (
    "id" SERIAL NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");
"#;

const DOWN: &str = r#"DROP TABLE "User";"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }
}
