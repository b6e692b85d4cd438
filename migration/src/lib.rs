//! The project's migrations, in order: each stands for one directory of
//! `prisma/migrations` (see [`prisma`]). Kept in the exact shape that
//! `sea-orm-cli migrate generate` edits (one `mod` line per migration and
//! the boxed list below), so that tool and `migrate new` both keep working
//! here.

pub use sea_orm_migration::prelude::*;

pub mod prisma;

mod m20261129_000001_create_user_table;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(m20261129_000001_create_user_table::Migration)]
    }
}

impl prisma::PrismaMigrator for Migrator {
    fn directories() -> Vec<prisma::Directory> {
        prisma::EMBEDDED.to_vec()
    }
}
