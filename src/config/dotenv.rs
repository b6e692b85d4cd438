//! The `.env` file, read into an overlay rather than into the process
//! environment.
//!
//! Keeping the file's values apart lets resolution say where every value came
//! from (`.env` line 3) and guarantees the real environment always wins.
//! As in sqlx-cli: a missing default `.env` is silent, an unreadable or
//! malformed one is a warning, and a file named with `--env-file` must exist.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Code, Error, Result};

/// One value read from an env file.
#[derive(Clone, PartialEq, Eq)]
pub struct DotEnvValue {
    pub value: String,
    /// 1-based line of the assignment, when it could be located.
    pub line: Option<usize>,
}

/// Values may be passwords or URLs holding them: `Debug` shows only where
/// they are.
impl std::fmt::Debug for DotEnvValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DotEnvValue")
            .field("value", &"****")
            .field("line", &self.line)
            .finish()
    }
}

/// The variables of one env file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DotEnv {
    pub path: Option<PathBuf>,
    pub values: HashMap<String, DotEnvValue>,
}

impl DotEnv {
    /// Reads `path`. `explicit` is true when the user named the file, which
    /// makes a missing file an error instead of nothing.
    pub fn load(path: &Path, explicit: bool) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Self::default());
            }
            Err(e) => {
                let message = format!("cannot read env file {}: {e}", path.display());
                if explicit {
                    return Err(Error::new(
                        Code::ConfigEnvFile,
                        message,
                        "check the path given to --env-file",
                    ));
                }
                tracing::warn!("{message}; ignoring it");
                return Ok(Self::default());
            }
        };
        let mut values = HashMap::new();
        for item in dotenvy::from_read_iter(text.as_bytes()) {
            match item {
                Ok((key, value)) => {
                    let line = line_of(&text, &key);
                    values.insert(key, DotEnvValue { value, line });
                }
                Err(e) => {
                    // dotenvy's parse errors quote the offending line, which
                    // may hold a password: say only where it is.
                    let at = match e {
                        dotenvy::Error::LineParse(_, index) => {
                            format!(" near byte {index}")
                        }
                        _ => String::new(),
                    };
                    tracing::warn!(
                        "{} could not be parsed{at}; values after that point are ignored",
                        path.display()
                    );
                    break;
                }
            }
        }
        Ok(Self {
            path: Some(path.to_path_buf()),
            values,
        })
    }

    pub fn get(&self, key: &str) -> Option<&DotEnvValue> {
        self.values.get(key)
    }
}

/// The line of the last assignment to `key` (the one dotenv keeps).
fn line_of(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let line = line.trim_start();
            let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|(i, _)| i + 1)
        .last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# comment\nDATABASE_URL=\"postgresql://a@h/db\"\n\nexport DIRECT_URL = postgresql://b@h/db\nDATABASE_URL_X=1\n",
        )
        .unwrap();
        let env = DotEnv::load(&path, true).unwrap();
        assert_eq!(
            env.get("DATABASE_URL"),
            Some(&DotEnvValue {
                value: "postgresql://a@h/db".into(),
                line: Some(2)
            })
        );
        assert_eq!(env.get("DIRECT_URL").unwrap().line, Some(4));
        assert_eq!(env.get("DATABASE_URL_X").unwrap().line, Some(5));
    }

    #[test]
    fn missing_default_file_is_empty_but_missing_explicit_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.env");
        assert_eq!(DotEnv::load(&path, false).unwrap(), DotEnv::default());
        assert_eq!(
            DotEnv::load(&path, true).unwrap_err().code,
            Code::ConfigEnvFile
        );
    }
}
