//! What the driver and the server said, turned into codes and hints.
//!
//! PostgreSQL answers several different problems with one SQLSTATE
//! (`28000` is both "no pg_hba.conf entry" and RDS's "PAM authentication
//! failed"; `no encryption` tells the TLS case apart), so this is the one
//! place that reads the server's own message; everything after it matches
//! on [`Code`].

use std::time::Duration;

use crate::config::ConnSpec;
use crate::error::{Code, Error};
use crate::net;

/// The code and hint for an error the server sent while we logged in.
/// `iam_token` says the password was an RDS IAM auth token.
pub fn server_refusal(
    sqlstate: &str,
    server_message: &str,
    iam_token: bool,
) -> (Code, &'static str) {
    let pam = server_message.contains("PAM authentication failed");
    match sqlstate {
        "28P01" | "28000" if iam_token && (pam || sqlstate == "28P01") => (
            Code::AuthIamTokenRejected,
            "check that the token's region is the database's (--region), that this machine's clock \
             is right, that the caller's IAM policy allows rds-db:connect on \
             arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/USER, and that the role is granted rds_iam",
        ),
        "28000" if pam => (
            Code::AuthIamRequired,
            "the role authenticates with IAM (it is a member of rds_iam): set DB_IAM_AUTH=true so \
             the password is a fresh auth token, or REVOKE rds_iam FROM the role",
        ),
        "28P01" => (
            Code::AuthPasswordMismatch,
            "run `migrate doctor` with the same settings: it tells a wrong password from a \
             missing role, a user name in the wrong case, an expired password and an IAM-only role",
        ),
        // "no encryption" from PostgreSQL 14 on, "SSL off" on 13.
        "28000"
            if server_message.contains("no encryption") || server_message.ends_with("SSL off") =>
        {
            (
                Code::TlsRequired,
                "the server accepts only encrypted connections: use sslmode=require \
             (or verify-full with sslrootcert)",
            )
        }
        "28000" => (
            Code::AuthNoHbaEntry,
            "the server's pg_hba.conf rejects this user, database or address; \
             check the role's LOGIN attribute and the server's access rules",
        ),
        "3D000" => (
            Code::DatabaseMissing,
            "create the database, or fix the database name at the end of the URL",
        ),
        "53300" => (
            Code::DatabaseTooManyConnections,
            "the server has no free connection slots: close idle clients, or put \
             RDS Proxy in front of the Lambda",
        ),
        "42501" => (
            Code::PrivilegesMissing,
            "the role lacks CONNECT on this database: GRANT CONNECT ON DATABASE to it",
        ),
        _ => (
            Code::ConnectFailed,
            "check the URL; run `migrate doctor` for a diagnosis",
        ),
    }
}

/// Maps a failure while connecting to a diagnosis code and a hint.
pub fn connect_error(e: &sqlx::Error, spec: &ConnSpec, timeout: Duration) -> Error {
    let endpoint = format!("{}:{}", spec.host, spec.port);
    match e {
        sqlx::Error::Database(db) => {
            let sqlstate = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = db.message();
            let (code, hint) = server_refusal(&sqlstate, message, spec.iam_token);
            let shown = if sqlstate.is_empty() {
                String::new()
            } else {
                format!(" (SQLSTATE {sqlstate})")
            };
            let what = if code == Code::AuthIamTokenRejected {
                "the database refused the IAM auth token: "
            } else {
                ""
            };
            Error::new(
                code,
                format!(
                    "{what}{endpoint} refused the connection as user \"{}\": {message}{shown}",
                    spec.user
                ),
                hint,
            )
        }
        sqlx::Error::Tls(inner) => {
            let text = inner.to_string();
            if text.contains("does not support TLS") {
                Error::new(
                    Code::TlsUnavailable,
                    format!(
                        "{endpoint} does not offer TLS, but sslmode={} requires it",
                        spec.sslmode.as_str()
                    ),
                    Code::TlsUnavailable.hint(),
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
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => Error::new(
            Code::NetworkRefused,
            format!("{endpoint} refused the connection ({io})"),
            "check that PostgreSQL is running and listening on that port",
        ),
        sqlx::Error::Io(io) => Error::new(
            Code::NetworkError,
            format!("connection to {endpoint} failed: {io}"),
            "check the network path to the database; run `migrate doctor` for a diagnosis",
        ),
        sqlx::Error::PoolTimedOut => net::timed_out(&spec.host, spec.port, timeout),
        sqlx::Error::Configuration(inner) => Error::new(
            Code::ConfigInvalidUrl,
            format!("the connection settings are not usable: {inner}"),
            "check sslrootcert (it must name a readable PEM file) and the URL",
        ),
        other => Error::new(
            Code::ConnectFailed,
            format!("cannot connect to {endpoint}: {other}"),
            "run `migrate doctor` for a diagnosis",
        ),
    }
}

fn tls_untrusted(endpoint: &str, detail: &str) -> Error {
    Error::new(
        Code::TlsVerifyFailed,
        format!("TLS with {endpoint} failed: {detail}"),
        "the server's certificate is not trusted for this host: point sslrootcert at the CA \
         that signed it (for RDS, the RDS CA bundle; for RDS Proxy, Amazon Root CA 1) and \
         connect with the host name the certificate names",
    )
}

/// SQLSTATE `lock_not_available`: `lock_timeout` ran out (or a `NOWAIT`).
pub const LOCK_NOT_AVAILABLE: &str = "55P03";

/// A failed statement outside a migration: the connection broke, the
/// role lacks a right the runner needs, or another session's lock was in
/// the way for longer than the session's `lock_timeout`
/// ([`Code::LockReadBlocked`]; `lock::with_blockers` names who).
pub fn query_error(e: &sqlx::Error, doing: &str) -> Error {
    match e {
        sqlx::Error::Database(db) => {
            let sqlstate = db.code().map(|c| c.into_owned()).unwrap_or_default();
            statement_error(&sqlstate, db.message(), doing)
        }
        other => Error::new(
            Code::ConnectLost,
            format!("could not {doing}: {other}"),
            Code::ConnectLost.hint(),
        ),
    }
}

/// The error of one of the tool's own statements that the server refused
/// with `sqlstate` and `message`.
fn statement_error(sqlstate: &str, message: &str, doing: &str) -> Error {
    match sqlstate {
        "42501" => Error::new(
            Code::PrivilegesMissing,
            format!("could not {doing}: {message} (SQLSTATE {sqlstate})"),
            "connect as the role that owns the schema (DIRECT_URL), not the app role",
        ),
        LOCK_NOT_AVAILABLE => Error::of(
            Code::LockReadBlocked,
            format!(
                "could not {doing}: another session holds a lock it needs (SQLSTATE {sqlstate})"
            ),
        ),
        _ => Error::of(
            Code::QueryFailed,
            format!("could not {doing}: {message} (SQLSTATE {sqlstate})"),
        ),
    }
}

/// [`query_error`] for a statement sent through sea-orm.
pub fn db_query_error(e: &sea_orm::DbErr, doing: &str) -> Error {
    match sqlx_error(e) {
        Some(e) => query_error(e, doing),
        None => Error::of(Code::QueryFailed, format!("could not {doing}: {e}")),
    }
}

/// `lock.read_blocked` for a statement sent through sea-orm that waited
/// longer than `lock_timeout` (`None` for any other failure), for callers
/// that describe other failures their own way.
pub fn db_lock_blocked(e: &sea_orm::DbErr, doing: &str) -> Option<Error> {
    (db_sqlstate(e).as_deref() == Some(LOCK_NOT_AVAILABLE)).then(|| db_query_error(e, doing))
}

/// The SQLSTATE of a failed statement sent through sea-orm, if the server
/// sent one.
pub fn db_sqlstate(e: &sea_orm::DbErr) -> Option<String> {
    match sqlx_error(e)? {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

fn sqlx_error(e: &sea_orm::DbErr) -> Option<&sqlx::Error> {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => Some(e.as_ref()),
        _ => None,
    }
}

/// The database's own words for a failed statement: message, detail and
/// SQLSTATE, without the "at line N" of PostgreSQL's C source that the
/// driver's `Display` would add.
pub fn describe_db_error(e: &sea_orm::DbErr) -> String {
    match sqlx_error(e) {
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
    fn server_refusals_by_sqlstate_and_auth_method() {
        let cases = [
            (
                "28P01",
                "password authentication failed for user \"a\"",
                false,
                Code::AuthPasswordMismatch,
            ),
            (
                "28P01",
                "password authentication failed for user \"a\"",
                true,
                Code::AuthIamTokenRejected,
            ),
            (
                "28000",
                "PAM authentication failed for user \"a\"",
                true,
                Code::AuthIamTokenRejected,
            ),
            (
                "28000",
                "PAM authentication failed for user \"a\"",
                false,
                Code::AuthIamRequired,
            ),
            (
                "28000",
                "no pg_hba.conf entry for host \"1.2.3.4\", user \"a\", database \"d\", no encryption",
                false,
                Code::TlsRequired,
            ),
            (
                "28000",
                "no pg_hba.conf entry for host \"1.2.3.4\", user \"a\", database \"d\", SSL encryption",
                false,
                Code::AuthNoHbaEntry,
            ),
            (
                "28000",
                "no pg_hba.conf entry for host \"1.2.3.4\", user \"a\", database \"d\", SSL off",
                false,
                Code::TlsRequired,
            ),
            (
                "28000",
                "no pg_hba.conf entry for host \"1.2.3.4\", user \"a\", database \"d\", SSL on",
                false,
                Code::AuthNoHbaEntry,
            ),
            (
                "28000",
                "role \"a\" is not permitted to log in",
                true,
                Code::AuthNoHbaEntry,
            ),
            (
                "3D000",
                "database \"x\" does not exist",
                false,
                Code::DatabaseMissing,
            ),
            (
                "53300",
                "remaining connection slots are reserved",
                false,
                Code::DatabaseTooManyConnections,
            ),
            (
                "42501",
                "permission denied for database \"d\"",
                false,
                Code::PrivilegesMissing,
            ),
            ("XX000", "something", false, Code::ConnectFailed),
        ];
        for (sqlstate, message, iam, want) in cases {
            let (code, hint) = server_refusal(sqlstate, message, iam);
            assert_eq!(code, want, "{sqlstate} {message} iam={iam}");
            assert!(!hint.is_empty());
        }
        let (_, hint) = server_refusal("28P01", "", true);
        for what in ["region", "clock", "rds-db:connect", "rds_iam"] {
            assert!(hint.contains(what), "{what}: {hint}");
        }
    }
}
