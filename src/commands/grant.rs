//! `migrate grant [--check] [--sync-password]`: least privilege for the app
//! role, under the migration lock. `up` runs the same reconciliation.

use sea_orm_migration::MigratorTrait;
use serde_json::json;

use crate::cli::GrantArgs;
use crate::commands::Ctx;
use crate::config::{self, Resolved, Which};
use crate::connect::Session;
use crate::env_vars;
use crate::error::{Error, Exit, Result};
use crate::grants::apply::{Options, Outcome, describe, reconcile};
use crate::history;
use crate::output::Ui;

/// The role `grant` manages when nothing else names one.
pub const DEFAULT_APP_ROLE: &str = "impulse_app";

pub async fn run<M: MigratorTrait>(ctx: &Ctx, args: &GrantArgs) -> Result<Exit> {
    let (resolved, session) = ctx.migration_session().await?;
    let result = async {
        let mut options = options(ctx, &resolved, !args.check).await?;
        if args.sync_password {
            options.sync_password = Some(app_secret_password(ctx).await?);
        }
        let lock = crate::lock::acquire(&session, ctx.lock_timeout).await?;
        let outcome = reconcile_with_progress::<M>(ctx.ui, &session, &options).await;
        lock.release(&session).await?;
        outcome
    }
    .await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    let outcome = result?;
    ctx.ui.result(
        || text(&database, &schema, &outcome, args.check),
        || {
            let mut value = serde_json::to_value(&outcome).unwrap_or_default();
            value["database"] = json!(database);
            value["schema"] = json!(schema);
            value["ok"] = json!(!args.check || outcome.plan.is_clean());
            value
        },
    );
    Ok(if args.check && !outcome.plan.is_clean() {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}

/// Reconciles with a progress line per statement. The caller holds the lock.
pub async fn reconcile_with_progress<M: MigratorTrait>(
    ui: Ui,
    session: &Session,
    options: &Options,
) -> Result<Outcome> {
    let outcome = reconcile(
        session,
        &history::table_name::<M>(),
        options,
        &mut |change| ui.progress(describe(change)),
    )
    .await?;
    if let Some(version) = &outcome.password_synced_from {
        ui.progress(format_args!(
            "set the password of \"{}\" from the secret (version {version})",
            outcome.app_role
        ));
    }
    for finding in &outcome.plan.findings {
        tracing::warn!("{}; hint: {}", finding.message, finding.hint);
    }
    Ok(outcome)
}

/// Which role to manage, and whether it authenticates with IAM:
/// `DB_APP_USER`, else the app connection's user when it differs from the
/// migration user, else `impulse_app`.
pub async fn options(ctx: &Ctx, migration: &Resolved, apply: bool) -> Result<Options> {
    let sources = ctx.connector.sources();
    let iam = config::plan(sources, Which::App)
        .map(|p| p.iam.is_some())
        .unwrap_or(false);
    let app_role = if let Some((name, _)) = sources.var(env_vars::DB_APP_USER) {
        name
    } else if migration.same_as_app {
        DEFAULT_APP_ROLE.to_string()
    } else {
        match ctx.connector.resolve(Which::App).await {
            Ok(app) if app.spec.user != migration.spec.user => app.spec.user,
            Ok(_) => DEFAULT_APP_ROLE.to_string(),
            Err(e) if e.code == "config.missing" => DEFAULT_APP_ROLE.to_string(),
            Err(e) => {
                return Err(Error::config(
                    e.code,
                    format!(
                        "cannot tell the app role from the app connection: {}",
                        e.message
                    ),
                    format!("{}; or name the role with DB_APP_USER", e.hint),
                ));
            }
        }
    };
    Ok(Options {
        app_role,
        iam,
        apply,
        sync_password: None,
    })
}

/// The app secret's current password and version (`--sync-password`).
async fn app_secret_password(ctx: &Ctx) -> Result<(crate::secret::Secret, String)> {
    let plan = config::plan(ctx.connector.sources(), Which::App)?;
    let Some((id, _)) = &plan.secret_id else {
        return Err(Error::config(
            "config.missing",
            "--sync-password needs the app secret, and DB_SECRET_ARN is not set",
            "set DB_SECRET_ARN (or pass --secret-id) to the secret the Lambda reads",
        ));
    };
    let secret = ctx
        .connector
        .secret(
            id,
            &plan.secret_stage.0,
            plan.region.as_ref().map(|(r, _)| r.as_str()),
            true,
        )
        .await?;
    Ok((secret.password, secret.version_id))
}

fn text(database: &str, schema: &str, outcome: &Outcome, check: bool) -> String {
    let plan = &outcome.plan;
    let mut out = format!(
        "app role \"{}\" in database \"{database}\", schema \"{schema}\"\n",
        outcome.app_role
    );
    for change in &plan.changes {
        let kind = match change.kind {
            crate::grants::Kind::Missing => "missing",
            crate::grants::Kind::Excess => "excess ",
        };
        out += &format!("  {kind}  {}\n", change.what);
    }
    for finding in &plan.findings {
        out += &format!(
            "  finding  {}\n           hint: {}\n",
            finding.message, finding.hint
        );
    }
    let differences = plan.changes.len() + plan.findings.len();
    out += &if check {
        if differences == 0 {
            "no difference: the app role has exactly least privilege".to_string()
        } else {
            format!(
                "{differences} difference(s); `migrate grant` fixes the missing and excess ones"
            )
        }
    } else if outcome.executed == 0 {
        "nothing to change: no statement issued".to_string()
    } else {
        format!("issued {} statement(s)", outcome.executed)
    };
    out
}
