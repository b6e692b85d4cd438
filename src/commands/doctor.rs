//! `migrate doctor`: diagnose the app and migration connections.

use std::time::Duration;

use migration::prisma::PrismaMigrator;

use crate::commands::Ctx;
use crate::doctor;
use crate::error::{Exit, Result};

/// Slack on top of `--connect-timeout` for the whole run.
const MARGIN: Duration = Duration::from_secs(2);

pub async fn run<M: PrismaMigrator>(ctx: &Ctx) -> Result<Exit> {
    let budget = ctx.connector.connect_timeout_default() + MARGIN;
    let report = doctor::run::<M>(&ctx.connector, budget).await;
    ctx.ui.result(&report);
    Ok(if report.ok {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}
