//! Opening the one database connection a command works on.
//!
//! A migration runner needs exactly one session: the advisory lock belongs to
//! a session, and every migration must run in the session that holds it. So
//! the sea-orm `DatabaseConnection` wraps an sqlx pool capped at one
//! connection that never expires, and the runner's own queries go through the
//! same pool.
//!
//! Before the driver connects, a plain TCP connect with its own deadline
//! tells "host does not resolve", "refused" and "timed out" apart. sqlx's
//! pool would otherwise retry a refused connection until its deadline, and
//! PostgreSQL's own error text is what the user already has; this module
//! turns driver errors into diagnosis codes with hints instead.

use std::time::{Duration, Instant};

use sea_orm::{DatabaseConnection, SqlxPostgresConnector};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::{ConnectOptions, Row};

use crate::config::{ConnSpec, SslMode};
use crate::error::{Error, Result};

/// The `application_name` the runner announces unless the URL sets one; it
/// is what a blocked run shows when it names the holder of the lock.
pub const APPLICATION_NAME: &str = "impulse-db migrate";

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
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Closes the connection politely; a session lock still held is released
    /// by the server.
    pub async fn close(self) {
        self.pool.close().await;
    }
}

/// Connects to `spec` within `timeout` (DNS, TCP, TLS and authentication
/// together) and prepares the session.
pub async fn connect(spec: &ConnSpec, timeout: Duration) -> Result<Session> {
    let deadline = Instant::now() + timeout;
    probe_tcp(spec, deadline, timeout).await?;
    open(
        spec,
        deadline.saturating_duration_since(Instant::now()),
        timeout,
    )
    .await
}

/// The driver's part of connecting (TLS, authentication, the session), with
/// no TCP probe first: `migrate doctor` times the network steps itself.
/// `configured` is the timeout to name in messages.
pub async fn open(spec: &ConnSpec, remaining: Duration, configured: Duration) -> Result<Session> {
    let started = Instant::now();
    // The pool retries what it deems transient (53300 too many connections,
    // 57P03 starting up) until its deadline and then says only "timed out".
    // So it gets two thirds of the time, and a direct attempt the rest, to
    // tell what the server actually answers; both fit in `remaining`.
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
            return Err(match login(spec, left, configured).await {
                Err(e) => e,
                Ok(()) => timed_out(spec, configured),
            });
        }
        Ok(Err(e)) => return Err(classify_connect_error(&e, spec, configured)),
    };

    // One round trip: who we are, and, on PostgreSQL 14 and later, ask the
    // server to notice within a second when this client dies (kill -9, a
    // lost network) so that a dead run's transaction and lock are released
    // instead of lingering until the statement ends.
    let row = sqlx::query(
        "SELECT current_database()::text, current_setting('server_version_num')::int4, \
         CASE WHEN current_setting('server_version_num')::int >= 140000 \
              THEN set_config('client_connection_check_interval', '1000', false) END",
    )
    .fetch_one(&pool)
    .await
    .map_err(|e| query_error(&e, "prepare the session"))?;
    let database: String = row.get(0);
    let server_version: i32 = row.get(1);

    let db = SqlxPostgresConnector::from_sqlx_postgres_pool(pool.clone());
    Ok(Session {
        pool,
        db,
        database,
        schema: spec.schema.clone(),
        server_version,
        credentials_refetched: false,
    })
}

/// Logs in once with a single connection, without the pool's retries, and
/// closes it: the server's first answer, classified. `migrate doctor` uses
/// it to tell TLS, authentication and database problems apart.
pub async fn login(spec: &ConnSpec, remaining: Duration, configured: Duration) -> Result<()> {
    use sqlx::Connection;
    let options = connect_options(spec);
    match tokio::time::timeout(remaining, sqlx::PgConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(classify_connect_error(&e, spec, configured)),
        Err(_) => Err(timed_out(spec, configured)),
    }
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

/// `"name"` with embedded quotes doubled: an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'` with embedded quotes doubled: an SQL string literal.
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Resolves the host and opens (then drops) a TCP connection to it.
/// `configured` is the timeout to name in messages.
async fn probe_tcp(spec: &ConnSpec, deadline: Instant, configured: Duration) -> Result<()> {
    let endpoint = format!("{}:{}", spec.host, spec.port);
    let remaining = || deadline.saturating_duration_since(Instant::now());
    let addrs = match tokio::time::timeout(
        remaining(),
        tokio::net::lookup_host((spec.host.as_str(), spec.port)),
    )
    .await
    {
        Ok(Ok(addrs)) => addrs.collect::<Vec<_>>(),
        Ok(Err(e)) => {
            return Err(Error::connect(
                "dns.unresolved",
                format!("cannot resolve host {}: {e}", spec.host),
                "check the host name in the URL; inside a VPC, check that DNS resolution \
                 and DNS hostnames are enabled",
            ));
        }
        Err(_) => return Err(timed_out(spec, configured)),
    };
    let mut last_refused = None;
    for addr in addrs {
        match tokio::time::timeout(remaining(), tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_stream)) => return Ok(()),
            Ok(Err(e)) => last_refused = Some(e),
            Err(_) => return Err(timed_out(spec, configured)),
        }
    }
    let detail = last_refused.map_or_else(|| "no address".to_string(), |e| e.to_string());
    Err(Error::connect(
        "network.refused",
        format!("cannot connect to {endpoint}: {detail}"),
        "check that PostgreSQL is running and listening on that port (for `migrate dev`, \
         run `migrate dev` again to start it); on RDS, check the instance state and the port",
    ))
}

fn timed_out(spec: &ConnSpec, timeout: Duration) -> Error {
    let after = if timeout.is_zero() {
        String::new()
    } else {
        format!(" after {}s", timeout.as_secs())
    };
    Error::connect(
        "network.timeout",
        format!("connecting to {}:{} timed out{after}", spec.host, spec.port),
        "check security groups and network ACLs (the database must accept this client's \
         address on its port), and that a Lambda runs inside the database's VPC; \
         --connect-timeout sets the limit",
    )
}

/// Maps a failure while connecting to a diagnosis code and a hint.
fn classify_connect_error(e: &sqlx::Error, spec: &ConnSpec, timeout: Duration) -> Error {
    let endpoint = format!("{}:{}", spec.host, spec.port);
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = db.message();
            let (diag, hint) = match code.as_str() {
                "28P01" => (
                    "auth.password_mismatch",
                    "the password does not match the role (or the role does not exist): check the \
                     password in the URL or secret, and run `migrate doctor` to tell which",
                ),
                "28000" if message.contains("no encryption") => (
                    "tls.required",
                    "the server accepts only encrypted connections: use sslmode=require \
                     (or verify-full with sslrootcert)",
                ),
                "28000" => (
                    "auth.no_hba_entry",
                    "the server's pg_hba.conf rejects this user, database or address; \
                     check the role's LOGIN attribute and the server's access rules",
                ),
                "3D000" => (
                    "database.missing",
                    "create the database, or fix the database name at the end of the URL",
                ),
                "53300" => (
                    "database.too_many_connections",
                    "the server has no free connection slots: close idle clients, or put \
                     RDS Proxy in front of the Lambda",
                ),
                "42501" => (
                    "privileges.missing",
                    "the role lacks CONNECT on this database: GRANT CONNECT ON DATABASE to it",
                ),
                _ => (
                    "connect.failed",
                    "check the URL; run `migrate doctor` for a diagnosis",
                ),
            };
            let sqlstate = if code.is_empty() {
                String::new()
            } else {
                format!(" (SQLSTATE {code})")
            };
            Error::connect(
                diag,
                format!(
                    "{endpoint} refused the connection as user \"{}\": {message}{sqlstate}",
                    spec.user
                ),
                hint,
            )
        }
        sqlx::Error::Tls(inner) => {
            let text = inner.to_string();
            if text.contains("does not support TLS") {
                Error::connect(
                    "tls.unavailable",
                    format!(
                        "{endpoint} does not offer TLS, but sslmode={} requires it",
                        spec.sslmode.as_str()
                    ),
                    "enable TLS on the server, or lower sslmode (never for a database reached over a network)",
                )
            } else {
                tls_untrusted(&endpoint, &text)
            }
        }
        // rustls reports an untrusted certificate as an I/O error.
        sqlx::Error::Io(io)
            if io.kind() == std::io::ErrorKind::InvalidData
                && io.to_string().contains("certificate") =>
        {
            tls_untrusted(&endpoint, &io.to_string())
        }
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Error::connect(
                "network.refused",
                format!("cannot connect to {endpoint}: {io}"),
                "check that PostgreSQL is running and listening on that port",
            )
        }
        sqlx::Error::Io(io) => Error::connect(
            "network.error",
            format!("connection to {endpoint} failed: {io}"),
            "check the network path to the database; run `migrate doctor` for a diagnosis",
        ),
        sqlx::Error::PoolTimedOut => timed_out(spec, timeout),
        sqlx::Error::Configuration(inner) => Error::config(
            "config.invalid_url",
            format!("the connection settings are not usable: {inner}"),
            "check sslrootcert (it must name a readable PEM file) and the URL",
        ),
        other => Error::connect(
            "connect.failed",
            format!("cannot connect to {endpoint}: {other}"),
            "run `migrate doctor` for a diagnosis",
        ),
    }
}

fn tls_untrusted(endpoint: &str, detail: &str) -> Error {
    Error::connect(
        "tls.verify_failed",
        format!("TLS with {endpoint} failed: {detail}"),
        "the server's certificate is not trusted for this host: point sslrootcert at the CA \
         that signed it (for RDS, the RDS CA bundle; for RDS Proxy, Amazon Root CA 1) and \
         connect with the host name the certificate names",
    )
}

/// A failed statement outside a migration: the connection broke, or the
/// role lacks a right the runner needs.
pub fn query_error(e: &sqlx::Error, doing: &str) -> Error {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let (diag, hint) = if code == "42501" {
                (
                    "privileges.missing",
                    "connect as the role that owns the schema (DIRECT_URL), not the app role",
                )
            } else {
                (
                    "query.failed",
                    "run with -v for details; run `migrate doctor` for a diagnosis",
                )
            };
            Error::connect(
                diag,
                format!("could not {doing}: {} (SQLSTATE {code})", db.message()),
                hint,
            )
        }
        other => Error::connect(
            "connect.lost",
            format!("could not {doing}: {other}"),
            "the connection to the database was lost; run the command again",
        ),
    }
}

/// The database's own words for a failed statement: message, detail and
/// SQLSTATE, without the "at line N" of PostgreSQL's C source that the
/// driver's `Display` would add.
pub fn describe_db_error(e: &sea_orm::DbErr) -> String {
    use sea_orm::{DbErr, RuntimeErr};
    let sqlx_err = match e {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => Some(e.as_ref()),
        _ => None,
    };
    match sqlx_err {
        Some(sqlx::Error::Database(db)) => {
            let code = db
                .code()
                .map(|c| format!(" (SQLSTATE {c})"))
                .unwrap_or_default();
            let detail = db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .and_then(|pg| pg.detail().map(|d| format!("; {d}")))
                .unwrap_or_default();
            format!("{}{detail}{code}", db.message())
        }
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("User"), "\"User\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
