//! `migrate down`: roll back the most recent migrations under the locks,
//! each with its `down.sql`; its `_prisma_migrations` row is deleted, so
//! Prisma would apply it again.

use migration::prisma::PrismaMigrator;

use crate::cli::DownArgs;
use crate::commands::Ctx;
use crate::error::{Exit, Result};
use crate::lock::{self, Scope};
use crate::runner::{self, Step};
use crate::{deploy, migrations};

/// What `migrate down` prints.
#[derive(Debug, serde::Serialize)]
pub struct DownReport {
    pub ok: bool,
    pub database: String,
    pub schema: String,
    pub rolled_back: Vec<Step>,
}

impl std::fmt::Display for DownReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rolled_back.len() {
            0 => f.write_str("nothing to roll back"),
            1 => f.write_str("rolled back 1 migration"),
            n => write!(f, "rolled back {n} migrations"),
        }
    }
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &DownArgs) -> Result<Exit> {
    let known = migrations::known::<M>()?;
    let (_, session) = ctx.migration_session().await?;
    let lock = match lock::acquire(&session, ctx.lock_timeout, Scope::WithPrisma).await {
        Ok(lock) => lock,
        Err(e) => {
            session.close().await;
            return Err(e);
        }
    };
    let ui = ctx.ui;
    let rolled_back = async {
        deploy::convert_legacy(ui, &session, &known).await?;
        let status = runner::read_status(&session, &known).await?;
        let options = runner::Options {
            allow_edited: args.allow_edited,
            ddl: args.ddl.into(),
        };
        runner::down(
            &session,
            &known,
            &status,
            args.steps,
            options,
            &mut |step| {
                ui.progress(format_args!(
                    "rolled back {} ({:.1} ms)",
                    step.name,
                    step.elapsed.as_secs_f64() * 1e3
                ));
            },
        )
        .await
    }
    .await;
    let released = lock.release(&session).await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    let rolled_back = rolled_back?;
    released?;
    ctx.ui.result(&DownReport {
        ok: true,
        database,
        schema,
        rolled_back,
    });
    Ok(Exit::Ok)
}
