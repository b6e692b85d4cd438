//! Applying and rolling back migrations, one transaction each, on a session
//! that holds the migration lock.
//!
//! The loop is the runner's own rather than `MigratorTrait::up`, so that it
//! can time every migration, name the one that failed, and avoid sea-orm's
//! repeated `CREATE TABLE IF NOT EXISTS` per call. What it writes is exactly
//! what sea-orm writes: the same history table, one row per migration,
//! inserted in the migration's own transaction (unless the migration opts
//! out with `use_transaction() == Some(false)`), so a failed migration leaves
//! neither its objects nor its row behind.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use sea_orm::TransactionTrait;
use sea_orm_migration::{MigrationTrait, MigratorTrait, SchemaManager};

use crate::error::{Code, Error, Result};
use crate::history::{self, Applied};
use crate::session::{Session, describe_db_error};

/// One migration known to the binary, with its state in the database.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub name: String,
    /// Unix seconds; `None` while pending.
    pub applied_at: Option<i64>,
}

/// Known migrations in order, and history rows the binary does not know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    pub entries: Vec<Entry>,
    pub unknown: Vec<Applied>,
}

impl Status {
    pub fn pending(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.applied_at.is_none())
    }

    pub fn applied(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.applied_at.is_some())
    }

    fn refuse_unknown(&self) -> Result<()> {
        if self.unknown.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = self.unknown.iter().map(|a| a.version.as_str()).collect();
        Err(Error::new(
            Code::MigrationsUnknownApplied,
            format!(
                "the database has migrations this binary does not know: {}",
                names.join(", ")
            ),
            "the database was migrated by a newer version: deploy that version (or one that \
             includes these migrations) instead of this one",
        ))
    }
}

/// Joins the binary's migrations with the history. Pure.
pub fn plan(names: &[String], applied: &[Applied]) -> Status {
    let known: HashSet<&str> = names.iter().map(String::as_str).collect();
    let entries = names
        .iter()
        .map(|name| Entry {
            name: name.clone(),
            applied_at: applied
                .iter()
                .find(|a| &a.version == name)
                .map(|a| a.applied_at),
        })
        .collect();
    let unknown = applied
        .iter()
        .filter(|a| !known.contains(a.version.as_str()))
        .cloned()
        .collect();
    Status { entries, unknown }
}

fn names<M: MigratorTrait>() -> Vec<String> {
    M::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect()
}

/// Applied and pending migrations; creates nothing.
pub async fn status<M: MigratorTrait>(session: &Session) -> Result<Status> {
    let applied = history::read::<M>(session).await?;
    Ok(plan(&names::<M>(), &applied))
}

/// A migration applied or rolled back, and how long it took.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    pub name: String,
    #[serde(rename = "elapsed_ms", serialize_with = "as_millis")]
    pub elapsed: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// Which way a step goes.
#[derive(Clone, Copy)]
enum Direction {
    Up,
    Down,
}

/// What `up` applied, and what is still pending after it (in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpOutcome {
    pub steps: Vec<Step>,
    pub pending: Vec<String>,
}

/// Applies up to `steps` pending migrations (all when `None`). The caller
/// holds the lock. `on_step` hears about each migration as it completes.
pub async fn up<M: MigratorTrait>(
    session: &Session,
    steps: Option<u32>,
    on_step: &mut dyn FnMut(&Step),
) -> Result<UpOutcome> {
    history::install::<M>(session).await?;
    let status = status::<M>(session).await?;
    status.refuse_unknown()?;
    let pending: HashSet<String> = status.pending().map(|e| e.name.clone()).collect();
    let todo = M::migrations()
        .into_iter()
        .filter(|m| pending.contains(m.name()))
        .take(steps.map_or(usize::MAX, |s| s as usize));
    let steps = run(
        session,
        todo,
        &history::table_name::<M>(),
        Direction::Up,
        on_step,
    )
    .await?;
    // The lock is held: what was pending and not applied now still is.
    let pending = status
        .pending()
        .map(|e| e.name.clone())
        .filter(|name| !steps.iter().any(|s| &s.name == name))
        .collect();
    Ok(UpOutcome { steps, pending })
}

/// Rolls back the `steps` most recent migrations. The caller holds the lock.
pub async fn down<M: MigratorTrait>(
    session: &Session,
    steps: u32,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Vec<Step>> {
    let status = status::<M>(session).await?;
    status.refuse_unknown()?;
    let applied: HashSet<String> = status.applied().map(|e| e.name.clone()).collect();
    let todo = M::migrations()
        .into_iter()
        .rev()
        .filter(|m| applied.contains(m.name()))
        .take(steps as usize);
    run(
        session,
        todo,
        &history::table_name::<M>(),
        Direction::Down,
        on_step,
    )
    .await
}

async fn run(
    session: &Session,
    migrations: impl Iterator<Item = Box<dyn MigrationTrait>>,
    table: &str,
    direction: Direction,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Vec<Step>> {
    let mut done = Vec::new();
    for migration in migrations {
        let started = Instant::now();
        let name = migration.name().to_string();
        let in_transaction = migration.use_transaction().unwrap_or(true);
        let result = if in_transaction {
            apply_in_transaction(session, migration.as_ref(), table, direction).await
        } else {
            apply(session, migration.as_ref(), table, direction).await
        };
        if let Err(e) = result {
            return Err(failed(&name, direction, in_transaction, &e));
        }
        let step = Step {
            name,
            elapsed: started.elapsed(),
        };
        on_step(&step);
        done.push(step);
    }
    Ok(done)
}

async fn apply_in_transaction(
    session: &Session,
    migration: &dyn MigrationTrait,
    table: &str,
    direction: Direction,
) -> std::result::Result<(), sea_orm::DbErr> {
    let txn = session.db.begin().await?;
    let manager = SchemaManager::new(&txn);
    // On any error the transaction is dropped, which rolls it back.
    match direction {
        Direction::Up => {
            migration.up(&manager).await?;
            history::record(&txn, &session.schema, table, migration.name()).await?;
        }
        Direction::Down => {
            migration.down(&manager).await?;
            history::forget(&txn, &session.schema, table, migration.name()).await?;
        }
    }
    txn.commit().await
}

async fn apply(
    session: &Session,
    migration: &dyn MigrationTrait,
    table: &str,
    direction: Direction,
) -> std::result::Result<(), sea_orm::DbErr> {
    let manager = SchemaManager::new(&session.db);
    match direction {
        Direction::Up => {
            migration.up(&manager).await?;
            history::record(&session.db, &session.schema, table, migration.name()).await
        }
        Direction::Down => {
            migration.down(&manager).await?;
            history::forget(&session.db, &session.schema, table, migration.name()).await
        }
    }
}

fn failed(name: &str, direction: Direction, in_transaction: bool, e: &sea_orm::DbErr) -> Error {
    let verb = match direction {
        Direction::Up => "migration",
        Direction::Down => "rollback of",
    };
    let aftermath = if in_transaction {
        "it was rolled back and nothing of it remains"
    } else {
        "it ran outside a transaction (use_transaction() is false): check what it left behind"
    };
    Error::new(
        Code::MigrationFailed,
        format!(
            "{verb} {name} failed: {}; {aftermath}",
            describe_db_error(e)
        ),
        "fix the migration (or the data it trips over) and run the command again; \
         migrations before it stay applied",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(v: &str, at: i64) -> Applied {
        Applied {
            version: v.into(),
            applied_at: at,
        }
    }

    #[test]
    fn plan_joins_files_and_history() {
        let names = vec!["m1".to_string(), "m2".to_string(), "m3".to_string()];
        let status = plan(
            &names,
            &[applied("m1", 10), applied("m3", 30), applied("m9", 90)],
        );
        let pending: Vec<_> = status.pending().map(|e| e.name.as_str()).collect();
        let done: Vec<_> = status.applied().map(|e| e.name.as_str()).collect();
        assert_eq!(pending, ["m2"]);
        assert_eq!(done, ["m1", "m3"]);
        assert_eq!(status.unknown, [applied("m9", 90)]);
        assert_eq!(
            status.refuse_unknown().unwrap_err().code,
            Code::MigrationsUnknownApplied
        );
    }

    #[test]
    fn empty_history_is_all_pending() {
        let names = vec!["m1".to_string()];
        let status = plan(&names, &[]);
        assert_eq!(status.pending().count(), 1);
        assert!(status.refuse_unknown().is_ok());
    }
}
