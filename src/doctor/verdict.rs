//! The doctor's conclusions: a pure function of what gathering found.
//!
//! [`verdict`] turns [`Facts`] into one check per step (`pass`, `warn`,
//! `fail`, `skip`, with a summary and a hint) and the diagnosis codes that
//! explain the failures, most likely first. It touches nothing, so every
//! combination of facts can be tested without a database, including the
//! ones where two findings would otherwise give contradictory advice: a
//! user name in the wrong case is not also "missing privileges" (the role
//! it meant is checked instead), and a live schema that already has what a
//! pending migration creates is not blamed on a manual change.

use std::time::Duration;

use super::facts::*;
use super::{Check, Diagnosis, Status};
use crate::config::SslMode;
use crate::error::{Code, Error};
use crate::transport::Tls;

/// The steps of one connection after `url`.
const AFTER_URL: [&str; 6] = ["secret", "dns", "tcp", "tls", "auth", "database"];

/// Every code the doctor can report: what the steps' errors can be, and
/// its own conclusions. Unit tests produce each one.
#[cfg(test)]
pub const PRODUCES: &[Code] = &[
    Code::ConfigMissing,
    Code::ConfigInvalid,
    Code::ConfigInvalidUrl,
    Code::ConfigPlaceholder,
    Code::ConfigUnencodedPassword,
    Code::ConfigMissingHost,
    Code::ConfigMissingUser,
    Code::ConfigRegionMissing,
    Code::PoolerMigrationsThroughProxy,
    Code::SecretNotFound,
    Code::SecretAccessDenied,
    Code::SecretMalformed,
    Code::SecretUnavailable,
    Code::SecretError,
    Code::SecretUnreachable,
    Code::AwsNoCredentials,
    Code::SecretRotationIncomplete,
    Code::SecretStale,
    Code::DnsUnresolved,
    Code::NetworkTimeout,
    Code::NetworkRefused,
    Code::NetworkError,
    Code::TlsRequired,
    Code::TlsUnavailable,
    Code::TlsVerifyFailed,
    Code::AuthPasswordMismatch,
    Code::AuthRoleMissing,
    Code::AuthUsernameCase,
    Code::AuthPasswordExpired,
    Code::AuthIamRequired,
    Code::AuthIamTokenRejected,
    Code::AuthNoHbaEntry,
    Code::DatabaseMissing,
    Code::DatabaseTooManyConnections,
    Code::ConnectFailed,
    Code::ConnectLost,
    Code::QueryFailed,
    Code::LockReadBlocked,
    Code::PrivilegesExcess,
    Code::PrivilegesMissing,
    Code::MigrationsPending,
    Code::MigrationsUnknownApplied,
    Code::MigrationsFailed,
    Code::MigrationsEdited,
    Code::MigrationsNotBaselined,
    Code::SchemaDrift,
];

/// Checks and diagnoses collected in order.
#[derive(Default)]
struct Verdict {
    checks: Vec<Check>,
    diagnosis: Vec<Diagnosis>,
}

impl Verdict {
    fn record(
        &mut self,
        connection: &'static str,
        id: &'static str,
        elapsed: Duration,
        status: Status,
        summary: impl Into<String>,
        hint: Option<String>,
    ) {
        self.checks.push(Check {
            id,
            connection,
            status,
            summary: summary.into(),
            hint,
            elapsed_ms: (elapsed.as_secs_f64() * 1e6).round() / 1e3,
        });
    }

    fn pass(
        &mut self,
        connection: &'static str,
        id: &'static str,
        elapsed: Duration,
        summary: impl Into<String>,
    ) {
        self.record(connection, id, elapsed, Status::Pass, summary, None);
    }

    fn skip(&mut self, connection: &'static str, ids: &[&'static str], why: &str) {
        for id in ids {
            self.record(connection, id, Duration::ZERO, Status::Skip, why, None);
        }
    }

    /// A failed check whose error is also a diagnosis.
    fn fail(&mut self, connection: &'static str, id: &'static str, elapsed: Duration, e: &Error) {
        self.record(
            connection,
            id,
            elapsed,
            Status::Fail,
            e.message.clone(),
            Some(e.hint.clone()),
        );
        self.diagnose(e.code, e.message.clone(), e.hint.clone());
    }

    /// Adds a diagnosis once (the same code from two connections is one cause).
    fn diagnose(&mut self, code: Code, message: impl Into<String>, hint: impl Into<String>) {
        if self.diagnosis.iter().any(|d| d.code == code) {
            return;
        }
        self.diagnosis.push(Diagnosis {
            code,
            message: message.into(),
            hint: hint.into(),
        });
    }
}

/// The checks and the diagnoses, most likely first.
pub fn verdict(facts: &Facts) -> (Vec<Check>, Vec<Diagnosis>) {
    let mut v = Verdict::default();
    connection(&mut v, &facts.app, facts.auth.is_some());
    if let Some(migration) = &facts.migration {
        connection(&mut v, migration, false);
    }
    if let Some(auth) = &facts.auth {
        explain_auth(&mut v, auth);
    }
    match &facts.database {
        Some(db) => database(&mut v, db),
        None => {
            let why = if facts.migration.is_some() {
                "the migration connection failed"
            } else {
                "no working migration connection (set DIRECT_URL to check these)"
            };
            v.skip("database", &["privileges", "migrations", "schema"], why);
        }
    }
    (v.checks, v.diagnosis)
}

/// One connection's steps. A refused password is diagnosed here unless
/// `explained` (the auth explanation diagnoses the app's).
fn connection(v: &mut Verdict, c: &ConnectionFacts, explained: bool) {
    let name = c.which.label();
    match &c.config.outcome {
        Err(e) => {
            v.fail(name, "config", c.config.elapsed, e);
            v.skip(name, &["url"], "nothing to check");
            v.skip(name, &AFTER_URL, "nothing to check");
            return;
        }
        Ok(sources) => v.pass(name, "config", c.config.elapsed, sources.join(", ")),
    }
    match &c.url {
        None => v.record(
            name,
            "url",
            Duration::ZERO,
            Status::Skip,
            "no URL: the secret names the endpoint",
            None,
        ),
        Some(url) => match &url.outcome {
            UrlFact::Usable { redacted } => v.pass(name, "url", url.elapsed, redacted.clone()),
            UrlFact::Pooler(e) => v.fail(name, "url", url.elapsed, e),
            UrlFact::Unusable(e) => {
                v.fail(name, "url", url.elapsed, e);
                v.skip(name, &AFTER_URL, "the URL is unusable");
                return;
            }
        },
    }
    let Some(secret) = c.secret.as_ref() else {
        return;
    };
    match &secret.outcome {
        SecretStep::FetchFailed(e) => {
            v.fail(name, "secret", secret.elapsed, e);
            v.skip(name, &AFTER_URL[1..], "no credentials");
            return;
        }
        SecretStep::ResolveFailed(e) => {
            v.fail(name, "secret", secret.elapsed, e);
            v.skip(name, &AFTER_URL[1..], "the connection cannot be resolved");
            return;
        }
        SecretStep::Resolved(Some(s)) => v.pass(
            name,
            "secret",
            secret.elapsed,
            format!(
                "{} version {} ({}), user \"{}\"",
                s.secret.arn, s.secret.version_id, s.secret.stage, s.user
            ),
        ),
        SecretStep::Resolved(None) => v.record(
            name,
            "secret",
            secret.elapsed,
            Status::Skip,
            "no secret configured",
            None,
        ),
    }
    let Some(target) = c.target.as_ref() else {
        return;
    };
    let Some(dns) = c.dns.as_ref() else {
        return;
    };
    match &dns.outcome {
        Err(e) => {
            v.fail(name, "dns", dns.elapsed, e);
            v.skip(name, &AFTER_URL[2..], "no address");
            return;
        }
        Ok(addrs) => {
            let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
            v.pass(
                name,
                "dns",
                dns.elapsed,
                format!("{} -> {}", target.host, shown.join(", ")),
            );
        }
    }
    let Some(tcp) = c.tcp.as_ref() else {
        return;
    };
    match &tcp.outcome {
        Err(e) => {
            v.fail(name, "tcp", tcp.elapsed, e);
            v.skip(name, &AFTER_URL[3..], "no TCP connection");
            return;
        }
        Ok(addr) => v.pass(name, "tcp", tcp.elapsed, format!("connected to {addr}")),
    }
    let Some(tls) = c.tls.as_ref() else {
        return;
    };
    let negotiated = match &tls.outcome {
        Err(e) => {
            v.fail(name, "tls", tls.elapsed, e);
            v.skip(name, &AFTER_URL[4..], "no TLS session");
            return;
        }
        Ok(negotiated) => *negotiated,
    };
    let Some(login) = c.login.as_ref() else {
        return;
    };
    // The login's time, split where the server accepted the credentials:
    // before it `auth`, after it `database`.
    let auth_elapsed = c.authenticated_after.unwrap_or(login.elapsed);
    let database_elapsed = login.elapsed.saturating_sub(auth_elapsed);
    let (tls_status, tls_note, tls_hint) = tls_check(target.sslmode, &target.host, negotiated);
    let tls_passed = |v: &mut Verdict| {
        v.record(
            name,
            "tls",
            tls.elapsed,
            tls_status,
            tls_note.clone(),
            tls_hint.clone(),
        );
    };
    match &login.outcome {
        Ok(()) => {
            tls_passed(v);
            v.pass(
                name,
                "auth",
                auth_elapsed,
                format!("logged in as \"{}\"", target.user),
            );
            v.pass(
                name,
                "database",
                database_elapsed,
                format!("database \"{}\"", target.dbname),
            );
        }
        // The server refuses the clear-text session: the TLS step's fault.
        Err(e) if refused_tls(e.code) => {
            v.fail(name, "tls", login.elapsed, e);
            v.skip(name, &["auth", "database"], "no TLS session");
        }
        Err(e) if refused_login(e.code) || lost_in_login(e.code) => {
            tls_passed(v);
            if e.code == Code::AuthPasswordMismatch && explained {
                // Explained later, with the secret's other versions and the catalog.
                v.record(
                    name,
                    "auth",
                    auth_elapsed,
                    Status::Fail,
                    e.message.clone(),
                    Some("PostgreSQL gives the same answer for several causes: the diagnosis below names this one".into()),
                );
                v.skip(name, &["database"], "not logged in");
                return;
            }
            v.fail(name, "auth", auth_elapsed, e);
            v.skip(name, &["database"], "not logged in");
        }
        Err(e) => {
            tls_passed(v);
            v.pass(
                name,
                "auth",
                auth_elapsed,
                format!("credentials accepted for \"{}\"", target.user),
            );
            v.fail(name, "database", database_elapsed, e);
        }
    }
}

/// TLS failures a login can still report (the server's `no encryption`
/// refusal; the others come from the TLS step itself).
fn refused_tls(code: Code) -> bool {
    matches!(
        code,
        Code::TlsRequired | Code::TlsUnavailable | Code::TlsVerifyFailed
    )
}

/// The connection failed during the login, after TLS: nothing the server
/// said about the credentials.
fn lost_in_login(code: Code) -> bool {
    matches!(
        code,
        Code::NetworkTimeout | Code::NetworkRefused | Code::NetworkError
    )
}

/// The server refused the credentials.
fn refused_login(code: Code) -> bool {
    matches!(
        code,
        Code::AuthPasswordMismatch
            | Code::AuthNoHbaEntry
            | Code::AuthIamTokenRejected
            | Code::AuthIamRequired
            | Code::AuthRoleMissing
            | Code::AuthUsernameCase
            | Code::AuthPasswordExpired
    )
}

/// The `tls` check of a negotiated connection: what protects it, and a
/// warning when nothing does, or when nothing verifies who answers for a
/// host that is not this machine (anyone on the network path could pose as
/// the database and ask for the password in clear text).
fn tls_check(mode: SslMode, host: &str, negotiated: Tls) -> (Status, String, Option<String>) {
    let verify_full =
        || Some("use sslmode=verify-full with the RDS CA bundle (sslrootcert)".into());
    match negotiated {
        Tls::Encrypted { protocol } => {
            let checked = match mode {
                SslMode::VerifyFull => "certificate and host name verified",
                SslMode::VerifyCa => "certificate verified (not the host name)",
                SslMode::Require => "certificate not verified (sslmode=require)",
                SslMode::Prefer | SslMode::Allow | SslMode::Disable => {
                    "certificate not verified (sslmode=prefer)"
                }
            };
            let verified = matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull);
            if verified || crate::config::url::is_local_host(host) {
                (Status::Pass, format!("{protocol}, {checked}"), None)
            } else {
                (
                    Status::Warn,
                    format!("{protocol}, {checked}"),
                    Some(
                        "use sslmode=verify-full with the RDS CA bundle (sslrootcert): without \
                         verification anyone on the network path can pose as the database and \
                         ask for the password in clear text"
                            .into(),
                    ),
                )
            }
        }
        Tls::NotRequested => (
            Status::Warn,
            format!("no TLS (sslmode={})", mode.as_str()),
            verify_full(),
        ),
        Tls::Declined => (
            Status::Warn,
            "no TLS: the server does not offer it (sslmode=prefer)".into(),
            Some(
                "turn TLS on at the server (ssl = on), then use sslmode=verify-full with its CA \
                 (sslrootcert)"
                    .into(),
            ),
        ),
    }
}

/// Why the app's password was refused.
fn explain_auth(v: &mut Verdict, auth: &AuthFacts) {
    let user = &auth.user;
    if let (Some(accepted), Some(current)) = (&auth.accepted, &auth.secret) {
        if accepted.stage == "AWSPENDING" {
            v.diagnose(
                Code::SecretRotationIncomplete,
                format!(
                    "the database already has the AWSPENDING password of secret {} (version {}), \
                     while AWSCURRENT (version {}) still holds the old one: a rotation stopped \
                     after setSecret and before finishSecret",
                    current.arn, accepted.version_id, current.version_id
                ),
                format!(
                    "finish the rotation: read the rotation Lambda's logs and run \
                     `aws secretsmanager rotate-secret --secret-id {}` again, or move AWSCURRENT \
                     to version {} (`aws secretsmanager update-secret-version-stage`)",
                    current.arn, accepted.version_id
                ),
            );
        } else {
            v.diagnose(
                Code::SecretStale,
                format!(
                    "the database still accepts the AWSPREVIOUS password of secret {} (version {}) \
                     and not AWSCURRENT (version {}): the secret changed but the database \
                     password did not",
                    current.arn, accepted.version_id, current.version_id
                ),
                "set the role's password to the secret's current value with `migrate grant \
                 --sync-password` (or fix the rotation Lambda's setSecret step); a process that \
                 cached the old value reconnects fine after that",
            );
        }
        return;
    }
    match &auth.role {
        RoleLookup::NotAsked => v.diagnose(
            Code::AuthPasswordMismatch,
            auth.refusal.message.clone(),
            format!(
                "{}; set DIRECT_URL (or MIGRATION_SECRET_ARN) to a working owner connection and \
                 `migrate doctor` can tell a missing role, a wrong case or an expired password apart",
                auth.refusal.hint
            ),
        ),
        RoleLookup::Failed(e) => v.diagnose(
            Code::AuthPasswordMismatch,
            auth.refusal.message.clone(),
            e.message.clone(),
        ),
        RoleLookup::Missing => v.diagnose(
            Code::AuthRoleMissing,
            format!(
                "role \"{user}\" does not exist in the database (PostgreSQL reports it as a wrong password)"
            ),
            "create it with `migrate grant` (as the app role: DB_APP_USER), or fix the user name in \
             the URL or secret",
        ),
        RoleLookup::Found(role) if !role.exact => v.diagnose(
            Code::AuthUsernameCase,
            format!(
                "there is no role \"{user}\", but there is \"{}\": role names are case-sensitive \
                 at login (SQL folds unquoted names to lower case)",
                role.name
            ),
            format!(
                "log in as \"{}\": fix the user name in the URL or the secret's username",
                role.name
            ),
        ),
        RoleLookup::Found(RoleFact {
            expired_at: Some(until),
            ..
        }) => v.diagnose(
            Code::AuthPasswordExpired,
            format!("the password of role \"{user}\" expired at {until} (VALID UNTIL)"),
            format!(
                "ALTER ROLE {} VALID UNTIL 'infinity' (as its owner or a superuser)",
                crate::sql::quote_ident(user)
            ),
        ),
        RoleLookup::Found(RoleFact { iam: true, .. }) => v.diagnose(
            Code::AuthIamRequired,
            format!(
                "role \"{user}\" is a member of rds_iam: RDS accepts only IAM auth tokens for it, \
                 never a password"
            ),
            "set DB_IAM_AUTH=true (the password becomes a fresh token), or REVOKE rds_iam FROM the \
             role to use passwords",
        ),
        RoleLookup::Found(_) => {
            let secret = auth
                .secret
                .as_ref()
                .map(|s| format!(" (from secret {} version {})", s.arn, s.version_id))
                .unwrap_or_default();
            v.diagnose(
                Code::AuthPasswordMismatch,
                format!("role \"{user}\" exists, but its password is not the one configured{secret}"),
                if auth.secret.is_some() {
                    "set the role's password from the secret with `migrate grant --sync-password`, \
                     or put the database's password in the secret"
                } else {
                    "fix the password in the URL (percent-encoded), or set the role's password: \
                     ALTER ROLE ... PASSWORD"
                },
            );
        }
    }
}

/// `privileges`, `migrations` and `schema`.
fn database(v: &mut Verdict, db: &DatabaseFacts) {
    const WHO: &str = "database";
    let p = &db.privileges;
    match &p.outcome {
        PrivilegeFacts::UnknownRole(e) => v.record(
            WHO,
            "privileges",
            p.elapsed,
            Status::Skip,
            format!(
                "the app connection cannot be resolved, so its role is unknown ({})",
                e.message
            ),
            Some("fix the app connection, or name its role with DB_APP_USER".into()),
        ),
        PrivilegeFacts::AppIsMigrationRole { role } => v.fail(
            WHO,
            "privileges",
            p.elapsed,
            &Error::new(
                Code::PrivilegesExcess,
                format!(
                    "the app connection logs in as \"{role}\", the role that runs migrations and owns the schema"
                ),
                "give the Lambda a role of its own: `migrate grant` creates impulse_app with least \
                 privilege (DB_APP_USER names another); put it in DATABASE_URL or the app secret",
            ),
        ),
        PrivilegeFacts::Unreadable(e) if e.code == Code::LockReadBlocked => {
            v.fail(WHO, "privileges", p.elapsed, e)
        }
        PrivilegeFacts::Unreadable(e) => v.record(
            WHO,
            "privileges",
            p.elapsed,
            Status::Skip,
            e.message.clone(),
            Some(e.hint.clone()),
        ),
        PrivilegeFacts::Plan {
            role,
            missing,
            excess,
        } => {
            if !missing.is_empty() {
                v.diagnose(
                    Code::PrivilegesMissing,
                    format!("the app role \"{role}\" lacks: {}", missing.join("; ")),
                    "run `migrate grant` (or `migrate up`) to grant them",
                );
            }
            if !excess.is_empty() {
                v.diagnose(
                    Code::PrivilegesExcess,
                    format!(
                        "the app role \"{role}\" has more than least privilege: {}",
                        excess.join("; ")
                    ),
                    "run `migrate grant` to revoke it; see `migrate grant --check` for the findings it cannot fix",
                );
            }
            if missing.is_empty() && excess.is_empty() {
                v.pass(
                    WHO,
                    "privileges",
                    p.elapsed,
                    format!("app role \"{role}\" has exactly least privilege"),
                );
            } else {
                v.record(
                    WHO,
                    "privileges",
                    p.elapsed,
                    Status::Fail,
                    format!(
                        "app role \"{role}\": {} missing, {} excess",
                        missing.len(),
                        excess.len()
                    ),
                    Some("run `migrate grant --check` for the list, `migrate grant` to fix".into()),
                );
            }
        }
    }

    let m = &db.migrations;
    let status = match &m.outcome {
        Err(e) if e.code == Code::LockReadBlocked => {
            v.fail(WHO, "migrations", m.elapsed, e);
            v.skip(WHO, &["schema"], "the migration history cannot be read");
            return;
        }
        Err(e) => {
            v.record(
                WHO,
                "migrations",
                m.elapsed,
                Status::Skip,
                e.message.clone(),
                Some(e.hint.clone()),
            );
            v.skip(WHO, &["schema"], "the migration history cannot be read");
            return;
        }
        Ok(status) => status,
    };
    let mut problems = Vec::new();
    if let Some((name, started_at)) = status.failed.first() {
        problems.push(Error::new(
            Code::MigrationsFailed,
            format!("migration {name} started at {started_at} and never finished"),
            format!(
                "find out what it left behind, then `migrate resolve --rolled-back {name}` (it \
                 runs again) or `migrate resolve --applied {name}` (finished by hand)"
            ),
        ));
    }
    if !status.unknown.is_empty() {
        problems.push(Error::new(
            Code::MigrationsUnknownApplied,
            format!(
                "the database has migrations this binary does not know: {}",
                status.unknown.join(", ")
            ),
            "the database was migrated by a newer version: deploy that version (or one that \
             includes these migrations) instead of this one",
        ));
    }
    if !status.not_baselined.is_empty() {
        problems.push(Error::new(
            Code::MigrationsNotBaselined,
            format!(
                "the schema has tables ({}) but no migration history",
                status.not_baselined.join(", ")
            ),
            "record the migrations it already matches with `migrate baseline` (it compares \
             first), or import a Prisma history with `migrate import-prisma`",
        ));
    }
    if let Some((name, recorded, file)) = status.edited.first() {
        problems.push(Error::new(
            Code::MigrationsEdited,
            format!(
                "migration {name} was applied with checksum {recorded}, but its migration.sql now has {file}"
            ),
            "restore the applied migration.sql and put the change in a new migration",
        ));
    }
    if !status.pending.is_empty() {
        problems.push(Error::new(
            Code::MigrationsPending,
            format!(
                "{} migration(s) pending: {}",
                status.pending.len(),
                status.pending.join(", ")
            ),
            "run `migrate up` with the migration connection (the deploy job)",
        ));
    }
    match problems.split_first() {
        Some((first, rest)) => {
            v.fail(WHO, "migrations", m.elapsed, first);
            for e in rest {
                v.diagnose(e.code, e.message.clone(), e.hint.clone());
            }
        }
        None if status.legacy => v.record(
            WHO,
            "migrations",
            m.elapsed,
            Status::Warn,
            format!(
                "{} applied, none pending; the history is still sea-orm's seaql_migrations",
                status.applied
            ),
            Some("the next `migrate up` converts it to Prisma's _prisma_migrations".into()),
        ),
        None => v.pass(
            WHO,
            "migrations",
            m.elapsed,
            format!("{} applied, none pending", status.applied),
        ),
    }
    if let Some(schema) = &db.schema {
        schema_check(v, schema, status);
    }
}

/// The live schema against the migrations. A difference that the pending
/// migrations account for is not a manual change; with migrations this
/// binary does not know, the differences cannot be judged at all.
fn schema_check(
    v: &mut Verdict,
    schema: &Timed<Result<SchemaFacts, Error>>,
    status: &MigrationFacts,
) {
    const WHO: &str = "database";
    let facts = match &schema.outcome {
        Err(e) if e.code == Code::LockReadBlocked => {
            v.fail(WHO, "schema", schema.elapsed, e);
            return;
        }
        Err(e) => {
            v.record(
                WHO,
                "schema",
                schema.elapsed,
                Status::Skip,
                e.message.clone(),
                Some(e.hint.clone()),
            );
            return;
        }
        Ok(facts) => facts,
    };
    if facts.against_applied.is_empty() {
        v.pass(
            WHO,
            "schema",
            schema.elapsed,
            format!("{} table(s) as the migrations define them", facts.tables),
        );
        return;
    }
    let line = |d: &crate::catalog::Difference| format!("{}: {}", d.path, d.message);
    if !status.not_baselined.is_empty() {
        v.record(
            WHO,
            "schema",
            schema.elapsed,
            Status::Warn,
            "with no history there is nothing to compare the schema with".to_string(),
            Some("`migrate baseline` compares it with the migrations and records them".into()),
        );
        return;
    }
    if !status.unknown.is_empty() {
        v.record(
            WHO,
            "schema",
            schema.elapsed,
            Status::Warn,
            format!(
                "differs from this binary's migrations, as expected after migrations it does not \
                 know ({}): {}",
                status.unknown.join(", "),
                facts
                    .against_applied
                    .iter()
                    .map(line)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Some("deploy the version that has those migrations, then check again".into()),
        );
        return;
    }
    // What the pending migrations create, already there: those paths no
    // longer differ once the pending migrations are counted.
    let (explained, unexplained): (Vec<_>, Vec<_>) = facts.against_applied.iter().partition(|d| {
        !status.pending.is_empty()
            && facts
                .against_all
                .as_ref()
                .is_some_and(|all| !all.iter().any(|a| a.path == d.path))
    });
    let e = if unexplained.is_empty() {
        Error::new(
            Code::SchemaDrift,
            format!(
                "the live schema already has what the pending migration(s) {} create, but the \
                 history does not record them: {}",
                status.pending.join(", "),
                explained
                    .iter()
                    .map(|d| line(d))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            "another tool applied them, or their history rows are missing: do not run `migrate up` \
             blindly (it would fail on objects that exist); check that the objects match the \
             migrations, then record them in the history",
        )
    } else {
        let mut message = format!(
            "the live schema differs from the migrations: {}",
            unexplained
                .iter()
                .map(|d| line(d))
                .collect::<Vec<_>>()
                .join("; ")
        );
        if !explained.is_empty() {
            message += &format!(
                "; besides, it already has what the pending migration(s) {} create",
                status.pending.join(", ")
            );
        }
        Error::new(
            Code::SchemaDrift,
            message,
            "someone changed the schema by hand: write a migration for the change \
             (`migrate new`) or undo it; never alter the schema outside migrations",
        )
    };
    v.fail(WHO, "schema", schema.elapsed, &e);
}

#[cfg(test)]
mod tests;
