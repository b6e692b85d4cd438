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
//! Each migration runs in its own transaction when it can
//! ([`Execution::Transaction`]): its history row is started, its
//! `migration.sql` sent whole, its Rust steps run, its row finished, then
//! everything commits together, so a failed migration leaves neither its
//! objects nor its row. A migration whose file cannot run in a transaction
//! (`CREATE INDEX CONCURRENTLY`, ...: statement by statement) or controls
//! its own (`BEGIN`/`COMMIT`: as written), or whose sea-orm migration says
//! `use_transaction() == Some(false)`, runs outside one, and its row is
//! written after its last statement. An index such a file builds
//! concurrently that an interrupted run left `INVALID` is dropped and built
//! again.
//!
//! # Live databases: bounded locks, retries
//!
//! Every statement of a migration runs with a DDL `lock_timeout`
//! ([`Ddl::lock_timeout`], `--ddl-lock-timeout`) and, when given, a
//! `statement_timeout`. A migration waiting for an `ACCESS EXCLUSIVE` lock
//! makes every later query on that table queue behind it; the lock timeout
//! is the longest the app's queries can be held up that way. When it runs
//! out (SQLSTATE 55P03) the migration's transaction is rolled back (outside
//! a transaction: the piece that waited), the sessions in the way are
//! logged (from `pg_blocking_pids`, by the session's observer connection:
//! pid, user, application_name, client, state, transaction age; never
//! their query), and it is tried again after a pause that doubles from 1 s
//! to 1 min with jitter, up to [`Ddl::lock_retries`] times; then
//! `migration.lock_timeout` (exit 5). The `CONCURRENTLY` forms wait with
//! the session's patient bound (`--lock-timeout`) instead: while they wait
//! they hold only `SHARE UPDATE EXCLUSIVE`, which no app query waits for,
//! and failing them would only leave an `INVALID` index behind.

use std::time::{Duration, Instant};

use migration::prisma::PrismaMigrator;
use sea_orm::{ConnectionTrait, TransactionTrait};
use sea_orm_migration::SchemaManager;
use sqlx::Row as _;

use crate::error::{Code, Error, Result};
use crate::history::{self, History};
use crate::lock::{self, Holder};
use crate::migrations::{self, Execution, Known};
use crate::session::{self, LOCK_NOT_AVAILABLE, Session, db_sqlstate, describe_db_error};
use crate::sql::{self, ObjectName, StatementKind, TransactionControl};

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
    /// Runs outside a transaction (its file or its sea-orm migration says
    /// so; see [`Execution`]).
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

/// The state of every migration of `known`; creates nothing. A read that
/// waits longer than the session's `lock_timeout` for another session's
/// lock fails with `lock.read_blocked`, naming who was in the way.
pub async fn read_status(session: &Session, known: &[Known]) -> Result<Status> {
    lock::reading(session, async {
        let history = history::read(session).await?;
        let other_tables = match history.rows().is_empty() && !matches!(history, History::Legacy(_))
        {
            true => history::other_tables(session).await?,
            false => Vec::new(),
        };
        Ok(plan(known, &history, &other_tables))
    })
    .await
}

/// Applied, pending, failed and edited migrations of `M`; creates nothing.
pub async fn status<M: PrismaMigrator>(session: &Session) -> Result<Status> {
    read_status(session, &migrations::known::<M>()?).await
}

/// Converts a legacy `seaql_migrations` history, once; the caller holds
/// the lock. Returns how many rows were carried over (`None`: nothing to
/// convert).
pub async fn convert_legacy(session: &Session, known: &[Known]) -> Result<Option<usize>> {
    let History::Legacy(rows) = lock::reading(session, history::read(session)).await? else {
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
    lock::reading(session, history::convert_legacy(session, &mapped))
        .await
        .map(Some)
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
#[derive(Clone, Copy, PartialEq, Eq)]
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

/// The DDL lock timeout when `--ddl-lock-timeout` is not given. README:
/// "Deploying to a live database" says why.
pub const DEFAULT_DDL_LOCK_TIMEOUT: Duration = Duration::from_secs(1);

/// How many times a migration is tried again after its lock timeout ran
/// out, when `--lock-retries` is not given.
pub const DEFAULT_LOCK_RETRIES: u32 = 10;

/// The pause before the first retry, and the longest pause (both before
/// jitter).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const LONGEST_BACKOFF: Duration = Duration::from_secs(60);

/// How a migration's own statements wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ddl {
    /// The `lock_timeout` of each statement (`None`: no short bound; the
    /// session's patient one, `--lock-timeout`, applies).
    pub lock_timeout: Option<Duration>,
    /// The `statement_timeout` of each statement (`None`: the server's).
    pub statement_timeout: Option<Duration>,
    /// How many times to try again after the lock timeout ran out.
    pub lock_retries: u32,
}

impl Default for Ddl {
    fn default() -> Self {
        Self {
            lock_timeout: Some(DEFAULT_DDL_LOCK_TIMEOUT),
            statement_timeout: None,
            lock_retries: DEFAULT_LOCK_RETRIES,
        }
    }
}

/// How `up` and `down` treat the history and wait for locks.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Go on although an applied migration's file was edited.
    pub allow_edited: bool,
    /// The bounds of the migrations' statements.
    pub ddl: Ddl,
}

/// The pending migrations `up` would apply, at most `steps` of them, after
/// the same refusals as `up`. Pure: what `up --dry-run` shows.
pub fn to_apply<'a>(
    known: &'a [Known],
    status: &Status,
    steps: Option<u32>,
    options: Options,
) -> Result<(Vec<&'a Known>, Vec<&'a Known>)> {
    status.refuse(options.allow_edited)?;
    let pending: Vec<&Known> = known
        .iter()
        .filter(|k| status.pending().any(|e| e.name == k.name))
        .collect();
    let take = steps.map_or(usize::MAX, |s| s as usize).min(pending.len());
    let (now, later) = pending.split_at(take);
    Ok((now.to_vec(), later.to_vec()))
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
    let (now, later) = to_apply(known, status, steps, options)?;
    if !now.is_empty() {
        lock::reading(session, history::install(session)).await?;
    }
    let done = run(
        session,
        now.into_iter(),
        Direction::Up,
        &options.ddl,
        on_step,
    )
    .await?;
    Ok(UpOutcome {
        steps: done,
        // The lock is held: what was pending and not applied now still is.
        pending: later.iter().map(|k| k.name.to_string()).collect(),
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
    let todo = to_roll_back(known, status, steps);
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
    run(
        session,
        todo.into_iter(),
        Direction::Down,
        &options.ddl,
        on_step,
    )
    .await
}

/// The `steps` most recent applied migrations, newest first: what `down`
/// rolls back. Pure.
pub fn to_roll_back<'a>(known: &'a [Known], status: &Status, steps: u32) -> Vec<&'a Known> {
    known
        .iter()
        .rev()
        .filter(|k| status.applied().any(|e| e.name == k.name))
        .take(steps as usize)
        .collect()
}

async fn run<'a>(
    session: &Session,
    migrations: impl Iterator<Item = &'a Known>,
    direction: Direction,
    ddl: &Ddl,
    on_step: &mut dyn FnMut(&Step),
) -> Result<Vec<Step>> {
    let mut done = Vec::new();
    for k in migrations {
        let started = Instant::now();
        let run = Run::new(session, k, direction, ddl);
        let result = if run.execution.in_transaction() {
            run.in_transaction().await
        } else {
            run.outside_transaction().await
        };
        result?;
        let step = Step {
            name: k.name.to_string(),
            elapsed: started.elapsed(),
        };
        on_step(&step);
        done.push(step);
    }
    Ok(done)
}

/// One migration being applied or rolled back, and its attempts so far.
struct Run<'s> {
    session: &'s Session,
    k: &'s Known,
    direction: Direction,
    ddl: &'s Ddl,
    /// How its SQL is sent.
    execution: Execution,
    /// The file sent: `migration.sql` or `down.sql`.
    sql: &'static str,
    /// Attempts that ran into a lock, with who was in the way, and how
    /// long the last one waited.
    attempts: u32,
    blockers: Vec<Holder>,
    waited: Duration,
    started: Instant,
}

impl<'s> Run<'s> {
    fn new(session: &'s Session, k: &'s Known, direction: Direction, ddl: &'s Ddl) -> Self {
        let (execution, sql) = match direction {
            Direction::Up => (k.execution(), k.directory.migration_sql),
            Direction::Down => (k.down_execution(), k.directory.down_sql.unwrap_or_default()),
        };
        Self {
            session,
            k,
            direction,
            ddl,
            execution,
            sql,
            attempts: 0,
            blockers: Vec::new(),
            waited: Duration::ZERO,
            started: Instant::now(),
        }
    }

    /// The session's own bound, which the `CONCURRENTLY` forms (and a DDL
    /// lock timeout of 0) wait with.
    fn patient(&self) -> Duration {
        self.session
            .lock_timeout
            .unwrap_or(session::DEFAULT_LOCK_TIMEOUT)
    }

    fn ddl_lock(&self) -> Duration {
        self.ddl.lock_timeout.unwrap_or_else(|| self.patient())
    }

    /// The whole migration in one transaction, tried again while another
    /// session's lock is in the way.
    async fn in_transaction(mut self) -> Result<()> {
        loop {
            let (result, blockers) = lock::watch(self.session, self.transaction()).await;
            match result {
                Ok(()) => return Ok(()),
                Err(e) if is_lock_timeout(&e) => {
                    self.locked(&e, &blockers, self.ddl_lock()).await?
                }
                Err(e) => return Err(self.failed(&describe_db_error(&e))),
            }
        }
    }

    /// One attempt: everything in one transaction, rolled back explicitly
    /// on failure so that no lock outlives it (the pause before a retry
    /// must not hold any).
    async fn transaction(&self) -> std::result::Result<(), sea_orm::DbErr> {
        let schema = &self.session.schema;
        let txn = self.session.db().begin().await?;
        let result = async {
            let mut set = format!(
                "SET LOCAL lock_timeout = '{}'",
                session::pg_millis(self.ddl_lock())
            );
            if let Some(t) = self.ddl.statement_timeout {
                set += &format!(
                    "; SET LOCAL statement_timeout = '{}'",
                    session::pg_millis(t)
                );
            }
            txn.execute_unprepared(&set).await?;
            let manager = SchemaManager::new(&txn);
            match self.direction {
                Direction::Up => {
                    let id = history::start(&txn, schema, self.k.name, &self.k.checksum).await?;
                    execute(&txn, self.sql).await?;
                    migration::prisma::applied_by_runner(self.k.migration.up(&manager)).await?;
                    history::finish(&txn, schema, &id).await
                }
                Direction::Down => {
                    execute(&txn, self.sql).await?;
                    migration::prisma::applied_by_runner(self.k.migration.down(&manager)).await?;
                    history::forget(&txn, schema, self.k.name).await
                }
            }
        }
        .await;
        match result {
            Ok(()) => txn.commit().await,
            Err(e) => {
                let _ = txn.rollback().await;
                Err(e)
            }
        }
    }

    /// The migration outside a transaction: its file in pieces
    /// ([`pieces`]), each tried again on its own while a lock is in the
    /// way (the pieces before it have committed), then its Rust steps,
    /// then its history row. The session's timeouts are restored after.
    async fn outside_transaction(mut self) -> Result<()> {
        let result = self.outside_steps().await;
        let restored = self.session.set_timeouts(self.patient(), None).await;
        result?;
        restored
    }

    async fn outside_steps(&mut self) -> Result<()> {
        let started_at = chrono::Utc::now();
        let script = sql::split(self.sql);
        for piece in pieces(self.sql, &script.statements, self.execution) {
            loop {
                if let Some(index) = &piece.builds_index {
                    self.drop_invalid_index(index).await?;
                }
                let wait = if piece.concurrent {
                    self.patient()
                } else {
                    self.ddl_lock()
                };
                self.session
                    .set_timeouts(wait, self.ddl.statement_timeout)
                    .await?;
                let (result, blockers) =
                    lock::watch(self.session, execute(self.session.db(), piece.text)).await;
                let Err(e) = result else { break };
                if piece.opens_block {
                    // The file's own transaction failed: end it, or the
                    // session stays in an aborted transaction.
                    let _ = self.session.db().execute_unprepared("ROLLBACK").await;
                }
                if !is_lock_timeout(&e) {
                    return Err(self.failed(&describe_db_error(&e)));
                }
                self.locked(&e, &blockers, wait).await?;
            }
        }
        self.session
            .set_timeouts(self.ddl_lock(), self.ddl.statement_timeout)
            .await?;
        let manager = SchemaManager::new(self.session.db());
        let steps = match self.direction {
            Direction::Up => {
                migration::prisma::applied_by_runner(self.k.migration.up(&manager)).await
            }
            Direction::Down => {
                migration::prisma::applied_by_runner(self.k.migration.down(&manager)).await
            }
        };
        if let Err(e) = steps {
            return Err(self.failed(&describe_db_error(&e)));
        }
        self.session.set_timeouts(self.patient(), None).await?;
        let schema = &self.session.schema;
        // After the last statement: an interrupted run leaves no row.
        let recorded = match self.direction {
            Direction::Up => {
                history::record_applied(
                    self.session.db(),
                    schema,
                    self.k.name,
                    &self.k.checksum,
                    started_at,
                )
                .await
            }
            Direction::Down => history::forget(self.session.db(), schema, self.k.name).await,
        };
        recorded.map_err(|e| self.failed(&describe_db_error(&e)))
    }

    /// An index the file builds concurrently that exists and is
    /// `INVALID` (an earlier build failed or was interrupted) is dropped,
    /// concurrently, so that the build can run again; the log says so.
    async fn drop_invalid_index(&self, index: &ObjectName) -> Result<()> {
        let schema = index.schema.as_deref().unwrap_or(&self.session.schema);
        let invalid: bool = lock::reading(self.session, async {
            sqlx::query(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i \
                 JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid \
                 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relname = $2 AND NOT i.indisvalid)",
            )
            .bind(schema)
            .bind(&index.name)
            .fetch_one(self.session.pool())
            .await
            .map(|row| row.get::<bool, _>(0))
            .map_err(|e| session::query_error(&e, "look for an invalid index"))
        })
        .await?;
        if !invalid {
            return Ok(());
        }
        tracing::warn!(
            "migration {}: index {} exists but is INVALID (a concurrent build of an earlier run \
             failed or was interrupted): dropping it with DROP INDEX CONCURRENTLY and building it \
             again",
            self.k.name,
            sql::qualified(schema, &index.name)
        );
        self.session.set_timeouts(self.patient(), None).await?;
        let drop = format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}",
            sql::qualified(schema, &index.name)
        );
        let (result, blockers) = lock::watch(self.session, execute(self.session.db(), &drop)).await;
        result.map_err(|e| {
            let mut error = self.failed(&format!(
                "dropping the invalid index {} failed: {}",
                index.name,
                describe_db_error(&e)
            ));
            if is_lock_timeout(&e) {
                error.message += &format!("; blocked by {}", lock::describe(&blockers));
            }
            error
        })
    }

    /// After an attempt ran into another session's lock: logs it with who
    /// was in the way, and waits before the next attempt; once the retries
    /// are used up, the final error.
    async fn locked(
        &mut self,
        error: &sea_orm::DbErr,
        blockers: &[Holder],
        waited: Duration,
    ) -> Result<()> {
        self.attempts += 1;
        self.waited = waited;
        for holder in blockers {
            match self.blockers.iter_mut().find(|h| h.pid == holder.pid) {
                Some(known) => *known = holder.clone(),
                None => self.blockers.push(holder.clone()),
            }
        }
        let tries = self.ddl.lock_retries.saturating_add(1);
        let who = lock::describe(blockers);
        if self.attempts >= tries {
            tracing::debug!("last attempt: {}", describe_db_error(error));
            return Err(self.lock_timeout());
        }
        let pause = backoff(self.attempts);
        tracing::warn!(
            "{} {}: attempt {} of {tries} waited {} for a lock and was rolled back; blocked by \
             {who}; trying again in {}",
            self.verb(),
            self.k.name,
            self.attempts,
            lock::seconds(waited),
            lock::seconds(pause),
        );
        tokio::time::sleep(pause).await;
        Ok(())
    }

    fn verb(&self) -> &'static str {
        match self.direction {
            Direction::Up => "migration",
            Direction::Down => "rollback of",
        }
    }

    /// What is left of it after a failure.
    fn aftermath(&self) -> &'static str {
        if self.execution.in_transaction() {
            "it was rolled back and nothing of it remains"
        } else {
            "it ran outside a transaction: what its statements did before the failure stays, \
             and no history row was written, so the next run starts it again"
        }
    }

    fn failed(&self, what: &str) -> Error {
        Error::new(
            Code::MigrationFailed,
            format!(
                "{} {} failed: {what}; {}",
                self.verb(),
                self.k.name,
                self.aftermath()
            ),
            "fix the migration (or the data it trips over) and run the command again; \
             migrations before it stay applied",
        )
    }

    fn lock_timeout(&self) -> Error {
        Error::new(
            Code::MigrationLockTimeout,
            format!(
                "{} {} could not get its locks: {} attempt(s) in {}, each waiting up to {} for \
                 another session's lock; {}; blocked by {}",
                self.verb(),
                self.k.name,
                self.attempts,
                lock::seconds(Duration::from_secs(self.started.elapsed().as_secs())),
                lock::seconds(self.waited),
                self.aftermath(),
                lock::describe(&self.blockers)
            ),
            "the sessions named hold locks on the tables it changes (often a long transaction, or \
             one left idle in transaction): let them finish or end them (SELECT \
             pg_terminate_backend(<pid>)), then run the command again; --lock-retries and \
             --ddl-lock-timeout give more patience, at the cost of longer stalls of the app's \
             queries",
        )
    }
}

/// The pause before retry `n` (1, 2, ...): doubling from 1 s, at most
/// 1 min, half of it random ("equal jitter"), so that runs that collided
/// once do not collide again.
fn backoff(n: u32) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(2u32.saturating_pow(n.saturating_sub(1)))
        .min(LONGEST_BACKOFF);
    let random = getrandom::u32().unwrap_or(u32::MAX / 2);
    base / 2 + (base / 2).mul_f64(f64::from(random) / f64::from(u32::MAX))
}

fn is_lock_timeout(e: &sea_orm::DbErr) -> bool {
    db_sqlstate(e).as_deref() == Some(LOCK_NOT_AVAILABLE)
}

/// A part of a file sent as one message, outside a transaction.
#[derive(Debug, PartialEq, Eq)]
struct Piece<'a> {
    /// From its first statement through its last, as written.
    text: &'a str,
    /// It contains the file's own `BEGIN`.
    opens_block: bool,
    /// It is one `CONCURRENTLY` statement.
    concurrent: bool,
    /// The index it builds concurrently, when it names one.
    builds_index: Option<ObjectName>,
}

/// How a file that runs outside a transaction is sent.
///
/// - statement by statement: each statement alone, except that a `BEGIN`
///   through its `COMMIT`/`ROLLBACK` goes as one message (a block fails or
///   commits as a whole, and is retried as a whole);
/// - as written: up to and including each `COMMIT`/`ROLLBACK`, then the
///   rest: what PostgreSQL commits when the whole file is one message
///   (a `BEGIN` turns the implicit block before it into its own, `COMMIT`
///   ends it, what follows is a new implicit block), but it is known which
///   piece failed, and the pieces before it stay committed.
fn pieces<'a>(
    sql: &'a str,
    statements: &[sql::Statement<'a>],
    execution: Execution,
) -> Vec<Piece<'a>> {
    let ends_block = |s: &sql::Statement<'_>| {
        matches!(
            s.kind,
            StatementKind::TransactionControl(
                TransactionControl::Commit
                    | TransactionControl::Rollback
                    | TransactionControl::PrepareTransaction
            )
        )
    };
    let opens_block = |s: &sql::Statement<'_>| {
        s.kind == StatementKind::TransactionControl(TransactionControl::Begin)
    };
    let mut groups: Vec<&[sql::Statement<'a>]> = Vec::new();
    let mut start = 0;
    let mut in_block = false;
    for (i, s) in statements.iter().enumerate() {
        let end_here = match execution {
            Execution::StatementByStatement => {
                if opens_block(s) {
                    in_block = true;
                }
                let end = !in_block || ends_block(s);
                if ends_block(s) {
                    in_block = false;
                }
                end
            }
            _ => ends_block(s),
        };
        if end_here {
            groups.push(&statements[start..=i]);
            start = i + 1;
        }
    }
    if start < statements.len() {
        groups.push(&statements[start..]);
    }
    groups
        .into_iter()
        .filter_map(|group| {
            let (first, last) = (group.first()?, group.last()?);
            let text = sql.get(first.offset..last.offset + last.text.len())?;
            let single = (group.len() == 1).then_some(first);
            Some(Piece {
                text,
                opens_block: group.iter().any(opens_block),
                concurrent: single.is_some_and(|s| s.kind.is_concurrent()),
                builds_index: single.and_then(|s| s.builds_index.clone()),
            })
        })
        .collect()
}

/// What migration `k` does to the catalog, replayed on `manager`'s
/// connection inside a transaction the caller rolls back (the doctor):
/// its `migration.sql` whole when it runs in a transaction; otherwise
/// statement by statement in the forms a transaction block accepts
/// ([`sql::Statement::in_transaction_form`]: no `CONCURRENTLY`, no
/// transaction control); then its Rust steps.
pub async fn replay_in_transaction(
    manager: &SchemaManager<'_>,
    k: &Known,
) -> std::result::Result<(), sea_orm::DbErr> {
    let conn = manager.get_connection();
    let sql = k.directory.migration_sql;
    if k.execution().in_transaction() {
        execute(conn, sql).await?;
    } else {
        for statement in &sql::split(sql).statements {
            if let Some(text) = statement.in_transaction_form(sql) {
                execute(conn, &text).await?;
            }
        }
    }
    migration::prisma::applied_by_runner(k.migration.up(manager)).await
}

/// Sends SQL whole, as one message; an empty one sends nothing.
async fn execute<C: sea_orm::ConnectionTrait>(
    conn: &C,
    sql: &str,
) -> std::result::Result<(), sea_orm::DbErr> {
    if sql.trim().is_empty() {
        return Ok(());
    }
    conn.execute_unprepared(sql).await.map(|_| ())
}

#[cfg(test)]
mod tests;
