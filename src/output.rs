//! Where output goes: progress and logs to stderr, the result to stdout.
//!
//! With `--format json`, stdout carries exactly one JSON document, whether
//! the command succeeded or failed, so scripts can always parse it.

use std::fmt::Display;

use crate::cli::Format;
use crate::error::Error;

/// The user's choices about output.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub format: Format,
    pub quiet: bool,
}

impl Ui {
    /// A progress line on stderr (hidden by `-q`).
    pub fn progress(&self, line: impl Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }

    /// The result: `text` or `json` on stdout, as the user asked.
    pub fn result(&self, text: impl FnOnce() -> String, json: impl FnOnce() -> serde_json::Value) {
        match self.format {
            Format::Text => {
                let text = text();
                if !text.is_empty() {
                    println!("{}", text.trim_end());
                }
            }
            Format::Json => println!("{}", json()),
        }
    }

    /// An error: always `error:`/`hint:` on stderr, and the JSON form on
    /// stdout with `--format json`.
    pub fn error(&self, e: &Error) {
        eprintln!("{e}");
        if self.format == Format::Json {
            println!("{}", e.to_json());
        }
    }
}
