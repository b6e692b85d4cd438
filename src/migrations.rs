//! The binary's migrations: each sea-orm migration of the migrator joined
//! with the Prisma directory it stands for (`migration::prisma`).
//!
//! The join is checked every time: a directory without a migration (a
//! teammate's `prisma migrate dev`, say) or a migration without a directory
//! is refused, and so is a migrator whose list is not in the directories'
//! name order, which is the order Prisma applies them in.
//!
//! How each migration is sent ([`Execution`]) is decided here, once, from
//! its file as `sql::split` reads it and from its sea-orm migration's
//! `use_transaction()`: `status`, `up --dry-run` and the runner agree.
//!
//! The same join serves `migrate new`, which replays the workspace's
//! directories as they are on disk ([`from_disk`]): the binary embeds the
//! migrations it was built with, and `new` must not build on a stale list.

use migration::prisma::{Directory, PrismaMigrator, module_name};
use sea_orm_migration::MigrationTrait;

use crate::error::{Code, Error, Result};
use crate::history;
use crate::sql::{self, ExecutionMode};

/// How the runner sends a migration's SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Execution {
    /// In one transaction the runner opens, with the history row: all or
    /// nothing.
    Transaction,
    /// Outside a transaction, as written: the file controls its own
    /// transactions (its `BEGIN`/`COMMIT`), or its sea-orm migration says
    /// `use_transaction() == Some(false)`. Sent in the pieces its own
    /// `COMMIT`s end, each as one message, which is what one message for
    /// the whole file would commit.
    AsWritten,
    /// Outside a transaction, statement by statement: the file has a
    /// statement PostgreSQL refuses in a transaction block (`CREATE INDEX
    /// CONCURRENTLY`, ...).
    StatementByStatement,
}

impl Execution {
    /// How a migration whose file is `sql` and whose sea-orm migration says
    /// `use_transaction` is sent.
    pub fn of(sql: &str, use_transaction: Option<bool>) -> Self {
        match sql::split::mode(sql) {
            ExecutionMode::StatementByStatement => Execution::StatementByStatement,
            ExecutionMode::AsWritten => Execution::AsWritten,
            ExecutionMode::SingleTransaction if use_transaction == Some(false) => {
                Execution::AsWritten
            }
            ExecutionMode::SingleTransaction => Execution::Transaction,
        }
    }

    /// The runner wraps it in a transaction.
    pub fn in_transaction(self) -> bool {
        self == Execution::Transaction
    }

    /// For people: `in a transaction`, `outside a transaction, ...`.
    pub fn describe(self) -> &'static str {
        match self {
            Execution::Transaction => "in a transaction",
            Execution::AsWritten => "outside a transaction, as written",
            Execution::StatementByStatement => "outside a transaction, statement by statement",
        }
    }
}

/// One migration of the binary.
pub struct Known {
    /// The directory's name, the migration's name in `_prisma_migrations`.
    pub name: &'static str,
    pub directory: Directory,
    /// SHA-256 of `migration.sql`, as Prisma records it.
    pub checksum: String,
    pub migration: Box<dyn MigrationTrait>,
    /// How `migration.sql` is sent: parsed when first asked (a no-op
    /// `up` never asks, and parses nothing).
    execution: std::sync::OnceLock<Execution>,
}

impl std::fmt::Debug for Known {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Known")
            .field("name", &self.name)
            .field("checksum", &self.checksum)
            .finish_non_exhaustive()
    }
}

impl Known {
    /// The migration of `directory`, run by `migration`.
    pub fn new(directory: Directory, migration: Box<dyn MigrationTrait>) -> Self {
        Self {
            name: directory.name,
            checksum: history::checksum(directory.migration_sql),
            directory,
            migration,
            execution: std::sync::OnceLock::new(),
        }
    }

    /// How `migration.sql` is sent.
    pub fn execution(&self) -> Execution {
        *self.execution.get_or_init(|| {
            Execution::of(
                self.directory.migration_sql,
                self.migration.use_transaction(),
            )
        })
    }

    /// The migration runs outside a transaction (its file or its sea-orm
    /// migration says so).
    pub fn outside_transaction(&self) -> bool {
        !self.execution().in_transaction()
    }

    /// How `down.sql` is sent, by the same rules as `migration.sql`.
    pub fn down_execution(&self) -> Execution {
        Execution::of(
            self.directory.down_sql.unwrap_or_default(),
            self.migration.use_transaction(),
        )
    }
}

/// The migrations of `M`, in directory order.
pub fn known<M: PrismaMigrator>() -> Result<Vec<Known>> {
    let migrations = M::migrations()
        .into_iter()
        .map(|m| (m.name().to_string(), m))
        .collect();
    join(M::directories(), migrations)
}

/// The workspace's migrations as they are on disk now, for `migrate new`,
/// which must build on the latest directories even when the binary was
/// built before them: `directories` read from `prisma/migrations`,
/// `modules` the list of `migration/src/lib.rs`. A module this binary
/// was built with keeps its compiled migration (its Rust steps, whether it
/// runs in a transaction), with the SQL from disk; any other one stands
/// for its SQL alone ([`NotCompiled`]).
pub fn from_disk<M: PrismaMigrator>(
    directories: Vec<Directory>,
    modules: &[String],
) -> Result<Vec<Known>> {
    let mut compiled: Vec<Option<Box<dyn MigrationTrait>>> =
        M::migrations().into_iter().map(Some).collect();
    let migrations = modules
        .iter()
        .map(|name| {
            let found = compiled
                .iter_mut()
                .find(|m| m.as_ref().is_some_and(|m| m.name() == name))
                .and_then(Option::take);
            let migration = found.unwrap_or_else(|| {
                Box::new(NotCompiled::new(name.clone())) as Box<dyn MigrationTrait>
            });
            (name.clone(), migration)
        })
        .collect();
    join(directories, migrations)
}

/// A migration of `migration/src` that this binary was built without:
/// only its directory's SQL can be replayed (the runner sends it); it has
/// no Rust steps here.
pub struct NotCompiled {
    name: String,
}

impl NotCompiled {
    /// The migration of module `name`.
    pub fn new(name: String) -> Self {
        NotCompiled { name }
    }
}

impl sea_orm_migration::MigrationName for NotCompiled {
    fn name(&self) -> &str {
        &self.name
    }
}

#[sea_orm_migration::async_trait::async_trait]
impl MigrationTrait for NotCompiled {
    async fn up(&self, _: &sea_orm_migration::SchemaManager) -> Result<(), sea_orm::DbErr> {
        Ok(())
    }

    async fn down(&self, _: &sea_orm_migration::SchemaManager) -> Result<(), sea_orm::DbErr> {
        Ok(())
    }
}

/// Joins directories and migrations (by [`module_name`]), refusing a
/// directory without a migration, a migration without a directory, and a
/// list out of the directories' order.
fn join(
    directories: Vec<Directory>,
    migrations: Vec<(String, Box<dyn MigrationTrait>)>,
) -> Result<Vec<Known>> {
    let names: Vec<String> = migrations.iter().map(|(n, _)| n.clone()).collect();
    let mut migrations: Vec<Option<Box<dyn MigrationTrait>>> =
        migrations.into_iter().map(|(_, m)| Some(m)).collect();
    if let Some(orphan) = names
        .iter()
        .find(|n| !directories.iter().any(|d| &module_name(d.name) == *n))
    {
        return Err(Error::new(
            Code::MigrationsUnregistered,
            format!("migration {orphan} has no directory in prisma/migrations"),
            "restore its directory (prisma/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql), \
             or remove the migration from migration/src/lib.rs",
        ));
    }
    let mut known = Vec::with_capacity(directories.len());
    for directory in directories {
        let module = module_name(directory.name);
        let Some(index) = names.iter().position(|n| *n == module) else {
            return Err(Error::new(
                Code::MigrationsUnregistered,
                format!(
                    "prisma/migrations/{} has no sea-orm migration ({module}) in migration/src",
                    directory.name
                ),
                "register it with `migrate import-prisma` (it writes the migration and adds it \
                 to migration/src/lib.rs), then rebuild",
            ));
        };
        if index != known.len() {
            return Err(Error::new(
                Code::MigrationsUnregistered,
                format!(
                    "migration/src/lib.rs lists {module} out of the order of prisma/migrations"
                ),
                "list the migrations in the order of their directories' names (the order Prisma \
                 applies them in); `migrate import-prisma` rewrites the list",
            ));
        }
        let Some(migration) = migrations.get_mut(index).and_then(Option::take) else {
            return Err(Error::internal(format!("migration {module} listed twice")));
        };
        known.push(Known::new(directory, migration));
    }
    Ok(known)
}

/// A directory read at run time, as the `'static` [`Directory`] the
/// runner takes. The texts are leaked: they live until the process, which
/// runs one command, ends (a few kilobytes per migration).
pub fn leaked_directory(
    name: String,
    migration_sql: String,
    down_sql: Option<String>,
) -> Directory {
    fn leak(text: String) -> &'static str {
        Box::leak(text.into_boxed_str())
    }
    Directory {
        name: leak(name),
        migration_sql: leak(migration_sql),
        down_sql: down_sql.map(leak),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_projects_migrations_join_their_directories() {
        let known = known::<migration::Migrator>().unwrap();
        assert_eq!(known[0].name, "20261129000001_create_user_table");
        assert_eq!(
            known[0].migration.name(),
            "m20261129_000001_create_user_table"
        );
        assert!(!known[0].outside_transaction());
        assert_eq!(known[0].execution(), Execution::Transaction);
    }

    #[test]
    fn the_file_decides_too() {
        let cases = [
            ("CREATE TABLE a ();", None, Execution::Transaction),
            ("CREATE TABLE a ();", Some(false), Execution::AsWritten),
            (
                "CREATE INDEX CONCURRENTLY i ON t (c);",
                None,
                Execution::StatementByStatement,
            ),
            (
                "-- AlterEnum\nBEGIN;\nCREATE TYPE x AS ENUM ('a');\nCOMMIT;\n",
                Some(true),
                Execution::AsWritten,
            ),
            ("-- only a comment\n", None, Execution::Transaction),
        ];
        for (sql, use_transaction, want) in cases {
            assert_eq!(Execution::of(sql, use_transaction), want, "{sql}");
        }
    }

    /// `migrate new`'s view: the directories on disk, the list of lib.rs.
    #[test]
    fn from_disk_keeps_compiled_migrations_and_stands_in_for_new_ones() {
        let first = migration::prisma::EMBEDDED[0];
        let edited = leaked_directory(
            first.name.to_string(),
            "SELECT 1;\n".to_string(),
            first.down_sql.map(String::from),
        );
        let added = leaked_directory(
            "20261201120000_add_nickname".to_string(),
            "ALTER TABLE \"User\" ADD COLUMN \"nickname\" TEXT;\n".to_string(),
            None,
        );
        let modules = [
            module_name(first.name),
            "m20261201_120000_add_nickname".to_string(),
        ];
        let known = from_disk::<migration::Migrator>(vec![edited, added], &modules)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            known.iter().map(|k| k.name).collect::<Vec<_>>(),
            [first.name, "20261201120000_add_nickname"]
        );
        // The SQL is the file's, the checksum the file's.
        assert_eq!(known[0].directory.migration_sql, "SELECT 1;\n");
        assert_eq!(known[0].checksum, history::checksum("SELECT 1;\n"));
        assert_eq!(known[1].migration.name(), "m20261201_120000_add_nickname");

        // A directory lib.rs does not list, and a module without a directory.
        let unlisted = from_disk::<migration::Migrator>(vec![edited, added], &modules[..1]);
        assert!(matches!(unlisted, Err(e) if e.code == Code::MigrationsUnregistered));
        let orphan = from_disk::<migration::Migrator>(vec![edited], &modules);
        assert!(matches!(orphan, Err(e) if e.code == Code::MigrationsUnregistered));
    }
}
