//! The questions `28P01` cannot answer, and the checks of the schema
//! itself, asked through a connection that works.
//!
//! Read-only throughout: other secret versions are tried by logging in with
//! them, the role is looked up in `pg_roles`, and the schema the migrations
//! define is built in a temporary schema inside a transaction that is
//! rolled back.

use std::time::Instant;

use sea_orm::{ConnectionTrait, TransactionTrait};
use sea_orm_migration::{MigratorTrait, SchemaManager};
use sqlx::Row;

use super::app::{AuthFailure, Checked};
use super::{Recorder, Status};
use crate::config::Which;
use crate::connect::{self, quote_ident};
use crate::connector::Connector;
use crate::error::Error;
use crate::grants::{self, Kind};
use crate::{catalog, env_vars, history, runner};

/// Tells apart why the app's credentials were refused.
pub(crate) async fn explain_auth_failure(
    connector: &Connector,
    failure: &AuthFailure,
    admin: Option<&Checked>,
    rec: &mut Recorder,
    deadline: Instant,
) {
    let user = &failure.resolved.spec.user;
    if let Some(current) = &failure.resolved.secret {
        let region = failure.resolved.region.as_ref().map(|(r, _)| r.as_str());
        for stage in ["AWSPENDING", "AWSPREVIOUS"] {
            let Ok(other) = connector.secret(&current.id, stage, region, false).await else {
                continue; // no version has that stage
            };
            if other.version_id == current.version_id {
                continue;
            }
            let mut spec = failure.resolved.spec.clone();
            spec.user = other.username.clone();
            spec.password = Some(other.password.clone());
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(session) = connect::open(&spec, left, left).await else {
                continue;
            };
            session.close().await;
            if stage == "AWSPENDING" {
                rec.diagnose(
                    "secret.rotation_incomplete",
                    format!(
                        "the database already has the AWSPENDING password of secret {} (version {}), \
                         while AWSCURRENT (version {}) still holds the old one: a rotation stopped \
                         after setSecret and before finishSecret",
                        current.arn, other.version_id, current.version_id
                    ),
                    format!(
                        "finish the rotation: read the rotation Lambda's logs and run \
                         `aws secretsmanager rotate-secret --secret-id {}` again, or move AWSCURRENT \
                         to version {} (`aws secretsmanager update-secret-version-stage`)",
                        current.arn, other.version_id
                    ),
                );
            } else {
                rec.diagnose(
                    "secret.stale",
                    format!(
                        "the database still accepts the AWSPREVIOUS password of secret {} (version {}) \
                         and not AWSCURRENT (version {}): the secret changed but the database \
                         password did not",
                        current.arn, other.version_id, current.version_id
                    ),
                    "set the role's password to the secret's current value with `migrate grant \
                     --sync-password` (or fix the rotation Lambda's setSecret step); a process that \
                     cached the old value reconnects fine after that",
                );
            }
            return;
        }
    }

    let Some(session) = admin.and_then(|a| a.session.as_ref()) else {
        rec.diagnose(
            "auth.password_mismatch",
            failure.error.message.clone(),
            format!(
                "{}; set DIRECT_URL (or MIGRATION_SECRET_ARN) to a working owner connection and \
                 `migrate doctor` can tell a missing role, a wrong case or an expired password apart",
                failure.error.hint
            ),
        );
        return;
    };
    let lookup = sqlx::query(
        "SELECT r.rolname::text, r.rolname = $1, coalesce(r.rolvaliduntil < now(), false), \
                EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m \
                        JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
                        WHERE m.member = r.oid AND g.rolname = 'rds_iam'), \
                coalesce(to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC', '') \
         FROM pg_catalog.pg_roles r WHERE lower(r.rolname) = lower($1) \
         ORDER BY r.rolname = $1 DESC LIMIT 1",
    )
    .bind(user)
    .fetch_optional(&session.pool)
    .await;
    let row = match lookup {
        Ok(row) => row,
        Err(e) => {
            let e = connect::query_error(&e, "look up the role");
            rec.diagnose(
                "auth.password_mismatch",
                failure.error.message.clone(),
                e.message,
            );
            return;
        }
    };
    let Some(row) = row else {
        rec.diagnose(
            "auth.role_missing",
            format!("role \"{user}\" does not exist in the database (PostgreSQL reports it as a wrong password)"),
            "create it with `migrate grant` (as the app role: DB_APP_USER), or fix the user name in \
             the URL or secret",
        );
        return;
    };
    let (name, exact, expired, iam, until): (String, bool, bool, bool, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
    if !exact {
        rec.diagnose(
            "auth.username_case",
            format!(
                "there is no role \"{user}\", but there is \"{name}\": role names are case-sensitive \
                 at login (SQL folds unquoted names to lower case)"
            ),
            format!("log in as \"{name}\": fix the user name in the URL or the secret's username"),
        );
    } else if expired {
        rec.diagnose(
            "auth.password_expired",
            format!("the password of role \"{user}\" expired at {until} (VALID UNTIL)"),
            format!(
                "ALTER ROLE {} VALID UNTIL 'infinity' (as its owner or a superuser)",
                quote_ident(user)
            ),
        );
    } else if iam {
        rec.diagnose(
            "auth.iam_required",
            format!(
                "role \"{user}\" is a member of rds_iam: RDS accepts only IAM auth tokens for it, \
                 never a password"
            ),
            "set DB_IAM_AUTH=true (the password becomes a fresh token), or REVOKE rds_iam FROM the \
             role to use passwords",
        );
    } else {
        let secret = failure
            .resolved
            .secret
            .as_ref()
            .map(|s| format!(" (from secret {} version {})", s.arn, s.version_id))
            .unwrap_or_default();
        rec.diagnose(
            "auth.password_mismatch",
            format!("role \"{user}\" exists, but its password is not the one configured{secret}"),
            if failure.resolved.secret.is_some() {
                "set the role's password from the secret with `migrate grant --sync-password`, or \
                 put the database's password in the secret"
            } else {
                "fix the password in the URL (percent-encoded), or set the role's password: \
                 ALTER ROLE ... PASSWORD"
            },
        );
    }
}

/// `privileges`, `migrations` and `schema`, through the admin connection.
pub(crate) async fn database_checks<M: MigratorTrait>(
    connector: &Connector,
    admin: &Checked,
    rec: &mut Recorder,
) {
    const WHO: &str = "database";
    let Some(session) = &admin.session else {
        rec.skip(
            WHO,
            &["privileges", "migrations", "schema"],
            "the migration connection failed",
        );
        return;
    };
    let history_table = history::table_name::<M>();

    // privileges
    let t = rec.clock();
    let app_user = match connector.sources().var(env_vars::DB_APP_USER) {
        Some((name, _)) => Some(name),
        None => connector
            .resolve(Which::App)
            .await
            .ok()
            .map(|app| app.spec.user),
    };
    let Some(app_user) = app_user else {
        rec.record(
            WHO,
            "privileges",
            t,
            Status::Skip,
            "the app connection cannot be resolved, so its role is unknown",
            Some("fix the app connection, or name its role with DB_APP_USER".into()),
        );
        return migrations_and_schema::<M>(session, &history_table, rec).await;
    };
    if app_user == admin.resolved.spec.user {
        let e = Error::connect(
            "privileges.excess",
            format!(
                "the app connection logs in as \"{app_user}\", the role that runs migrations and owns the schema"
            ),
            "give the Lambda a role of its own: `migrate grant` creates impulse_app with least \
             privilege (DB_APP_USER names another); put it in DATABASE_URL or the app secret",
        );
        rec.fail(WHO, "privileges", t, e);
    } else {
        let iam =
            crate::config::plan(connector.sources(), Which::App).is_ok_and(|p| p.iam.is_some());
        match grants::introspect::read(session, &app_user, &history_table, iam).await {
            Ok(state) => {
                let plan = grants::plan(&state);
                let missing: Vec<&str> = plan
                    .changes
                    .iter()
                    .filter(|c| c.kind == Kind::Missing)
                    .map(|c| c.what.as_str())
                    .collect();
                let mut excess: Vec<String> = plan
                    .changes
                    .iter()
                    .filter(|c| c.kind == Kind::Excess)
                    .map(|c| c.what.clone())
                    .collect();
                excess.extend(plan.findings.iter().map(|f| f.message.clone()));
                if !missing.is_empty() {
                    rec.diagnose(
                        "privileges.missing",
                        format!("the app role \"{app_user}\" lacks: {}", missing.join("; ")),
                        "run `migrate grant` (or `migrate up`) to grant them",
                    );
                }
                if !excess.is_empty() {
                    rec.diagnose(
                        "privileges.excess",
                        format!("the app role \"{app_user}\" has more than least privilege: {}", excess.join("; ")),
                        "run `migrate grant` to revoke it; see `migrate grant --check` for the findings it cannot fix",
                    );
                }
                if missing.is_empty() && excess.is_empty() {
                    rec.record(
                        WHO,
                        "privileges",
                        t,
                        Status::Pass,
                        format!("app role \"{app_user}\" has exactly least privilege"),
                        None,
                    );
                } else {
                    rec.record(
                        WHO,
                        "privileges",
                        t,
                        Status::Fail,
                        format!(
                            "app role \"{app_user}\": {} missing, {} excess",
                            missing.len(),
                            excess.len()
                        ),
                        Some(
                            "run `migrate grant --check` for the list, `migrate grant` to fix"
                                .into(),
                        ),
                    );
                }
            }
            Err(e) => rec.record(WHO, "privileges", t, Status::Skip, e.message, Some(e.hint)),
        }
    }

    migrations_and_schema::<M>(session, &history_table, rec).await;
}

async fn migrations_and_schema<M: MigratorTrait>(
    session: &connect::Session,
    history_table: &str,
    rec: &mut Recorder,
) {
    const WHO: &str = "database";
    // migrations
    let t = rec.clock();
    let status = match runner::status::<M>(session).await {
        Ok(status) => status,
        Err(e) => {
            rec.record(WHO, "migrations", t, Status::Skip, e.message, Some(e.hint));
            rec.skip(WHO, &["schema"], "the migration history cannot be read");
            return;
        }
    };
    let pending: Vec<String> = status.pending().map(|e| e.name.clone()).collect();
    if pending.is_empty() {
        rec.record(
            WHO,
            "migrations",
            t,
            Status::Pass,
            format!("{} applied, none pending", status.applied().count()),
            None,
        );
    } else {
        let e = Error::connect(
            "migrations.pending",
            format!(
                "{} migration(s) pending: {}",
                pending.len(),
                pending.join(", ")
            ),
            "run `migrate up` with the migration connection (the deploy job)",
        );
        rec.fail(WHO, "migrations", t, e);
    }

    // schema: the live schema against what the applied migrations define.
    let t = rec.clock();
    let applied: Vec<String> = status.applied().map(|e| e.name.clone()).collect();
    let expected = expected_catalog::<M>(session, &applied).await;
    let actual = catalog::introspect(&session.db, &session.schema, &[history_table]).await;
    match (expected, actual) {
        (Ok(expected), Ok(actual)) => {
            let differences = catalog::diff(&expected, &actual, "the migrations", "the database");
            if differences.is_empty() {
                rec.record(WHO, "schema", t, Status::Pass, format!("{} table(s) as the migrations define them", actual.tables.len()), None);
            } else {
                let lines: Vec<String> = differences.iter().map(|d| format!("{}: {}", d.path, d.message)).collect();
                let e = Error::connect(
                    "schema.drift",
                    format!("the live schema differs from the migrations: {}", lines.join("; ")),
                    "someone changed the schema by hand: write a migration for the change \
                     (`migrate new`) or undo it; never alter the schema outside migrations",
                );
                rec.fail(WHO, "schema", t, e);
            }
        }
        (Err(e), _) | (_, Err(e)) => rec.record(
            WHO,
            "schema",
            t,
            Status::Skip,
            format!("cannot build the expected schema: {}", connect::describe_db_error(&e)),
            Some("the migration role needs CREATE on the database for this check (it uses a temporary schema, rolled back)".into()),
        ),
    }
}

/// What the `applied` migrations create, built in a temporary schema inside
/// a transaction that is rolled back: nothing persists.
async fn expected_catalog<M: MigratorTrait>(
    session: &connect::Session,
    applied: &[String],
) -> Result<crate::prisma::Catalog, sea_orm::DbErr> {
    let scratch = format!("impulse_db_doctor_{}", std::process::id());
    let txn = session.db.begin().await?;
    txn.execute_unprepared(&format!(
        "CREATE SCHEMA {0}; SET LOCAL search_path TO {0}",
        quote_ident(&scratch)
    ))
    .await?;
    for migration in M::migrations() {
        if applied.iter().any(|a| a == migration.name()) {
            migration.up(&SchemaManager::new(&txn)).await?;
        }
    }
    let catalog = catalog::introspect(&txn, &scratch, &[]).await;
    txn.rollback().await?;
    catalog
}
