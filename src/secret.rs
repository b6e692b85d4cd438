//! A string that must never reach output.
//!
//! Passwords travel through resolution, connection options and error paths.
//! Wrapping them in [`Secret`] makes the safe thing the default: `Debug` and
//! `Display` print `****`, and the only way to read the value is the explicit
//! [`Secret::expose`], which is easy to audit with grep.

use std::fmt;

/// A password or token; prints as `****`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
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
    fn never_prints_its_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "****");
        assert_eq!(format!("{s:?}"), "Secret(****)");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(Secret(****))");
        assert_eq!(s.expose(), "hunter2");
    }
}
