//! The checkout this binary may be running in, and whether the binary is
//! current for it.
//!
//! The migrations are compiled in, so that the deploy binary is
//! self-contained. Inside the workspace that is also a trap: after `migrate
//! new`, `import-prisma` or a teammate's `prisma migrate dev`, an old
//! binary would report "nothing pending" for migrations it has never seen.
//! So when the current directory (or one above it) is the workspace, its
//! `prisma/migrations` is compared with what the binary embeds, names and
//! checksums, and a difference is refused with the rebuild command.

use std::path::{Path, PathBuf};

use migration::prisma::Directory;

use crate::error::{Code, Error, Result};
use crate::history;

/// The workspace root at or above `start`: a directory holding both
/// `prisma/migrations` and the migration crate (`migration/src/lib.rs`).
pub fn root_from(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join("prisma/migrations").is_dir() && d.join("migration/src/lib.rs").is_file())
        .map(Path::to_path_buf)
}

/// One directory of `prisma/migrations`, as it is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnDisk {
    /// The directory's name.
    pub name: String,
    /// Its `migration.sql`.
    pub migration_sql: String,
    /// Its `down.sql`, when there is one.
    pub down_sql: Option<String>,
}

/// The directories of `dir` (`prisma/migrations`) that hold a
/// `migration.sql`, in name order: what `migration/build.rs` embeds (none
/// when `dir` does not exist yet). An unreadable directory or file comes
/// back with its path.
pub fn read_migrations(dir: &Path) -> std::result::Result<Vec<OnDisk>, (PathBuf, std::io::Error)> {
    let mut found = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(found),
        Err(e) => return Err((dir.to_path_buf(), e)),
    };
    for entry in entries.flatten() {
        let path = entry.path().join("migration.sql");
        if !path.is_file() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(String::from) else {
            continue;
        };
        let migration_sql = std::fs::read_to_string(&path).map_err(|e| (path, e))?;
        let down = entry.path().join("down.sql");
        let down_sql = match down.is_file() {
            true => Some(std::fs::read_to_string(&down).map_err(|e| (down, e))?),
            false => None,
        };
        found.push(OnDisk {
            name,
            migration_sql,
            down_sql,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

/// The directories of `dir` (`prisma/migrations`): name and migration.sql,
/// in name order.
pub fn read_directories(dir: &Path) -> Result<Vec<(String, String)>> {
    let found = read_migrations(dir).map_err(|(path, e)| {
        Error::new(
            Code::MigrationsStaleBinary,
            format!("cannot read {}: {e}", path.display()),
            "check the permissions of prisma/migrations",
        )
    })?;
    Ok(found
        .into_iter()
        .map(|d| (d.name, d.migration_sql))
        .collect())
}

/// Refuses to go on when the binary's embedded migrations differ from the
/// workspace's (only inside the workspace; elsewhere, e.g. a deploy job
/// with the binary alone, there is nothing to compare).
pub fn check_current(embedded: &[Directory]) -> Result<()> {
    let Ok(cwd) = std::env::current_dir() else {
        return Ok(());
    };
    let Some(root) = root_from(&cwd) else {
        return Ok(());
    };
    let files = read_directories(&root.join("prisma/migrations"))?;
    let differences = compare(embedded, &files);
    if differences.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        Code::MigrationsStaleBinary,
        format!(
            "this migrate binary was built from other migrations than {}: {}",
            root.join("prisma/migrations").display(),
            first_of(&differences)
        ),
        "rebuild it: in the workspace, run the tool as `cargo migrate <command>` (a cargo \
         alias that builds first), or `cargo build --release`",
    ))
}

/// The differences said in one line: the first few, then how many more
/// (a branch switch can differ by hundreds of migrations).
fn first_of(differences: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut said = differences[..differences.len().min(SHOWN)].join("; ");
    if differences.len() > SHOWN {
        said += &format!("; and {} more", differences.len() - SHOWN);
    }
    said
}

/// What differs between the embedded directories and the files. Pure.
pub fn compare(embedded: &[Directory], files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, sql) in files {
        match embedded.iter().find(|d| d.name == name) {
            None => out.push(format!("{name} is new in prisma/migrations")),
            Some(d) if d.migration_sql != sql => out.push(format!(
                "{name}/migration.sql changed (file {}, binary {})",
                short(&history::checksum(sql)),
                short(&history::checksum(d.migration_sql))
            )),
            Some(_) => {}
        }
    }
    for d in embedded {
        if !files.iter().any(|(name, _)| name == d.name) {
            out.push(format!("{} is gone from prisma/migrations", d.name));
        }
    }
    out
}

fn short(checksum: &str) -> &str {
    &checksum[..checksum.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Directory = Directory {
        name: "20250101000000_a",
        migration_sql: "CREATE TABLE a ();\n",
        down_sql: None,
    };

    #[test]
    fn many_differences_are_said_in_one_line() {
        let many: Vec<String> = (1..=200).map(|i| format!("t{i} is new")).collect();
        assert_eq!(
            first_of(&many),
            "t1 is new; t2 is new; t3 is new; t4 is new; t5 is new; and 195 more"
        );
        assert_eq!(first_of(&many[..2]), "t1 is new; t2 is new");
    }

    #[test]
    fn names_and_contents_are_compared() {
        let same = [("20250101000000_a".to_string(), A.migration_sql.to_string())];
        assert!(compare(&[A], &same).is_empty());
        let added = [
            same[0].clone(),
            ("20250102000000_b".to_string(), "SELECT 1;\n".to_string()),
        ];
        assert_eq!(
            compare(&[A], &added),
            ["20250102000000_b is new in prisma/migrations"]
        );
        let edited = [(
            "20250101000000_a".to_string(),
            "CREATE TABLE a (x int);\n".to_string(),
        )];
        assert!(compare(&[A], &edited)[0].starts_with("20250101000000_a/migration.sql changed"));
        assert_eq!(
            compare(&[A], &[]),
            ["20250101000000_a is gone from prisma/migrations"]
        );
    }

    #[test]
    fn the_workspace_is_found_from_below() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(root_from(&repo.join("src/doctor")).as_deref(), Some(repo));
        assert_eq!(root_from(Path::new("/")), None);
    }
}
