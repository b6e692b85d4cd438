//! `migrate prisma-check [--schema PATH]`: the catalog Prisma Migrate would
//! create for `schema.prisma`, compared with a database the migrations
//! built: the local cluster's scratch database by default, or the
//! migration connection with `--database-url`. Differences are reported in
//! Prisma's terms (`User.nickname: in schema.prisma, missing in the
//! database`); exit 1 on any.

use sea_orm_migration::MigratorTrait;
use serde_json::json;

use crate::cli::PrismaCheckArgs;
use crate::commands::Ctx;
use crate::commands::scratch::Scratch;
use crate::error::{Error, Exit, Result};
use crate::{catalog, history, prisma};

pub async fn run<M: MigratorTrait>(ctx: &Ctx, args: &PrismaCheckArgs) -> Result<Exit> {
    let path = &args.schema;
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::config(
            "prisma.no_schema",
            format!("cannot read {}: {e}", path.display()),
            "run from the workspace root, or pass --schema PATH",
        )
    })?;
    let schema = prisma::parse(&text).map_err(|e| {
        Error::config(
            "prisma.parse_error",
            format!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message),
            "fix the schema (`npx prisma validate` checks it too)",
        )
    })?;
    let expected = prisma::derive(&schema).map_err(|e| {
        Error::config(
            "prisma.unsupported",
            format!("{}: {e}", path.display()),
            "fix the schema, or report the Prisma feature this check does not map yet",
        )
    })?;

    let history_table = history::table_name::<M>();
    let (actual, against) = if ctx.connector.sources().flags.database_url.is_some() {
        let (resolved, session) = ctx.migration_session().await?;
        let actual = catalog::introspect(&session.db, &session.schema, &[&history_table]).await;
        session.close().await;
        (actual, resolved.spec.redacted())
    } else {
        let scratch = Scratch::migrated::<M>(ctx).await?;
        let actual = catalog::introspect(
            &scratch.session.db,
            &scratch.session.schema,
            &[&history_table],
        )
        .await;
        scratch.drop_database(ctx).await;
        (actual, "a scratch database migrated to head".to_string())
    };
    let actual = actual.map_err(|e| {
        Error::connect(
            "query.failed",
            format!(
                "cannot read the database's catalog: {}",
                crate::connect::describe_db_error(&e)
            ),
            "run with -v for details",
        )
    })?;

    let differences = catalog::diff(&expected, &actual, "schema.prisma", "the database");
    ctx.ui.result(
        || {
            let mut out: String = differences
                .iter()
                .map(|d| format!("{}: {}\n", d.path, d.message))
                .collect();
            out += &if differences.is_empty() {
                format!("{} matches {against}", path.display())
            } else {
                format!(
                    "{} difference(s) between {} and {against}",
                    differences.len(),
                    path.display()
                )
            };
            out
        },
        || json!({"ok": differences.is_empty(), "schema": path, "against": against, "differences": differences}),
    );
    Ok(if differences.is_empty() {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}
