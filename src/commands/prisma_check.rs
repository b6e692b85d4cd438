//! `migrate prisma-check [--schema PATH]`: the catalog Prisma Migrate would
//! create for `schema.prisma`, compared with a database the migrations
//! built: the local cluster's scratch database by default, or the
//! migration connection with `--database-url`. Differences are reported in
//! Prisma's terms (`User.nickname: in schema.prisma, missing in the
//! database`); exit 1 on any.

use migration::prisma::PrismaMigrator;

use crate::cli::PrismaCheckArgs;
use crate::commands::Ctx;
use crate::commands::scratch::Scratch;
use crate::error::{Code, Error, Exit, Result};
use crate::{catalog, history, prisma};

/// What `migrate prisma-check` prints.
#[derive(Debug, serde::Serialize)]
pub struct CheckReport {
    /// No difference.
    pub ok: bool,
    /// The schema file read.
    pub schema: std::path::PathBuf,
    /// What it was compared with.
    pub against: String,
    pub differences: Vec<catalog::Difference>,
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for d in &self.differences {
            writeln!(f, "{}: {}", d.path, d.message)?;
        }
        if self.ok {
            write!(f, "{} matches {}", self.schema.display(), self.against)
        } else {
            write!(
                f,
                "{} difference(s) between {} and {}",
                self.differences.len(),
                self.schema.display(),
                self.against
            )
        }
    }
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &PrismaCheckArgs) -> Result<Exit> {
    let path = &args.schema;
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
    let expected = prisma::derive(&schema).map_err(|e| {
        Error::new(
            Code::PrismaUnsupported,
            format!("{}: {e}", path.display()),
            "fix the schema, or report the Prisma feature this check does not map yet",
        )
    })?;

    let (actual, against) = if ctx.connector.sources().flags.database_url.is_some() {
        let (resolved, session) = ctx.migration_session().await?;
        let actual = catalog::introspect(&session.db, &session.schema, &history::TABLES).await;
        session.close().await;
        (actual, resolved.redacted())
    } else {
        let scratch = Scratch::migrated::<M>(ctx, None).await?;
        let actual = catalog::introspect(
            &scratch.session.db,
            &scratch.session.schema,
            &history::TABLES,
        )
        .await;
        scratch.drop_database(ctx).await;
        (actual, "a scratch database migrated to head".to_string())
    };
    let actual = actual.map_err(|e| {
        if let Some(blocked) = crate::session::db_lock_blocked(&e, "read the database's catalog") {
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
    })?;

    let differences = catalog::diff(&expected, &actual, "schema.prisma", "the database");
    let report = CheckReport {
        ok: differences.is_empty(),
        schema: path.clone(),
        against,
        differences,
    };
    ctx.ui.result(&report);
    Ok(if report.ok {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}
