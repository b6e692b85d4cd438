//! `prisma/migrations/20261129000001_create_user_table`: the `User` table,
//! exactly as Prisma Migrate creates it for `prisma/schema.prisma`
//! (`prisma migrate dev --name init`): its `migration.sql` is Prisma's own,
//! byte for byte, and its `down.sql` Prisma's diff the other way.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::prisma::up(manager, self.name()).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::prisma::down(manager, self.name()).await
    }
}
