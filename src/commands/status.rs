//! `migrate status`: where every migration stands in `_prisma_migrations`:
//! applied (when, and whether its file still has the recorded checksum),
//! pending, failed, and history rows this binary does not know. Reads only,
//! takes no lock, and needs no DDL rights.

use migration::prisma::PrismaMigrator;

use crate::cli::StatusArgs;
use crate::commands::Ctx;
use crate::error::{Exit, Result};
use crate::runner::{self, Entry, State, Status, Unknown};

/// What `migrate status` prints.
#[derive(Debug, serde::Serialize)]
pub struct StatusReport {
    pub database: String,
    pub schema: String,
    /// `_prisma_migrations`, or `seaql_migrations` (the old history, which
    /// the next `up` converts), or `none`.
    pub history: &'static str,
    /// How many are applied, pending, failed, edited.
    pub applied: usize,
    pub pending: usize,
    pub failed: usize,
    pub edited: usize,
    pub migrations: Vec<Entry>,
    /// History rows this binary does not know.
    pub unknown: Vec<Unknown>,
    /// Tables of a schema that has no history (`migrate baseline`).
    pub not_baselined: Vec<String>,
    #[serde(skip)]
    clean: bool,
}

impl StatusReport {
    fn new(database: String, schema: String, status: Status) -> Self {
        let history = if status.legacy {
            "seaql_migrations"
        } else if status.applied().next().is_some()
            || status.failed().next().is_some()
            || !status.unknown.is_empty()
        {
            "_prisma_migrations"
        } else {
            "none"
        };
        Self {
            database,
            schema,
            history,
            applied: status.applied().count(),
            pending: status.pending().count(),
            failed: status.failed().count(),
            edited: status.edited().count(),
            clean: status.all_applied(),
            migrations: status.entries,
            unknown: status.unknown,
            not_baselined: status.unbaselined_tables,
        }
    }
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &StatusArgs) -> Result<Exit> {
    let (_, session) = ctx.migration_session().await?;
    let status = runner::status::<M>(&session).await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    let report = StatusReport::new(database, schema, status?);
    ctx.ui.result(&report);
    Ok(if args.check && !report.clean {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}

/// `2026-11-29 10:00:00 UTC` from an RFC 3339 time.
fn shown(iso: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(iso).map_or_else(
        |_| iso.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

impl std::fmt::Display for StatusReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "database \"{}\", schema \"{}\"",
            self.database, self.schema
        )?;
        for m in &self.migrations {
            let outside = if m.outside_transaction {
                ", outside a transaction"
            } else {
                ""
            };
            match &m.state {
                State::Applied {
                    applied_at,
                    edited: None,
                } => writeln!(f, "  applied  {}  ({}{outside})", m.name, shown(applied_at))?,
                State::Applied {
                    applied_at,
                    edited: Some(e),
                } => writeln!(
                    f,
                    "  EDITED   {}  (applied {} with checksum {}; the file now has {})",
                    m.name,
                    shown(applied_at),
                    e.recorded_checksum,
                    e.file_checksum
                )?,
                State::Pending if m.outside_transaction => {
                    writeln!(f, "  pending  {}  (outside a transaction)", m.name)?
                }
                State::Pending => writeln!(f, "  pending  {}", m.name)?,
                State::Failed { started_at, .. } => writeln!(
                    f,
                    "  FAILED   {}  (started {}, never finished: see `migrate resolve`)",
                    m.name,
                    shown(started_at)
                )?,
            }
        }
        for u in &self.unknown {
            writeln!(
                f,
                "  unknown  {}  ({}applied, but not in this binary)",
                u.name,
                u.applied_at
                    .as_deref()
                    .map(|t| format!("{}; ", shown(t)))
                    .unwrap_or_default()
            )?;
        }
        if self.history == "seaql_migrations" {
            writeln!(
                f,
                "  (the history is still sea-orm's seaql_migrations: the next `migrate up` \
                 converts it to _prisma_migrations)"
            )?;
        }
        if !self.not_baselined.is_empty() {
            writeln!(
                f,
                "  (no history, but the schema has tables: `migrate baseline` records what it \
                 already matches)"
            )?;
        }
        write!(f, "{} applied, {} pending", self.applied, self.pending)?;
        for (n, what) in [
            (self.failed, "failed"),
            (self.edited, "edited"),
            (self.unknown.len(), "unknown"),
        ] {
            if n > 0 {
                write!(f, ", {n} {what}")?;
            }
        }
        Ok(())
    }
}
