//! A string that must never reach output.
//!
//! Passwords travel through resolution, connection options and error paths.
//! Wrapping them in [`Secret`] makes the safe thing the default: `Debug` and
//! `Display` print `****`, and the only way to read the value is the explicit
//! [`Secret::expose`], which is easy to audit with grep.
//!
//! Behind that, a second line of defence: every value made a [`Secret`] is
//! remembered for the process, and [`scrub`] replaces it (and its
//! percent-encoded forms) with `****` in every error, progress line and log
//! line before it is printed, whatever message happened to quote it. And
//! [`echo`] decides whether a value the user typed may be quoted back at
//! all.

use std::fmt;
use std::sync::{Mutex, OnceLock};

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// A password or token; prints as `****`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

/// Every secret value seen in this process, and its encoded forms.
fn known() -> &'static Mutex<Vec<String>> {
    static KNOWN: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    KNOWN.get_or_init(|| Mutex::new(Vec::new()))
}

/// Percent-encoding as a URL's user information carries a password.
const USERINFO: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Values this short are not scrubbed: they would mangle ordinary words.
const SHORTEST_SCRUBBED: usize = 4;

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        // The guide's placeholder words are no secret: a message naming
        // the placeholder left in a URL must be able to say it.
        use crate::config::url::Placeholder;
        let placeholder = [Placeholder::ReplacedBySecret, Placeholder::AwsIamToken]
            .map(Placeholder::shown)
            .contains(&value.as_str());
        if value.chars().count() >= SHORTEST_SCRUBBED && !placeholder {
            let mut known = known().lock().unwrap_or_else(|p| p.into_inner());
            if !known.contains(&value) {
                let encoded = utf8_percent_encode(&value, NON_ALPHANUMERIC).to_string();
                let userinfo = utf8_percent_encode(&value, USERINFO).to_string();
                known.push(value.clone());
                for form in [encoded, userinfo] {
                    if !known.contains(&form) {
                        known.push(form);
                    }
                }
                // Longest first, so that a value containing another is
                // replaced whole.
                known.sort_by_key(|k| std::cmp::Reverse(k.len()));
            }
        }
        Self(value)
    }

    /// The value itself. Call only where it is handed to the database driver
    /// or written to a file with restricted permissions.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// `text` with every secret value seen so far replaced by `****`, and the
/// password of any URL in it too (a URL typed where a path or a name
/// belongs was never parsed as one, so its password is not known).
pub fn scrub(text: &str) -> String {
    let known = known().lock().unwrap_or_else(|p| p.into_inner());
    let mut out = crate::config::redact_urls_in(text);
    for value in known.iter() {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), "****");
        }
    }
    out
}

/// Standard error through [`scrub`]: where log lines go.
pub struct ScrubbedStderr;

impl std::io::Write for ScrubbedStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        std::io::Write::write_all(&mut std::io::stderr(), scrub(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::Write::flush(&mut std::io::stderr())
    }
}

/// What a message says in place of a value it does not quote.
pub const NOT_SHOWN: &str = "(the value is not shown)";

/// A value the user typed, as a message may quote it: itself when it is
/// one of the `known` words (a subcommand's name, say) or a number of at
/// most ten digits, which cannot be a secret, else a placeholder. Anything
/// else could be a password given in the wrong place (`migrate up hunter`)
/// or a URL holding one, and is never quoted back.
pub fn echo(value: &str, known: &[&str]) -> String {
    let number =
        !value.is_empty() && value.len() <= 10 && value.chars().all(|c| c.is_ascii_digit());
    if number || known.contains(&value) {
        value.to_string()
    } else {
        NOT_SHOWN.to_string()
    }
}

/// Serialises the value itself: only for the reports whose purpose is to
/// hand it over (`migrate iam-token`, `migrate dev`'s local URLs).
pub fn serialize_exposed<S: serde::Serializer>(secret: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(secret.expose())
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_are_scrubbed_from_any_text() {
        let s = Secret::new("S3cr3t/Pw@d");
        let text = format!(
            "failed: {} and {} in a URL",
            s.expose(),
            utf8_percent_encode(s.expose(), NON_ALPHANUMERIC)
        );
        assert_eq!(scrub(&text), "failed: **** and **** in a URL");
        assert_eq!(scrub("abc"), "abc");
    }

    #[test]
    fn the_placeholder_words_stay_readable() {
        let _ = Secret::new("REPLACED_BY_SECRET");
        let _ = Secret::new("AWS_IAM_TOKEN");
        let text = "the password is still the placeholder REPLACED_BY_SECRET, not AWS_IAM_TOKEN";
        assert_eq!(scrub(text), text);
    }

    #[test]
    fn only_known_words_and_numbers_are_echoed() {
        for shown in ["up", "9999"] {
            assert_eq!(echo(shown, &["up", "down"]), shown);
        }
        for hidden in [
            "hunter",
            "hunter2",
            "postgresql://u:p@h/d",
            "P@ss",
            "Up",
            "",
            "12345678901",
        ] {
            assert_eq!(echo(hidden, &["up", "down"]), NOT_SHOWN, "{hidden}");
        }
    }

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "****");
        assert_eq!(format!("{s:?}"), "Secret(****)");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(Secret(****))");
        assert_eq!(s.expose(), "hunter2");
    }
}
