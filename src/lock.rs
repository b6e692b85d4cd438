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
//! second on PostgreSQL 14+ (see `connect`).

use std::time::{Duration, Instant};

use sqlx::{AssertSqlSafe, Row};

use crate::error::{Code, Error, Result};
use crate::session::{Session, query_error};

/// SQL computing the lock key for the schema bound as `$1`.
pub const KEY_SQL: &str =
    "('x' || left(md5('impulse-db/' || current_database() || '/' || $1), 16))::bit(64)::bigint";

/// Who holds a lock, as `pg_stat_activity` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: i32,
    pub application_name: String,
    pub client: String,
    pub connected_since: String,
    pub state: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} (application_name \"{}\", client {}, connected since {}, {})",
            self.pid, self.application_name, self.client, self.connected_since, self.state
        )
    }
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

/// Proof that the locks are held; release them with [`MigrationLock::release`].
#[derive(Debug)]
pub struct MigrationLock {
    keys: Vec<i64>,
    /// How long it took to get them.
    pub waited: Duration,
}

/// The first and the longest pause between two attempts.
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const LONGEST_PAUSE: Duration = Duration::from_millis(500);

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
    let ours: i64 = sqlx::query(AssertSqlSafe(format!("SELECT {KEY_SQL}")))
        .bind(&session.schema)
        .fetch_one(&session.pool)
        .await
        .map(|row| row.get(0))
        .map_err(|e| query_error(&e, "compute the migration lock's key"))?;
    let mut keys = vec![ours];
    if scope == Scope::WithPrisma {
        keys.push(PRISMA_KEY);
    }
    let deadline = started + timeout;
    let mut held = Vec::new();
    for key in keys {
        match poll(session, key, deadline, timeout).await {
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

/// Tries `key` until `deadline`; on timeout, names whoever holds it.
async fn poll(session: &Session, key: i64, deadline: Instant, timeout: Duration) -> Result<()> {
    let mut pause = FIRST_PAUSE;
    let mut announced = false;
    loop {
        let got: bool = sqlx::query("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&session.pool)
            .await
            .map(|row| row.get(0))
            .map_err(|e| query_error(&e, "take the migration lock"))?;
        if got {
            return Ok(());
        }
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

async fn release_keys(session: &Session, keys: &[i64]) -> Result<()> {
    for key in keys.iter().rev() {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(key)
            .execute(&session.pool)
            .await
            .map_err(|e| query_error(&e, "release the migration lock"))?;
    }
    Ok(())
}

/// The session holding the lock `key` in this database, if any.
pub async fn holder(session: &Session, key: i64) -> Result<Option<Holder>> {
    let row = sqlx::query(
        "SELECT a.pid, coalesce(a.application_name, ''), \
                coalesce(host(a.client_addr), CASE WHEN a.pid IS NOT NULL AND a.client_addr IS NULL \
                    AND a.backend_type = 'client backend' THEN 'local socket' END, 'unknown'), \
                coalesce(to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC', 'unknown'), \
                coalesce(a.state || CASE WHEN a.state_change IS NOT NULL \
                    THEN ' for ' || floor(extract(epoch FROM now() - a.state_change))::bigint || 's' ELSE '' END, \
                    'state unknown') \
         FROM pg_catalog.pg_locks l \
         JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
           AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()) \
           AND l.classid = (($1::bigint >> 32) & 4294967295)::oid \
           AND l.objid = ($1::bigint & 4294967295)::oid \
         LIMIT 1",
    )
    .bind(key)
    .fetch_optional(&session.pool)
    .await
    .map_err(|e| query_error(&e, "look up the holder of the migration lock"))?;
    Ok(row.map(|row| Holder {
        pid: row.get(0),
        application_name: row.get(1),
        client: row.get(2),
        connected_since: row.get(3),
        state: row.get(4),
    }))
}

impl MigrationLock {
    /// Releases the locks. Closing the session would release them too;
    /// doing it explicitly lets the next run in as early as possible.
    pub async fn release(self, session: &Session) -> Result<()> {
        release_keys(session, &self.keys).await
    }
}
