//! A copy of the workspace that a test changes and builds, as a user's
//! checkout would be: the walkthrough and the adoption of a Prisma history.
//! Builds share one cached target directory outside the checkout, so
//! these tests run on their own (`scripts/test` runs the ignored tests
//! after the rest).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Out, bin, empty_dir};

/// The repository's tracked and untracked (not ignored) files, copied.
pub fn copy_workspace() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let copy = empty_dir().join("workspace");
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "mkdir -p '{0}' && cd '{1}' && git ls-files -co --exclude-standard | \
             tar -cf - -T - | tar -xf - -C '{0}'",
            copy.display(),
            repo.display()
        ))
        .status()
        .expect("run sh");
    assert!(status.success(), "copy the workspace");
    copy
}

/// Builds the copy's workspace and returns its `migrate` binary.
pub fn build(copy: &Path) -> PathBuf {
    let target = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".cache/impulse-db/walkthrough-target"))
        .unwrap_or_else(|| std::env::temp_dir().join("impulse-db-walkthrough-target"));
    let out = Command::new("cargo")
        .args(["build", "--workspace", "--offline", "--quiet"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(copy)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "the copy builds:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
