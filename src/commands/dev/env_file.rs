//! The `.env` that `migrate dev` writes, so that the commands after it
//! find the local cluster with no step in between.
//!
//! `dev` owns a file it wrote: one whose first line is [`MARKER`]. It
//! creates the file when there is none, and in a file it owns it rewrites
//! only its own two lines (`DATABASE_URL`, `DIRECT_URL`), leaving any other
//! line alone; a run that finds them already right writes nothing. A file
//! without the marker is the user's, and is never written: `dev` then says
//! whether it already points at the cluster and, if not, what to set (the
//! URLs themselves are on stdout only, as `dev`'s result). Deleting the
//! marker line makes a file the user's. The file holds the local cluster's
//! passwords, so it is written with mode 0600, through a temporary file
//! renamed into place.

use std::path::{Path, PathBuf};

use crate::config::DotEnv;
use crate::env_vars::{DATABASE_URL, DIRECT_URL};
use crate::error::{Code, Error, Result};
use crate::secret::Secret;

/// The first line of an env file `migrate dev` owns.
pub const MARKER: &str = "# Written by `migrate dev` for the local cluster in .migrate/.";

/// The rest of the header of a file `dev` writes.
const HEADER_REST: &str = "# It rewrites the DATABASE_URL and DIRECT_URL lines on every run and keeps\n\
                           # the others; delete the first line to make this file yours (then it is\n\
                           # never written again).\n";

/// What `dev` did with the env file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// There was none: written.
    Created,
    /// Its own file, with other URLs: the two lines rewritten.
    Updated,
    /// Its own file, already right: not written.
    Unchanged,
    /// The user's file, already pointing at the cluster: not written.
    UserFileMatches,
    /// The user's file, pointing elsewhere: not written; the report says
    /// what to set.
    UserFileDiffers,
    /// `--no-dotenv`: no file.
    Skipped,
}

/// The env file and what happened to it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EnvFile {
    pub path: PathBuf,
    pub outcome: Outcome,
    /// In the user's file, which of the two variables differ.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differs: Vec<&'static str>,
}

impl EnvFile {
    /// The progress line (or warning) for it; `None` when there is
    /// nothing to say.
    pub fn message(&self) -> Option<(bool, String)> {
        let path = self.path.display();
        let (warn, text) = match self.outcome {
            Outcome::Created => (false, format!("wrote {path} (DATABASE_URL, DIRECT_URL)")),
            Outcome::Updated => (
                false,
                format!("updated DATABASE_URL and DIRECT_URL in {path}"),
            ),
            Outcome::Unchanged => (false, format!("{path} is up to date")),
            Outcome::UserFileMatches => (
                false,
                format!(
                    "{path} (not written by `migrate dev`) already points at the local cluster"
                ),
            ),
            Outcome::UserFileDiffers => (
                true,
                format!(
                    "{path} was not written by `migrate dev`, so it is left as it is, and its {} \
                     {} not the local cluster's: set {} as printed on stdout (or delete {path} \
                     and run `migrate dev` again to have it written)",
                    self.differs.join(" and "),
                    if self.differs.len() == 1 { "is" } else { "are" },
                    self.differs.join(" and "),
                ),
            ),
            Outcome::Skipped => return None,
        };
        Some((warn, text))
    }
}

/// Brings `path` to the two URLs, as the module says.
pub fn write(path: &Path, database_url: &Secret, direct_url: &Secret) -> Result<EnvFile> {
    let wanted = [(DATABASE_URL, database_url), (DIRECT_URL, direct_url)];
    // Only a regular file: reading a FIFO (or a device) would wait forever.
    let existing = match std::fs::metadata(path).and_then(|meta| {
        if meta.is_file() {
            std::fs::read_to_string(path)
        } else {
            Err(std::io::Error::other("not a regular file"))
        }
    }) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_error("read", path, &e)),
    };
    let done = |outcome, differs| {
        Ok(EnvFile {
            path: path.to_path_buf(),
            outcome,
            differs,
        })
    };
    let Some(text) = existing else {
        let mut text = format!("{MARKER}\n{HEADER_REST}");
        for (var, url) in wanted {
            text += &assignment(var, url);
        }
        write_private(path, &text)?;
        return done(Outcome::Created, Vec::new());
    };
    let current = DotEnv::parse(&text, path);
    let differs: Vec<&'static str> = wanted
        .iter()
        .filter(|(var, url)| current.get(var).is_none_or(|v| v.value != url.expose()))
        .map(|(var, _)| *var)
        .collect();
    if !text.starts_with(MARKER) {
        return if differs.is_empty() {
            done(Outcome::UserFileMatches, Vec::new())
        } else {
            done(Outcome::UserFileDiffers, differs)
        };
    }
    if differs.is_empty() {
        return done(Outcome::Unchanged, Vec::new());
    }
    write_private(path, &rewritten(&text, &wanted))?;
    done(Outcome::Updated, Vec::new())
}

/// `text` with each wanted variable's assignments replaced by one line
/// (where the first was), or appended when it had none.
fn rewritten(text: &str, wanted: &[(&'static str, &Secret)]) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut written = [false; 2];
    for line in text.lines() {
        let assigned = wanted.iter().position(|(var, _)| assigns(line, var));
        match assigned {
            Some(i) if !written[i] => {
                out += &assignment(wanted[i].0, wanted[i].1);
                written[i] = true;
            }
            Some(_) => {}
            None => {
                out += line;
                out.push('\n');
            }
        }
    }
    for (i, (var, url)) in wanted.iter().enumerate() {
        if !written[i] {
            out += &assignment(var, url);
        }
    }
    out
}

/// Whether `line` assigns `var` (`VAR=...`, `export VAR = ...`).
fn assigns(line: &str, var: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
    line.strip_prefix(var)
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

/// `VAR="url"`: the URLs `dev` makes hold no `"`, `\` or `$` (their
/// passwords are alphanumeric, their paths percent-encoded).
fn assignment(var: &str, url: &Secret) -> String {
    format!("{var}=\"{}\"\n", url.expose())
}

/// Writes `text` to `path` with mode 0600, through a temporary file in
/// the same directory renamed over it.
fn write_private(path: &Path, text: &str) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| ".env".to_string(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.migrate-dev.{}", std::process::id()));
    crate::devdb::write_private(&temp, text).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::new(
            Code::DevIo,
            e.message,
            "check the permissions of the directory",
        )
    })?;
    std::fs::rename(&temp, path).map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        io_error("write", path, &e)
    })
}

fn io_error(doing: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::new(
        Code::DevIo,
        format!("cannot {doing} {}: {e}", path.display()),
        "check the file's permissions, or pass --env-file PATH (or --no-dotenv)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(port: u16) -> (Secret, Secret) {
        (
            Secret::new(format!(
                "postgresql://impulse_app:A1@127.0.0.1:{port}/impulse"
            )),
            Secret::new(format!("postgresql://postgres:B2@127.0.0.1:{port}/impulse")),
        )
    }

    #[test]
    fn creates_updates_only_its_own_lines_and_leaves_the_users_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        let (app, direct) = urls(5001);
        assert_eq!(
            write(&path, &app, &direct).unwrap().outcome,
            Outcome::Created
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(MARKER), "{text}");
        assert!(text.ends_with(
            "DATABASE_URL=\"postgresql://impulse_app:A1@127.0.0.1:5001/impulse\"\n\
             DIRECT_URL=\"postgresql://postgres:B2@127.0.0.1:5001/impulse\"\n"
        ));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            write(&path, &app, &direct).unwrap().outcome,
            Outcome::Unchanged
        );

        // A line the user added stays; the URLs follow the cluster.
        std::fs::write(&path, format!("{text}DB_APP_USER=me\n")).unwrap();
        let (app, direct) = urls(5002);
        assert_eq!(
            write(&path, &app, &direct).unwrap().outcome,
            Outcome::Updated
        );
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("127.0.0.1:5002") && !text.contains("5001"),
            "{text}"
        );
        assert!(text.ends_with("DB_APP_USER=me\n"), "{text}");
        assert_eq!(text.matches("DATABASE_URL=").count(), 1, "{text}");

        // Without the marker the file is the user's.
        let mine = "DATABASE_URL=\"postgresql://me@db.example.com/x\"\n";
        std::fs::write(&path, mine).unwrap();
        let outcome = write(&path, &app, &direct).unwrap();
        assert_eq!(outcome.outcome, Outcome::UserFileDiffers);
        assert_eq!(outcome.differs, [DATABASE_URL, DIRECT_URL]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), mine);
        let (warn, message) = outcome.message().unwrap();
        assert!(
            warn && message.contains("DATABASE_URL and DIRECT_URL are not"),
            "{message}"
        );
        assert!(!message.contains("B2"), "no password: {message}");

        std::fs::write(
            &path,
            format!(
                "DATABASE_URL=\"{}\"\nDIRECT_URL={}\n",
                app.expose(),
                direct.expose()
            ),
        )
        .unwrap();
        assert_eq!(
            write(&path, &app, &direct).unwrap().outcome,
            Outcome::UserFileMatches
        );
    }

    #[test]
    fn assignments_are_recognised_as_dotenv_reads_them() {
        assert!(assigns("DATABASE_URL=x", DATABASE_URL));
        assert!(assigns("  export DATABASE_URL = x", DATABASE_URL));
        assert!(!assigns("DATABASE_URL_X=1", DATABASE_URL));
        assert!(!assigns("# DATABASE_URL=x", DATABASE_URL));
    }
}
