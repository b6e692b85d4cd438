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
        let refuse = |message: String| -> Result<Self> {
            if explicit {
                return Err(Error::new(
                    Code::ConfigEnvFile,
                    message,
                    "check the path given to --env-file",
                ));
            }
            tracing::warn!("{message}; ignoring it");
            Ok(Self::default())
        };
        // Only a regular file: reading a FIFO (or a device) would wait forever.
        match std::fs::metadata(path) {
            Ok(meta) if !meta.is_file() => {
                return refuse(format!("env file {} is not a regular file", path.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Self::default());
            }
            _ => {}
        }
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => return refuse(format!("cannot read env file {}: {e}", path.display())),
        };
        Ok(Self::parse(&text, path))
    }

    /// The variables of an env file's `text` (read from `path`). Linear in
    /// its size; a leading byte-order mark is ignored.
    pub fn parse(text: &str, path: &Path) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines = assignment_lines(text);
        let mut values = HashMap::new();
        let mut growth = Expansion::new(text);
        let mut items = dotenvy::from_read_iter(text.as_bytes());
        loop {
            if !growth.next_fits() {
                tracing::warn!(
                    "{}: its $VAR substitutions would expand past {} MiB; values after {} \
                     are ignored",
                    path.display(),
                    MAX_EXPANDED >> 20,
                    growth.last_key.as_deref().unwrap_or("its start"),
                );
                break;
            }
            let Some(item) = items.next() else {
                break;
            };
            match item {
                Ok((key, value)) => {
                    growth.add(&key, &value);
                    let line = lines.get(key.as_str()).copied();
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
        Self {
            path: Some(path.to_path_buf()),
            values,
        }
    }

    pub fn get(&self, key: &str) -> Option<&DotEnvValue> {
        self.values.get(key)
    }
}

/// The most an env file's values may add up to once dotenvy has replaced
/// their `$VAR`s: each reference copies a whole value, so a few lines that
/// each double the last (`B=$A$A`) would otherwise grow without bound
/// (the fuzzer's find: 1.3 KB of text, 3.3 GB of memory).
const MAX_EXPANDED: usize = 16 << 20;

/// What the values read so far allow the next one to be, at most: the
/// whole text with each of its `$` replaced by the longest value yet (of
/// the file, or of the environment, which dotenvy also reads). Checked
/// before each value is parsed, so that no value is built past the bound.
struct Expansion {
    text_len: usize,
    dollars: usize,
    longest: usize,
    total: usize,
    last_key: Option<String>,
}

impl Expansion {
    fn new(text: &str) -> Self {
        Self {
            text_len: text.len(),
            dollars: text.bytes().filter(|&b| b == b'$').count(),
            longest: std::env::vars_os().map(|(_, v)| v.len()).max().unwrap_or(0),
            total: 0,
            last_key: None,
        }
    }

    fn next_fits(&self) -> bool {
        let next = self
            .text_len
            .saturating_add(self.dollars.saturating_mul(self.longest));
        self.total.saturating_add(next) <= MAX_EXPANDED
    }

    fn add(&mut self, key: &str, value: &str) {
        self.longest = self.longest.max(value.len());
        self.total = self.total.saturating_add(value.len());
        self.last_key = Some(key.to_string());
    }
}

/// The 1-based line of the last assignment to each key (the one dotenv
/// keeps), in one pass.
fn assignment_lines(text: &str) -> HashMap<&str, usize> {
    let mut lines = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start();
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, _)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim_end();
        if !key.is_empty() && !key.starts_with('#') {
            lines.insert(key, i + 1);
        }
    }
    lines
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

    #[test]
    fn a_byte_order_mark_is_ignored() {
        let env = DotEnv::parse("\u{feff}DATABASE_URL=x\n", Path::new(".env"));
        assert_eq!(env.get("DATABASE_URL").unwrap().value, "x");
        assert_eq!(env.get("DATABASE_URL").unwrap().line, Some(1));
    }

    #[test]
    fn a_large_file_is_read_in_linear_time() {
        let text: String = (0..100_000)
            .map(|i| format!("VAR_{i}=value_{i}\n"))
            .collect();
        let started = std::time::Instant::now();
        let env = DotEnv::parse(&text, Path::new(".env"));
        assert_eq!(env.get("VAR_99999").unwrap().line, Some(100_000));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn a_fifo_is_never_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.env");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        assert_eq!(
            DotEnv::load(&fifo, true).unwrap_err().code,
            Code::ConfigEnvFile
        );
        assert_eq!(DotEnv::load(&fifo, false).unwrap(), DotEnv::default());
    }
}
