//! `migrate doctor`: names the root cause of a failing connection instead
//! of repeating PostgreSQL's error.
//!
//! PostgreSQL answers most credential problems with the same `28P01`; the
//! doctor tells them apart the way an engineer would: it walks each
//! connection step by step (`config`, `url`, `secret`, `dns`, `tcp`, `tls`,
//! `auth`, `database`), each step with its own time bound, and on an
//! authentication failure it asks the questions the error cannot answer:
//! does the database accept the secret's `AWSPENDING` or `AWSPREVIOUS`
//! password (a rotation half done, or one the app did not follow)? Does
//! the role exist, in another case, with an expired password, as an IAM
//! user? Those questions, and `privileges`, `migrations` and `schema`, are
//! asked through the migration connection, which can read what the app
//! role cannot. Nothing is ever changed, and checks are collected, not
//! aborted: a failed step skips only what depends on it.
//!
//! The verdict (`diagnosis`) lists the codes of DESIGN.md's table, most
//! likely first.

mod app;
mod deep;
pub mod report;

use std::time::{Duration, Instant};

use sea_orm_migration::MigratorTrait;

use crate::config::Which;
use crate::connector::Connector;
use crate::error::Error;

pub use report::Report;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
    Skip,
}

/// One check of one connection.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub id: &'static str,
    /// `app`, `migration`, or `database` for checks of the schema itself.
    pub connection: &'static str,
    pub status: Status,
    pub summary: String,
    pub hint: Option<String>,
    pub elapsed_ms: f64,
}

/// A root cause, with what it means and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnosis {
    pub code: String,
    pub message: String,
    pub hint: String,
}

/// Collects checks and diagnoses as the run goes.
pub(crate) struct Recorder {
    pub checks: Vec<Check>,
    pub diagnosis: Vec<Diagnosis>,
    started: Instant,
}

impl Recorder {
    fn new() -> Self {
        Self {
            checks: Vec::new(),
            diagnosis: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Starts timing a check.
    pub fn clock(&self) -> Instant {
        Instant::now()
    }

    pub fn record(
        &mut self,
        connection: &'static str,
        id: &'static str,
        since: Instant,
        status: Status,
        summary: impl Into<String>,
        hint: Option<String>,
    ) {
        self.checks.push(Check {
            id,
            connection,
            status,
            summary: summary.into(),
            hint,
            elapsed_ms: (since.elapsed().as_secs_f64() * 1e6).round() / 1e3,
        });
    }

    pub fn skip(&mut self, connection: &'static str, ids: &[&'static str], why: &str) {
        for id in ids {
            self.record(connection, id, Instant::now(), Status::Skip, why, None);
        }
    }

    /// A failed check whose error is also a diagnosis.
    pub fn fail(&mut self, connection: &'static str, id: &'static str, since: Instant, e: Error) {
        self.record(
            connection,
            id,
            since,
            Status::Fail,
            e.message.clone(),
            Some(e.hint.clone()),
        );
        self.diagnose(e.code, e.message, e.hint);
    }

    /// Adds a diagnosis once (the same code from two connections is one cause).
    pub fn diagnose(&mut self, code: &str, message: impl Into<String>, hint: impl Into<String>) {
        if self.diagnosis.iter().any(|d| d.code == code) {
            return;
        }
        self.diagnosis.push(Diagnosis {
            code: code.to_string(),
            message: message.into(),
            hint: hint.into(),
        });
    }

    fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Runs every check within `budget` (the connect timeout plus a margin).
pub async fn run<M: MigratorTrait>(connector: &Connector, budget: Duration) -> Report {
    let mut rec = Recorder::new();
    let deadline = Instant::now() + budget;
    // Each connection's network steps get their own bound, so one hanging
    // step cannot eat the whole budget; the whole run is bounded too.
    let step = connector.connect_timeout_default();

    let migration_plan = crate::config::plan(connector.sources(), Which::Migration);
    let separate = migration_plan.as_ref().is_ok_and(|p| !p.same_as_app);
    let app =
        app::check_connection(connector, Which::App, !separate, &mut rec, deadline, step).await;
    let migration = if separate {
        app::check_connection(connector, Which::Migration, true, &mut rec, deadline, step).await
    } else {
        None
    };
    // The connection that can see the catalog: the migration one, else the app's.
    let admin = migration
        .as_ref()
        .or(if separate { None } else { app.as_ref() });

    if let Some(failure) = &app.as_ref().and_then(|a| a.auth_failure.clone()) {
        deep::explain_auth_failure(connector, failure, admin, &mut rec, deadline).await;
    }
    match admin {
        Some(admin) => {
            deep::database_checks::<M>(connector, admin, &mut rec).await;
        }
        None => rec.skip(
            "database",
            &["privileges", "migrations", "schema"],
            "no working migration connection (set DIRECT_URL to check these)",
        ),
    }
    for conn in [app, migration].into_iter().flatten() {
        if let Some(session) = conn.session {
            session.close().await;
        }
    }
    let elapsed = rec.elapsed();
    Report::new(rec.checks, rec.diagnosis, elapsed)
}
