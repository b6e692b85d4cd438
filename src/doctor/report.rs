//! The doctor's report: one line per check, then the problems found with
//! their fixes; or one JSON document.

use std::io::IsTerminal;
use std::time::Duration;

use super::{Check, Diagnosis, Status};

/// The outcome of a doctor run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// No diagnosis: every connection works as configured.
    pub ok: bool,
    /// Root causes, most likely first.
    pub diagnosis: Vec<Diagnosis>,
    pub checks: Vec<Check>,
    pub elapsed_ms: f64,
    /// ✓ ! ✘ marks (a terminal without NO_COLOR), else plain ASCII.
    #[serde(skip)]
    pub fancy: bool,
}

impl Report {
    pub fn new(checks: Vec<Check>, diagnosis: Vec<Diagnosis>, elapsed: Duration) -> Self {
        let ok = diagnosis.is_empty() && !checks.iter().any(|c| c.status == Status::Fail);
        Self {
            ok,
            diagnosis,
            checks,
            elapsed_ms: (elapsed.as_secs_f64() * 1e6).round() / 1e3,
            fancy: fancy_output(),
        }
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fancy = self.fancy;
        let mark = |status: Status| match (status, fancy) {
            (Status::Pass, true) => "✓",
            (Status::Warn, true) => "!",
            (Status::Fail, true) => "✘",
            (Status::Skip, true) => "-",
            (Status::Pass, false) => "[ok]  ",
            (Status::Warn, false) => "[warn]",
            (Status::Fail, false) => "[FAIL]",
            (Status::Skip, false) => "[skip]",
        };
        let mut section = "";
        for check in &self.checks {
            if check.connection != section {
                section = check.connection;
                match section {
                    "database" => writeln!(f, "database (through the migration connection)")?,
                    other => writeln!(f, "{other} connection")?,
                }
            }
            writeln!(
                f,
                "  {} {:<10} {}",
                mark(check.status),
                check.id,
                check.summary
            )?;
        }
        writeln!(f)?;
        match self.diagnosis.len() {
            0 if self.ok => writeln!(f, "no problems found")?,
            0 => writeln!(f, "problems found: see the failed checks above")?,
            1 => writeln!(f, "1 problem found:")?,
            n => writeln!(f, "{n} problems found:")?,
        }
        for d in &self.diagnosis {
            write!(
                f,
                "\n  {} {}\n    {}\n    fix: {}\n",
                mark(Status::Fail),
                d.code,
                d.message,
                d.hint
            )?;
        }
        Ok(())
    }
}

/// ✓/✘ only on a terminal without NO_COLOR.
pub fn fancy_output() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
