//! The real Prisma CLI (7.10.1, with Prisma's own WebAssembly schema
//! engine behind a stand-in for the native binary) as the oracle for what
//! Prisma does: the reference install of `tests/prisma-ref/`, which
//! `tests/prisma-ref/install.sh` puts in `$HOME/.cache/impulse-db/prisma-ref`
//! (or `PRISMA_REF_DIR`). A missing install fails the test with that
//! command; nothing skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Out, TestDb, empty_dir};

/// The repository, for the reference's own files.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where the reference is installed; fails loudly when it is not.
pub fn reference() -> PathBuf {
    let dir = std::env::var_os("PRISMA_REF_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/impulse-db/prisma-ref"))
        })
        .expect("HOME or PRISMA_REF_DIR");
    assert!(
        dir.join("node_modules/prisma/build/index.js").is_file(),
        "the Prisma reference is not installed in {}: run `bash tests/prisma-ref/install.sh` \
         (it needs node and the npm registry)",
        dir.display()
    );
    dir
}

/// A Prisma project directory: `prisma.config.ts`, `prisma/schema.prisma`,
/// `prisma/migrations`, and the reference's `node_modules`.
pub struct Project {
    pub dir: PathBuf,
}

impl Project {
    /// A project with `schema` (Prisma 7 form: no `url` in the datasource).
    pub fn new(schema: &str) -> Project {
        let reference = reference();
        let dir = empty_dir();
        std::os::unix::fs::symlink(reference.join("node_modules"), dir.join("node_modules"))
            .expect("link node_modules");
        for file in [
            "schema-engine",
            "se.mjs",
            "package.json",
            "prisma.config.ts",
        ] {
            std::fs::copy(repo().join("tests/prisma-ref").join(file), dir.join(file))
                .expect("copy the reference's files");
        }
        std::fs::create_dir_all(dir.join("prisma/migrations")).expect("create prisma/");
        std::fs::write(dir.join("prisma/schema.prisma"), schema).expect("write the schema");
        Project { dir }
    }

    pub fn migrations(&self) -> PathBuf {
        self.dir.join("prisma/migrations")
    }

    /// Copies the directories of a migrations folder (and its lock file).
    pub fn copy_migrations(&self, from: &Path) {
        copy_dir(from, &self.migrations());
    }

    /// Runs the Prisma CLI with `args` against `db` (its owner's URL).
    pub fn prisma(&self, db: &TestDb, args: &[&str]) -> Out {
        let mut cmd = Command::new("node");
        cmd.arg(self.dir.join("node_modules/prisma/build/index.js"))
            .args(args)
            .current_dir(&self.dir)
            .env("DATABASE_URL", db.url())
            .env(
                "PRISMA_SCHEMA_ENGINE_BINARY",
                self.dir.join("schema-engine"),
            )
            .env("PRISMA_HIDE_UPDATE_MESSAGE", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("DIRECT_URL");
        db.run(&mut cmd)
    }

    /// `prisma migrate dev --create-only --name NAME` for the schema now
    /// in the project: the new migration's directory name.
    pub fn create_only(&self, db: &TestDb, name: &str) -> String {
        let before = dir_names(&self.migrations());
        self.prisma(db, &["migrate", "dev", "--create-only", "--name", name])
            .expect(0);
        let after = dir_names(&self.migrations());
        after
            .into_iter()
            .find(|d| !before.contains(d))
            .unwrap_or_else(|| panic!("prisma wrote no migration for {name}"))
    }

    /// Replaces `prisma/schema.prisma`.
    pub fn set_schema(&self, schema: &str) {
        std::fs::write(self.dir.join("prisma/schema.prisma"), schema).expect("write the schema");
    }
}

/// The directories of a migrations folder, sorted.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy");
    for entry in std::fs::read_dir(from)
        .expect("read the original")
        .flatten()
    {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}

/// The project's schema, in Prisma 7 form.
pub fn project_schema() -> String {
    std::fs::read_to_string(repo().join("prisma/schema.prisma")).expect("read prisma/schema.prisma")
}
