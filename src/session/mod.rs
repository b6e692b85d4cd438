//! Opening the one database session a command works on.
//!
//! A migration runner needs exactly one session: the advisory lock belongs to
//! a session, and every migration must run in the session that holds it. So
//! the sea-orm `DatabaseConnection` wraps an sqlx pool capped at one
//! connection that never expires, and the runner's own queries go through the
//! same pool.
//!
//! The driver never opens a network connection itself: [`crate::transport`]
//! resolves, connects (with `TCP_NODELAY`) and negotiates TLS, and the
//! driver talks to that connection through a private Unix socket. So "does
//! not resolve", "refused", "timed out" and the TLS failures are told apart
//! quickly and by the same code as the doctor's steps, and the TCP connect
//! is the session's own connection (no probe). Driver errors become codes
//! with hints in [`classify`].
//!
//! The connection stays out of the pool while the tool's own statements
//! run on it ([`Session::simple`], [`Session::batch`]): through the pool,
//! every statement would cost one more round trip (the pool pings a
//! connection each time it takes it back). It goes back on the first use
//! of [`Session::pool`] or [`Session::db`] (the migrations, sea-orm), and
//! [`Session::close`] ends it directly. A command can hand the session
//! statements for its first message ([`First`]), which then carries the
//! session's setup and the command's first reads together.
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

pub mod batch;
pub mod classify;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, SqlxPostgresConnector};
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow, PgSslMode, Postgres};
use sqlx::{ConnectOptions, Row};

pub use batch::{Batch, Results, Slot};

pub use classify::{
    LOCK_NOT_AVAILABLE, db_lock_blocked, db_sqlstate, describe_db_error, query_error,
};

use crate::config::ConnSpec;
use crate::error::Result;
use crate::net;
use crate::sql::{quote_ident, quote_literal};
use crate::transport::{self, Bridge, Leg};

/// How long closing waits for the relay to hand the driver's goodbye to
/// the server.
const CLOSE_BOUND: Duration = Duration::from_secs(1);

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

/// Statements a command sends in the session's first message, with the
/// session's own setup: one round trip for both.
///
/// The message is `BEGIN; <the session's setup>; <setup>; COMMIT; <then>`.
/// `setup` commits with the session's settings, and a failure there fails
/// the open. `then` runs after that commit, as one implicit transaction
/// (a fresh snapshot, taken after `setup`): an error there skips the rest
/// of `then`, undoes nothing of `setup`, leaves the session usable, and is
/// the caller's to handle ([`Results::error`]).
#[derive(Debug, Default, Clone)]
pub struct First {
    pub setup: Batch,
    pub then: Batch,
}

/// What the statements of a [`First`] returned.
#[derive(Debug, Default)]
pub struct FirstResults {
    pub setup: Results,
    pub then: Results,
}

/// An open session and what the server said about it.
pub struct Session {
    pool: PgPool,
    db: DatabaseConnection,
    /// The connection, out of the pool while the tool's own statements
    /// run on it (see the module's documentation); `None` once it is back.
    held: tokio::sync::Mutex<Option<PoolConnection<Postgres>>>,
    /// The pool was asked for while a statement ran on the held
    /// connection: it goes back to the pool as soon as that one is done.
    wanted: AtomicBool,
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
    observer: tokio::sync::OnceCell<Option<Box<Session>>>,
    /// The relay between the driver's Unix socket and the server.
    bridge: Bridge,
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
        Self::open_with(spec, timeout, lock_timeout, &First::default())
            .await
            .map(|(session, _)| session)
    }

    /// [`Session::open_bounded`], with `first`'s statements in the
    /// session's first message.
    pub async fn open_with(
        spec: &ConnSpec,
        timeout: Duration,
        lock_timeout: Option<Duration>,
        first: &First,
    ) -> Result<(Session, FirstResults)> {
        if spec.unverified_remote_tls() {
            tracing::warn!(
                "the connection to {} does not verify the server's certificate (sslmode={}): \
                 anyone on the network path could pose as the database and ask for the password \
                 in clear text; use sslmode=verify-full with sslrootcert (the RDS CA bundle)",
                spec.host,
                spec.sslmode.as_str()
            );
        }
        let deadline = Instant::now() + timeout;
        let leg = transport::connect(spec, timeout, timeout).await?;
        Self::open_on(
            spec,
            leg,
            deadline.saturating_duration_since(Instant::now()),
            timeout,
            lock_timeout,
            first,
        )
        .await
    }

    /// The driver's part of opening (authentication, the session) on a leg
    /// the caller connected and negotiated itself (`migrate doctor` times
    /// those steps). `configured` is the timeout to name in messages;
    /// `lock_timeout` is the session's (`None`: the server's is kept).
    pub(crate) async fn open_on(
        spec: &ConnSpec,
        leg: Leg,
        remaining: Duration,
        configured: Duration,
        lock_timeout: Option<Duration>,
        first: &First,
    ) -> Result<(Session, FirstResults)> {
        let started = Instant::now();
        // The pool retries what it deems transient (53300 too many
        // connections, 57P03 starting up; each retry a fresh leg from the
        // bridge) until its deadline and then says only "timed out". So it
        // gets two thirds of the time, and a direct attempt the rest, to
        // tell what the server actually answers; both fit in `remaining`.
        let pool_budget = (remaining * 2 / 3).max(Duration::from_millis(1));
        let mut bridge = Bridge::start(
            spec,
            leg,
            tokio::time::Instant::now() + pool_budget,
            configured,
        )?;
        let options = bridge.options(connect_options(spec));
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
                if let Some(e) = bridge.take_failure() {
                    return Err(e);
                }
                drop(bridge);
                let left = remaining.saturating_sub(started.elapsed());
                return Err(match login_once(spec, left, configured).await {
                    Err(e) => e,
                    Ok(()) => net::timed_out(&spec.host, spec.port, configured),
                });
            }
            Ok(Err(e)) => {
                return Err(bridge
                    .take_failure()
                    .unwrap_or_else(|| classify::connect_error(&e, spec, configured)));
            }
        };
        // The session has its connection: nothing else may connect.
        bridge.stop_listening();

        // The connection stays out of the pool from here on (see the
        // module's documentation): taking it does not ping it.
        let mut conn = match tokio::time::timeout(pool_budget, pool.acquire()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(query_error(&e, "prepare the session")),
            Err(_) => return Err(net::timed_out(&spec.host, spec.port, configured)),
        };
        let mut message = Batch::new();
        let framed = !(first.setup.is_empty() && first.then.is_empty());
        if framed {
            message.push("BEGIN");
        }
        let prep = message.push(prep_statement(lock_timeout));
        let setup_at = message.append(&first.setup);
        if framed {
            message.push("COMMIT");
        }
        let then_at = message.append(&first.then);
        // A server that stops answering after the login must not hold the
        // run: the first message waits for what is left of the connect
        // time, plus the session's lock timeout (its own reads wait less).
        let bound = remaining
            .saturating_sub(started.elapsed())
            .max(Duration::from_secs(1))
            + lock_timeout.unwrap_or_default();
        let mut results = match tokio::time::timeout(bound, batch::run(&mut conn, &message)).await {
            Ok(results) => results,
            Err(_) => return Err(net::timed_out(&spec.host, spec.port, configured)),
        };
        let then = results.split_off(then_at);
        let prepared = match results.row(prep).filter(|_| results.error().is_none()) {
            Some(row) => read_prep(row),
            None => Err(results.take_error().unwrap_or(sqlx::Error::RowNotFound)),
        };
        let (database, server_version, pid) =
            prepared.map_err(|e| query_error(&e, "prepare the session"))?;
        // (Its sets end with the COMMIT's, past the caller's slots.)
        let setup = results.split_off(setup_at);

        let db = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
        let session = Session {
            pool,
            db,
            held: tokio::sync::Mutex::new(Some(conn)),
            wanted: AtomicBool::new(false),
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
            bridge,
        };
        Ok((session, FirstResults { setup, then }))
    }

    /// The sqlx pool, with the connection back in it.
    pub fn pool(&self) -> &PgPool {
        self.check_in();
        &self.pool
    }

    /// The sea-orm connection (over the pool), with the connection back in
    /// the pool.
    pub fn db(&self) -> &DatabaseConnection {
        self.check_in();
        &self.db
    }

    /// Puts the held connection back into the pool (dropping it does: the
    /// pool pings it, then has it), or asks for that once the statement
    /// running on it is done.
    fn check_in(&self) {
        match self.held.try_lock() {
            Ok(mut held) => drop(held.take()),
            Err(_) => self.wanted.store(true, Ordering::SeqCst),
        }
    }

    /// Sends `batch` as one simple-query message on the held connection
    /// (taken back from the pool first if it went there): one round trip.
    pub async fn batch(&self, batch: &Batch) -> Results {
        let mut held = self.held.lock().await;
        if held.is_none() {
            match self.pool.acquire().await {
                Ok(conn) => *held = Some(conn),
                Err(e) => return Results::failed(e),
            }
        }
        let results = match held.as_mut() {
            Some(conn) => batch::run(conn, batch).await,
            None => Results::failed(sqlx::Error::PoolClosed),
        };
        if self.wanted.swap(false, Ordering::SeqCst) {
            drop(held.take());
        }
        results
    }

    /// One statement as a simple query on the held connection: its rows.
    /// Values must be quoted into it ([`crate::sql::quote_literal`]).
    pub async fn simple(&self, statement: impl Into<String>) -> sqlx::Result<Vec<PgRow>> {
        let mut batch = Batch::new();
        let slot = batch.push(statement);
        let mut results = self.batch(&batch).await;
        match results.take_error() {
            Some(e) => Err(e),
            None => Ok(results.take(slot).unwrap_or_default()),
        }
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
        .fetch_one(self.pool())
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
                // A session of its own, through the transport like every
                // other; it leaves the server's lock_timeout alone.
                let opened: std::pin::Pin<Box<dyn Future<Output = Result<Session>> + Send + '_>> =
                    Box::pin(Session::open_bounded(&spec, OBSERVER_CONNECT, None));
                match opened.await {
                    Ok(observer) => Some(Box::new(observer)),
                    Err(e) => {
                        tracing::debug!("the observer connection failed: {}", e.message);
                        None
                    }
                }
            })
            .await
            .as_ref()
            .map(|observer| observer.pool())
    }

    /// Closes the connection (and the observer) politely: the driver's
    /// Terminate goes out, and the relay hands it, TLS's close_notify and
    /// the FIN to the kernel before this returns. The server then ends the
    /// session, which releases every session lock still held.
    pub async fn close(self) {
        if let Some(Some(observer)) = self.observer.into_inner() {
            Box::pin(observer.close()).await;
        }
        if let Some(conn) = self.held.into_inner() {
            let _ = tokio::time::timeout(CLOSE_BOUND, conn.close()).await;
        }
        let _ = tokio::time::timeout(CLOSE_BOUND, self.pool.close()).await;
        self.bridge.finish(CLOSE_BOUND).await;
    }
}

/// Logs in once with a single connection, without the pool's retries, and
/// closes it: the server's first answer, classified. `migrate doctor` uses
/// it to tell TLS, authentication and database problems apart.
pub async fn login_once(spec: &ConnSpec, remaining: Duration, configured: Duration) -> Result<()> {
    let deadline = Instant::now() + remaining;
    let leg = transport::connect(spec, remaining, configured).await?;
    login_on(
        spec,
        leg,
        deadline.saturating_duration_since(Instant::now()),
        configured,
    )
    .await
}

/// [`login_once`] on a leg the caller connected and negotiated itself.
pub(crate) async fn login_on(
    spec: &ConnSpec,
    leg: Leg,
    remaining: Duration,
    configured: Duration,
) -> Result<()> {
    use sqlx::Connection;
    let bridge = Bridge::start(
        spec,
        leg,
        tokio::time::Instant::now() + remaining,
        configured,
    )?;
    let options = bridge.options(connect_options(spec));
    match tokio::time::timeout(remaining, sqlx::PgConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => {
            let _ = tokio::time::timeout(CLOSE_BOUND, conn.close()).await;
            bridge.finish(CLOSE_BOUND).await;
            Ok(())
        }
        Ok(Err(e)) => Err(bridge
            .take_failure()
            .unwrap_or_else(|| classify::connect_error(&e, spec, configured))),
        Err(_) => Err(net::timed_out(&spec.host, spec.port, configured)),
    }
}

/// The session's setup: who we are, the session's `lock_timeout`, and, on
/// PostgreSQL 14 and later, `client_connection_check_interval`, so that
/// the server notices within a second when this client dies (kill -9, a
/// lost network) and releases a dead run's transaction and locks instead
/// of keeping them until the running statement ends.
fn prep_statement(lock_timeout: Option<Duration>) -> String {
    format!(
        "SELECT current_database()::text, current_setting('server_version_num')::int4, \
         pg_backend_pid(), \
         CASE WHEN current_setting('server_version_num')::int >= 140000 \
              THEN set_config('client_connection_check_interval', '1000', false) END, \
         {}",
        lock_timeout.map_or_else(
            || "NULL".to_string(),
            |t| format!(
                "set_config('lock_timeout', {}, false)",
                quote_literal(&pg_millis(t))
            )
        )
    )
}

/// What the setup statement says: the database, `server_version_num` and
/// the backend's pid.
fn read_prep(row: &PgRow) -> sqlx::Result<(String, i32, i32)> {
    Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
}

/// The driver's options, built from the parsed URL (never from the URL text,
/// so that Prisma's parameters cannot confuse the driver), for the bridge
/// ([`Bridge::options`] points them at its socket, in clear text: TLS is
/// the transport's). `PgConnectOptions` derives `Debug` with the password in
/// it: never log the value.
fn connect_options(spec: &ConnSpec) -> PgConnectOptions {
    let mut options = PgConnectOptions::new_without_pgpass()
        .host(&spec.host)
        .port(spec.port)
        .username(&spec.user)
        .database(&spec.dbname)
        .ssl_mode(PgSslMode::Disable)
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
    options
}
