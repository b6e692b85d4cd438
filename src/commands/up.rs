//! `migrate up`: apply pending migrations under the lock, then bring the
//! app role to least privilege (unless `--no-grants`).
//!
//! `--dry-run` changes nothing: it reads the history (no lock, no DDL, no
//! history row, no grant), applies `up`'s refusals, and prints each
//! migration `up` would apply: its SQL exactly, how it would be sent (in a
//! transaction or not) and its lint findings.

use migration::prisma::PrismaMigrator;

use crate::cli::UpArgs;
use crate::commands::Ctx;
use crate::commands::lint::lint_migration;
use crate::deploy::opening::Opening;
use crate::deploy::{self, Applied};
use crate::error::{Exit, Result};
use crate::grants::apply::Options;
use crate::lint::{Finding, Suppressed};
use crate::migrations::{self, Execution};
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

/// What `migrate up --dry-run` prints.
#[derive(Debug, serde::Serialize)]
pub struct DryRunReport {
    pub ok: bool,
    /// Always true: nothing was changed.
    pub dry_run: bool,
    pub database: String,
    pub schema: String,
    /// `up` would first convert the old `seaql_migrations` history.
    pub converts_legacy_history: bool,
    /// What `up` would apply, in order.
    pub migrations: Vec<Planned>,
    /// Pending, but beyond `--steps`.
    pub pending_after: Vec<String>,
    /// `up` would reconcile the app role's privileges afterwards.
    pub grants: bool,
}

/// One migration `up` would apply.
#[derive(Debug, serde::Serialize)]
pub struct Planned {
    pub name: String,
    /// How it would be sent.
    pub execution: Execution,
    pub in_transaction: bool,
    /// Its `migration.sql`, byte for byte.
    pub sql: &'static str,
    pub findings: Vec<Finding>,
    pub suppressed: Vec<Suppressed>,
}

impl std::fmt::Display for DryRunReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.converts_legacy_history {
            writeln!(
                f,
                "-- first, the old seaql_migrations history would be converted to _prisma_migrations\n"
            )?;
        }
        for m in &self.migrations {
            writeln!(f, "-- migration {} ({})", m.name, m.execution.describe())?;
            f.write_str(m.sql)?;
            if !m.sql.ends_with('\n') {
                writeln!(f)?;
            }
            for finding in &m.findings {
                writeln!(
                    f,
                    "-- lint: line {}: {}: {}",
                    finding.line, finding.rule, finding.why
                )?;
                writeln!(f, "--   instead: {}", finding.safe_pattern)?;
            }
            if !m.suppressed.is_empty() {
                writeln!(
                    f,
                    "-- lint: {} finding(s) silenced by ignore comments",
                    m.suppressed.len()
                )?;
            }
            writeln!(f)?;
        }
        let n = self.migrations.len();
        write!(
            f,
            "dry run: {n} migration{} would be applied to database \"{}\", schema \"{}\"",
            if n == 1 { "" } else { "s" },
            self.database,
            self.schema
        )?;
        if !self.pending_after.is_empty() {
            write!(
                f,
                " ({} more pending after --steps)",
                self.pending_after.len()
            )?;
        }
        if self.grants {
            write!(f, ", then the app role's privileges reconciled")?;
        }
        write!(f, "; nothing was changed")
    }
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &UpArgs) -> Result<Exit> {
    if args.dry_run {
        return dry_run::<M>(ctx, args).await;
    }
    let resolved = ctx.migration_target().await?;
    let grants = if args.no_grants {
        None
    } else {
        Some(Options::for_connection(&ctx.connector, &resolved, true).await?)
    };
    let (opening, first) = Opening::new(&resolved.spec().schema, grants.as_ref());
    let (session, results) = match ctx.connector.connect_resolved_with(&resolved, &first).await {
        Ok(opened) => opened,
        Err(e) => return Err(crate::commands::dev::explain_refused(e, &resolved).await),
    };
    let opened = opening.read(&session, &results, grants.as_ref());
    drop(results);
    let applied = deploy::apply::<M>(
        ctx.ui,
        &session,
        ctx.lock_timeout,
        args.steps,
        options(args),
        grants.as_ref(),
        Some(opened),
    )
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

fn options(args: &UpArgs) -> runner::Options {
    runner::Options {
        allow_edited: args.allow_edited,
        ddl: args.ddl.into(),
    }
}

/// Reads the history and shows what `up` would do; changes nothing.
async fn dry_run<M: PrismaMigrator>(ctx: &Ctx, args: &UpArgs) -> Result<Exit> {
    let known = migrations::known::<M>()?;
    let (_, session) = ctx.migration_session().await?;
    let status = runner::read_status(&session, &known).await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    let status = status?;
    let (now, later) = runner::to_apply(&known, &status, args.steps, options(args))?;
    let migrations = now
        .iter()
        .map(|k| {
            let lint = lint_migration(k.name, k.directory.migration_sql).lint;
            Planned {
                name: k.name.to_string(),
                execution: k.execution(),
                in_transaction: k.execution().in_transaction(),
                sql: k.directory.migration_sql,
                findings: lint.findings,
                suppressed: lint.suppressed,
            }
        })
        .collect();
    ctx.ui.result(&DryRunReport {
        ok: true,
        dry_run: true,
        database,
        schema,
        converts_legacy_history: status.legacy,
        migrations,
        pending_after: later.iter().map(|k| k.name.to_string()).collect(),
        grants: !args.no_grants,
    });
    Ok(Exit::Ok)
}
