//! A test fixture, not a product: the `migrate` runner with the project's
//! migrations plus two that misbehave on request, so the integration tests
//! can drive failing and slow migrations through the real binary logic.
//!
//! - `m20261129_000002_fixture_half` creates table `Half`, then fails unless
//!   `FIXTURE_FAIL=0`;
//! - `m20261129_000003_fixture_slow` creates table `Slow`, then sleeps
//!   `FIXTURE_SLEEP` seconds (default 0) inside its transaction.

use std::process::ExitCode;

use sea_orm_migration::prelude::*;

struct Fixtures;

#[async_trait::async_trait]
impl MigratorTrait for Fixtures {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = migration::Migrator::migrations();
        all.push(Box::new(Half));
        all.push(Box::new(Slow));
        all
    }
}

struct Half;

impl MigrationName for Half {
    fn name(&self) -> &str {
        "m20261129_000002_fixture_half"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Half {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(r#"CREATE TABLE "Half" ("id" SERIAL PRIMARY KEY)"#)
            .await?;
        if std::env::var("FIXTURE_FAIL").as_deref() != Ok("0") {
            db.execute_unprepared(r#"INSERT INTO "Half" ("id") VALUES (1), (1)"#)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(r#"DROP TABLE "Half""#)
            .await?;
        Ok(())
    }
}

struct Slow;

impl MigrationName for Slow {
    fn name(&self) -> &str {
        "m20261129_000003_fixture_slow"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Slow {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(r#"CREATE TABLE "Slow" ("id" SERIAL PRIMARY KEY)"#)
            .await?;
        let secs: u32 = std::env::var("FIXTURE_SLEEP")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if secs > 0 {
            db.execute_unprepared(&format!("SELECT pg_sleep({secs})"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(r#"DROP TABLE "Slow""#)
            .await?;
        Ok(())
    }
}

fn main() -> ExitCode {
    impulse_db::main_with::<Fixtures>()
}
