//! `migrate status`: which migrations are applied and which are pending.
//! Reads only, takes no lock, and needs no DDL rights.

use sea_orm_migration::MigratorTrait;

use crate::cli::StatusArgs;
use crate::commands::Ctx;
use crate::error::{Exit, Result};
use crate::runner::{self, Status};

/// What `migrate status` prints.
#[derive(Debug, serde::Serialize)]
pub struct StatusReport {
    pub database: String,
    pub schema: String,
    /// How many are applied.
    pub applied: usize,
    /// How many are pending.
    pub pending: usize,
    pub migrations: Vec<MigrationState>,
    /// History rows this binary does not know.
    pub unknown: Vec<UnknownRow>,
}

/// One migration of the binary.
#[derive(Debug, serde::Serialize)]
pub struct MigrationState {
    pub name: String,
    /// `applied` or `pending`.
    pub status: &'static str,
    /// RFC 3339, UTC; `null` while pending.
    pub applied_at: Option<String>,
}

/// A history row of a migration the binary does not have.
#[derive(Debug, serde::Serialize)]
pub struct UnknownRow {
    pub name: String,
    pub applied_at: Option<String>,
}

impl StatusReport {
    fn new(database: String, schema: String, status: &Status) -> Self {
        let iso = |unix: i64| {
            chrono::DateTime::from_timestamp(unix, 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        Self {
            database,
            schema,
            applied: status.applied().count(),
            pending: status.pending().count(),
            migrations: status
                .entries
                .iter()
                .map(|e| MigrationState {
                    name: e.name.clone(),
                    status: if e.applied_at.is_some() {
                        "applied"
                    } else {
                        "pending"
                    },
                    applied_at: e.applied_at.and_then(iso),
                })
                .collect(),
            unknown: status
                .unknown
                .iter()
                .map(|a| UnknownRow {
                    name: a.version.clone(),
                    applied_at: iso(a.applied_at),
                })
                .collect(),
        }
    }

    /// Everything known is applied, and nothing unknown is.
    fn clean(&self) -> bool {
        self.pending == 0 && self.unknown.is_empty()
    }
}

pub async fn run<M: MigratorTrait>(ctx: &Ctx, args: &StatusArgs) -> Result<Exit> {
    let (_, session) = ctx.migration_session().await?;
    let status = runner::status::<M>(&session).await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    let report = StatusReport::new(database, schema, &status?);
    ctx.ui.result(&report);
    Ok(if args.check && !report.clean() {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}

/// `2026-11-29 10:00:00 UTC` from an RFC 3339 time.
fn shown(iso: Option<&str>) -> String {
    iso.and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(
            || "unknown time".to_string(),
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
            match &m.applied_at {
                Some(at) => writeln!(f, "  applied  {}  ({})", m.name, shown(Some(at)))?,
                None => writeln!(f, "  pending  {}", m.name)?,
            }
        }
        for u in &self.unknown {
            writeln!(
                f,
                "  unknown  {}  ({}; applied, but not in this binary)",
                u.name,
                shown(u.applied_at.as_deref())
            )?;
        }
        write!(f, "{} applied, {} pending", self.applied, self.pending)?;
        if !self.unknown.is_empty() {
            write!(f, ", {} unknown", self.unknown.len())?;
        }
        Ok(())
    }
}
