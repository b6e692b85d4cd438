//! A copy of the workspace that a test changes and builds, as a user's
//! checkout would be: the walkthrough and the adoption of a Prisma history.
//! Builds share one cached target directory outside the checkout, so
//! these tests run on their own (`scripts/test` runs the ignored tests
//! after the rest).

use std::fs::{File, TryLockError};
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::{
    Out, bin, empty_dir, make_traversable, reap_after_exit, stop_clusters_and_remove,
};

/// The repository's tracked and untracked (not ignored) files, copied
/// into a directory of this test process.
pub fn copy_workspace() -> PathBuf {
    let copy = empty_dir().join("workspace");
    copy_into(&copy);
    copy
}

/// A copy of the workspace that [`build`] compiles, held by this test
/// process until it is dropped.
pub struct BuildCopy {
    path: PathBuf,
    _lock: File,
}

impl Deref for BuildCopy {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl AsRef<Path> for BuildCopy {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// Like [`copy_workspace`], at a path that stays the same from run to run
/// (`<temp>/impulse-db-copies/<name>`): cargo keys the incremental caches
/// of the workspace's own crates by their path, so a build there takes
/// seconds, where one at a new path compiled them all again (about a
/// minute, on every version of the matrix). The files get the current
/// time (`tar -m`): cargo decides freshness by modification times, and
/// the repository's older times on files the last run changed would pass
/// for fresh. A lock file keeps two test processes out of one copy (the
/// wait is bounded); a cluster a killed run left there is stopped first,
/// and the copy is removed, under the lock, once this process is gone.
pub fn copy_workspace_to_build(name: &str) -> BuildCopy {
    let root = std::env::temp_dir().join("impulse-db-copies");
    std::fs::create_dir_all(&root).expect("create the copies' directory");
    make_traversable(&root);
    let lock_path = root.join(format!("{name}.lock"));
    let lock = File::create(&lock_path).expect("create the copy's lock file");
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!(
                "cannot lock {} ({e}): another test process builds this copy",
                lock_path.display()
            ),
        }
    }
    let path = root.join(name);
    let clear = root.join(format!("{name}.clear.sh"));
    std::fs::write(&clear, stop_clusters_and_remove(&path)).expect("write the copy's cleanup");
    let status = Command::new("sh").arg(&clear).status().expect("run sh");
    assert!(status.success(), "clear {}", path.display());
    copy_into(&path);
    make_traversable(&path);
    reap_after_exit(&format!(
        "flock -w 1800 '{}' sh '{}'",
        lock_path.display(),
        clear.display()
    ));
    BuildCopy { path, _lock: lock }
}

/// Copies the repository's tracked and untracked (not ignored) files into
/// `dir`, with the current time as their modification time.
fn copy_into(dir: &Path) {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "mkdir -p '{0}' && cd '{1}' && git ls-files -co --exclude-standard | \
             tar -cf - -T - | tar -xmf - -C '{0}'",
            dir.display(),
            repo.display()
        ))
        .status()
        .expect("run sh");
    assert!(status.success(), "copy the workspace");
}

/// Builds the copy's workspace and returns its `migrate` binary. Without
/// debug info: no debugger sees these binaries, and the build and its
/// link are the longest steps of the tests that use it. Prints how long
/// the build took.
pub fn build(copy: &Path) -> PathBuf {
    let target = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/impulse-db/walkthrough-target"))
        .unwrap_or_else(|| std::env::temp_dir().join("impulse-db-walkthrough-target"));
    let started = Instant::now();
    let out = Command::new("cargo")
        .args(["build", "--workspace", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_PROFILE_DEV_DEBUG", "false")
        .current_dir(copy)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "the copy builds:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("built the copy in {:?}", started.elapsed());
    target.join("debug/migrate")
}

/// Runs `binary` with `args` in the copy.
pub fn migrate_in(copy: &Path, binary: &Path, args: &[&str], secrets: &[String]) -> Out {
    let mut cmd = bin(binary);
    cmd.args(args).current_dir(copy);
    Out::capture(&mut cmd, secrets)
}

/// The repository's own build of `migrate`: built before any change the
/// test makes to its copy.
pub fn released() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_migrate"))
}
