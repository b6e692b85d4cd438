//! Applying and rolling back migrations, one transaction each, on a session
//! that holds the migration lock, with `_prisma_migrations` as the history.
//!
//! What counts as applied is Prisma's rule: a row with the migration's name
//! that is finished and not rolled back. Before anything changes, the
//! runner refuses a history it cannot continue safely ([`Status::refuse`]):
//! a failed row (Prisma's P3009), an applied migration whose file was
//! edited since, a schema with tables but no history (Prisma's P3005:
//! `migrate baseline` is the way in), or rows of migrations the binary
//! does not know.
//!
//! Each migration runs in its own transaction: its history row is started,
//! its `migration.sql` sent whole, its Rust steps run, its row finished,
//! then everything commits together, so a failed migration leaves neither
//! its objects nor its row. A migration that must run outside a
//! transaction (its sea-orm migration says `use_transaction() == false`)
//! runs statement by statement in the session, and its row is written
//! after its last statement.

use std::time::{Duration, Instant};

use migration::prisma::PrismaMigrator;
use sea_orm::TransactionTrait;
use sea_orm_migration::SchemaManager;

use crate::error::{Code, Error, Result};
use crate::history::{self, History};
use crate::migrations::{self, Known};
use crate::session::{Session, describe_db_error};

/// Where a migration of the binary stands in the history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum State {
    Pending,
    Applied {
        /// When it finished (RFC 3339).
        applied_at: String,
        /// Set when `migration.sql` no longer has the recorded checksum.
        #[serde(skip_serializing_if = "Option::is_none")]
        edited: Option<Edited>,
    },
    /// Started and never finished nor rolled back (Prisma's P3009).
    Failed {
        started_at: String,
        /// What the failing run recorded (Prisma writes the error).
        logs: Option<String>,
    },
}

/// An applied migration whose file changed since.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Edited {
    pub recorded_checksum: String,
    pub file_checksum: String,
}

/// One migration of the binary and its state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub name: String,
    #[serde(flatten)]
    pub state: State,
    /// Runs outside a transaction.
    pub outside_transaction: bool,
}

/// A history row of a migration the binary does not know.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unknown {
    pub name: String,
    pub applied_at: Option<String>,
}

/// The binary's migrations against the history.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Status {
    pub entries: Vec<Entry>,
    pub unknown: Vec<Unknown>,
    /// The history is still sea-orm's `seaql_migrations`.
    pub legacy: bool,
    /// No history, yet these tables exist: built some other way.
    pub unbaselined_tables: Vec<String>,
}

impl Status {
    pub fn pending(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.state, State::Pending))
    }

    pub fn applied(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.state, State::Applied { .. }))
    }

    pub fn failed(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| matches!(e.state, State::Failed { .. }))
    }

    pub fn edited(&self) -> impl Iterator<Item = (&Entry, &Edited)> {
        self.entries.iter().filter_map(|e| match &e.state {
            State::Applied {
                edited: Some(edited),
                ..
            } => Some((e, edited)),
            _ => None,
        })
    }

    /// Every migration applied, none failed, edited or unknown.
    pub fn all_applied(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e.state, State::Applied { edited: None, .. }))
            && self.unknown.is_empty()
            && self.unbaselined_tables.is_empty()
    }

    /// The history this runner must not continue, with its code and hint.
    /// `allow_edited` lets an edited applied migration through.
    pub fn refuse(&self, allow_edited: bool) -> Result<()> {
        if let Some(failed) = self.failed().next() {
            let State::Failed { started_at, logs } = &failed.state else {
                unreachable!("failed() yields failed entries");
            };
            let logs = logs
                .as_deref()
                .filter(|l| !l.is_empty())
                .map(|l| format!("; it recorded: {}", first_line(l)))
                .unwrap_or_default();
            return Err(Error::new(
                Code::MigrationsFailed,
                format!(
                    "migration {} started at {started_at} and never finished{logs}",
                    failed.name
                ),
                format!(
                    "find out what it left behind, then either undo that and run `migrate resolve \
                     --rolled-back {0}` (it runs again), or finish it by hand and run `migrate \
                     resolve --applied {0}`",
                    failed.name
                ),
            ));
        }
        if !self.unknown.is_empty() {
            let names: Vec<&str> = self.unknown.iter().map(|u| u.name.as_str()).collect();
            return Err(Error::new(
                Code::MigrationsUnknownApplied,
                format!(
                    "the database has migrations this binary does not know: {}",
                    names.join(", ")
                ),
                "the database was migrated by a newer version: deploy that version (or one that \
                 includes these migrations) instead of this one",
            ));
        }
        if !self.unbaselined_tables.is_empty() {
            let shown: Vec<&str> = self
                .unbaselined_tables
                .iter()
                .take(5)
                .map(String::as_str)
                .collect();
            return Err(Error::new(
                Code::MigrationsNotBaselined,
                format!(
                    "the schema has tables ({}{}) but no migration history",
                    shown.join(", "),
                    if self.unbaselined_tables.len() > 5 {
                        ", ..."
                    } else {
                        ""
                    }
                ),
                "it was built some other way (prisma db push, by hand): record the migrations \
                 it already matches with `migrate baseline` (it compares first), or import a \
                 Prisma history with `migrate import-prisma`",
            ));
        }
        if !allow_edited && let Some((entry, edited)) = self.edited().next() {
            return Err(Error::new(
                Code::MigrationsEdited,
                format!(
                    "migration {} was applied with checksum {}, but its migration.sql now has {}",
                    entry.name, edited.recorded_checksum, edited.file_checksum
                ),
                "an applied migration must not change: restore its migration.sql and put the \
                 change in a new migration (`migrate new`); --allow-edited proceeds anyway",
            ));
        }
        Ok(())
    }
}

fn first_line(text: &str) -> &str {
    text.lines().find(|l| !l.trim().is_empty()).unwrap_or(text)
}

/// Joins the binary's migrations with the history. Pure.
pub fn plan(known: &[Known], history: &History, other_tables: &[String]) -> Status {
    let outside = |k: &Known| k.outside_transaction();
    match history {
        History::Legacy(rows) => Status {
            entries: known
                .iter()
                .map(|k| Entry {
                    name: k.name.to_string(),
                    state: rows
                        .iter()
                        .find(|r| r.version == k.migration.name())
                        .map_or(State::Pending, |r| State::Applied {
                            applied_at: chrono::DateTime::from_timestamp(r.applied_at, 0)
                                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                                .unwrap_or_default(),
                            edited: None,
                        }),
                    outside_transaction: outside(k),
                })
                .collect(),
            unknown: rows
                .iter()
                .filter(|r| !known.iter().any(|k| k.migration.name() == r.version))
                .map(|r| Unknown {
                    name: r.version.clone(),
                    applied_at: None,
                })
                .collect(),
            legacy: true,
            unbaselined_tables: Vec::new(),
        },
        History::Prisma(_) | History::None => {
            let rows = history.rows();
            let entries = known
                .iter()
                .map(|k| {
                    let mine = rows.iter().filter(|r| r.migration_name == k.name);
                    let state = if let Some(failed) = mine.clone().find(|r| r.failed()) {
                        State::Failed {
                            started_at: failed.started_at.clone(),
                            logs: failed.logs.clone(),
                        }
                    } else if let Some(applied) = mine.clone().rfind(|r| r.applied()) {
                        State::Applied {
                            applied_at: applied.finished_at.clone().unwrap_or_default(),
                            edited: (!history::checksum_matches(
                                &applied.checksum,
                                k.directory.migration_sql,
                            ))
                            .then(|| Edited {
                                recorded_checksum: applied.checksum.clone(),
                                file_checksum: k.checksum.clone(),
                            }),
                        }
                    } else {
                        State::Pending
                    };
                    Entry {
                        name: k.name.to_string(),
                        state,
                        outside_transaction: outside(k),
                    }
                })
                .collect();
            let mut unknown: Vec<Unknown> = Vec::new();
            for row in rows
                .iter()
                .filter(|r| r.rolled_back_at.is_none())
                .filter(|r| !known.iter().any(|k| k.name == r.migration_name))
            {
                if !unknown.iter().any(|u| u.name == row.migration_name) {
                    unknown.push(Unknown {
                        name: row.migration_name.clone(),
                        applied_at: row.finished_at.clone(),
                    });
                }
            }
            let no_history = rows.is_empty();
            Status {
                entries,
                unknown,
                legacy: false,
                unbaselined_tables: if no_history {
                    other_tables.to_vec()
                } else {
                    Vec::new()
                },
            }
        }
    }
}

/// The state of every migration of `known`; creates nothing.
pub async fn read_status(session: &Session, known: &[Known]) -> Result<Status> {
    let history = history::read(session).await?;
    let other_tables = match history.rows().is_empty() && !matches!(history, History::Legacy(_)) {
        true => history::other_tables(session).await?,
        false => Vec::new(),
    };
    Ok(plan(known, &history, &other_tables))
}

/// Applied, pending, failed and edited migrations of `M`; creates nothing.
pub async fn status<M: PrismaMigrator>(session: &Session) -> Result<Status> {
    read_status(session, &migrations::known::<M>()?).await
}

/// Converts a legacy `seaql_migrations` history, once; the caller holds
/// the lock. Returns how many rows were carried over (`None`: nothing to
/// convert).
pub async fn convert_legacy(session: &Session, known: &[Known]) -> Result<Option<usize>> {
    let History::Legacy(rows) = history::read(session).await? else {
        return Ok(None);
    };
    let mut mapped = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(k) = known.iter().find(|k| k.migration.name() == row.version) else {
            return Err(history::unknown_legacy(&row.version));
        };
        mapped.push((
            row,
            history::Converted {
                name: k.name,
                checksum: &k.checksum,
            },
        ));
    }
    history::convert_legacy(session, &mapped).await.map(Some)
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

/// How `up` and `down` treat the history.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Go on although an applied migration's file was edited.
    pub allow_edited: bool,
}

/// Applies up to `steps` pending migrations (all when `None`). The caller
/// holds the lock and has converted a legacy history. `on_step` hears
/// about each migration as it completes.
pub async fn up(
    session: &Session,
    known: &[Known],
    status: &Status,
    steps: Option<u32>,
    options: Options,
    on_step: &mut dyn FnMut(&Step),
) -> Result<UpOutcome> {
    status.refuse(options.allow_edited)?;
    let pending: Vec<&Known> = known
        .iter()
        .filter(|k| status.pending().any(|e| e.name == k.name))
        .collect();
    if !pending.is_empty() {
        history::install(session).await?;
    }
    let take = steps.map_or(usize::MAX, |s| s as usize);
    let done = run(
        session,
        pending.iter().copied().take(take),
        Direction::Up,
        on_step,
    )
    .await?;
    // The lock is held: what was pending and not applied now still is.
    let pending = pending
        .iter()
        .map(|k| k.name.to_string())
        .filter(|name| !done.iter().any(|s| &s.name == name))
        .collect();
    Ok(UpOutcome {
        steps: done,
        pending,
    })
}

/// Rolls back the `steps` most recent migrations. The caller holds the
/// lock and has converted a legacy history.
pub async fn down(
    session: &Session,
    known: &[Known],
    status: &Status,
    steps: u32,
    options: Options,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Vec<Step>> {
    status.refuse(options.allow_edited)?;
    let todo: Vec<&Known> = known
        .iter()
        .rev()
        .filter(|k| status.applied().any(|e| e.name == k.name))
        .take(steps as usize)
        .collect();
    if let Some(k) = todo.iter().find(|k| k.directory.down_sql.is_none()) {
        return Err(Error::new(
            Code::MigrationsIrreversible,
            format!(
                "migration {} has no down.sql: it cannot be rolled back",
                k.name
            ),
            format!(
                "write prisma/migrations/{}/down.sql (Prisma's diff the other way: `npx prisma \
                 migrate diff --from-schema NEW --to-schema OLD --script`), or roll back fewer \
                 steps",
                k.name
            ),
        ));
    }
    run(session, todo.into_iter(), Direction::Down, on_step).await
}

async fn run<'a>(
    session: &Session,
    migrations: impl Iterator<Item = &'a Known>,
    direction: Direction,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Vec<Step>> {
    let mut done = Vec::new();
    for k in migrations {
        let started = Instant::now();
        let result = if k.outside_transaction() {
            apply_outside_transaction(session, k, direction).await
        } else {
            apply_in_transaction(session, k, direction).await
        };
        if let Err(e) = result {
            return Err(failed(k, direction, &e));
        }
        let step = Step {
            name: k.name.to_string(),
            elapsed: started.elapsed(),
        };
        on_step(&step);
        done.push(step);
    }
    Ok(done)
}

async fn apply_in_transaction(
    session: &Session,
    k: &Known,
    direction: Direction,
) -> std::result::Result<(), sea_orm::DbErr> {
    let schema = &session.schema;
    let txn = session.db.begin().await?;
    let manager = SchemaManager::new(&txn);
    // On any error the transaction is dropped, which rolls it back.
    match direction {
        Direction::Up => {
            let id = history::start(&txn, schema, k.name, &k.checksum).await?;
            run_up_on(&manager, k).await?;
            history::finish(&txn, schema, &id).await?;
        }
        Direction::Down => {
            execute(&txn, k.directory.down_sql.unwrap_or_default()).await?;
            migration::prisma::applied_by_runner(k.migration.down(&manager)).await?;
            history::forget(&txn, schema, k.name).await?;
        }
    }
    txn.commit().await
}

async fn apply_outside_transaction(
    session: &Session,
    k: &Known,
    direction: Direction,
) -> std::result::Result<(), sea_orm::DbErr> {
    let schema = &session.schema;
    match direction {
        Direction::Up => {
            let started = chrono::Utc::now();
            run_up_on(&SchemaManager::new(&session.db), k).await?;
            // After the last statement: an interrupted run leaves no row.
            history::record_applied(&session.db, schema, k.name, &k.checksum, started).await
        }
        Direction::Down => {
            execute(&session.db, k.directory.down_sql.unwrap_or_default()).await?;
            let manager = SchemaManager::new(&session.db);
            migration::prisma::applied_by_runner(k.migration.down(&manager)).await?;
            history::forget(&session.db, schema, k.name).await
        }
    }
}

/// What migration `k` does, on `conn`, without its history row: its
/// `migration.sql`, then its Rust steps. Also the doctor's replay of the
/// migrations inside a transaction it rolls back.
pub async fn run_up_on(
    manager: &SchemaManager<'_>,
    k: &Known,
) -> std::result::Result<(), sea_orm::DbErr> {
    execute(manager.get_connection(), k.directory.migration_sql).await?;
    migration::prisma::applied_by_runner(k.migration.up(manager)).await
}

/// Sends a file of SQL whole, as Prisma does; an empty one sends nothing.
async fn execute<C: sea_orm::ConnectionTrait>(
    conn: &C,
    sql: &str,
) -> std::result::Result<(), sea_orm::DbErr> {
    if sql.trim().is_empty() {
        return Ok(());
    }
    conn.execute_unprepared(sql).await.map(|_| ())
}

fn failed(k: &Known, direction: Direction, e: &sea_orm::DbErr) -> Error {
    let verb = match direction {
        Direction::Up => "migration",
        Direction::Down => "rollback of",
    };
    let aftermath = if k.outside_transaction() {
        "it ran outside a transaction: what its statements did before the failure stays, \
         and no history row was written, so the next run starts it again"
    } else {
        "it was rolled back and nothing of it remains"
    };
    Error::new(
        Code::MigrationFailed,
        format!(
            "{verb} {} failed: {}; {aftermath}",
            k.name,
            describe_db_error(e)
        ),
        "fix the migration (or the data it trips over) and run the command again; \
         migrations before it stay applied",
    )
}

#[cfg(test)]
mod tests;
