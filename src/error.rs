//! Errors the runner reports to a person or a script.
//!
//! Every failure carries three things a user acts on: a stable [`Code`]
//! (scripts and tests match on it), a message saying what went wrong, and a
//! hint saying what to do. The exit status follows from the code, never
//! from the message. Messages are built from redacted values only: nothing
//! here ever holds a password.

use std::fmt;
use std::process::ExitCode;

pub use crate::code::Code;

/// Exit statuses (the README's "Exit codes" table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Everything is as it should be.
    Ok = 0,
    /// A check found something: pending migrations, drift, doctor problems.
    CheckFailed = 1,
    /// Usage or configuration error, including a refused history.
    Usage = 2,
    /// Cannot connect or authenticate.
    Connect = 3,
    /// A lock was not acquired in time: the migration lock, or a table
    /// lock a read of the tool needs.
    Lock = 4,
    /// A migration failed (or could not get its locks) and was rolled back.
    Migration = 5,
    /// A bug or an environment the tool cannot work in.
    Internal = 70,
}

impl Exit {
    /// Every status, in order.
    pub const ALL: [Exit; 7] = [
        Exit::Ok,
        Exit::CheckFailed,
        Exit::Usage,
        Exit::Connect,
        Exit::Lock,
        Exit::Migration,
        Exit::Internal,
    ];

    /// What the status means, as the README says it.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Ok => "ok",
            Exit::CheckFailed => {
                "a check found something (`status --check`, `grant --check`, `entities --check`, \
                 `prisma-check`, `doctor`, `lint`)"
            }
            Exit::Usage => "usage or configuration error",
            Exit::Connect => "cannot connect or authenticate",
            Exit::Lock => {
                "a lock was not acquired within `--lock-timeout`: the migration lock, or a table \
                 lock a read of the tool needs"
            }
            Exit::Migration => {
                "a migration failed, or could not get its table locks, and was rolled back"
            }
            Exit::Internal => "internal error (a bug)",
        }
    }

    /// The README's exit-code table: each status with the codes that end
    /// a command with it.
    pub fn markdown_table() -> String {
        let mut out = String::from("| exit | meaning | codes |\n|---|---|---|\n");
        for exit in Exit::ALL {
            let codes: Vec<String> = Code::ALL
                .iter()
                .filter(|c| c.exit() == exit)
                .map(|c| format!("`{c}`"))
                .collect();
            let codes = if codes.is_empty() {
                "-".to_string()
            } else {
                codes.join(", ")
            };
            out += &format!("| {} | {} | {codes} |\n", exit as i32, exit.meaning());
        }
        out
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// A failure with its code, message and hint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Error {
    /// What kind of failure: decides the exit status.
    pub code: Code,
    /// What went wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// When one configuration has several problems: each of them (the
    /// message and hint above number them all). Empty otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Error>,
}

impl Error {
    /// A failure with a hint of its own.
    pub fn new(code: Code, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            hint: hint.into(),
            problems: Vec::new(),
        }
    }

    /// Every problem of `what` at once (`the app connection`): `Ok` when
    /// there is none, the problem itself when there is one, else one error
    /// with the first problem's code whose message and hint number them
    /// all, and that lists them in `problems`.
    pub fn all(what: &str, mut problems: Vec<Error>) -> Result<()> {
        match problems.len() {
            0 => Ok(()),
            1 => Err(problems.remove(0)),
            n => {
                let numbered = |text: fn(&Error) -> &str| {
                    problems
                        .iter()
                        .enumerate()
                        .map(|(i, p)| format!("\n  {}. {}", i + 1, text(p)))
                        .collect::<String>()
                };
                Err(Self {
                    code: problems[0].code,
                    message: format!("{what} has {n} problems:{}", numbered(|p| &p.message)),
                    hint: format!("in turn:{}", numbered(|p| &p.hint)),
                    problems,
                })
            }
        }
    }

    /// The same error with every text passed through `f` (the problems'
    /// too).
    pub fn map_text(&self, f: &impl Fn(&str) -> String) -> Self {
        Self {
            code: self.code,
            message: f(&self.message),
            hint: f(&self.hint),
            problems: self.problems.iter().map(|p| p.map_text(f)).collect(),
        }
    }

    /// A failure whose hint is the code's generic fix.
    pub fn of(code: Code, message: impl Into<String>) -> Self {
        Self::new(code, message, code.hint())
    }

    /// Something this tool did wrong, or an environment it cannot work in (exit 70).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::of(Code::Internal, message)
    }

    /// The process exit status this failure maps to.
    pub fn exit(&self) -> Exit {
        self.code.exit()
    }

    /// The JSON document of a failed command: `{"error":{"code","message","hint"}}`.
    pub fn document(&self) -> ErrorDocument<'_> {
        ErrorDocument { error: self }
    }
}

/// What `--format json` prints for a failure.
#[derive(Debug, serde::Serialize)]
pub struct ErrorDocument<'a> {
    pub error: &'a Error,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}\nhint: {}", self.message, self.hint)
    }
}

impl std::error::Error for Error {}

/// Result alias used across the runner.
pub type Result<T, E = Error> = std::result::Result<T, E>;
