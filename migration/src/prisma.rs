//! Prisma Migrate's layout as this crate's source: each migration is a
//! directory `prisma/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql`
//! (plus an optional `down.sql`, which Prisma ignores), embedded at compile
//! time by `build.rs`.
//!
//! Each sea-orm migration of the crate stands for one directory: its name
//! is [`module_name`] of the directory's (`20261129000001_create_user_table`
//! is `m20261129_000001_create_user_table`, sea-orm-cli's file naming), its
//! `up` runs the directory's `migration.sql` through [`up`], then any Rust
//! steps written after it (a data backfill, say), and its `down` runs
//! `down.sql`. Run by sea-orm-migration's own `Migrator::up`, that is all
//! there is to it. The `migrate` runner instead sends the SQL itself (it
//! needs the text: checksums for `_prisma_migrations`, statements that must
//! run outside a transaction) and then calls `up` inside
//! [`applied_by_runner`], where [`up`] and [`down`] leave the SQL alone and
//! only the Rust steps run.

use std::future::Future;

use sea_orm_migration::prelude::*;

/// One directory of `prisma/migrations`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Directory {
    /// The directory's name: the migration's name in `_prisma_migrations`.
    pub name: &'static str,
    /// `migration.sql`, byte for byte.
    pub migration_sql: &'static str,
    /// `down.sql`, when there is one.
    pub down_sql: Option<&'static str>,
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// A migrator whose migrations are Prisma directories.
pub trait PrismaMigrator: MigratorTrait {
    /// The directories its migrations stand for, in name order.
    fn directories() -> Vec<Directory>;
}

/// The sea-orm migration name (and module file name) of the directory
/// `directory`: `20261129000001_create_user_table` is
/// `m20261129_000001_create_user_table`, as `sea-orm-cli migrate generate`
/// names its files. Any other directory name (Prisma allows `0_init`)
/// becomes `m` followed by it, with every character that cannot be in a
/// Rust identifier replaced by `_` and upper case lowered: `0_init` is
/// `m0_init`, `Init-Users` is `m_init_users`.
pub fn module_name(directory: &str) -> String {
    let bytes = directory.as_bytes();
    let timestamped =
        bytes.len() > 15 && bytes[..14].iter().all(u8::is_ascii_digit) && bytes[14] == b'_';
    if timestamped {
        let rest: String = directory[15..].chars().map(ident_char).collect();
        return format!("m{}_{}_{rest}", &directory[..8], &directory[8..14]);
    }
    let name: String = directory.chars().map(ident_char).collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("m{name}")
    } else {
        format!("m_{name}")
    }
}

fn ident_char(c: char) -> char {
    if c.is_ascii_alphanumeric() || c == '_' {
        c.to_ascii_lowercase()
    } else {
        '_'
    }
}

/// The directory of the sea-orm migration named `name`, among `directories`.
pub fn directory_of<'a>(name: &str, directories: &'a [Directory]) -> Option<&'a Directory> {
    directories.iter().find(|d| module_name(d.name) == name)
}

tokio::task_local! {
    static RUNNER_SENDS_SQL: ();
}

/// Runs `future` (a migration's `up` or `down`) with the SQL already sent
/// by the caller: inside it, [`up`] and [`down`] do nothing, so only the
/// migration's Rust steps run.
pub async fn applied_by_runner<F: Future>(future: F) -> F::Output {
    RUNNER_SENDS_SQL.scope((), future).await
}

fn sent_by_runner() -> bool {
    RUNNER_SENDS_SQL.try_with(|_| ()).is_ok()
}

fn embedded(name: &str) -> Result<&'static Directory, DbErr> {
    directory_of(name, EMBEDDED).ok_or_else(|| {
        DbErr::Migration(format!(
            "migration {name} has no directory in prisma/migrations"
        ))
    })
}

/// Runs the `migration.sql` of migration `name` (a migration's `up`).
pub async fn up(manager: &SchemaManager<'_>, name: &str) -> Result<(), DbErr> {
    if sent_by_runner() {
        return Ok(());
    }
    let dir = embedded(name)?;
    manager
        .get_connection()
        .execute_unprepared(dir.migration_sql)
        .await
        .map(|_| ())
}

/// Runs the `down.sql` of migration `name` (a migration's `down`).
pub async fn down(manager: &SchemaManager<'_>, name: &str) -> Result<(), DbErr> {
    if sent_by_runner() {
        return Ok(());
    }
    let dir = embedded(name)?;
    let sql = dir.down_sql.ok_or_else(|| {
        DbErr::Migration(format!(
            "migration {} has no down.sql: it cannot be rolled back",
            dir.name
        ))
    })?;
    manager
        .get_connection()
        .execute_unprepared(sql)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_follow_sea_orm_cli() {
        for (dir, module) in [
            (
                "20261129000001_create_user_table",
                "m20261129_000001_create_user_table",
            ),
            ("20250101000000_init", "m20250101_000000_init"),
            ("0_init", "m0_init"),
            ("Init-Users", "m_init_users"),
            ("20250101000000_Add-Index", "m20250101_000000_add_index"),
        ] {
            assert_eq!(module_name(dir), module, "{dir}");
        }
    }

    #[test]
    fn the_embedded_directories_are_in_name_order_with_their_sql() {
        let names: Vec<&str> = EMBEDDED.iter().map(|d| d.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        let first = &EMBEDDED[0];
        assert_eq!(first.name, "20261129000001_create_user_table");
        assert!(
            first
                .migration_sql
                .starts_with("-- CreateTable\nCREATE TABLE \"User\"")
        );
        assert!(first.down_sql.is_some());
    }
}
