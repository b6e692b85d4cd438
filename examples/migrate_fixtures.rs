//! A test fixture, not a product: the `migrate` runner with the project's
//! migrations plus three that misbehave on request, so the integration
//! tests can drive failing, slow and non-transactional migrations through
//! the real binary logic. Each has a directory of its own (its SQL is a
//! comment; the work is in its Rust steps).
//!
//! - `20261129000002_fixture_half` creates table `Half`, then fails unless
//!   `FIXTURE_FAIL=0`;
//! - `20261129000003_fixture_slow` creates table `Slow`, then sleeps
//!   `FIXTURE_SLEEP` seconds (default 0) inside its transaction;
//! - `20261129000004_fixture_concurrent_index` runs outside a transaction:
//!   with `FIXTURE_INDEX=1` it builds `"Big_v_idx"` on table `"Big"` (which
//!   the test creates) with `CREATE INDEX CONCURRENTLY`; otherwise nothing.
//!
//! With `FIXTURE_LIVE=1`, two more whose work is in their SQL, as Prisma
//! writes it (`tests/fixtures/live/`), for the live-database tests:
//!
//! - `20261129000005_fixture_user_nickname` adds a column and an index to
//!   `"User"`, in one transaction;
//! - `20261129000006_fixture_big_index_concurrently` builds
//!   `"Big_v_live_idx"` on `"Big"` (which the test creates) with `CREATE
//!   INDEX CONCURRENTLY`: outside a transaction, because its file says so.

use std::process::ExitCode;

use migration::prisma::{Directory, PrismaMigrator};
use sea_orm_migration::prelude::*;

struct Fixtures;

#[async_trait::async_trait]
impl MigratorTrait for Fixtures {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        let mut all = migration::Migrator::migrations();
        all.push(Box::new(Half));
        all.push(Box::new(Slow));
        all.push(Box::new(ConcurrentIndex));
        if live() {
            all.push(Box::new(SqlOnly(NICKNAME.0)));
            all.push(Box::new(SqlOnly(BIG_INDEX.0)));
        }
        all
    }
}

/// `FIXTURE_LIVE=1`: the migrations of `tests/fixtures/live/` too.
fn live() -> bool {
    std::env::var("FIXTURE_LIVE").as_deref() == Ok("1")
}

/// A live fixture: its sea-orm name, and its directory.
type Live = (&'static str, Directory);

const NICKNAME: Live = (
    "m20261129_000005_fixture_user_nickname",
    Directory {
        name: "20261129000005_fixture_user_nickname",
        migration_sql: include_str!(
            "../tests/fixtures/live/20261129000005_fixture_user_nickname/migration.sql"
        ),
        down_sql: Some(include_str!(
            "../tests/fixtures/live/20261129000005_fixture_user_nickname/down.sql"
        )),
    },
);

const BIG_INDEX: Live = (
    "m20261129_000006_fixture_big_index_concurrently",
    Directory {
        name: "20261129000006_fixture_big_index_concurrently",
        migration_sql: include_str!(
            "../tests/fixtures/live/20261129000006_fixture_big_index_concurrently/migration.sql"
        ),
        down_sql: Some(include_str!(
            "../tests/fixtures/live/20261129000006_fixture_big_index_concurrently/down.sql"
        )),
    },
);

impl PrismaMigrator for Fixtures {
    fn directories() -> Vec<Directory> {
        let mut all = migration::Migrator::directories();
        for name in [
            "20261129000002_fixture_half",
            "20261129000003_fixture_slow",
            "20261129000004_fixture_concurrent_index",
        ] {
            all.push(Directory {
                name,
                migration_sql: "-- a test fixture: its Rust steps do the work\n",
                down_sql: Some("-- a test fixture: its Rust steps undo the work\n"),
            });
        }
        if live() {
            all.push(NICKNAME.1);
            all.push(BIG_INDEX.1);
        }
        all
    }
}

/// A migration whose SQL is all there is: the runner sends its files.
struct SqlOnly(&'static str);

impl MigrationName for SqlOnly {
    fn name(&self) -> &str {
        self.0
    }
}

#[async_trait::async_trait]
impl MigrationTrait for SqlOnly {
    async fn up(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
    }

    async fn down(&self, _: &SchemaManager) -> Result<(), DbErr> {
        Ok(())
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

struct ConcurrentIndex;

impl MigrationName for ConcurrentIndex {
    fn name(&self) -> &str {
        "m20261129_000004_fixture_concurrent_index"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for ConcurrentIndex {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if std::env::var("FIXTURE_INDEX").as_deref() == Ok("1") {
            manager
                .get_connection()
                .execute_unprepared(r#"CREATE INDEX CONCURRENTLY "Big_v_idx" ON "Big" ("v")"#)
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(r#"DROP INDEX CONCURRENTLY IF EXISTS "Big_v_idx""#)
            .await?;
        Ok(())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(false)
    }
}

fn main() -> ExitCode {
    impulse_db::main_with::<Fixtures>()
}
