//! Reconciling the app role's privileges: read the state, plan, and run
//! the plan's statements in one transaction (all or nothing).
//!
//! The caller holds the migration lock. Roles are global to the cluster, so
//! two runs on different databases can both try to create the app role; the
//! loser sees `duplicate_object` and reconciles once more from a fresh read.
//!
//! `--sync-password` sets the role's password to the secret's value as a
//! SCRAM-SHA-256 verifier computed here, so the clear-text password never
//! reaches the server (nor its statement log).

use std::collections::BTreeSet;

use sqlx::{AssertSqlSafe, Row};

use super::{Change, Kind, Plan, WhenAppIsOwner, introspect, plan};
use crate::config::{self, Resolved, Which};
use crate::connector::Connector;
use crate::error::{Code, Error, Result};
use crate::output::Ui;
use crate::secret::Secret;
use crate::session::{Session, query_error};
use crate::sql::{quote_ident, quote_value, with_values};

/// What to reconcile, and how.
pub struct Options {
    pub app_role: String,
    /// The app connection uses IAM: the role belongs in `rds_iam`.
    pub iam: bool,
    /// Run the statements (false: only compute the plan, `--check`).
    pub apply: bool,
    /// Set the role's password to this secret value (and say which
    /// version, or [`LOCAL_PASSWORD`]).
    pub sync_password: Option<(Secret, String)>,
    /// Names of the findings the operator accepts (`DB_GRANT_ACCEPT`).
    pub accept: BTreeSet<String>,
}

impl Options {
    /// The options for migration connection `migration`: the app role of
    /// [`app_role`](super::app_role) (never the migration role itself), with
    /// `rds_iam` when the app connection uses IAM. `apply` false only plans
    /// (`--check`). The findings `DB_GRANT_ACCEPT` names are accepted.
    pub async fn for_connection(
        connector: &Connector,
        migration: &Resolved,
        apply: bool,
    ) -> Result<Options> {
        let role = super::app_role(connector, migration, WhenAppIsOwner::ManageDefault).await?;
        let iam = config::plan(connector.sources(), Which::App).is_ok_and(|p| p.iam.is_some());
        Ok(Options {
            app_role: role.name,
            iam,
            apply,
            sync_password: None,
            accept: super::accept::from_sources(connector.sources())?,
        })
    }
}

/// What reconciling found and did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Outcome {
    pub app_role: String,
    #[serde(flatten)]
    pub plan: Plan,
    /// Statements executed (0 with `--check`, or when nothing was needed).
    pub executed: usize,
    /// The secret version the password was set from.
    pub password_synced_from: Option<String>,
}

/// Refuses an app role that is the migration role itself, or one the
/// migration role inherits privileges through (a membership with INHERIT:
/// from PostgreSQL 16 the membership's own option, before it the member's
/// `rolinherit`; the ADMIN-only membership a CREATEROLE role gets on the
/// roles it creates does not count): its plan would revoke what
/// the migration role needs (the history table, CONNECT, the schema), and
/// every later `up`, `down` and `status` would be locked out. Checked
/// before anything changes (before `up` applies a migration).
pub async fn refuse_migration_role(session: &Session, options: &Options) -> Result<()> {
    let rows = session
        .simple(migration_role_sql(&options.app_role))
        .await
        .map_err(|e| query_error(&e, "look up the app role"))?;
    refusal_from(&rows, options)
}

/// The statement [`refuse_migration_role`] asks: the migration role, and
/// whether it is or inherits through the app role `app_role`.
pub fn migration_role_sql(app_role: &str) -> String {
    with_values(
        "WITH RECURSIVE app AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1), \
              mine(oid) AS ( \
                SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user \
                UNION SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN mine ON m.member = mine.oid \
                WHERE coalesce((to_jsonb(m) ->> 'inherit_option')::boolean, \
                               (SELECT rolinherit FROM pg_catalog.pg_roles WHERE oid = m.member))) \
         SELECT current_user::text, EXISTS (SELECT 1 FROM app JOIN mine USING (oid))",
        &[app_role],
    )
}

/// The refusal [`migration_role_sql`]'s answer `rows` calls for, if any.
pub fn refusal_from(rows: &[sqlx::postgres::PgRow], options: &Options) -> Result<()> {
    let answer = rows
        .first()
        .ok_or(sqlx::Error::RowNotFound)
        .and_then(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<bool, _>(1)?)));
    let (me, inherits) = answer.map_err(|e| query_error(&e, "look up the app role"))?;
    if !inherits {
        return Ok(());
    }
    let how = if me == options.app_role {
        "is the migration role itself".to_string()
    } else {
        format!("is a role the migration role \"{me}\" inherits privileges through")
    };
    Err(Error::new(
        Code::PrivilegesLockout,
        format!(
            "the app role \"{}\" {how}: least privilege for it would revoke what the migrations need",
            options.app_role
        ),
        "give the app (the Lambda) a role of its own: unset DB_APP_USER (impulse_app is the \
         default) or name another role; the migration connection (DIRECT_URL) keeps the owner",
    ))
}

/// Reads, plans and (with `apply`) fixes the app role's privileges,
/// starting from `read` when given: the state as the caller read it under
/// the lock ([`introspect::queries`]), after it checked the role
/// ([`migration_role_sql`]). Without it, both are asked here.
pub async fn reconcile(
    session: &Session,
    options: &Options,
    mut read: Option<super::State>,
    on_change: &mut dyn FnMut(&Change),
) -> Result<Outcome> {
    if read.is_none() {
        refuse_migration_role(session, options).await?;
    }
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut state = match read.take() {
            Some(state) => state,
            None => introspect::read(session, &options.app_role, options.iam).await?,
        };
        state.accept = options.accept.clone();
        let plan = plan(&state);
        let mut outcome = Outcome {
            app_role: options.app_role.clone(),
            plan,
            executed: 0,
            password_synced_from: None,
        };
        if !options.apply {
            return Ok(outcome);
        }
        if state.app.is_none() && !state.can_create_roles {
            let finding = &outcome.plan.findings[0];
            return Err(Error::new(
                Code::PrivilegesCannotGrant,
                finding.message.clone(),
                finding.hint.clone(),
            ));
        }
        if options.sync_password.is_some() && state.app.is_some() && !state.can_alter_app {
            return Err(cannot_set_password(
                &state.migration_role,
                &options.app_role,
                state.server_major,
            ));
        }
        match execute(session, &outcome.plan, options).await {
            Ok(executed) => {
                outcome.executed = executed;
                outcome.password_synced_from =
                    options.sync_password.as_ref().map(|(_, v)| v.clone());
                for change in &outcome.plan.changes {
                    on_change(change);
                }
                return Ok(outcome);
            }
            Err(Failure::RoleCreatedConcurrently) if attempts < CONCURRENT_ATTEMPTS => {
                // Another run made the role (or changed it) meanwhile: read
                // again, after a short pause that keeps the runs apart.
                let pause = 20 * attempts as u64 + u64::from(std::process::id() % 20);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            Err(Failure::RoleCreatedConcurrently) => {
                return Err(Error::new(
                    Code::PrivilegesCannotGrant,
                    format!(
                        "the app role \"{}\" was changed by other runs {CONCURRENT_ATTEMPTS} times \
                         while this one reconciled it",
                        options.app_role
                    ),
                    "run `migrate grant` again once the other deploys are done",
                ));
            }
            Err(Failure::Error(e)) => return Err(e),
        }
    }
}

/// `--sync-password` on a role the migration role may not alter: said
/// before any statement runs (the server would refuse the ALTER ROLE).
fn cannot_set_password(migration_role: &str, app_role: &str, server_major: u32) -> Error {
    let (me, app) = (quote_ident(migration_role), quote_ident(app_role));
    let admin = super::admin_grant(app_role, migration_role, server_major);
    Error::new(
        Code::PrivilegesCannotGrant,
        format!(
            "the migration role {me} may not set the password of {app}: altering a role takes \
             SUPERUSER, or CREATEROLE and, from PostgreSQL 16 on, the ADMIN option on that role, \
             which a role gets only on the roles it creates"
        ),
        format!(
            "as a superuser or the role that created {app}: {admin} (and give {me} CREATEROLE \
             if it lacks it); or set the password as that role"
        ),
    )
}

enum Failure {
    RoleCreatedConcurrently,
    Error(Error),
}

async fn execute(session: &Session, plan: &Plan, options: &Options) -> Result<usize, Failure> {
    let password_sql = options.sync_password.as_ref().map(|(secret, _)| {
        let verifier = postgres_protocol::password::scram_sha_256(secret.expose().as_bytes());
        format!(
            "ALTER ROLE {} PASSWORD {}",
            quote_ident(&options.app_role),
            quote_value(&verifier)
        )
    });
    if plan.changes.is_empty() && password_sql.is_none() {
        return Ok(0);
    }
    let mut tx = session
        .pool()
        .begin()
        .await
        .map_err(|e| Failure::Error(query_error(&e, "start a transaction")))?;
    let statements = plan
        .changes
        .iter()
        .map(|c| (c.sql.clone(), c.what.clone()))
        .chain(password_sql.map(|sql| (sql, "the app role's password".to_string())));
    let mut executed = 0;
    for (sql, what) in statements {
        if let Err(e) = sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await {
            return Err(classify(&e, &what));
        }
        executed += 1;
    }
    tx.commit()
        .await
        .map_err(|e| Failure::Error(query_error(&e, "commit the grants")))?;
    Ok(executed)
}

/// How many times a reconciliation starts over when other runs change the
/// same (cluster-wide) role at the same time.
const CONCURRENT_ATTEMPTS: u32 = 5;

fn classify(e: &sqlx::Error, what: &str) -> Failure {
    let Some(db) = e.as_database_error() else {
        return Failure::Error(query_error(e, "change the privileges"));
    };
    match db.code().as_deref() {
        // duplicate_object, or the unique index of pg_authid: another run
        // on another database created the same role first.
        Some("42710") => Failure::RoleCreatedConcurrently,
        Some("23505") if db.constraint() == Some("pg_authid_rolname_index") => {
            Failure::RoleCreatedConcurrently
        }
        // Two runs granting on the same shared catalog row at once.
        Some("XX000") if db.message().contains("tuple concurrently updated") => {
            Failure::RoleCreatedConcurrently
        }
        Some("42501") => Failure::Error(Error::new(
            Code::PrivilegesCannotGrant,
            format!("the migration role may not change {what}: {}", db.message()),
            "run migrations and grants as the role that owns the schema and its tables \
             (DIRECT_URL / MIGRATION_SECRET_ARN), with CREATEROLE to create the app role",
        )),
        code => Failure::Error(Error::new(
            Code::PrivilegesCannotGrant,
            format!(
                "changing {what} failed: {} (SQLSTATE {})",
                db.message(),
                code.unwrap_or("?")
            ),
            "run `migrate grant --check` to see the plan",
        )),
    }
}

/// Where `migrate dev`'s app password comes from, in place of a secret's
/// version.
pub const LOCAL_PASSWORD: &str = ".migrate/app.password";

/// Reconciles (from `read`, see [`reconcile`]) with a progress line
/// per statement and a warning per finding. The caller holds the lock.
pub async fn reconcile_with_progress(
    ui: Ui,
    session: &Session,
    options: &Options,
    read: Option<super::State>,
) -> Result<Outcome> {
    let outcome = reconcile(session, options, read, &mut |change| {
        ui.progress(describe(change))
    })
    .await?;
    if let Some(version) = &outcome.password_synced_from {
        let from = if version == LOCAL_PASSWORD {
            LOCAL_PASSWORD.to_string()
        } else {
            format!("the secret (version {version})")
        };
        ui.progress(format_args!(
            "set the password of \"{}\" from {from}",
            outcome.app_role
        ));
    }
    for finding in &outcome.plan.findings {
        tracing::warn!("{}; hint: {}", finding.message, finding.hint);
    }
    for finding in &outcome.plan.accepted {
        tracing::info!(
            "accepted ({}={}): {}",
            crate::env_vars::DB_GRANT_ACCEPT,
            finding.name.unwrap_or_default(),
            finding.message
        );
    }
    Ok(outcome)
}

/// Text for one change, as the progress line shows it.
pub fn describe(change: &Change) -> String {
    match change.kind {
        // The role itself: made, not granted.
        Kind::Missing if change.sql.starts_with("CREATE ROLE ") => {
            format!("created {}", change.what)
        }
        Kind::Missing => format!("granted {}", change.what),
        Kind::Excess => format!("revoked {}", change.what),
    }
}
