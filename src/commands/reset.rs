//! `migrate reset`: roll back every applied migration, newest first, each
//! with its `down.sql`, under the locks (as `migrate down --steps` all of
//! them). Destructive: it refuses without `--yes`, and a host that is not
//! this machine without `--allow-remote`, both decided before connecting.

use migration::prisma::PrismaMigrator;

use crate::cli::ResetArgs;
use crate::commands::Ctx;
use crate::commands::destructive::{self, Target};
use crate::error::{Exit, Result};
use crate::migrations;
use crate::runner::{self, Step};

/// What `migrate reset` prints.
#[derive(Debug, serde::Serialize)]
pub struct ResetReport {
    pub ok: bool,
    pub database: String,
    pub schema: String,
    pub rolled_back: Vec<Step>,
}

impl std::fmt::Display for ResetReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.rolled_back.len() {
            0 => f.write_str("nothing to roll back: no migration is applied"),
            1 => f.write_str("rolled back 1 migration: none is applied now"),
            n => write!(f, "rolled back {n} migrations: none is applied now"),
        }
    }
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &ResetArgs) -> Result<Exit> {
    let known = migrations::known::<M>()?;
    let resolved = ctx.migration_target().await?;
    let target = Target::of(&resolved);
    destructive::confirm(
        "reset",
        "rolls back every applied migration (their down.sql drops what they made, data included)",
        &target,
        args.confirm.yes,
        Some(args.confirm.allow_remote),
    )?;
    let session = ctx.open(&resolved).await?;
    let options = runner::Options {
        allow_edited: args.allow_edited,
        ddl: args.ddl.into(),
    };
    let rolled_back =
        destructive::roll_back(ctx, &session, &target, &known, u32::MAX, options).await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    ctx.ui.result(&ResetReport {
        ok: true,
        database,
        schema,
        rolled_back: rolled_back?,
    });
    Ok(Exit::Ok)
}
