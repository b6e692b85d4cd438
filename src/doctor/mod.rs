//! `migrate doctor`: names the root cause of a failing connection instead
//! of repeating PostgreSQL's error.
//!
//! PostgreSQL answers most credential problems with the same `28P01`; the
//! doctor tells them apart the way an engineer would. It works in two
//! halves. Gathering ([`gather`]) walks each connection step by step
//! (`config`, `url`, `secret`, `dns`, `tcp`, `tls`, `auth`, `database`),
//! each step with its own time bound, and on an authentication failure asks
//! the questions the error cannot answer: does the database accept the
//! secret's `AWSPENDING` or `AWSPREVIOUS` password (a rotation half done,
//! or one the app did not follow)? Does the role exist, in another case,
//! with an expired password, as an IAM user? Those questions, and
//! `privileges`, `migrations` and `schema`, are asked through the migration
//! connection, which can read what the app role cannot. Everything it
//! learns is a [`facts::Facts`] value. The verdict ([`verdict`]) is a pure
//! function of that value: the checks, and the diagnosis codes of the
//! README's table, most likely first. Nothing is ever changed.

pub mod facts;
mod gather;
pub mod report;
pub mod verdict;

use std::time::{Duration, Instant};

use migration::prisma::PrismaMigrator;

use crate::config::Which;
use crate::connector::Connector;
use crate::error::Code;

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
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
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
    pub code: Code,
    pub message: String,
    pub hint: String,
}

/// Gathers the facts within `budget` (the connect timeout plus a margin),
/// then concludes.
pub async fn run<M: PrismaMigrator>(connector: &Connector, budget: Duration) -> Report {
    let started = Instant::now();
    let facts = gather_facts::<M>(connector, started + budget).await;
    let (checks, diagnosis) = verdict::verdict(&facts);
    Report::new(checks, diagnosis, started.elapsed())
}

async fn gather_facts<M: PrismaMigrator>(connector: &Connector, deadline: Instant) -> facts::Facts {
    // Each connection's network steps get their own bound, so one hanging
    // step cannot eat the whole budget; the whole run is bounded too.
    let walk = gather::Walk {
        connector,
        deadline,
        step: connector.connect_timeout_default(),
    };
    let separate =
        crate::config::plan(connector.sources(), Which::Migration).is_ok_and(|p| !p.same_as_app);
    // The two connections are walked at the same time: a host that does
    // not answer costs the connect timeout once, not once per connection.
    let (app, migration) = tokio::join!(walk.connection(Which::App, !separate), async {
        if separate {
            Some(walk.connection(Which::Migration, true).await)
        } else {
            None
        }
    });
    // The connection that can see the catalog: the migration one, else the app's.
    let admin = migration.as_ref().unwrap_or(&app);
    let auth = walk.auth(&app, admin.session.as_ref()).await;
    let database = match (&admin.session, &admin.resolved) {
        (Some(session), Some(resolved)) => {
            Some(walk.database::<M>(session, resolved, auth.as_ref()).await)
        }
        _ => None,
    };
    let facts = facts::Facts {
        app: app.facts,
        migration: migration.as_ref().map(|m| m.facts.clone()),
        auth,
        database,
    };
    for session in [app.session, migration.and_then(|m| m.session)]
        .into_iter()
        .flatten()
    {
        session.close().await;
    }
    facts
}
