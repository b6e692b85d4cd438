//! `migrate grant [--check] [--sync-password]`: least privilege for the app
//! role, under the migration lock. `up` runs the same reconciliation.

use crate::cli::GrantArgs;
use crate::commands::Ctx;
use crate::config::{self, Which};
use crate::error::{Code, Error, Exit, Result};
use crate::grants::Kind;
use crate::grants::apply::{Options, Outcome, reconcile_with_progress};

/// What `migrate grant` prints.
#[derive(Debug, serde::Serialize)]
pub struct GrantReport {
    /// False with `--check` when anything differs.
    pub ok: bool,
    pub database: String,
    pub schema: String,
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(skip)]
    pub check: bool,
}

pub async fn run(ctx: &Ctx, args: &GrantArgs) -> Result<Exit> {
    let (resolved, session) = ctx.migration_session().await?;
    let result = async {
        let mut options = Options::for_connection(&ctx.connector, &resolved, !args.check).await?;
        if args.sync_password {
            options.sync_password = Some(app_secret_password(ctx).await?);
        }
        let lock =
            crate::lock::acquire(&session, ctx.lock_timeout, crate::lock::Scope::Ours).await?;
        let work = crate::lock::reading(
            &session,
            reconcile_with_progress(ctx.ui, &session, &options, None),
        );
        lock.around(&session, work).await
    }
    .await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    let outcome = result?;
    let clean = outcome.plan.is_clean();
    ctx.ui.result(&GrantReport {
        ok: !args.check || clean,
        database,
        schema,
        outcome,
        check: args.check,
    });
    Ok(if args.check && !clean {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}

/// The app secret's current password and version (`--sync-password`).
async fn app_secret_password(ctx: &Ctx) -> Result<(crate::secret::Secret, String)> {
    let plan = config::plan(ctx.connector.sources(), Which::App)?;
    let Some(id) = &plan.secret_id else {
        return Err(Error::new(
            Code::ConfigMissing,
            "--sync-password needs the app secret, and DB_SECRET_ARN is not set",
            "set DB_SECRET_ARN (or pass --secret-id) to the secret the Lambda reads",
        ));
    };
    let secret = ctx
        .connector
        .secret(
            &id.value,
            &plan.secret_stage.value,
            plan.region_name(),
            true,
        )
        .await?;
    Ok((secret.password, secret.version_id))
}

impl std::fmt::Display for GrantReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let outcome = &self.outcome;
        let plan = &outcome.plan;
        writeln!(
            f,
            "app role \"{}\" in database \"{}\", schema \"{}\"",
            outcome.app_role, self.database, self.schema
        )?;
        for change in &plan.changes {
            let kind = match change.kind {
                Kind::Missing => "missing",
                Kind::Excess => "excess ",
            };
            writeln!(f, "  {kind}  {}", change.what)?;
        }
        for finding in &plan.findings {
            writeln!(
                f,
                "  finding  {}\n           hint: {}",
                finding.message, finding.hint
            )?;
        }
        for finding in &plan.accepted {
            writeln!(
                f,
                "  accepted {} (DB_GRANT_ACCEPT={})\n           hint: {}",
                finding.message,
                finding.name.unwrap_or_default(),
                finding.hint
            )?;
        }
        let differences = plan.changes.len() + plan.findings.len();
        if self.check {
            if differences == 0 && !plan.accepted.is_empty() {
                write!(
                    f,
                    "no difference but {} accepted finding(s) (DB_GRANT_ACCEPT)",
                    plan.accepted.len()
                )
            } else if differences == 0 {
                f.write_str("no difference: the app role has exactly least privilege")
            } else {
                write!(
                    f,
                    "{differences} difference(s); `migrate grant` fixes the missing and excess ones"
                )
            }
        } else if outcome.executed == 0 {
            f.write_str("nothing to change: no statement issued")
        } else {
            write!(f, "issued {} statement(s)", outcome.executed)
        }
    }
}
