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
}

impl Report {
    pub fn new(checks: Vec<Check>, diagnosis: Vec<Diagnosis>, elapsed: Duration) -> Self {
        let ok = diagnosis.is_empty() && !checks.iter().any(|c| c.status == Status::Fail);
        Self {
            ok,
            diagnosis,
            checks,
            elapsed_ms: (elapsed.as_secs_f64() * 1e6).round() / 1e3,
        }
    }

    /// The text report; `fancy` uses ✓ ! ✘, otherwise plain ASCII.
    pub fn text(&self, fancy: bool) -> String {
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
        let mut out = String::new();
        let mut section = "";
        for check in &self.checks {
            if check.connection != section {
                section = check.connection;
                let title = match section {
                    "database" => "database (through the migration connection)".to_string(),
                    other => format!("{other} connection"),
                };
                out += &format!("{title}\n");
            }
            out += &format!(
                "  {} {:<10} {}\n",
                mark(check.status),
                check.id,
                check.summary
            );
        }
        out += "\n";
        match self.diagnosis.len() {
            0 if self.ok => out += "no problems found\n",
            0 => out += "problems found: see the failed checks above\n",
            1 => out += "1 problem found:\n",
            n => out += &format!("{n} problems found:\n"),
        }
        for d in &self.diagnosis {
            out += &format!(
                "\n  {} {}\n    {}\n    fix: {}\n",
                mark(Status::Fail),
                d.code,
                d.message,
                d.hint
            );
        }
        out
    }
}

/// ✓/✘ only on a terminal without NO_COLOR.
pub fn fancy_output() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
