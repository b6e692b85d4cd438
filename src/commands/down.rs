//! `migrate down`: roll back the most recent migrations under the lock.

use sea_orm_migration::MigratorTrait;
use serde_json::json;

use crate::cli::DownArgs;
use crate::commands::Ctx;
use crate::error::{Exit, Result};
use crate::runner;

pub async fn run<M: MigratorTrait>(ctx: &Ctx, args: &DownArgs) -> Result<Exit> {
    let (_, session) = ctx.migration_session().await?;
    let lock = match crate::lock::acquire(&session, ctx.lock_timeout).await {
        Ok(lock) => lock,
        Err(e) => {
            session.close().await;
            return Err(e);
        }
    };
    let ui = ctx.ui;
    let rolled_back = runner::down::<M>(&session, args.steps, &mut |step| {
        ui.progress(format_args!(
            "rolled back {} ({:.1} ms)",
            step.name,
            step.elapsed.as_secs_f64() * 1e3
        ));
    })
    .await;
    let released = lock.release(&session).await;
    let database = session.database.clone();
    let schema = session.schema.clone();
    session.close().await;
    let rolled_back = rolled_back?;
    released?;
    let n = rolled_back.len();
    ctx.ui.result(
        || match n {
            0 => "nothing to roll back".to_string(),
            1 => "rolled back 1 migration".to_string(),
            n => format!("rolled back {n} migrations"),
        },
        || json!({"ok": true, "database": database, "schema": schema, "rolled_back": rolled_back}),
    );
    Ok(Exit::Ok)
}
