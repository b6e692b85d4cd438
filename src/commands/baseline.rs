//! `migrate baseline [--to NAME]`: for a schema that exists without a
//! history (built by `prisma db push`, by hand, or by another tool), record
//! the migrations it already matches, after checking that it does.
//!
//! The migrations up to NAME (default: all) are built on a scratch database
//! of the local cluster, its catalog is compared with the live one (the
//! comparison `prisma-check` and the doctor use), and only when they are
//! identical are they recorded, each as `prisma migrate resolve --applied`
//! records one. Otherwise it exits 1 with the differences and records
//! nothing. Under the locks throughout.

use migration::prisma::PrismaMigrator;
use sea_orm::TransactionTrait;

use crate::catalog::{self, Difference};
use crate::cli::BaselineArgs;
use crate::commands::Ctx;
use crate::commands::scratch::{Scratch, unknown_migration};
use crate::error::{Code, Error, Exit, Result};
use crate::lock::{self, Scope};
use crate::session::{Session, describe_db_error};
use crate::{deploy, history, migrations, runner};

/// What `migrate baseline` prints.
#[derive(Debug, serde::Serialize)]
pub struct BaselineReport {
    /// The schema matched, and the migrations were recorded.
    pub ok: bool,
    pub database: String,
    pub schema: String,
    /// What was recorded as applied (nothing when it differs).
    pub recorded: Vec<String>,
    /// How the live schema differs from what the migrations build.
    pub differences: Vec<Difference>,
}

impl std::fmt::Display for BaselineReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ok {
            for name in &self.recorded {
                writeln!(f, "  recorded {name} as applied")?;
            }
            return write!(
                f,
                "the schema matches {} migration(s): recorded them; `migrate up` applies the rest",
                self.recorded.len()
            );
        }
        for d in &self.differences {
            writeln!(f, "{}: {}", d.path, d.message)?;
        }
        write!(
            f,
            "{} difference(s) between the migrations and database \"{}\", schema \"{}\": \
             nothing recorded",
            self.differences.len(),
            self.database,
            self.schema
        )
    }
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &BaselineArgs) -> Result<Exit> {
    let known = migrations::known::<M>()?;
    let through = match &args.to {
        None => known.len(),
        Some(name) => {
            known
                .iter()
                .position(|k| k.name == name)
                .ok_or_else(|| unknown_migration(name))?
                + 1
        }
    };
    let names: Vec<&str> = known[..through].iter().map(|k| k.name).collect();
    let (_, session) = ctx.migration_session().await?;
    let lock = match lock::acquire(&session, ctx.lock_timeout, Scope::WithPrisma).await {
        Ok(lock) => lock,
        Err(e) => {
            session.close().await;
            return Err(e);
        }
    };
    let result = lock
        .around(
            &session,
            baseline::<M>(ctx, &session, &known, &names, args.to.as_deref()),
        )
        .await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    let differences = result?;
    let ok = differences.is_empty();
    ctx.ui.result(&BaselineReport {
        ok,
        database,
        schema,
        recorded: if ok {
            names.iter().map(|n| n.to_string()).collect()
        } else {
            Vec::new()
        },
        differences,
    });
    Ok(if ok { Exit::Ok } else { Exit::CheckFailed })
}

/// Compares, then records when nothing differs; returns the differences.
async fn baseline<M: PrismaMigrator>(
    ctx: &Ctx,
    session: &Session,
    known: &[migrations::Known],
    names: &[&str],
    through: Option<&str>,
) -> Result<Vec<Difference>> {
    deploy::convert_legacy(ctx.ui, session, known).await?;
    let status = runner::read_status(session, known).await?;
    if status.applied().next().is_some()
        || status.failed().next().is_some()
        || !status.unknown.is_empty()
    {
        return Err(Error::new(
            Code::BaselineHasHistory,
            format!(
                "database \"{}\", schema \"{}\" already has a migration history",
                session.database, session.schema
            ),
            "baseline is for a schema without one: `migrate status` shows it, and `migrate \
             resolve --applied NAME` records a single migration",
        ));
    }
    let unreadable = |e: sea_orm::DbErr| {
        if let Some(blocked) = crate::session::db_lock_blocked(&e, "read the catalog") {
            return blocked;
        }
        Error::new(
            Code::QueryFailed,
            format!("cannot read the catalog: {}", describe_db_error(&e)),
            Code::QueryFailed.hint(),
        )
    };
    let scratch = Scratch::migrated::<M>(ctx, through).await?;
    let expected = catalog::introspect(
        scratch.session.db(),
        &scratch.session.schema,
        &history::TABLES,
    )
    .await;
    scratch.drop_database(ctx).await;
    let expected = expected.map_err(unreadable)?;
    let actual = catalog::introspect(session.db(), &session.schema, &history::TABLES)
        .await
        .map_err(unreadable)?;
    let differences = catalog::diff(&expected, &actual, "the migrations", "the database");
    if !differences.is_empty() {
        return Ok(differences);
    }
    history::install(session).await?;
    let recorded = async {
        let txn = session.db().begin().await?;
        for k in known.iter().filter(|k| names.contains(&k.name)) {
            history::record_resolved(&txn, &session.schema, k.name, &k.checksum).await?;
        }
        txn.commit().await
    }
    .await;
    recorded.map_err(unreadable)?;
    Ok(Vec::new())
}
