//! Errors the runner reports to a person or a script.
//!
//! Every failure carries three things a user acts on: a stable diagnosis code
//! (the names of DESIGN.md's doctor table, so scripts and tests can match on
//! them), a message saying what went wrong, and a hint saying what to do.
//! The exit status follows from the kind of failure, never from the message.
//! Messages are built from redacted values only: nothing here ever holds a
//! password.

use std::fmt;
use std::process::ExitCode;

/// Exit statuses of DESIGN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything is as it should be.
    Ok = 0,
    /// A check found something: pending migrations, drift, problems.
    CheckFailed = 1,
    /// Usage or configuration error.
    Usage = 2,
    /// Cannot connect or authenticate.
    Connect = 3,
    /// The migration lock was not acquired in time.
    Lock = 4,
    /// A migration failed and was rolled back.
    Migration = 5,
    /// A bug or an environment the tool cannot work in.
    Internal = 70,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// A failure with its diagnosis code, message, hint and exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Stable diagnosis code such as `config.missing` or `network.refused`.
    pub code: &'static str,
    /// What went wrong, in one sentence.
    pub message: String,
    /// What to do about it.
    pub hint: String,
    /// The process exit status this failure maps to.
    pub exit: Exit,
}

impl Error {
    pub fn new(
        exit: Exit,
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self {
            code,
            message: message.into(),
            hint: hint.into(),
            exit,
        }
    }

    /// A usage or configuration error (exit 2).
    pub fn config(code: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Exit::Usage, code, message, hint)
    }

    /// A connection or authentication failure (exit 3).
    pub fn connect(
        code: &'static str,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Self::new(Exit::Connect, code, message, hint)
    }

    /// Something this tool did wrong, or an environment it cannot work in (exit 70).
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            Exit::Internal,
            "internal",
            message,
            "this is a bug in impulse-db or an unusable environment; rerun with -v and report it",
        )
    }

    /// The JSON form of DESIGN.md: `{"error":{"code","message","hint"}}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": { "code": self.code, "message": self.message, "hint": self.hint }
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}\nhint: {}", self.message, self.hint)
    }
}

impl std::error::Error for Error {}

/// Result alias used across the runner.
pub type Result<T, E = Error> = std::result::Result<T, E>;
