//! `migrate up`: apply pending migrations under the lock, then bring the
//! app role to least privilege (unless `--no-grants`).

use migration::prisma::PrismaMigrator;

use crate::cli::UpArgs;
use crate::commands::Ctx;
use crate::deploy::{self, Applied};
use crate::error::{Exit, Result};
use crate::grants::apply::Options;
use crate::runner;

/// What `migrate up` prints.
#[derive(Debug, serde::Serialize)]
pub struct UpReport {
    pub ok: bool,
    pub database: String,
    pub schema: String,
    #[serde(flatten)]
    pub applied: Applied,
}

impl std::fmt::Display for UpReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.applied.fmt(f)
    }
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &UpArgs) -> Result<Exit> {
    let (resolved, session) = ctx.migration_session().await?;
    let applied = async {
        let grants = if args.no_grants {
            None
        } else {
            Some(Options::for_connection(&ctx.connector, &resolved, true).await?)
        };
        deploy::apply::<M>(
            ctx.ui,
            &session,
            ctx.lock_timeout,
            args.steps,
            runner::Options {
                allow_edited: args.allow_edited,
            },
            grants.as_ref(),
        )
        .await
    }
    .await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    ctx.ui.result(&UpReport {
        ok: true,
        database,
        schema,
        applied: applied?,
    });
    Ok(Exit::Ok)
}
