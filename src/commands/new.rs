//! `migrate new <name>`: the next migration, generated from
//! `schema.prisma`, laid out as Prisma lays it out:
//! `prisma/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql` and
//! `down.sql`, plus its sea-orm migration `m<YYYYMMDD>_<HHMMSS>_<name>.rs`
//! registered in `migration/src/lib.rs`.
//!
//! FROM is the catalog the workspace's migrations build, TO the one
//! `schema.prisma` derives (`--schema`). FROM comes from the directories
//! of `prisma/migrations` *as they are on disk now*, with the list of
//! `migration/src/lib.rs`, not from the migrations this binary embeds:
//! `new` is often run twice in a row before anything is rebuilt, and a
//! stale binary must not write a migration against an old history (so
//! `new` is exempt from the stale-binary refusal, and needs no rebuild).
//! They are replayed on a scratch database of the local cluster by the
//! runner itself, as `migrate up` runs them: each `migration.sql` sent
//! whole in its own transaction with its history row, then the Rust steps
//! of the migrations this binary was built with (a migration added since
//! replays its SQL only, and is named when its module has more than the
//! generated template).
//!
//! The engine (`prisma::migrate`) renders the SQL Prisma Migrate 7.10's
//! `prisma migrate dev --create-only` writes for the change, with its
//! `/* Warnings: */` header; `down.sql` is the engine with the catalogs
//! swapped. Where the engine knowingly writes other SQL than Prisma (its
//! notes), the file's header says so. Both are tried on the scratch
//! database before anything is written: `migration.sql` must give TO and
//! `down.sql` FROM again, or nothing is written (a bug, exit 70). Then the
//! files are written and the entities regenerated from the scratch
//! database (`--no-entities` skips that), with `migrate entities`' own
//! generation.
//!
//! When `schema.prisma` and the migrations agree, nothing is written (exit
//! 0). A change the engine refuses is `prisma.cannot_generate` (exit 2),
//! naming the construct. `--empty` writes a blank migration for
//! hand-written SQL instead, without any database.

use std::path::{Path, PathBuf};

use migration::prisma::{PrismaMigrator, module_name};
use regex::Regex;

use crate::catalog;
use crate::cli::NewArgs;
use crate::commands::entities::{self, WriteReport};
use crate::commands::prisma_check::schema_catalog;
use crate::commands::{Ctx, scratch::Scratch};
use crate::error::{Code, Error, Exit, Result};
use crate::migrations::{self, Known, NotCompiled};
use crate::prisma::Catalog;
use crate::prisma::migrate::{self, Migration, Refused};
use crate::{scaffold, workspace};

/// What `migrate new` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A migration was generated from `schema.prisma`.
    Generated,
    /// `schema.prisma` and the migrations agree: nothing was written.
    UpToDate,
    /// `--empty`: a blank migration for hand-written SQL.
    Empty,
}

/// Where a written file knowingly differs from Prisma Migrate's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Differs {
    /// `migration.sql` or `down.sql`.
    pub file: &'static str,
    /// The object concerned (`User.id`, `enum Role`).
    pub path: String,
    /// What Prisma would write, what was written instead, and why.
    pub message: String,
}

/// What `migrate new` prints.
#[derive(Debug, serde::Serialize)]
pub struct NewReport {
    pub ok: bool,
    pub outcome: Outcome,
    /// The migration's name, as `_prisma_migrations` records it (none
    /// when nothing was written).
    pub migration: Option<String>,
    /// The migration's directory.
    pub directory: Option<PathBuf>,
    /// Its sea-orm migration.
    pub file: Option<PathBuf>,
    /// Prisma's warnings for the change (the header of `migration.sql`).
    pub warnings: Vec<String>,
    /// Where the SQL knowingly differs from Prisma's (also said in the
    /// file's header).
    pub notes: Vec<Differs>,
    /// The regenerated entities (none with `--no-entities` or when nothing
    /// was written).
    pub entities: Option<WriteReport>,
    /// What to do next.
    pub next: Option<String>,
    #[serde(skip)]
    schema: PathBuf,
    #[serde(skip)]
    migrations: PathBuf,
}

impl std::fmt::Display for NewReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (Some(directory), Some(file)) = (&self.directory, &self.file) else {
            return write!(
                f,
                "{} matches the migrations of {}: nothing to write",
                self.schema.display(),
                self.migrations.display()
            );
        };
        match self.outcome {
            Outcome::Empty => write!(f, "{}", directory.display())?,
            _ => write!(
                f,
                "{}: migration.sql (the SQL Prisma Migrate writes for {}), down.sql, and {}",
                directory.display(),
                self.schema.display(),
                file.display()
            )?,
        }
        for warning in &self.warnings {
            write!(f, "\nwarning: {warning}")?;
        }
        for note in &self.notes {
            write!(
                f,
                "\n{} differs from Prisma's (its header says so): {}: {}",
                note.file, note.path, note.message
            )?;
        }
        if let Some(entities) = &self.entities {
            write!(f, "\nentities: {entities}")?;
        }
        if let Some(next) = &self.next {
            write!(f, "\nnext: {next}")?;
        }
        Ok(())
    }
}

/// The workspace's migration files, as `new` finds them.
struct Layout {
    /// `migration/src`.
    src: PathBuf,
    /// `migration/src/lib.rs` and its text.
    lib: PathBuf,
    lib_text: String,
    /// `prisma/migrations`.
    migrations: PathBuf,
}

/// A new migration's directory name, module and files, before anything is
/// written.
struct Planned {
    directory_name: String,
    module: String,
    directory: PathBuf,
    file: PathBuf,
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &NewArgs) -> Result<Exit> {
    let name = &args.name;
    if !valid_name(name) {
        return Err(Error::new(
            Code::NewInvalidName,
            "the migration's name is not in snake_case",
            "use lower-case letters, digits and single underscores, starting with a letter: \
             add_user_nickname",
        ));
    }
    let layout = Layout::read(args)?;
    if scaffold::mod_names(&layout.lib_text)
        .iter()
        .any(|m| m.ends_with(&format!("_{name}")))
    {
        return Err(Error::new(
            Code::NewExists,
            format!(
                "a migration named `{name}` is already registered in {}",
                layout.lib.display()
            ),
            "pick another name",
        ));
    }
    if args.empty {
        let report = write_empty(ctx, args, &layout)?;
        ctx.ui.result(&report);
        return Ok(Exit::Ok);
    }

    let to = schema_catalog(&args.schema)?;
    let known = replayable::<M>(ctx, &layout)?;
    let scratch = Scratch::replayed(ctx, &known, None).await?;
    ctx.ui.progress(format_args!(
        "replayed the {} migration(s) of {} on a scratch database",
        known.len(),
        layout.migrations.display()
    ));
    let result = generate(ctx, args, &layout, &scratch, known, &to).await;
    scratch.drop_database(ctx).await;
    ctx.ui.result(&result?);
    Ok(Exit::Ok)
}

impl Layout {
    fn read(args: &NewArgs) -> Result<Layout> {
        let src = args.migration_dir.join("src");
        let lib = src.join("lib.rs");
        let lib_text = std::fs::read_to_string(&lib).map_err(|e| {
            Error::new(
                Code::NewNoMigrationCrate,
                format!("cannot read {}: {e}", lib.display()),
                "run from the workspace root, or pass --migration-dir",
            )
        })?;
        Ok(Layout {
            src,
            lib,
            lib_text,
            migrations: args.prisma_dir.join("migrations"),
        })
    }

    /// The directory, module and file names of migration `name` made now.
    fn plan(&self, name: &str) -> Planned {
        let existing: Vec<String> = std::fs::read_dir(&self.migrations)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let stamp = next_timestamp(&existing, chrono::Utc::now().naive_utc());
        let directory_name = format!("{stamp}_{name}");
        let module = module_name(&directory_name);
        Planned {
            directory: self.migrations.join(&directory_name),
            file: self.src.join(format!("{module}.rs")),
            directory_name,
            module,
        }
    }

    /// Writes the directory (`migration.sql`, `down.sql`, and Prisma's
    /// `migration_lock.toml` when missing), the sea-orm migration, and
    /// registers it in `lib.rs`.
    fn write(
        &self,
        planned: &Planned,
        migration_sql: &str,
        down_sql: &str,
        what: &str,
    ) -> Result<()> {
        scaffold::create_dir(&planned.directory)?;
        let lock = self.migrations.join("migration_lock.toml");
        if !lock.exists() {
            scaffold::write(&lock, scaffold::MIGRATION_LOCK)?;
        }
        scaffold::write_new(&planned.directory.join("migration.sql"), migration_sql)?;
        scaffold::write_new(&planned.directory.join("down.sql"), down_sql)?;
        scaffold::write_new(
            &planned.file,
            &scaffold::migration_module(&planned.directory_name, what),
        )?;
        scaffold::write(
            &self.lib,
            &scaffold::register(&self.lib_text, &planned.module),
        )
    }
}

/// The workspace's migrations from disk, ready for the runner (see the
/// module's documentation); says which ones replay without their Rust
/// steps.
fn replayable<M: PrismaMigrator>(ctx: &Ctx, layout: &Layout) -> Result<Vec<Known>> {
    let on_disk = workspace::read_migrations(&layout.migrations).map_err(|(path, e)| {
        Error::new(
            Code::NewNoMigrationCrate,
            format!("cannot read {}: {e}", path.display()),
            "run from the workspace root, or pass --prisma-dir",
        )
    })?;
    let compiled = M::directories();
    for directory in &on_disk {
        if compiled.iter().any(|d| d.name == directory.name) {
            continue;
        }
        let module = module_name(&directory.name);
        let path = layout.src.join(format!("{module}.rs"));
        let plain = std::fs::read_to_string(&path)
            .is_ok_and(|text| scaffold::is_plain_module(&text, &directory.name));
        if !plain {
            ctx.ui.progress(format_args!(
                "{} is newer than this binary: its SQL is replayed from disk, the Rust steps of \
                 {} are not (rebuild with `cargo migrate ...` to include them)",
                directory.name,
                path.display()
            ));
        }
    }
    let directories = on_disk
        .into_iter()
        .map(|d| migrations::leaked_directory(d.name, d.migration_sql, d.down_sql))
        .collect();
    migrations::from_disk::<M>(directories, &scaffold::mod_names(&layout.lib_text))
}

async fn generate(
    ctx: &Ctx,
    args: &NewArgs,
    layout: &Layout,
    scratch: &Scratch,
    mut known: Vec<Known>,
    to: &Catalog,
) -> Result<NewReport> {
    let from = scratch.catalog().await?;
    let options = migrate::Options {
        schema: scratch.session.schema.clone(),
    };
    let up = migrate::migration(&from, to, &options)
        .map_err(|r| cannot_generate(&args.schema, "migration.sql", &r))?;
    if up.is_empty() {
        return Ok(NewReport {
            ok: true,
            outcome: Outcome::UpToDate,
            migration: None,
            directory: None,
            file: None,
            warnings: Vec::new(),
            notes: Vec::new(),
            entities: None,
            next: None,
            schema: args.schema.clone(),
            migrations: layout.migrations.clone(),
        });
    }
    let down = migrate::migration(to, &from, &options)
        .map_err(|r| cannot_generate(&args.schema, "down.sql (the reverse)", &r))?;
    let (migration_sql, down_sql) = (up.file(), down.file());

    let planned = layout.plan(&args.name);
    // What `up` would warn about, said now, while the change is still cheap.
    super::lint::warn(
        ctx.ui,
        &super::lint::lint_migration(&planned.directory_name, &migration_sql),
    );
    let directory = migrations::leaked_directory(
        planned.directory_name.clone(),
        migration_sql.clone(),
        Some(down_sql.clone()),
    );
    let migration: Box<dyn sea_orm_migration::MigrationTrait> =
        Box::new(NotCompiled::new(planned.module.clone()));
    known.push(Known::new(directory, migration));
    try_both_ways(scratch, &known, &from, to, &options).await?;
    ctx.ui.progress(
        "tried on the scratch database: migration.sql gives schema.prisma's catalog, \
         down.sql the previous one",
    );

    layout.write(
        &planned,
        &migration_sql,
        &down_sql,
        &format!(
            "{}, generated from schema.prisma by `migrate new`.",
            args.name
        ),
    )?;
    ctx.ui.progress(format_args!(
        "created {} and {}, registered in {}",
        planned.directory.display(),
        planned.file.display(),
        layout.lib.display()
    ));

    let entities = if args.no_entities {
        None
    } else {
        let generated = entities::generate(&scratch.session).await?;
        Some(entities::write(ctx, &generated, &args.entity_dir)?)
    };
    Ok(NewReport {
        ok: true,
        outcome: Outcome::Generated,
        migration: Some(planned.directory_name.clone()),
        warnings: up.warnings.clone(),
        notes: differs("migration.sql", &up)
            .chain(differs("down.sql", &down))
            .collect(),
        entities,
        next: Some(format!(
            "review {}, then `cargo migrate up` (it rebuilds the binary with the migration and \
             applies it)",
            planned.directory.join("migration.sql").display()
        )),
        directory: Some(planned.directory),
        file: Some(planned.file),
        schema: args.schema.clone(),
        migrations: layout.migrations.clone(),
    })
}

fn differs<'a>(file: &'static str, m: &'a Migration) -> impl Iterator<Item = Differs> + 'a {
    m.notes.iter().map(move |n| Differs {
        file,
        path: n.path.clone(),
        message: n.message.clone(),
    })
}

/// Applies the new migration (the last of `known`) on the scratch
/// database, rolls it back, and applies it again: after `migration.sql`
/// the catalog must be `to`, after `down.sql` `from` again, for the
/// engine and for `catalog::diff` alike.
async fn try_both_ways(
    scratch: &Scratch,
    known: &[Known],
    from: &Catalog,
    to: &Catalog,
    options: &migrate::Options,
) -> Result<()> {
    scratch
        .up(known, None)
        .await
        .map_err(|e| not_what_it_should_be("migration.sql fails", &e.message))?;
    let after = scratch.catalog().await?;
    same(to, &after, options, "after migration.sql")?;
    scratch
        .down(known, 1)
        .await
        .map_err(|e| not_what_it_should_be("down.sql fails", &e.message))?;
    let restored = scratch.catalog().await?;
    same(from, &restored, options, "after down.sql")?;
    scratch
        .up(known, None)
        .await
        .map_err(|e| not_what_it_should_be("migration.sql fails the second time", &e.message))
}

fn same(
    expected: &Catalog,
    actual: &Catalog,
    options: &migrate::Options,
    when: &str,
) -> Result<()> {
    let differences = catalog::diff(expected, actual, "the expected catalog", "the database");
    let engine = migrate::migration(actual, expected, options);
    if differences.is_empty() && engine.as_ref().is_ok_and(Migration::is_empty) {
        return Ok(());
    }
    let mut what: Vec<String> = differences
        .iter()
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect();
    match engine {
        Ok(m) if !m.is_empty() => what.push(format!("still to migrate: {}", m.script.trim())),
        Err(refused) => what.push(refused.to_string()),
        Ok(_) => {}
    }
    Err(not_what_it_should_be(
        &format!("{when}, the scratch database is not what it should be"),
        &what.join("; "),
    ))
}

/// The generated SQL does not do what the catalogs say: a bug.
fn not_what_it_should_be(what: &str, detail: &str) -> Error {
    Error::new(
        Code::Internal,
        format!(
            "the generated migration was tried on a scratch database: {what}: {detail}; nothing was written"
        ),
        "this is a bug in impulse-db: report it with the schema.prisma change; meanwhile write \
         the migration by hand with `migrate new NAME --empty`",
    )
}

fn cannot_generate(schema: &Path, file: &str, refused: &Refused) -> Error {
    let constructs: Vec<String> = refused.0.iter().map(ToString::to_string).collect();
    Error::new(
        Code::PrismaCannotGenerate,
        format!(
            "cannot write {file} for the change to {}: the SQL Prisma Migrate would write cannot \
             be reproduced for {}",
            schema.display(),
            constructs.join("; ")
        ),
        "write this migration by hand (`migrate new NAME --empty`, then the SQL Prisma Migrate \
         writes), or change schema.prisma so it avoids the construct",
    )
}

/// `--empty`: today's blank migration, for SQL written by hand.
fn write_empty(ctx: &Ctx, args: &NewArgs, layout: &Layout) -> Result<NewReport> {
    let planned = layout.plan(&args.name);
    layout.write(
        &planned,
        &sql_template(&args.name),
        "-- What undoes migration.sql, for `migrate down`.\n",
        &format!("{}.", args.name),
    )?;
    ctx.ui.progress(format_args!(
        "created {} and {}, registered in {}",
        planned.directory.display(),
        planned.file.display(),
        layout.lib.display()
    ));
    Ok(NewReport {
        ok: true,
        outcome: Outcome::Empty,
        migration: Some(planned.directory_name.clone()),
        warnings: Vec::new(),
        notes: Vec::new(),
        entities: None,
        next: Some(format!(
            "write the SQL in {} (and its reverse in down.sql), then `cargo migrate up`",
            planned.directory.join("migration.sql").display()
        )),
        directory: Some(planned.directory),
        file: Some(planned.file),
        schema: args.schema.clone(),
        migrations: layout.migrations.clone(),
    })
}

/// The `YYYYMMDDHHMMSS` of a new directory: `now` (UTC, as Prisma names
/// its directories), or one second after the latest timestamped directory
/// of `existing` when that is not earlier, so that the new migration sorts
/// last (the order Prisma applies them in, and `lib.rs` lists them in)
/// even after two `new`s in one second or with a clock behind a teammate's.
fn next_timestamp(existing: &[String], now: chrono::NaiveDateTime) -> String {
    const FORMAT: &str = "%Y%m%d%H%M%S";
    let latest = existing
        .iter()
        .filter_map(|name| name.get(..14))
        .filter_map(|stamp| chrono::NaiveDateTime::parse_from_str(stamp, FORMAT).ok())
        .max();
    let at = match latest {
        Some(latest) if latest >= now => latest + chrono::TimeDelta::seconds(1),
        _ => now,
    };
    at.format(FORMAT).to_string()
}

/// snake_case: a lower-case letter, then letters, digits and single underscores.
pub fn valid_name(name: &str) -> bool {
    Regex::new(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$").is_ok_and(|re| re.is_match(name))
}

fn sql_template(name: &str) -> String {
    format!(
        "-- {name}\n\
         -- Write the SQL Prisma Migrate would write for the matching change to\n\
         -- prisma/schema.prisma, so the Lambda's Prisma Client finds the catalog it\n\
         -- expects (`migrate prisma-check` verifies it). With Prisma 7:\n\
         --   npx prisma migrate diff --from-migrations prisma/migrations \\\n\
         --     --to-schema prisma/schema.prisma --script\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_snake_case() {
        for ok in ["add_user_nickname", "a", "v2_users"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "AddUser", "add-user", "_x", "x__y", "x_", "1st", "", "add user",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_new_directory_sorts_after_the_others() {
        let at = |s: &str| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y%m%d%H%M%S")
                .unwrap_or_else(|e| panic!("{s}: {e}"))
        };
        let now = at("20261201120000");
        let existing = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(next_timestamp(&[], now), "20261201120000");
        assert_eq!(
            next_timestamp(
                &existing(&["20261129000001_a", "0_init", "migration_lock.toml"]),
                now
            ),
            "20261201120000"
        );
        // Same second, and a clock behind the latest directory.
        assert_eq!(
            next_timestamp(&existing(&["20261201120000_a"]), now),
            "20261201120001"
        );
        assert_eq!(
            next_timestamp(&existing(&["20261231235959_b", "20261201120000_a"]), now),
            "20270101000000"
        );
    }

    #[test]
    fn the_template_names_prisma_7s_flags() {
        let sql = sql_template("add_user_nickname");
        assert!(sql.contains("--from-migrations") && sql.contains("--to-schema"));
        assert!(!sql.contains("schema-datamodel"));
    }
}
