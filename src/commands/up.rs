//! `migrate up`: apply pending migrations under the lock.

use sea_orm_migration::MigratorTrait;
use serde_json::json;

use crate::cli::UpArgs;
use crate::commands::Ctx;
use crate::connect::Session;
use crate::error::{Exit, Result};
use crate::runner::{self, Step};

/// What a run of `up` did.
pub struct UpReport {
    pub applied: Vec<Step>,
    pub pending: Vec<String>,
    pub lock_wait_ms: f64,
}

pub async fn run<M: MigratorTrait>(ctx: &Ctx, args: &UpArgs) -> Result<Exit> {
    let (_, session) = ctx.migration_session().await?;
    let report = apply::<M>(ctx, &session, args.steps).await;
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
            })
        },
    );
    Ok(Exit::Ok)
}

/// Takes the lock, applies up to `steps` migrations with progress on
/// stderr, and releases the lock. Shared with `migrate dev`.
pub async fn apply<M: MigratorTrait>(
    ctx: &Ctx,
    session: &Session,
    steps: Option<u32>,
) -> Result<UpReport> {
    let lock = crate::lock::acquire(session, ctx.lock_timeout).await?;
    let lock_wait_ms = lock.waited.as_secs_f64() * 1e3;
    let ui = ctx.ui;
    let applied = runner::up::<M>(session, steps, &mut |step| {
        ui.progress(format_args!(
            "applied {} ({:.1} ms)",
            step.name,
            step.elapsed.as_secs_f64() * 1e3
        ));
    })
    .await;
    // Read what is left while still holding the lock, then let go.
    let pending = match &applied {
        Ok(_) => runner::status::<M>(session)
            .await
            .map(|s| s.pending().map(|e| e.name.clone()).collect()),
        Err(_) => Ok(Vec::new()),
    };
    let released = lock.release(session).await;
    let applied = applied?;
    let pending = pending?;
    released?;
    Ok(UpReport {
        applied,
        pending,
        lock_wait_ms: (lock_wait_ms * 1e3).round() / 1e3,
    })
}

pub fn summary(report: &UpReport) -> String {
    let n = report.applied.len();
    let pending = report.pending.len();
    if n == 0 {
        format!("nothing to apply ({pending} pending)")
    } else {
        format!(
            "applied {n} migration{} ({pending} pending)",
            if n == 1 { "" } else { "s" }
        )
    }
}
