//! `migrate import-prisma [--from DIR] [--schema PATH]`: turns a team's
//! existing Prisma history (`prisma/migrations`) into the migration crate,
//! so that `migrate` can take over a database Prisma built.
//!
//! For every directory of DIR that the crate lacks, the directory is copied
//! into the workspace's `prisma/migrations` (unless DIR is that folder) and
//! its sea-orm migration is written and registered in `lib.rs`, in the
//! directories' order. The imported history is the team's truth: a crate
//! migration that is not in it (this project's own first migration stands
//! for a greenfield `init`) would run against their database and fail, so
//! it is removed, with its directory, and named in the output. Imported
//! from the workspace's own folder (a teammate's `prisma migrate dev`
//! added a directory), nothing is removed. `--schema` copies their
//! `schema.prisma` too. Nothing touches a database; the binary embeds the
//! result once rebuilt (`cargo migrate up`).

use std::path::{Path, PathBuf};

use migration::prisma::module_name;

use crate::cli::ImportPrismaArgs;
use crate::commands::Ctx;
use crate::error::{Code, Error, Exit, Result};
use crate::{scaffold, workspace};

/// What `migrate import-prisma` prints.
#[derive(Debug, serde::Serialize)]
pub struct ImportReport {
    pub ok: bool,
    /// Directories whose sea-orm migration was written and registered.
    pub imported: Vec<String>,
    /// Crate migrations that were not in the imported history, removed.
    pub removed: Vec<String>,
    /// `--schema` was copied to `prisma/schema.prisma`.
    pub schema_copied: bool,
    /// What to run next.
    pub next: String,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for name in &self.imported {
            writeln!(f, "  imported {name}")?;
        }
        for name in &self.removed {
            writeln!(
                f,
                "  removed  {name} (not in the imported history: it stood for a fresh database's init)"
            )?;
        }
        if self.schema_copied {
            writeln!(f, "  copied   schema.prisma to prisma/schema.prisma")?;
        }
        if self.imported.is_empty() && self.removed.is_empty() {
            writeln!(f, "nothing to import: the crate has every directory")?;
        } else {
            writeln!(
                f,
                "imported {} migration(s), removed {}",
                self.imported.len(),
                self.removed.len()
            )?;
        }
        write!(f, "next: {}", self.next)
    }
}

fn invalid(message: impl Into<String>) -> Error {
    Error::of(Code::ImportInvalid, message)
}

pub fn run(ctx: &Ctx, args: &ImportPrismaArgs) -> Result<Exit> {
    let target = PathBuf::from("prisma/migrations");
    let lib = args.migration_dir.join("src/lib.rs");
    let lib_text = std::fs::read_to_string(&lib).map_err(|e| {
        Error::new(
            Code::NewNoMigrationCrate,
            format!("cannot read {}: {e}", lib.display()),
            "run from the workspace root, or pass --migration-dir",
        )
    })?;
    if !args.from.is_dir() {
        return Err(invalid(format!(
            "{} is not a directory",
            args.from.display()
        )));
    }
    check_provider(&args.from)?;
    let incoming = workspace::read_directories(&args.from).map_err(|e| invalid(e.message))?;
    if incoming.is_empty() {
        return Err(invalid(format!(
            "{} has no migration (no <name>/migration.sql)",
            args.from.display()
        )));
    }
    let same_folder = same_path(&args.from, &target);
    scaffold::create_dir(&target)?;

    // Copy what the workspace lacks; a same-named directory must be the same.
    if !same_folder {
        for (name, sql) in &incoming {
            let to = target.join(name);
            match std::fs::read_to_string(to.join("migration.sql")) {
                Ok(existing) if existing == *sql => {}
                Ok(_) => {
                    return Err(invalid(format!(
                        "{} already exists with another migration.sql than {}",
                        to.display(),
                        args.from.join(name).display()
                    )));
                }
                Err(_) => {
                    scaffold::create_dir(&to)?;
                    scaffold::write(&to.join("migration.sql"), sql)?;
                    let down = args.from.join(name).join("down.sql");
                    if down.is_file() {
                        scaffold::write(&to.join("down.sql"), &scaffold::read(&down)?)?;
                    }
                }
            }
        }
        let lock = args.from.join("migration_lock.toml");
        let lock_text = if lock.is_file() {
            scaffold::read(&lock)?
        } else {
            scaffold::MIGRATION_LOCK.to_string()
        };
        scaffold::write(&target.join("migration_lock.toml"), &lock_text)?;
    } else if !target.join("migration_lock.toml").exists() {
        scaffold::write(
            &target.join("migration_lock.toml"),
            scaffold::MIGRATION_LOCK,
        )?;
    }

    let src = args.migration_dir.join("src");
    let registered = scaffold::mod_names(&lib_text);
    let wanted: Vec<(String, String)> = incoming
        .iter()
        .map(|(name, _)| (name.clone(), module_name(name)))
        .collect();
    let mut imported = Vec::new();
    for (dir, module) in &wanted {
        if registered.contains(module) {
            continue;
        }
        let file = src.join(format!("{module}.rs"));
        if !file.exists() {
            scaffold::write(
                &file,
                &scaffold::migration_module(dir, "imported from the Prisma history."),
            )?;
        }
        imported.push(dir.clone());
    }
    let mut removed = Vec::new();
    if !same_folder {
        for module in &registered {
            if wanted.iter().any(|(_, m)| m == module) {
                continue;
            }
            let file = src.join(format!("{module}.rs"));
            if file.exists() {
                std::fs::remove_file(&file)
                    .map_err(|e| invalid(format!("cannot remove {}: {e}", file.display())))?;
            }
            // Its directory too, when the workspace has one for it.
            let mut named = false;
            for entry in std::fs::read_dir(&target).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if module_name(&name) == *module && entry.path().is_dir() {
                    std::fs::remove_dir_all(entry.path()).map_err(|e| {
                        invalid(format!("cannot remove {}: {e}", entry.path().display()))
                    })?;
                    removed.push(name);
                    named = true;
                }
            }
            if !named {
                removed.push(module.clone());
            }
        }
    }
    // Every directory of the workspace that has a migration, in name order.
    let all = workspace::read_directories(&target).map_err(|e| invalid(e.message))?;
    let modules: Vec<String> = all.iter().map(|(name, _)| module_name(name)).collect();
    scaffold::write(&lib, &scaffold::with_modules(&lib_text, &modules))?;

    let schema_copied = match &args.schema {
        Some(schema) => {
            scaffold::write(Path::new("prisma/schema.prisma"), &scaffold::read(schema)?)?;
            true
        }
        None => false,
    };
    let next = "rebuild and apply: `cargo migrate up` (on the database Prisma built it applies \
                nothing and `migrate status` lists every migration as applied), then \
                `cargo migrate entities` for the entities of the tables"
        .to_string();
    ctx.ui.result(&ImportReport {
        ok: true,
        imported,
        removed,
        schema_copied,
        next,
    });
    Ok(Exit::Ok)
}

/// A Prisma folder with a `migration_lock.toml` must be PostgreSQL's.
fn check_provider(dir: &Path) -> Result<()> {
    let lock = dir.join("migration_lock.toml");
    let Ok(text) = std::fs::read_to_string(&lock) else {
        return Ok(());
    };
    let provider = text.lines().find_map(|l| {
        let (key, value) = l.split_once('=')?;
        (key.trim() == "provider").then(|| value.trim().trim_matches('"').to_string())
    });
    match provider.as_deref() {
        Some("postgresql") | None => Ok(()),
        Some(other) => Err(invalid(format!(
            "{} says provider = \"{other}\": this tool manages PostgreSQL only",
            lock.display()
        ))),
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
