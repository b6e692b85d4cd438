//! Opening the one database session a command works on.
//!
//! A migration runner needs exactly one session: the advisory lock belongs to
//! a session, and every migration must run in the session that holds it. So
//! the sea-orm `DatabaseConnection` wraps an sqlx pool capped at one
//! connection that never expires, and the runner's own queries go through the
//! same pool.
//!
//! Before the driver connects, the network steps of [`crate::net`] (DNS,
//! TCP) run with their own deadline, so "does not resolve", "refused" and
//! "timed out" are told apart quickly: sqlx's pool would otherwise retry a
//! refused connection until its deadline. Driver errors become codes with
//! hints in [`classify`].
//!
//! Every session the tool opens bounds its waits for other sessions' locks:
//! the prep round trip sets `lock_timeout` for the session (`--lock-timeout`,
//! [`DEFAULT_LOCK_TIMEOUT`] for the local cluster's sessions), so no
//! statement of the tool (a history read, the catalog, a grant) can wait on
//! a table lock beyond it. Migrations set their own, shorter bounds on top
//! (`runner`), and the doctor shorter ones still. Who is in the way is seen
//! from a second, lazily opened connection ([`Session::observer`]): a
//! waiting backend cannot be asked, and once its wait has failed
//! `pg_blocking_pids` no longer knows.

pub mod classify;

use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, SqlxPostgresConnector};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Row};

pub use classify::{
    LOCK_NOT_AVAILABLE, db_lock_blocked, db_sqlstate, describe_db_error, query_error,
};

use crate::config::{ConnSpec, SslMode};
use crate::error::{Code, Error, Result};
use crate::net;
use crate::sql::quote_ident;

/// The `application_name` the runner announces unless the URL sets one; it
/// is what a blocked run shows when it names the holder of the lock.
pub const APPLICATION_NAME: &str = "impulse-db migrate";

/// The `application_name` of the observer connection (see
/// [`Session::observer`]).
pub const OBSERVER_APPLICATION_NAME: &str = "impulse-db migrate (observer)";

/// How long the tool's statements wait for a lock when no command says
/// otherwise: `--lock-timeout`'s default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest the observer connection may take to open: it only names
/// blockers, so it never holds a command up for long.
const OBSERVER_CONNECT: Duration = Duration::from_secs(2);

/// A duration as PostgreSQL's `lock_timeout`/`statement_timeout` take it:
/// whole milliseconds, at least 1 (0 would mean "no limit") and at most
/// `INT_MAX` (the setting's own maximum).
pub fn pg_millis(d: Duration) -> String {
    format!("{}ms", d.as_millis().clamp(1, i32::MAX as u128))
}

/// An open session and what the server said about it.
pub struct Session {
    pub pool: PgPool,
    pub db: DatabaseConnection,
    /// `current_database()` as the server sees it.
    pub database: String,
    /// The schema the URL selects (Prisma's `schema`).
    pub schema: String,
    /// `server_version_num`, e.g. 150004.
    pub server_version: i32,
    /// The first attempt failed with a cached secret, which was fetched
    /// again (a rotation) before this session opened.
    pub credentials_refetched: bool,
    /// `pg_backend_pid()`: what the observer asks `pg_blocking_pids` about.
    pub pid: i32,
    /// The session's `lock_timeout`, as the prep round trip set it (`None`:
    /// the server's own setting was left alone, for a library caller).
    pub lock_timeout: Option<Duration>,
    /// The `lock_timeout` in force now, in milliseconds (0: the server's),
    /// for messages about a wait that ran out.
    current_lock_ms: std::sync::atomic::AtomicU64,
    /// What the observer connects with.
    spec: ConnSpec,
    /// The second connection that watches this one's lock waits, opened on
    /// first need; `None` inside when it could not be opened.
    observer: tokio::sync::OnceCell<Option<PgPool>>,
}

/// By hand: the pool's own `Debug` would print its connect options, and
/// with them the password.
impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("database", &self.database)
            .field("schema", &self.schema)
            .field("server_version", &self.server_version)
            .field("credentials_refetched", &self.credentials_refetched)
            .field("pid", &self.pid)
            .field("lock_timeout", &self.lock_timeout)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Opens a session to `spec` within `timeout` (DNS, TCP, TLS and
    /// authentication together) and prepares it, with the tool's default
    /// `lock_timeout` ([`DEFAULT_LOCK_TIMEOUT`]).
    pub async fn open(spec: &ConnSpec, timeout: Duration) -> Result<Session> {
        Self::open_bounded(spec, timeout, Some(DEFAULT_LOCK_TIMEOUT)).await
    }

    /// [`Session::open`] with the session's `lock_timeout` (`None` leaves
    /// the server's setting alone).
    pub async fn open_bounded(
        spec: &ConnSpec,
        timeout: Duration,
        lock_timeout: Option<Duration>,
    ) -> Result<Session> {
        if spec.unverified_remote_tls() {
            tracing::warn!(
                "the connection to {} does not verify the server's certificate (sslmode={}): \
                 anyone on the network path could pose as the database and ask for the password \
                 in clear text; use sslmode=verify-full with sslrootcert (the RDS CA bundle)",
                spec.host,
                spec.sslmode.as_str()
            );
        }
        let deadline = Instant::now().checked_add(timeout);
        let left = |deadline: Option<Instant>| {
            deadline.map_or(timeout, |d| d.saturating_duration_since(Instant::now()))
        };
        let addrs = net::resolve(&spec.host, spec.port, timeout).await?;
        net::tcp(&spec.host, spec.port, &addrs, left(deadline)).await?;
        Self::open_after_probe(spec, left(deadline), timeout, lock_timeout).await
    }

    /// The driver's part of opening (TLS, authentication, the session),
    /// after the caller has done the network steps itself (`migrate doctor`
    /// times them). `configured` is the timeout to name in messages;
    /// `lock_timeout` is the session's (`None`: the server's is kept).
    pub async fn open_after_probe(
        spec: &ConnSpec,
        remaining: Duration,
        configured: Duration,
        lock_timeout: Option<Duration>,
    ) -> Result<Session> {
        let started = Instant::now();
        check_root_cert(spec)?;
        // The pool retries what it deems transient (53300 too many
        // connections, 57P03 starting up) until its deadline and then says
        // only "timed out". So it gets two thirds of the time, and a direct
        // attempt the rest, to tell what the server actually answers; both
        // fit in `remaining`.
        let pool_budget = (remaining * 2 / 3).max(Duration::from_millis(1));
        let options = connect_options(spec);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(pool_budget)
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(options);
        let pool = match tokio::time::timeout(pool_budget, pool).await {
            Ok(Ok(pool)) => pool,
            Ok(Err(sqlx::Error::PoolTimedOut)) | Err(_) => {
                let left = remaining.saturating_sub(started.elapsed());
                return Err(match login_once(spec, left, configured).await {
                    Err(e) => e,
                    Ok(()) => net::timed_out(&spec.host, spec.port, configured),
                });
            }
            Ok(Err(e)) => return Err(classify::connect_error(&e, spec, configured)),
        };

        // One round trip: who we are; on PostgreSQL 14 and later, ask the
        // server to notice within a second when this client dies (kill -9,
        // a lost network) so that a dead run's transaction and lock are
        // released instead of lingering until the statement ends; and the
        // bound on every lock wait of this session's statements.
        let row = sqlx::query(
            "SELECT current_database()::text, current_setting('server_version_num')::int4, \
             pg_backend_pid(), \
             CASE WHEN current_setting('server_version_num')::int >= 140000 \
                  THEN set_config('client_connection_check_interval', '1000', false) END, \
             CASE WHEN $1::text IS NOT NULL THEN set_config('lock_timeout', $1, false) END",
        )
        .bind(lock_timeout.map(pg_millis))
        .fetch_one(&pool)
        .await
        .map_err(|e| query_error(&e, "prepare the session"))?;
        let database: String = row.get(0);
        let server_version: i32 = row.get(1);
        let pid: i32 = row.get(2);

        let db = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
        Ok(Session {
            pool,
            db,
            database,
            schema: spec.schema.clone(),
            server_version,
            credentials_refetched: false,
            pid,
            lock_timeout,
            current_lock_ms: std::sync::atomic::AtomicU64::new(
                lock_timeout.map_or(0, |t| t.as_millis().clamp(1, i32::MAX as u128) as u64),
            ),
            spec: spec.clone(),
            observer: tokio::sync::OnceCell::new(),
        })
    }

    /// Sets the session's `lock_timeout` and, when given, its
    /// `statement_timeout` (`None` resets it to the server's default), for
    /// the statements that follow outside a transaction.
    pub async fn set_timeouts(&self, lock: Duration, statement: Option<Duration>) -> Result<()> {
        sqlx::query(
            "SELECT set_config('lock_timeout', $1, false), \
                    CASE WHEN $2::text IS NULL \
                         THEN set_config('statement_timeout', \
                              coalesce(reset_val, '0'), false) \
                         ELSE set_config('statement_timeout', $2, false) END \
             FROM pg_catalog.pg_settings WHERE name = 'statement_timeout'",
        )
        .bind(pg_millis(lock))
        .bind(statement.map(pg_millis))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| query_error(&e, "set the session's timeouts"))?;
        self.current_lock_ms.store(
            lock.as_millis().clamp(1, i32::MAX as u128) as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(())
    }

    /// The `lock_timeout` in force now (`None`: the server's own).
    pub fn current_lock_timeout(&self) -> Option<Duration> {
        match self
            .current_lock_ms
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// The observer: a second connection to the same database, opened on
    /// first use, that asks `pg_blocking_pids` who is in this session's way
    /// while it waits (`lock::watch`). `None` when it cannot be opened
    /// within a short bound; the caller then names no blockers.
    pub async fn observer(&self) -> Option<&PgPool> {
        self.observer
            .get_or_init(|| async {
                let mut spec = self.spec.clone();
                spec.application_name = Some(OBSERVER_APPLICATION_NAME.to_string());
                let options = connect_options(&spec);
                let pool = PgPoolOptions::new()
                    .max_connections(1)
                    .min_connections(0)
                    .acquire_timeout(OBSERVER_CONNECT)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .test_before_acquire(false)
                    .connect_with(options);
                match tokio::time::timeout(OBSERVER_CONNECT, pool).await {
                    Ok(Ok(pool)) => Some(pool),
                    Ok(Err(e)) => {
                        tracing::debug!("the observer connection failed: {e}");
                        None
                    }
                    Err(_) => {
                        tracing::debug!("the observer connection timed out");
                        None
                    }
                }
            })
            .await
            .as_ref()
    }

    /// Closes the connection (and the observer) politely; a session lock
    /// still held is released by the server.
    pub async fn close(self) {
        if let Some(Some(observer)) = self.observer.get() {
            observer.close().await;
        }
        self.pool.close().await;
    }
}

/// Logs in once with a single connection, without the pool's retries, and
/// closes it: the server's first answer, classified. `migrate doctor` uses
/// it to tell TLS, authentication and database problems apart.
pub async fn login_once(spec: &ConnSpec, remaining: Duration, configured: Duration) -> Result<()> {
    use sqlx::Connection;
    check_root_cert(spec)?;
    let options = connect_options(spec);
    match tokio::time::timeout(remaining, sqlx::PgConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(classify::connect_error(&e, spec, configured)),
        Err(_) => Err(net::timed_out(&spec.host, spec.port, configured)),
    }
}

/// `sslrootcert` must be a regular file: the driver reads it whole, and a
/// FIFO (or a device) would make it wait forever.
fn check_root_cert(spec: &ConnSpec) -> Result<()> {
    let Some(path) = &spec.sslrootcert else {
        return Ok(());
    };
    let problem = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => return Ok(()),
        Ok(_) => "is not a regular file".to_string(),
        Err(e) => format!("cannot be read ({e})"),
    };
    Err(Error::new(
        Code::ConfigInvalid,
        format!("sslrootcert {} {problem}", path.display()),
        "point sslrootcert (or DB_SSLROOTCERT) at the CA bundle's PEM file, e.g. the RDS \
         global-bundle.pem",
    ))
}

/// The driver's options, built from the parsed URL (never from the URL text,
/// so that Prisma's parameters cannot confuse the driver). `PgConnectOptions`
/// derives `Debug` with the password in it: never log the value.
fn connect_options(spec: &ConnSpec) -> PgConnectOptions {
    let mut options = PgConnectOptions::new_without_pgpass()
        .host(&spec.host)
        .port(spec.port)
        .username(&spec.user)
        .database(&spec.dbname)
        .ssl_mode(match spec.sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow => PgSslMode::Allow,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        })
        .application_name(spec.application_name.as_deref().unwrap_or(APPLICATION_NAME))
        .options([("search_path", quote_ident(&spec.schema))])
        // Statements may carry role passwords (`grant --sync-password`):
        // the driver never logs them.
        .disable_statement_logging();
    if spec.pgbouncer {
        // A transaction pooler hands each statement to any server session:
        // named prepared statements would vanish between them.
        options = options.statement_cache_capacity(0);
    }
    if let Some(password) = &spec.password {
        options = options.password(password.expose());
    }
    if let Some(cert) = &spec.sslrootcert {
        options = options.ssl_root_cert(cert);
    }
    options
}
