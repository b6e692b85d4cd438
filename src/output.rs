//! Where output goes: progress and logs to stderr, the result to stdout.
//!
//! Every command's result is a typed report: its `Display` is the text
//! output and its `Serialize` the JSON one, so the two cannot disagree and
//! no JSON is assembled by hand. With `--format json`, stdout carries
//! exactly one JSON document, whether the command succeeded or failed, so
//! scripts can always parse it.

use std::fmt::Display;

use crate::cli::Format;
use crate::error::Error;
use crate::secret::scrub;

/// A command's result.
pub trait Report: serde::Serialize + Display {}

impl<T: serde::Serialize + Display> Report for T {}

/// No partial result to show beside an error.
#[derive(serde::Serialize)]
struct NoPartial {}

impl Display for NoPartial {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

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
            eprintln!("{}", scrub(&line.to_string()));
        }
    }

    /// A warning on stderr (hidden by `-q`): `warning: ` before its first
    /// line, the rest as they are.
    pub fn warning(&self, text: impl Display) {
        if !self.quiet {
            eprintln!("warning: {text}");
        }
    }

    /// The result, as text or JSON on stdout.
    pub fn result(&self, report: &impl Report) {
        match self.format {
            Format::Text => {
                let text = report.to_string();
                if !text.trim().is_empty() {
                    println!("{}", text.trim_end());
                }
            }
            Format::Json => match serde_json::to_string(report) {
                Ok(json) => println!("{json}"),
                Err(e) => self.error(&Error::internal(format!(
                    "cannot serialise the result as JSON: {e}"
                ))),
            },
        }
    }

    /// An error: always `error:`/`hint:` on stderr, and the JSON form on
    /// stdout with `--format json`.
    pub fn error(&self, e: &Error) {
        self.error_with(e, &None::<NoPartial>);
    }

    /// An error, after the part of the result that could be made (what
    /// `migrate url` resolved before a part failed): in text, `partial`
    /// on stdout and the error on stderr; in JSON, one document with the
    /// error beside `partial`'s fields. `None` is no partial result.
    pub fn error_with<R: serde::Serialize + Display>(&self, e: &Error, partial: &Option<R>) {
        // Whatever a message quoted, no secret value is printed.
        let e = &e.map_text(&scrub);
        if let (Format::Text, Some(partial)) = (self.format, partial) {
            let text = scrub(&partial.to_string());
            if !text.trim().is_empty() {
                println!("{}", text.trim_end());
            }
        }
        eprintln!("{e}");
        if self.format == Format::Json {
            #[derive(serde::Serialize)]
            struct WithError<'a, R> {
                error: &'a Error,
                #[serde(flatten)]
                partial: &'a Option<R>,
            }
            match serde_json::to_string(&WithError { error: e, partial }) {
                Ok(json) => println!("{json}"),
                // An Error is strings and a code: it always serialises.
                Err(_) => println!("{{\"error\":{{\"code\":\"internal\"}}}}"),
            }
        }
    }
}
