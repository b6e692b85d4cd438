//! `migrate up`: apply pending migrations under the lock, then bring the
//! app role to least privilege (unless `--no-grants`).

use sea_orm_migration::MigratorTrait;
use serde_json::json;

use crate::cli::UpArgs;
use crate::commands::{Ctx, grant};
use crate::connect::Session;
use crate::error::{Exit, Result};
use crate::grants::apply::{Options, Outcome};
use crate::runner::{self, Step};

/// What a run of `up` did.
pub struct UpReport {
    pub applied: Vec<Step>,
    pub pending: Vec<String>,
    pub lock_wait_ms: f64,
    pub grants: Option<Outcome>,
}

pub async fn run<M: MigratorTrait>(ctx: &Ctx, args: &UpArgs) -> Result<Exit> {
    let (resolved, session) = ctx.migration_session().await?;
    let report = async {
        let grants = if args.no_grants {
            None
        } else {
            Some(grant::options(ctx, &resolved, true).await?)
        };
        apply::<M>(ctx, &session, args.steps, grants.as_ref()).await
    }
    .await;
    let database = session.database.clone();
    let schema = session.schema.clone();
    session.close().await;
    let report = report?;
    ctx.ui.result(
        || summary(&report),
        || {
            json!({
                "ok": true,
                "database": database,
                "schema": schema,
                "applied": report.applied,
                "pending": report.pending,
                "lock_wait_ms": report.lock_wait_ms,
                "grants": report.grants,
            })
        },
    );
    Ok(Exit::Ok)
}

/// Takes the lock, applies up to `steps` migrations with progress on
/// stderr, reconciles grants when asked, and releases the lock. Shared
/// with `migrate dev`.
pub async fn apply<M: MigratorTrait>(
    ctx: &Ctx,
    session: &Session,
    steps: Option<u32>,
    grants: Option<&Options>,
) -> Result<UpReport> {
    let lock = crate::lock::acquire(session, ctx.lock_timeout).await?;
    let lock_wait_ms = lock.waited.as_secs_f64() * 1e3;
    let ui = ctx.ui;
    let result = async {
        let runner::UpOutcome {
            steps: applied,
            pending,
        } = runner::up::<M>(session, steps, &mut |step| {
            ui.progress(format_args!(
                "applied {} ({:.1} ms)",
                step.name,
                step.elapsed.as_secs_f64() * 1e3
            ));
        })
        .await?;
        let grants = match grants {
            Some(options) => Some(grant::reconcile_with_progress::<M>(ui, session, options).await?),
            None => None,
        };
        Ok::<_, crate::error::Error>((applied, pending, grants))
    }
    .await;
    // Released on every path; the session's end would release it too.
    let released = lock.release(session).await;
    let (applied, pending, grants) = result?;
    released?;
    Ok(UpReport {
        applied,
        pending,
        lock_wait_ms: (lock_wait_ms * 1e3).round() / 1e3,
        grants,
    })
}

pub fn summary(report: &UpReport) -> String {
    let n = report.applied.len();
    let pending = report.pending.len();
    let mut out = if n == 0 {
        format!("nothing to apply ({pending} pending)")
    } else {
        format!(
            "applied {n} migration{} ({pending} pending)",
            if n == 1 { "" } else { "s" }
        )
    };
    if let Some(grants) = &report.grants {
        out += &match grants.executed {
            0 => format!(
                "; app role \"{}\" already has least privilege",
                grants.app_role
            ),
            n => format!(
                "; {n} grant statement(s) for app role \"{}\"",
                grants.app_role
            ),
        };
    }
    out
}
