//! `migrate prisma-check [--schema PATH]`: does a database the migrations
//! built have the catalog Prisma Migrate would create for `schema.prisma`?
//! It compares with the local cluster's scratch database by default, or
//! with the migration connection given by `--database-url`.
//!
//! The verdict is the SQL engine's (`prisma::migrate`), the same one
//! `migrate new` writes migrations with: the schema matches when the
//! migration from the database to `schema.prisma` is empty. The report
//! names the differences in Prisma's terms (`User.nickname: in
//! schema.prisma, missing in the database`, from `catalog::diff`), the SQL
//! a migration would need, or what the engine refuses to render; exit 1
//! on any difference.

use std::path::{Path, PathBuf};

use migration::prisma::PrismaMigrator;

use crate::cli::PrismaCheckArgs;
use crate::commands::Ctx;
use crate::commands::scratch::Scratch;
use crate::error::{Code, Error, Exit, Result};
use crate::prisma::migrate::{self, Refusal};
use crate::{catalog, history, prisma};

/// What `migrate prisma-check` prints.
#[derive(Debug, serde::Serialize)]
pub struct CheckReport {
    /// No difference: the migration to `schema.prisma` is empty.
    pub ok: bool,
    /// The schema file read.
    pub schema: PathBuf,
    /// What it was compared with.
    pub against: String,
    /// The differences, in Prisma's terms.
    pub differences: Vec<catalog::Difference>,
    /// The SQL Prisma Migrate would write to bring the database to
    /// `schema.prisma` (`migrate diff --script`), when there is any and the
    /// engine renders it.
    pub migration: Option<String>,
    /// What the engine refuses to render (the database and schema differ
    /// in a way no migration of `migrate new` can reproduce).
    pub refused: Vec<Refusal>,
    /// What to do about a difference between `schema.prisma` and the
    /// migrations (not said for a database given by `--database-url`,
    /// which may simply be behind).
    pub next: Option<String>,
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in &self.differences {
            writeln!(f, "{}: {}", d.path, d.message)?;
        }
        for r in &self.refused {
            writeln!(f, "cannot be migrated as Prisma Migrate would: {r}")?;
        }
        if self.ok {
            return write!(f, "{} matches {}", self.schema.display(), self.against);
        }
        if self.differences.is_empty() {
            if let Some(sql) = &self.migration {
                // A change the engine sees and `catalog::diff` has no words for.
                writeln!(f, "Prisma Migrate would write:\n{}", sql.trim_end())?;
            }
            write!(f, "{} differs from {}", self.schema.display(), self.against)?;
        } else {
            write!(
                f,
                "{} difference(s) between {} and {}",
                self.differences.len(),
                self.schema.display(),
                self.against
            )?;
        }
        if let Some(next) = &self.next {
            write!(f, "\nnext: {next}")?;
        }
        Ok(())
    }
}

/// The catalog Prisma Migrate would create for the `schema.prisma` at
/// `path`: read, parsed (a syntax error or an unknown word is
/// `prisma.parse_error` with line and column) and derived (what the
/// derivation cannot map is `prisma.unsupported`).
pub fn schema_catalog(path: &Path) -> Result<prisma::Catalog> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            Code::PrismaNoSchema,
            format!("cannot read {}: {e}", path.display()),
            "run from the workspace root, or pass --schema PATH",
        )
    })?;
    let schema = prisma::parse(&text).map_err(|e| {
        Error::new(
            Code::PrismaParseError,
            format!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message),
            "fix the schema (`npx prisma validate` checks it too)",
        )
    })?;
    prisma::derive(&schema).map_err(|e| {
        Error::new(
            Code::PrismaUnsupported,
            format!("{}: {e}", path.display()),
            "fix the schema, or report the Prisma feature this tool does not map yet",
        )
    })
}

/// The verdict on `actual` (a database's catalog) against `expected`
/// (derived from `schema.prisma`): the engine's migration between them,
/// and the differences in Prisma's terms. Pure; what `prisma-check`
/// reports and the corpus test checks.
pub fn verdict(
    expected: &prisma::Catalog,
    actual: &prisma::Catalog,
    options: &migrate::Options,
) -> Verdict {
    let engine = migrate::migration(actual, expected, options);
    let differences = catalog::diff(expected, actual, "schema.prisma", "the database");
    match engine {
        Ok(m) if m.is_empty() => Verdict {
            ok: true,
            differences,
            migration: None,
            refused: Vec::new(),
        },
        Ok(m) => Verdict {
            ok: false,
            differences,
            migration: Some(m.script),
            refused: Vec::new(),
        },
        Err(refused) => Verdict {
            ok: false,
            differences,
            migration: None,
            refused: refused.0,
        },
    }
}

/// See [`verdict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The engine renders an empty migration.
    pub ok: bool,
    /// `catalog::diff`'s differences (empty whenever `ok`, if the two
    /// agree, which the corpus test checks).
    pub differences: Vec<catalog::Difference>,
    /// The engine's SQL, when not empty.
    pub migration: Option<String>,
    /// The engine's refusals.
    pub refused: Vec<Refusal>,
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &PrismaCheckArgs) -> Result<Exit> {
    let path = &args.schema;
    let expected = schema_catalog(path)?;

    let live = ctx.connector.sources().flags.database_url.is_some();
    let (actual, schema, against) = if live {
        let (resolved, session) = ctx.migration_session().await?;
        let actual = catalog::introspect(session.db(), &session.schema, &history::TABLES).await;
        let schema = session.schema.clone();
        session.close().await;
        let actual = actual.map_err(|e| {
            if let Some(blocked) =
                crate::session::db_lock_blocked(&e, "read the database's catalog")
            {
                return blocked;
            }
            Error::new(
                Code::QueryFailed,
                format!(
                    "cannot read the database's catalog: {}",
                    crate::session::describe_db_error(&e)
                ),
                "run with -v for details",
            )
        });
        (actual, schema, resolved.redacted())
    } else {
        let scratch = Scratch::migrated::<M>(ctx, None).await?;
        let actual = scratch.catalog().await;
        let schema = scratch.session.schema.clone();
        scratch.drop_database(ctx).await;
        (
            actual,
            schema,
            "a scratch database migrated to head".to_string(),
        )
    };
    let actual = actual?;

    let found = verdict(&expected, &actual, &migrate::Options { schema });
    if found.ok && !found.differences.is_empty() {
        tracing::warn!(
            "the engine sees no change, yet catalog::diff reports {} difference(s): a bug",
            found.differences.len()
        );
    }
    let next = match (found.ok, live, found.refused.is_empty()) {
        (true, _, _) | (_, true, _) => None,
        (false, false, true) => {
            Some("`cargo migrate new <name>` writes the migration for the change".to_string())
        }
        (false, false, false) => Some(
            "`cargo migrate new <name> --empty` and write its SQL by hand, or change \
             schema.prisma"
                .to_string(),
        ),
    };
    let report = CheckReport {
        ok: found.ok,
        next,
        schema: path.clone(),
        against,
        differences: if found.ok {
            Vec::new()
        } else {
            found.differences
        },
        migration: found.migration,
        refused: found.refused,
    };
    ctx.ui.result(&report);
    Ok(if report.ok {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(models: &str) -> prisma::Catalog {
        let text = format!("datasource db {{\n  provider = \"postgresql\"\n}}\n{models}");
        let schema = prisma::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        prisma::derive(&schema).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_verdict_is_the_engines() {
        let options = migrate::Options::default();
        let user = catalog("model User {\n  id Int @id\n}\n");
        let same = verdict(&user, &user, &options);
        assert!(same.ok && same.differences.is_empty() && same.migration.is_none());

        let more = catalog("model User {\n  id Int @id\n  name String?\n}\n");
        let behind = verdict(&more, &user, &options);
        assert!(!behind.ok);
        assert_eq!(behind.differences.len(), 1, "{:?}", behind.differences);
        assert!(
            behind
                .migration
                .as_deref()
                .is_some_and(|sql| sql.contains("ADD COLUMN")),
            "{behind:?}"
        );

        // What the engine refuses is a difference, named.
        let mut odd = user.clone();
        odd.declared = None;
        odd.unsupported = vec!["view \"V\"".to_string()];
        let refused = verdict(&user, &odd, &options);
        assert!(!refused.ok);
        assert!(refused.refused.iter().any(|r| r.construct == "view \"V\""));
    }
}
