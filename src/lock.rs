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

/// Proof that the lock is held; release it with [`MigrationLock::release`].
#[derive(Debug)]
pub struct MigrationLock {
    key: i64,
    /// How long it took to get the lock.
    pub waited: Duration,
}

/// Who holds the lock, as `pg_stat_activity` shows it.
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

/// Takes the lock, waiting at most `timeout` for another run to finish.
pub async fn acquire(session: &Session, timeout: Duration) -> Result<MigrationLock> {
    let started = Instant::now();
    let row = sqlx::query(AssertSqlSafe(format!(
        "WITH k AS (SELECT {KEY_SQL} AS key) SELECT key, pg_try_advisory_lock(key) FROM k"
    )))
    .bind(&session.schema)
    .fetch_one(&session.pool)
    .await
    .map_err(|e| query_error(&e, "take the migration lock"))?;
    let key: i64 = row.get(0);
    if row.get::<bool, _>(1) {
        return Ok(MigrationLock {
            key,
            waited: started.elapsed(),
        });
    }

    let holder = holder(session, key).await?;
    if let Some(h) = &holder {
        tracing::info!(
            "waiting up to {}s for the migration lock held by {h}",
            timeout.as_secs()
        );
    }
    if !timeout.is_zero() {
        // lock_timeout bounds the wait inside the server; 0 there would mean
        // "forever", hence the check above.
        let millis = timeout.as_millis().to_string();
        let waited = async {
            sqlx::query("SELECT set_config('lock_timeout', $1, false)")
                .bind(&millis)
                .execute(&session.pool)
                .await?;
            let result = sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(key)
                .execute(&session.pool)
                .await;
            sqlx::query("RESET lock_timeout")
                .execute(&session.pool)
                .await?;
            result
        }
        .await;
        match waited {
            Ok(_) => {
                return Ok(MigrationLock {
                    key,
                    waited: started.elapsed(),
                });
            }
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("55P03") => {}
            Err(e) => return Err(query_error(&e, "wait for the migration lock")),
        }
    }

    // Name whoever holds it now (it may have changed hands while we waited).
    let holder = holder_or(session, key, holder).await;
    let who = holder.map_or_else(
        || "another session (it could not be identified)".to_string(),
        |h| h.to_string(),
    );
    Err(Error::new(
        Code::LockTimeout,
        format!(
            "the migration lock on database \"{}\", schema \"{}\" was not acquired within {}s: it is held by {who}",
            session.database,
            session.schema,
            timeout.as_secs()
        ),
        "another migration run is in progress: wait for it, or raise --lock-timeout; if that \
         session is stuck, end it with SELECT pg_terminate_backend(<pid>)",
    ))
}

async fn holder_or(session: &Session, key: i64, before: Option<Holder>) -> Option<Holder> {
    match holder(session, key).await {
        Ok(Some(h)) => Some(h),
        _ => before,
    }
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
    /// Releases the lock. Closing the session would release it too; doing it
    /// explicitly lets the next run in as early as possible.
    pub async fn release(self, session: &Session) -> Result<()> {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&session.pool)
            .await
            .map_err(|e| query_error(&e, "release the migration lock"))?;
        Ok(())
    }
}
