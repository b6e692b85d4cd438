//! `migrate new <name>`: a new migration, as Prisma lays it out:
//! `prisma/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql` (and an empty
//! `down.sql`), plus its sea-orm migration `m<YYYYMMDD>_<HHMMSS>_<name>.rs`
//! registered in `migration/src/lib.rs`. The SQL is written by hand (the
//! SQL Prisma Migrate writes for the matching `schema.prisma` change, so
//! the catalog stays Prisma's); the binary embeds it once rebuilt, which
//! `cargo migrate up` does.

use std::path::PathBuf;

use regex::Regex;

use crate::cli::NewArgs;
use crate::commands::Ctx;
use crate::error::{Code, Error, Exit, Result};
use crate::scaffold;

/// What `migrate new` prints.
#[derive(Debug, serde::Serialize)]
pub struct NewReport {
    pub ok: bool,
    /// The migration's name, as `_prisma_migrations` records it.
    pub migration: String,
    /// The files written.
    pub directory: PathBuf,
    pub file: PathBuf,
    /// What to do next.
    pub next: String,
}

impl std::fmt::Display for NewReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\nnext: {}", self.directory.display(), self.next)
    }
}

pub fn run(ctx: &Ctx, args: &NewArgs) -> Result<Exit> {
    let name = &args.name;
    if !valid_name(name) {
        return Err(Error::new(
            Code::NewInvalidName,
            "the migration's name is not in snake_case",
            "use lower-case letters, digits and single underscores, starting with a letter: \
             add_user_nickname",
        ));
    }
    let src = args.migration_dir.join("src");
    let lib = src.join("lib.rs");
    let text = std::fs::read_to_string(&lib).map_err(|e| {
        Error::new(
            Code::NewNoMigrationCrate,
            format!("cannot read {}: {e}", lib.display()),
            "run from the workspace root, or pass --migration-dir",
        )
    })?;
    if scaffold::mod_names(&text)
        .iter()
        .any(|m| m.ends_with(&format!("_{name}")))
    {
        return Err(Error::new(
            Code::NewExists,
            format!(
                "a migration named `{name}` is already registered in {}",
                lib.display()
            ),
            "pick another name",
        ));
    }
    let now = chrono::Utc::now();
    let directory_name = format!("{}_{name}", now.format("%Y%m%d%H%M%S"));
    let module = migration::prisma::module_name(&directory_name);
    let directory = args.prisma_dir.join("migrations").join(&directory_name);
    scaffold::create_dir(&directory)?;
    let lock = args.prisma_dir.join("migrations/migration_lock.toml");
    if !lock.exists() {
        scaffold::write(&lock, scaffold::MIGRATION_LOCK)?;
    }
    scaffold::write_new(&directory.join("migration.sql"), &sql_template(name))?;
    scaffold::write_new(
        &directory.join("down.sql"),
        "-- What undoes migration.sql, for `migrate down`.\n",
    )?;
    let file = src.join(format!("{module}.rs"));
    scaffold::write_new(
        &file,
        &scaffold::migration_module(&directory_name, &format!("{name}.")),
    )?;
    scaffold::write(&lib, &scaffold::register(&text, &module))?;
    ctx.ui.progress(format_args!(
        "created {} and {}, registered in {}",
        directory.display(),
        file.display(),
        lib.display()
    ));
    ctx.ui.result(&NewReport {
        ok: true,
        migration: directory_name,
        next: format!(
            "write the SQL in {} (and its reverse in down.sql), then `cargo migrate up`",
            directory.join("migration.sql").display()
        ),
        directory,
        file,
    });
    Ok(Exit::Ok)
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
    fn the_template_names_prisma_7s_flags() {
        let sql = sql_template("add_user_nickname");
        assert!(sql.contains("--from-migrations") && sql.contains("--to-schema"));
        assert!(!sql.contains("schema-datamodel"));
    }
}
