//! The private directory the bridge's Unix socket lives in
//! ([`crate::transport::Bridge`]), and the leftovers of runs that were
//! killed.
//!
//! A run removes its directory as soon as the driver is connected (the
//! socket is needed only while it connects); a run killed with `kill -9`
//! while it connected (a deploy job cancelled, a Lambda timed out) cannot,
//! and its directory stayed in the temp directory for good. So once a new
//! directory is made, the directories of this naming scheme in the same
//! base whose process no longer exists, and that are older than any
//! connection attempt can last ([`LEFTOVER_AGE`]), are removed. The age
//! keeps a live process safe where its pid means nothing here: another
//! PID namespace (a container) sharing the temp directory.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};

/// What every directory's name starts with: `impulse-db-<pid>-<16 hex>`.
const PREFIX: &str = "impulse-db-";

/// How old a directory must be before it counts as left over: more than
/// the longest connection attempt (`--connect-timeout` is at most 3600 s).
const LEFTOVER_AGE: Duration = Duration::from_secs(2 * 3600);

/// A new directory only this user can enter, for the socket: in the temp
/// directory (`TMPDIR`, else `/tmp`), else in the first of
/// `XDG_RUNTIME_DIR`, `/dev/shm` and `/var/tmp` where it can be made (a
/// `/tmp` only root may write to exists).
pub fn create() -> Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let mut random = [0u8; 8];
    getrandom::fill(&mut random)
        .map_err(|e| Error::internal(format!("cannot name a private socket directory: {e}")))?;
    let name = format!(
        "{PREFIX}{}-{}",
        std::process::id(),
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let mut bases = vec![std::env::temp_dir()];
    bases.extend(std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from));
    bases.extend(["/dev/shm", "/var/tmp"].map(PathBuf::from));
    let mut first_error = None;
    for base in bases {
        // A Unix socket path has at most 107 bytes (`/.s.PGSQL.65535` included).
        if base.as_os_str().len() + name.len() + 20 > 107 {
            continue;
        }
        let dir = base.join(&name);
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                // Once per process: it is housekeeping, not the connection's.
                static SWEPT: std::sync::Once = std::sync::Once::new();
                SWEPT.call_once(|| {
                    if let Ok(made) = std::fs::metadata(&dir) {
                        remove_leftovers(&base, made.uid(), SystemTime::now());
                    }
                });
                return Ok(dir);
            }
            Err(e) => {
                first_error.get_or_insert_with(|| socket_error(&dir, &e));
            }
        }
    }
    Err(first_error.unwrap_or_else(|| {
        Error::internal("no directory for the local socket: the temp directory's path is too long")
    }))
}

/// The error of a socket (or its directory) that could not be made.
pub fn socket_error(path: &Path, e: &io::Error) -> Error {
    Error::internal(format!(
        "cannot create the local socket {} that connects the driver to the database: {e}",
        path.display()
    ))
}

/// Removes, from `base`, the directories named as [`create`] names them
/// that belong to `uid` (this user: root leaves other users' alone), whose
/// process is gone and that were last changed [`LEFTOVER_AGE`] before
/// `now`. A directory of a live process is left alone, as is every other
/// name and anything but a directory (a symbolic link is not followed).
/// Failures are ignored: this is housekeeping, and the directory's owner
/// may be removing it too.
fn remove_leftovers(base: &Path, uid: u32, now: SystemTime) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(leftover_pid) else {
            continue;
        };
        // The entry's own metadata: a symbolic link is not followed.
        let Ok(found) = entry.metadata() else {
            continue;
        };
        if !found.is_dir() || found.uid() != uid || pid == std::process::id() {
            continue;
        }
        // A time far in the future (anyone may set one) is no age.
        let old = found
            .modified()
            .ok()
            .and_then(|changed| now.duration_since(changed).ok())
            .is_some_and(|age| age > LEFTOVER_AGE);
        if old && is_gone(pid) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The process id in a name [`create`] made, or `None` for any other name.
fn leftover_pid(name: &str) -> Option<u32> {
    let (pid, random) = name.strip_prefix(PREFIX)?.split_once('-')?;
    let random_ok = random.len() == 16 && random.bytes().all(|b| b.is_ascii_hexdigit());
    let pid_ok = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    if !random_ok || !pid_ok {
        return None;
    }
    pid.parse().ok().filter(|&pid| pid > 0)
}

/// No process has this id: `kill(pid, 0)` fails with `ESRCH`.
fn is_gone(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 sends nothing; kill only checks that the process
    // exists and may be signalled.
    let sent = unsafe { libc::kill(pid, 0) };
    sent != 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_this_module_makes_are_leftovers() {
        assert_eq!(leftover_pid("impulse-db-4711-0123456789abcdef"), Some(4711));
        for other in [
            "impulse-db-cwd-Ab12Cd",
            "impulse-db-copies",
            "impulse-db-root--cache-impulse-db",
            "impulse-db-4711-0123",
            "impulse-db-4711-0123456789abcdeg",
            "impulse-db--0123456789abcdef",
            "impulse-db-0-0123456789abcdef",
            "impulse-db-+1-0123456789abcdef",
            "other-4711-0123456789abcdef",
        ] {
            assert_eq!(leftover_pid(other), None, "{other}");
        }
    }

    /// A killed run's directory is removed by a later run; a live
    /// process's directory, this process's own, a young one, another
    /// user's, a link and other names stay.
    #[test]
    fn the_directories_of_gone_processes_are_removed() {
        let base = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let mut sleeper = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let dir = |pid: u32| base.path().join(format!("{PREFIX}{pid}-00112233445566ff"));
        for d in [dir(gone), dir(sleeper.id()), dir(std::process::id())] {
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join(".s.PGSQL.5432"), "").unwrap();
        }
        let unrelated = base.path().join(format!("{PREFIX}cwd-x"));
        std::fs::create_dir(&unrelated).unwrap();
        // A link named like a gone process's directory, to a directory.
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("keep"), "").unwrap();
        let link = base.path().join(format!("{PREFIX}{gone}-ffeeddccbbaa9988"));
        std::os::unix::fs::symlink(elsewhere.path(), &link).unwrap();
        let uid = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(base.path()).unwrap());

        // Right after it was made, a gone process's directory may still be
        // another PID namespace's live one.
        remove_leftovers(base.path(), uid, SystemTime::now());
        assert!(dir(gone).exists(), "a young directory stays");

        // A modification time in the future is no age.
        let future = base.path().join(format!("{PREFIX}{gone}-aaaaaaaaaaaaaaaa"));
        std::fs::create_dir(&future).unwrap();
        std::fs::File::open(&future)
            .unwrap()
            .set_modified(SystemTime::now() + LEFTOVER_AGE * 5000)
            .unwrap();
        remove_leftovers(base.path(), uid, SystemTime::now());
        assert!(future.exists());

        // Another user's directories stay.
        remove_leftovers(base.path(), uid + 1, SystemTime::now() + LEFTOVER_AGE * 2);
        assert!(dir(gone).exists(), "another user's directory stays");

        remove_leftovers(base.path(), uid, SystemTime::now() + LEFTOVER_AGE * 2);
        let _ = sleeper.kill();
        let _ = sleeper.wait();

        assert!(
            !dir(gone).exists(),
            "the gone process's directory is removed"
        );
        assert!(
            dir(sleeper.id()).exists(),
            "a live process's directory stays"
        );
        assert!(dir(std::process::id()).exists(), "this process's own stay");
        assert!(unrelated.exists());
        assert!(link.symlink_metadata().is_ok(), "a link is not a directory");
        assert!(elsewhere.path().join("keep").exists(), "nor followed");
    }
}
