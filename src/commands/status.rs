//! `migrate status`: which migrations are applied and which are pending.
//! Reads only, takes no lock, and needs no DDL rights.

use sea_orm_migration::MigratorTrait;
use serde_json::json;

use crate::cli::StatusArgs;
use crate::commands::Ctx;
use crate::error::{Exit, Result};
use crate::runner::{self, Status};

pub async fn run<M: MigratorTrait>(ctx: &Ctx, args: &StatusArgs) -> Result<Exit> {
    let (_, session) = ctx.migration_session().await?;
    let status = runner::status::<M>(&session).await;
    let database = session.database.clone();
    let schema = session.schema.clone();
    session.close().await;
    let status = status?;
    ctx.ui.result(
        || text(&database, &schema, &status),
        || json(&database, &schema, &status),
    );
    let clean = status.pending().next().is_none() && status.unknown.is_empty();
    Ok(if args.check && !clean {
        Exit::CheckFailed
    } else {
        Exit::Ok
    })
}

fn when(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map_or_else(
        || unix.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

fn text(database: &str, schema: &str, status: &Status) -> String {
    let mut out = format!("database \"{database}\", schema \"{schema}\"\n");
    for entry in &status.entries {
        match entry.applied_at {
            Some(at) => out += &format!("  applied  {}  ({})\n", entry.name, when(at)),
            None => out += &format!("  pending  {}\n", entry.name),
        }
    }
    for unknown in &status.unknown {
        out += &format!(
            "  unknown  {}  ({}; applied, but not in this binary)\n",
            unknown.version,
            when(unknown.applied_at)
        );
    }
    out += &format!(
        "{} applied, {} pending",
        status.applied().count(),
        status.pending().count()
    );
    if !status.unknown.is_empty() {
        out += &format!(", {} unknown", status.unknown.len());
    }
    out
}

fn json(database: &str, schema: &str, status: &Status) -> serde_json::Value {
    let iso = |unix: i64| {
        chrono::DateTime::from_timestamp(unix, 0)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    let migrations: Vec<_> = status
        .entries
        .iter()
        .map(|e| {
            json!({
                "name": e.name,
                "status": if e.applied_at.is_some() { "applied" } else { "pending" },
                "applied_at": e.applied_at.and_then(iso),
            })
        })
        .collect();
    let unknown: Vec<_> = status
        .unknown
        .iter()
        .map(|a| json!({"name": a.version, "applied_at": iso(a.applied_at)}))
        .collect();
    json!({
        "database": database,
        "schema": schema,
        "applied": status.applied().count(),
        "pending": status.pending().count(),
        "migrations": migrations,
        "unknown": unknown,
    })
}
