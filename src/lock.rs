//! The migration lock: a PostgreSQL session advisory lock.
//!
//! sea-orm-migration takes no lock, so two deploy jobs can apply the same
//! migration twice (SeaQL/sea-orm#1378). Every command that changes the
//! schema holds this lock for its whole run. Its key is fixed per database
//! and schema, computed by the server so that any client can find it:
//!
//! ```sql
//! ('x' || left(md5('impulse-db/' || current_database() || '/' || <schema>), 16))::bit(64)::bigint
//! ```
//!
//! The commands that change the history also take Prisma Migrate's own
//! key, [`PRISMA_KEY`], after this one. Both are taken by polling
//! `pg_try_advisory_lock`, never by waiting inside `pg_advisory_lock`.
//!
//! Being a session lock, it is released when the session ends, including
//! when the runner is killed; the server notices a dead client within a
//! second on PostgreSQL 14+ (see `session`).
//!
//! This is also the one place that says who is in the way, for the
//! advisory locks ([`holder`]) and for table locks ([`watch`], which asks
//! `pg_blocking_pids` from the session's observer connection while a
//! statement waits): both describe the other session with the same
//! columns of `pg_stat_activity` ([`Holder`]), and never with its query
//! text, which can hold data or secrets.

use std::future::Future;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{AssertSqlSafe, Row};

use crate::error::{Code, Error, Result};
use crate::session::{Batch, Session, query_error};
use crate::sql::with_values;

/// SQL computing the lock key for the schema bound as `$1`.
pub const KEY_SQL: &str =
    "('x' || left(md5('impulse-db/' || current_database() || '/' || $1), 16))::bit(64)::bigint";

/// Who holds a lock, or is in the way of one, as `pg_stat_activity` shows
/// it. Without `pg_read_all_stats` (RDS: `rds_superuser`'s `pg_monitor`),
/// another role's session shows only its pid, user and application_name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    pub pid: i32,
    pub application_name: String,
    /// The role it logged in as.
    pub user: String,
    pub client: String,
    pub connected_since: String,
    /// Its state, and for how long (`idle in transaction for 12s`).
    pub state: String,
    /// Seconds since its transaction began, when it is in one.
    pub transaction_age_s: Option<i64>,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} (application_name \"{}\", user \"{}\", client {}, connected since {}, {}",
            self.pid,
            self.application_name,
            self.user,
            self.client,
            self.connected_since,
            self.state
        )?;
        if let Some(age) = self.transaction_age_s {
            write!(f, ", transaction open for {age}s")?;
        }
        f.write_str(")")
    }
}

/// The columns of `pg_stat_activity a` a [`Holder`] is read from (see
/// [`holder_from`]): never `query`.
const HOLDER_COLUMNS: &str = "a.pid, coalesce(a.application_name, ''), coalesce(a.usename::text, ''), \
    coalesce(host(a.client_addr), CASE WHEN a.pid IS NOT NULL AND a.client_addr IS NULL \
        AND a.backend_type = 'client backend' AND a.backend_start IS NOT NULL THEN 'local socket' END, 'unknown'), \
    coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', 'unknown'), \
    coalesce(a.state || CASE WHEN a.state_change IS NOT NULL \
        THEN ' for ' || floor(extract(epoch FROM now() - a.state_change))::bigint || 's' ELSE '' END, \
        'state unknown'), \
    floor(extract(epoch FROM now() - a.xact_start))::bigint";

fn holder_from(row: &PgRow) -> sqlx::Result<Holder> {
    Ok(Holder {
        pid: row.try_get(0)?,
        application_name: row.try_get(1)?,
        user: row.try_get(2)?,
        client: row.try_get(3)?,
        connected_since: row.try_get(4)?,
        state: row.try_get(5)?,
        transaction_age_s: row.try_get(6)?,
    })
}

/// Prisma Migrate's advisory lock key (`pg_advisory_lock(72707369)`):
/// taken too by the commands that change the history, so that `prisma
/// migrate deploy` and this tool never interleave.
pub const PRISMA_KEY: i64 = 72707369;

/// Which locks a command takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// This tool's key only (`grant`).
    Ours,
    /// This tool's key, then Prisma Migrate's (`up`, `down`, `resolve`,
    /// `baseline`).
    WithPrisma,
}

/// Proof that the locks are held; release them with
/// [`MigrationLock::release`] (or [`MigrationLock::leave_to_session_end`]).
#[derive(Debug)]
pub struct MigrationLock {
    keys: Vec<i64>,
    /// How long it took to get them (zero: at the first attempt).
    pub waited: Duration,
}

/// The first and the longest pause between two attempts.
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

/// A key as an SQL literal (any `i64`: `-9223372036854775808` as a
/// number would overflow before its minus applies).
fn key_literal(key: i64) -> String {
    format!("'{key}'::bigint")
}

/// This tool's key for `schema`, as an SQL expression.
fn key_sql(schema: &str) -> String {
    with_values(KEY_SQL, &[schema])
}

/// The first attempt at the locks of `scope` as one statement, which never
/// waits: this tool's key, whether its lock was got, and whether Prisma's
/// was (tried only once ours is held; NULL when not tried). A command can
/// send it with other statements ([`crate::session::First`]).
pub fn attempt_sql(schema: &str, scope: Scope) -> String {
    let prisma = match scope {
        Scope::WithPrisma => format!(
            "CASE WHEN got THEN pg_try_advisory_lock({}) END",
            key_literal(PRISMA_KEY)
        ),
        Scope::Ours => "NULL::bool".to_string(),
    };
    // A WITH query that calls a volatile function is evaluated once, not
    // inlined into the query that reads it.
    format!(
        "WITH ours AS (SELECT key, pg_try_advisory_lock(key) AS got FROM (SELECT {} AS key) k) \
         SELECT key, got, {prisma} FROM ours",
        key_sql(schema)
    )
}

/// What the first attempt ([`attempt_sql`]) got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    /// This tool's key.
    pub key: i64,
    pub ours: bool,
    /// Prisma's lock (`None`: not tried).
    pub prisma: Option<bool>,
}

impl Attempt {
    /// The attempt's row.
    pub fn from_row(row: &PgRow) -> sqlx::Result<Attempt> {
        Ok(Attempt {
            key: row.try_get(0)?,
            ours: row.try_get(1)?,
            prisma: row.try_get(2)?,
        })
    }

    /// Every lock of `scope` was got.
    pub fn got(&self, scope: Scope) -> bool {
        self.ours && (scope == Scope::Ours || self.prisma == Some(true))
    }

    /// The locks of `scope` this attempt got, to release them.
    pub fn held(&self, scope: Scope) -> MigrationLock {
        let mut keys = Vec::new();
        if self.ours {
            keys.push(self.key);
        }
        if scope == Scope::WithPrisma && self.prisma == Some(true) {
            keys.push(PRISMA_KEY);
        }
        MigrationLock {
            keys,
            waited: Duration::ZERO,
        }
    }
}

/// Takes the locks of `scope`, waiting at most `timeout` in all for other
/// runs to finish.
///
/// Every attempt is `pg_try_advisory_lock`, with a growing pause between
/// attempts, and never a wait inside `pg_advisory_lock`: a session blocked
/// there holds a snapshot, and another session's `CREATE INDEX
/// CONCURRENTLY` waits for it, so the two deadlock (README: "Deploying to a
/// live database").
pub async fn acquire(session: &Session, timeout: Duration, scope: Scope) -> Result<MigrationLock> {
    let started = Instant::now();
    let first = session
        .simple(attempt_sql(&session.schema, scope))
        .await
        .and_then(|rows| match rows.first() {
            Some(row) => Attempt::from_row(row),
            None => Err(sqlx::Error::RowNotFound),
        })
        .map_err(|e| query_error(&e, "take the migration lock"))?;
    acquire_after(session, first, started, timeout, scope).await
}

/// [`acquire`] after its first attempt, `first`, made at `started` (sent
/// by the caller, with other statements): polls for what it did not get.
pub async fn acquire_after(
    session: &Session,
    first: Attempt,
    started: Instant,
    timeout: Duration,
    scope: Scope,
) -> Result<MigrationLock> {
    if first.got(scope) {
        return Ok(first.held(scope));
    }
    let mut keys = vec![(first.key, Some(first.ours))];
    if scope == Scope::WithPrisma {
        keys.push((PRISMA_KEY, first.prisma));
    }
    let deadline = started + timeout;
    let mut held = Vec::new();
    for (key, tried) in keys {
        let outcome = match tried {
            Some(true) => Ok(()),
            tried => poll(session, key, deadline, timeout, tried.is_some()).await,
        };
        match outcome {
            Ok(()) => held.push(key),
            Err(e) => {
                let _ = release_keys(session, &held).await;
                return Err(e);
            }
        }
    }
    Ok(MigrationLock {
        keys: held,
        waited: started.elapsed(),
    })
}

/// Tries `key` until `deadline` (`tried`: the first try was made and
/// failed); on timeout, names whoever holds it.
async fn poll(
    session: &Session,
    key: i64,
    deadline: Instant,
    timeout: Duration,
    mut tried: bool,
) -> Result<()> {
    let mut pause = FIRST_PAUSE;
    let mut announced = false;
    loop {
        if !tried {
            let got = session
                .simple(format!("SELECT pg_try_advisory_lock({})", key_literal(key)))
                .await
                .and_then(|rows| match rows.first() {
                    Some(row) => row.try_get::<bool, _>(0),
                    None => Err(sqlx::Error::RowNotFound),
                })
                .map_err(|e| query_error(&e, "take the migration lock"))?;
            if got {
                return Ok(());
            }
        }
        tried = false;
        if !announced {
            announced = true;
            if let Ok(Some(h)) = holder(session, key).await {
                tracing::info!(
                    "waiting up to {}s for the {} held by {h}",
                    timeout.as_secs(),
                    lock_name(key)
                );
            }
        }
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
    let who = holder(session, key).await.ok().flatten().map_or_else(
        || "another session (it could not be identified)".to_string(),
        |h| h.to_string(),
    );
    let hint = if key == PRISMA_KEY {
        "`prisma migrate deploy` (or `migrate dev`) is running: wait for it, or raise \
         --lock-timeout; if that session is stuck, end it with SELECT pg_terminate_backend(<pid>)"
    } else {
        "another migration run is in progress: wait for it, or raise --lock-timeout; if that \
         session is stuck, end it with SELECT pg_terminate_backend(<pid>)"
    };
    Err(Error::new(
        Code::LockTimeout,
        format!(
            "the {} on database \"{}\", schema \"{}\" was not acquired within {}s: it is held by {who}",
            lock_name(key),
            session.database,
            session.schema,
            timeout.as_secs()
        ),
        hint,
    ))
}

fn lock_name(key: i64) -> &'static str {
    if key == PRISMA_KEY {
        "Prisma Migrate lock (72707369)"
    } else {
        "migration lock"
    }
}

/// Releases `keys`, the last taken first, in one round trip.
async fn release_keys(session: &Session, keys: &[i64]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut batch = Batch::new();
    for key in keys.iter().rev() {
        batch.push(format!("SELECT pg_advisory_unlock({})", key_literal(*key)));
    }
    match session.batch(&batch).await.take_error() {
        Some(e) => Err(query_error(&e, "release the migration lock")),
        None => Ok(()),
    }
}

/// The session holding the lock `key` in this database, if any.
pub async fn holder(session: &Session, key: i64) -> Result<Option<Holder>> {
    let key = key_literal(key);
    let rows = session
        .simple(format!(
            "SELECT {HOLDER_COLUMNS} \
             FROM pg_catalog.pg_locks l \
             JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
             WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
               AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) \
               AND l.classid = (({key} >> 32) & 4294967295)::oid \
               AND l.objid = ({key} & 4294967295)::oid \
             LIMIT 1"
        ))
        .await
        .map_err(|e| query_error(&e, "look up the holder of the migration lock"))?;
    rows.first()
        .map(holder_from)
        .transpose()
        .map_err(|e| query_error(&e, "look up the holder of the migration lock"))
}

/// The sessions `pid` is waiting for right now (`pg_blocking_pids`: the
/// holders of conflicting locks, and the requests queued ahead of it),
/// asked on `observer`. A prepared transaction shows as pid 0.
pub async fn blockers(observer: &PgPool, pid: i32) -> Result<Vec<Holder>> {
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT {} FROM unnest(pg_catalog.pg_blocking_pids($1)) AS b(pid) \
         LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = b.pid ORDER BY b.pid",
        HOLDER_COLUMNS.replacen("a.pid", "b.pid", 1)
    )))
    .bind(pid)
    .fetch_all(observer)
    .await
    .map_err(|e| query_error(&e, "look up the sessions in the way"))?;
    rows.iter()
        .map(holder_from)
        .collect::<sqlx::Result<_>>()
        .map_err(|e| query_error(&e, "look up the sessions in the way"))
}

/// How soon after a statement starts the observer first looks (a
/// statement done by then was not kept waiting).
const WATCH_GRACE: Duration = Duration::from_millis(50);
/// How often the observer looks while the statement waits.
const WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// Runs `work` (statements on `session`) and returns its output with the
/// sessions that kept it waiting for a lock, as the observer last saw
/// them (the last look that found any: sessions that held a lock for a
/// moment when the wait began are gone by then, and new ones queue behind
/// the waiting statement instead of ahead of it). Nothing is asked when
/// `work` is done within [`WATCH_GRACE`]; the observer connection opens on
/// the first longer run, and a failure to open it or to ask only means
/// that no one is named.
pub async fn watch<F: Future>(session: &Session, work: F) -> (F::Output, Vec<Holder>) {
    let mut seen: Vec<Holder> = Vec::new();
    let mut work = std::pin::pin!(work);
    let mut pause = WATCH_GRACE;
    loop {
        tokio::select! {
            out = &mut work => return (out, seen),
            () = tokio::time::sleep(pause) => {}
        }
        pause = WATCH_INTERVAL;
        let look = async {
            let observer = session.observer().await?;
            blockers(observer, session.pid).await.ok()
        };
        tokio::select! {
            out = &mut work => return (out, seen),
            now = look => {
                if let Some(now) = now.filter(|now| !now.is_empty()) {
                    seen = now;
                }
            }
        }
    }
}

/// `blockers` as a clause: `pid 1 (...); pid 2 (...)`, or what to say when
/// none was seen.
pub fn describe(blockers: &[Holder]) -> String {
    if blockers.is_empty() {
        return "a session that could not be identified (the observer connection saw no \
                blocker: the wait was short, or it could not connect)"
            .to_string();
    }
    blockers
        .iter()
        .map(Holder::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// `result` with the sessions that blocked it named, when it failed on a
/// blocked read ([`Code::LockReadBlocked`]): what the read-only commands
/// and the runner's own statements report.
pub fn with_blockers<T>(session: &Session, result: Result<T>, blockers: &[Holder]) -> Result<T> {
    result.map_err(|mut e| {
        if e.code == Code::LockReadBlocked {
            let waited = session
                .current_lock_timeout()
                .map(|t| format!("; it waited {}, then gave up", seconds(t)))
                .unwrap_or_default();
            e.message = format!("{}{waited}; blocked by {}", e.message, describe(blockers));
        }
        e
    })
}

/// [`watch`] then [`with_blockers`]: a read of the tool whose blockers are
/// named when it waits too long.
pub async fn reading<T>(session: &Session, work: impl Future<Output = Result<T>>) -> Result<T> {
    let (result, blockers) = watch(session, work).await;
    with_blockers(session, result, &blockers)
}

/// `2s`, `1.5s`, `0.25s`.
pub fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", (d.as_secs_f64() * 1000.0).round() / 1000.0)
    }
}

impl MigrationLock {
    /// How long it took to get the locks, in milliseconds (to the
    /// microsecond), as the reports show it.
    pub fn waited_ms(&self) -> f64 {
        (self.waited.as_secs_f64() * 1e6).round() / 1e3
    }

    /// Awaits `work` with the locks held, then releases them, whatever
    /// `work` returned; its error comes before the release's.
    pub async fn around<T>(
        self,
        session: &Session,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let result = work.await;
        let released = self.release(session).await;
        let value = result?;
        released?;
        Ok(value)
    }

    /// Releases the locks. Closing the session would release them too;
    /// doing it explicitly lets the next run in as early as possible.
    pub async fn release(self, session: &Session) -> Result<()> {
        release_keys(session, &self.keys).await
    }

    /// Leaves the locks to the end of the session, for a caller that
    /// closes it next: the server releases a session's advisory locks when
    /// it ends the session, before it closes the connection, and the
    /// driver's Terminate ([`Session::close`]) asks it to without waiting
    /// for an answer, where an unlock would cost a round trip. Should the
    /// Terminate never arrive (the process killed first), the server sees
    /// the connection close and ends the session all the same.
    pub fn leave_to_session_end(self) {}
}
