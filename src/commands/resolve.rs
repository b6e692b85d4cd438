//! `migrate resolve --applied NAME | --rolled-back NAME`: repairs the
//! history with Prisma's semantics, under the locks.
//!
//! - `--applied`: a failed run's row is marked rolled back, then a row is
//!   recorded as `prisma migrate resolve --applied` writes it; refused when
//!   the migration is already applied (Prisma's P3008).
//! - `--rolled-back`: the failed run's row gets `rolled_back_at`, so the
//!   next `up` applies the migration again; refused when it is not in a
//!   failed state (P3012) or was never applied (P3011).
//!
//! A name that is not a migration of this binary is refused (P3017).

use migration::prisma::PrismaMigrator;
use sea_orm::TransactionTrait;

use crate::cli::ResolveArgs;
use crate::commands::Ctx;
use crate::commands::scratch::unknown_migration;
use crate::error::{Code, Error, Exit, Result};
use crate::lock::{self, Scope};
use crate::runner::{self, State};
use crate::session::describe_db_error;
use crate::{deploy, history, migrations};

/// What `migrate resolve` prints.
#[derive(Debug, serde::Serialize)]
pub struct ResolveReport {
    pub ok: bool,
    pub database: String,
    pub schema: String,
    pub migration: String,
    /// `applied` or `rolled_back`.
    pub recorded: &'static str,
    /// A failed run's row was marked rolled back on the way.
    pub failed_run_rolled_back: bool,
}

impl std::fmt::Display for ResolveReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.recorded, self.failed_run_rolled_back) {
            ("applied", true) => write!(
                f,
                "marked the failed run of {} rolled back, and recorded it as applied",
                self.migration
            ),
            ("applied", false) => write!(f, "recorded {} as applied", self.migration),
            _ => write!(
                f,
                "marked the failed run of {} rolled back: the next `migrate up` applies it again",
                self.migration
            ),
        }
    }
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &ResolveArgs) -> Result<Exit> {
    let known = migrations::known::<M>()?;
    let (name, applied) = match (&args.applied, &args.rolled_back) {
        (Some(name), _) => (name.as_str(), true),
        (None, Some(name)) => (name.as_str(), false),
        (None, None) => return Err(Error::internal("clap requires --applied or --rolled-back")),
    };
    let Some(k) = known.iter().find(|k| k.name == name) else {
        return Err(unknown_migration(name));
    };
    let (_, session) = ctx.migration_session().await?;
    let lock = match lock::acquire(&session, ctx.lock_timeout, Scope::WithPrisma).await {
        Ok(lock) => lock,
        Err(e) => {
            session.close().await;
            return Err(e);
        }
    };
    let work = async {
        deploy::convert_legacy(ctx.ui, &session, &known).await?;
        let status = runner::read_status(&session, &known).await?;
        let state = status
            .entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.state.clone())
            .unwrap_or(State::Pending);
        let refused = |message: String| {
            Err(Error::new(
                Code::ResolveRefused,
                message,
                Code::ResolveRefused.hint(),
            ))
        };
        let failed = matches!(state, State::Failed { .. });
        match (applied, &state) {
            (true, State::Applied { .. }) => {
                return refused(format!(
                    "migration {name} is already recorded as applied (Prisma's P3008)"
                ));
            }
            (false, State::Applied { .. }) => {
                return refused(format!(
                    "migration {name} cannot be rolled back: it is not in a failed state (Prisma's P3012)"
                ));
            }
            (false, State::Pending) => {
                return refused(format!(
                    "migration {name} cannot be rolled back: it was never applied (Prisma's P3011)"
                ));
            }
            _ => {}
        }
        history::install(&session).await?;
        let write = async {
            let txn = session.db().begin().await?;
            if failed {
                history::mark_rolled_back(&txn, &session.schema, name).await?;
            }
            if applied {
                history::record_resolved(&txn, &session.schema, name, &k.checksum).await?;
            }
            txn.commit().await
        }
        .await;
        write.map_err(|e| {
            Error::new(
                Code::QueryFailed,
                format!("could not record the resolution: {}", describe_db_error(&e)),
                Code::QueryFailed.hint(),
            )
        })?;
        Ok(failed)
    };
    let result = lock.around(&session, work).await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    let failed = result?;
    ctx.ui.result(&ResolveReport {
        ok: true,
        database,
        schema,
        migration: name.to_string(),
        recorded: if applied { "applied" } else { "rolled_back" },
        failed_run_rolled_back: failed,
    });
    Ok(Exit::Ok)
}
