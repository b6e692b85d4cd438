//! `migrate new <name>`: a migration file from the project's template,
//! registered in `migration/src/lib.rs`.
//!
//! The file is `m%Y%m%d_%H%M%S_<name>.rs` (UTC), and `lib.rs` is edited the
//! way `sea-orm-cli migrate generate` edits it (a `mod` line after the last
//! one, and the boxed list rebuilt from the `mod` lines), so both tools keep
//! working on the same crate. The template holds raw SQL, the project's
//! style: the SQL Prisma Migrate generates for the matching `schema.prisma`
//! change, so the catalog stays identical to Prisma's.

use std::path::Path;

use regex::Regex;

use crate::cli::NewArgs;
use crate::commands::Ctx;
use crate::error::{Code, Error, Exit, Result};

/// What `migrate new` prints.
#[derive(Debug, serde::Serialize)]
pub struct NewReport {
    pub ok: bool,
    /// The migration's name, as the history records it.
    pub migration: String,
    /// The file written.
    pub file: std::path::PathBuf,
}

impl std::fmt::Display for NewReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file.display())
    }
}

pub fn run(ctx: &Ctx, args: &NewArgs) -> Result<Exit> {
    let name = &args.name;
    if !valid_name(name) {
        return Err(Error::new(
            Code::NewInvalidName,
            format!("`{name}` is not a snake_case name"),
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
    let module = format!("m{}_{name}", chrono::Utc::now().format("%Y%m%d_%H%M%S"));
    if mod_names(&text)
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
    let file = src.join(format!("{module}.rs"));
    write_new(&file, &template(name))?;
    let updated = register(&text, &module);
    std::fs::write(&lib, updated).map_err(|e| io_error(&format!("write {}", lib.display()), e))?;
    ctx.ui.progress(format_args!(
        "created {} and registered it in {}",
        file.display(),
        lib.display()
    ));
    ctx.ui.result(&NewReport {
        ok: true,
        migration: module,
        file,
    });
    Ok(Exit::Ok)
}

/// snake_case: a lower-case letter, then letters, digits and single underscores.
pub fn valid_name(name: &str) -> bool {
    Regex::new(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$").is_ok_and(|re| re.is_match(name))
}

fn mod_regex() -> Regex {
    Regex::new(r"mod\s+(?P<name>m\d{8}_\d{6}_\w+);").expect("static regex")
}

fn mod_names(text: &str) -> Vec<String> {
    mod_regex()
        .captures_iter(text)
        .map(|c| c["name"].to_string())
        .collect()
}

/// `lib.rs` with `module` added: its `mod` line after the last one, and the
/// `vec![...]` rebuilt from all `mod` lines in order (as sea-orm-cli does).
pub fn register(text: &str, module: &str) -> String {
    let mods: Vec<regex::Match> = mod_regex().find_iter(text).collect();
    let insert_at = mods.last().map_or(text.len(), |m| {
        // After the line of the last `mod`.
        text[m.end()..]
            .find('\n')
            .map_or(text.len(), |nl| m.end() + nl + 1)
    });
    let mut updated = String::with_capacity(text.len() + 100);
    updated.push_str(&text[..insert_at]);
    updated.push_str(&format!("mod {module};\n"));
    updated.push_str(&text[insert_at..]);

    let mut names = mod_names(text);
    names.push(module.to_string());
    let boxed: String = names
        .iter()
        .map(|m| format!("            Box::new({m}::Migration),\n"))
        .collect();
    let list = format!("vec![\n{boxed}        ]\n");
    let vec = Regex::new(r"vec!\[[\s\S]+\]\n").expect("static regex");
    vec.replace(&updated, regex::NoExpand(&list)).into_owned()
}

fn template(name: &str) -> String {
    format!(
        r##"//! {name}: what this migration changes, and why.
//!
//! Write the SQL Prisma Migrate generates for the matching change to
//! `prisma/schema.prisma` (`npx prisma migrate diff --from-schema-datamodel
//! OLD --to-schema-datamodel NEW --script`), so the Lambda's Prisma Client
//! finds exactly the catalog it expects; `migrate prisma-check` verifies it.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const UP: &str = r#"
"#;

const DOWN: &str = r#"
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {{
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {{
        manager.get_connection().execute_unprepared(UP).await?;
        Ok(())
    }}

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {{
        manager.get_connection().execute_unprepared(DOWN).await?;
        Ok(())
    }}
}}
"##
    )
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| io_error(&format!("create {}", path.display()), e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| io_error(&format!("write {}", path.display()), e))
}

fn io_error(doing: &str, e: std::io::Error) -> Error {
    Error::new(
        Code::NewIo,
        format!("cannot {doing}: {e}"),
        "check the path and its permissions",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIB: &str = "pub use sea_orm_migration::prelude::*;\n\nmod m20261129_000001_create_user_table;\n\npub struct Migrator;\n\n#[async_trait::async_trait]\nimpl MigratorTrait for Migrator {\n    fn migrations() -> Vec<Box<dyn MigrationTrait>> {\n        vec![Box::new(m20261129_000001_create_user_table::Migration)]\n    }\n}\n";

    #[test]
    fn registers_like_sea_orm_cli() {
        let updated = register(LIB, "m20261201_120000_add_user_nickname");
        assert_eq!(
            updated,
            "pub use sea_orm_migration::prelude::*;\n\nmod m20261129_000001_create_user_table;\nmod m20261201_120000_add_user_nickname;\n\npub struct Migrator;\n\n#[async_trait::async_trait]\nimpl MigratorTrait for Migrator {\n    fn migrations() -> Vec<Box<dyn MigrationTrait>> {\n        vec![\n            Box::new(m20261129_000001_create_user_table::Migration),\n            Box::new(m20261201_120000_add_user_nickname::Migration),\n        ]\n    }\n}\n"
        );
        // And again on its own output.
        let again = register(&updated, "m20261202_000000_more");
        assert!(
            again.contains("mod m20261201_120000_add_user_nickname;\nmod m20261202_000000_more;\n")
        );
        assert_eq!(again.matches("Box::new(").count(), 3);
    }

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
}
