//! `migrate down`: roll back the most recent migrations under the locks,
//! each with its `down.sql`; its `_prisma_migrations` row is deleted, so
//! Prisma would apply it again. On a host that is not this machine it
//! needs `--yes`, checked before connecting; it always prints what it will
//! roll back before it starts (`destructive`).

use migration::prisma::PrismaMigrator;

use crate::cli::DownArgs;
use crate::commands::Ctx;
use crate::commands::destructive::{self, Target};
use crate::error::{Exit, Result};
use crate::migrations;
use crate::runner::{self, Step};

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
    let resolved = ctx.migration_target().await?;
    let target = Target::of(&resolved);
    let does = format!(
        "rolls back the {} most recent migration{} (their down.sql drops what they made, data included)",
        args.steps,
        if args.steps == 1 { "" } else { "s" }
    );
    destructive::confirm("down", &does, &target, args.yes, None)?;
    let session = ctx.open(&resolved).await?;
    let options = runner::Options {
        allow_edited: args.allow_edited,
        ddl: args.ddl.into(),
    };
    let rolled_back =
        destructive::roll_back(ctx, &session, &target, &known, args.steps, options).await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    ctx.ui.result(&DownReport {
        ok: true,
        database,
        schema,
        rolled_back: rolled_back?,
    });
    Ok(Exit::Ok)
}
