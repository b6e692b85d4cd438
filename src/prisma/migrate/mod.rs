//! The SQL Prisma Migrate 7.10 writes for a change between two catalogs,
//! byte for byte: `prisma migrate diff --script` and the `migration.sql`
//! of `prisma migrate dev --create-only` (with its `/* Warnings: */`
//! header). Swapping the catalogs gives the reverse migration.
//!
//! It mirrors the pipeline of Prisma's PostgreSQL schema connector, kept
//! to the constructs this project's derivation and introspection model:
//!
//! - `schema` numbers both catalogs' objects the way Prisma's schema
//!   engine does (a derived catalog in declaration order, an introspected
//!   one in name order): the numbering decides the order of the steps;
//! - `types` and `defaults` decide, column by column, what Prisma
//!   considers a change (castable or not, a default that differs);
//! - `diff` turns the two catalogs into Prisma's migration steps and
//!   sorts them as Prisma does;
//! - `render` writes each step's SQL and the script;
//! - `warnings` writes the header `migrate dev` adds.
//!
//! Prisma's notion of "no difference" is made to agree with
//! [`crate::catalog::diff`]: whenever Prisma would miss a difference the
//! catalogs have (or write a change that leaves them different), the
//! change is refused with a [`Refusal`] naming the construct, never
//! approximated. Where Prisma's own output would not run on PostgreSQL
//! (`SET DATA TYPE BIGSERIAL`), SQL that runs is written instead and a
//! [`Note`] says so. Nothing here touches a database.

mod defaults;
mod diff;
mod render;
mod schema;
mod types;
mod warnings;

#[cfg(test)]
mod tests;

use std::fmt;

use super::model::Catalog;

/// How to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The PostgreSQL schema both catalogs live in: the few statements
    /// Prisma qualifies (when it removes an enum value) name it.
    pub schema: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            schema: "public".to_string(),
        }
    }
}

/// The migration from one catalog to another, as Prisma Migrate writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// What `prisma migrate diff --from-... --to-... --script` prints.
    pub script: String,
    /// The `migration.sql` `prisma migrate dev --create-only` writes: the
    /// same statements after a `/* Warnings: ... */` header when there are
    /// warnings.
    pub migration_sql: String,
    /// The warnings of the header (destructive or possibly failing steps),
    /// in Prisma's order.
    pub warnings: Vec<String>,
    /// Where the SQL knowingly differs from what Prisma would write (and
    /// why); empty when it is Prisma's, byte for byte.
    pub notes: Vec<Note>,
}

impl Migration {
    /// True when there is nothing to migrate.
    pub fn is_empty(&self) -> bool {
        self.script == render::EMPTY_SCRIPT
    }

    /// The file `migrate new` writes: [`Migration::migration_sql`], byte
    /// for byte what `prisma migrate dev --create-only` writes, after a
    /// header naming every [`Note`] when there are any (the SQL then
    /// differs from Prisma's, on purpose, and the file says where and why).
    pub fn file(&self) -> String {
        if self.notes.is_empty() {
            return self.migration_sql.clone();
        }
        let mut out = String::from(NOTES_HEADER);
        for note in &self.notes {
            out += &comment_lines(&format!("- {}: {}", note.path, note.message));
        }
        out += "\n";
        out += &self.migration_sql;
        out
    }
}

/// How [`Migration::file`] starts when the SQL is not Prisma's own.
const NOTES_HEADER: &str = "-- impulse-db: this SQL differs on purpose from what Prisma Migrate 7.10\n\
                            -- writes for this change (`prisma migrate dev --create-only`):\n";

/// `text` as `--` comment lines of at most 78 characters where its words
/// allow, continuation lines indented.
fn comment_lines(text: &str) -> String {
    const WIDTH: usize = 78;
    let mut out = String::new();
    let mut line = String::from("--");
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out += &line;
            out.push('\n');
            line = String::from("--  ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out += &line;
    out.push('\n');
    out
}

/// A place where the rendered SQL differs from Prisma's on purpose.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Note {
    /// The object concerned (`User.id`).
    pub path: String,
    /// What Prisma would write, and what was written instead.
    pub message: String,
    /// The exact text replaced: `(written, what Prisma writes)` pairs, so
    /// that putting Prisma's text back gives Prisma's script.
    pub replaced: Vec<(String, String)>,
}

/// A change this engine will not render, because it cannot reproduce what
/// Prisma Migrate would write (or Prisma's SQL would not do what the
/// catalogs say).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Refusal {
    /// The construct (`User.role`, `index "User_email_key"`, `enum Role`).
    pub construct: String,
    /// Why.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.construct, self.reason)
    }
}

/// Every reason a migration was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub Vec<Refusal>);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot write the SQL Prisma Migrate would write")?;
        for refusal in &self.0 {
            write!(f, "\n  - {refusal}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// The migration that turns `from` into `to`: the up migration with `from`
/// introspected from the database the existing migrations build and `to`
/// derived from `schema.prisma`; the down migration with the two swapped.
pub fn migration(from: &Catalog, to: &Catalog, options: &Options) -> Result<Migration, Refused> {
    let schemas = schema::Pair::new(from, to).map_err(Refused)?;
    let plan = diff::plan(&schemas).map_err(Refused)?;
    let rendered = render::render(&schemas, &plan, options);
    let warnings = warnings::check(&schemas, &plan);
    let migration_sql = render::with_warnings(&rendered.body, &warnings);
    Ok(Migration {
        script: rendered.script,
        migration_sql,
        warnings,
        notes: rendered.notes,
    })
}
