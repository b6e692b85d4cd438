//! `migrate fresh`: drop everything in the managed schema, then apply every
//! migration again and reconcile the grants, as `up` does, all under the
//! locks. Destructive: it refuses without `--yes`, and a host that is not
//! this machine without `--allow-remote`, both decided before connecting
//! (`destructive`).
//!
//! "Everything" is what lives in the schema, listed from the catalog:
//! tables (the history `_prisma_migrations` among them), views,
//! materialized views, sequences, foreign tables, functions, procedures,
//! aggregates, types and domains, except what belongs to an extension.
//! Each is dropped `CASCADE` (what depends on it elsewhere goes too, as
//! with Prisma's `migrate reset`), in one transaction: all or nothing. The
//! schema itself stays, with its owner and privileges, so that a role
//! that may not create schemas can still start over.

use migration::prisma::PrismaMigrator;
use sqlx::Row as _;

use crate::cli::FreshArgs;
use crate::commands::Ctx;
use crate::commands::destructive::{self, Target};
use crate::deploy::{self, Applied};
use crate::error::{Exit, Result};
use crate::grants::apply::Options;
use crate::lock::{self, Scope};
use crate::session::{Session, query_error};
use crate::{migrations, runner};

/// What `migrate fresh` prints.
#[derive(Debug, serde::Serialize)]
pub struct FreshReport {
    pub ok: bool,
    pub database: String,
    pub schema: String,
    /// What was dropped, in the order it was dropped.
    pub dropped: Vec<Dropped>,
    #[serde(flatten)]
    pub applied: Applied,
}

/// One object `fresh` dropped.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dropped {
    /// `table`, `view`, `sequence`, `function`, `type`, ...
    pub kind: String,
    /// Its name (a routine's with its argument types).
    pub name: String,
}

impl std::fmt::Display for FreshReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.dropped.len();
        write!(
            f,
            "dropped {n} object{} in schema \"{}\"; ",
            if n == 1 { "" } else { "s" },
            self.schema
        )?;
        self.applied.fmt(f)
    }
}

/// Lists what `fresh` drops, in order (relations, then routines, then
/// types), each with its `DROP` statement.
const OBJECTS: &str = "\
WITH ns AS (SELECT oid, nspname FROM pg_catalog.pg_namespace WHERE nspname = $1), \
ext AS (SELECT objid FROM pg_catalog.pg_depend WHERE deptype = 'e') \
SELECT kind, name, format('DROP %s IF EXISTS %I.%s CASCADE', upper(kind), nspname, target) FROM ( \
  SELECT 1 AS ord, CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' \
              WHEN 'S' THEN 'sequence' WHEN 'f' THEN 'foreign table' ELSE 'table' END AS kind, \
         c.relname::text AS name, quote_ident(c.relname) AS target, ns.nspname \
  FROM pg_catalog.pg_class c JOIN ns ON c.relnamespace = ns.oid \
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND NOT c.relispartition \
    AND c.oid NOT IN (SELECT objid FROM ext) \
  UNION ALL \
  SELECT 2, CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END, \
         p.proname || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', \
         quote_ident(p.proname) || '(' || pg_catalog.pg_get_function_identity_arguments(p.oid) || ')', \
         ns.nspname \
  FROM pg_catalog.pg_proc p JOIN ns ON p.pronamespace = ns.oid \
  WHERE p.oid NOT IN (SELECT objid FROM ext) \
  UNION ALL \
  SELECT 3, CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END, t.typname::text, \
         quote_ident(t.typname), ns.nspname \
  FROM pg_catalog.pg_type t JOIN ns ON t.typnamespace = ns.oid \
  WHERE (t.typtype IN ('e', 'd', 'r') \
         OR (t.typtype = 'c' AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid) = 'c')) \
    AND t.oid NOT IN (SELECT objid FROM ext) \
) objects ORDER BY ord, name";

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &FreshArgs) -> Result<Exit> {
    let known = migrations::known::<M>()?;
    let resolved = ctx.migration_target().await?;
    let target = Target::of(&resolved);
    destructive::confirm(
        "fresh",
        "drops every table, view, sequence, routine and type of that schema, data included, \
         then applies every migration again",
        &target,
        args.confirm.yes,
        Some(args.confirm.allow_remote),
    )?;
    let session = ctx.open(&resolved).await?;
    let result = async {
        let grants = if args.no_grants {
            None
        } else {
            let options = Options::for_connection(&ctx.connector, &resolved, true).await?;
            crate::grants::apply::refuse_migration_role(&session, &options).await?;
            Some(options)
        };
        let lock = lock::acquire(&session, ctx.lock_timeout, Scope::WithPrisma).await?;
        let lock_wait_ms = lock.waited_ms();
        let work = async {
            let dropped = lock::reading(&session, drop_everything(&session)).await?;
            for d in &dropped {
                ctx.ui
                    .progress(format_args!("dropped {} \"{}\"", d.kind, d.name));
            }
            let options = runner::Options {
                allow_edited: false,
                ddl: args.ddl.into(),
            };
            let applied = deploy::apply_held(
                ctx.ui,
                &session,
                &known,
                None,
                options,
                grants.as_ref(),
                deploy::Prior::default(),
            )
            .await?;
            Ok((dropped, applied))
        };
        let (dropped, applied) = lock.around(&session, work).await?;
        Ok((
            dropped,
            Applied {
                lock_wait_ms,
                ..applied
            },
        ))
    }
    .await;
    let (database, schema) = (session.database.clone(), session.schema.clone());
    session.close().await;
    let (dropped, applied) = result?;
    ctx.ui.result(&FreshReport {
        ok: true,
        database,
        schema,
        dropped,
        applied,
    });
    Ok(Exit::Ok)
}

/// Drops everything in the session's schema, in one transaction.
async fn drop_everything(session: &Session) -> Result<Vec<Dropped>> {
    let mut tx = session
        .pool()
        .begin()
        .await
        .map_err(|e| query_error(&e, "start a transaction"))?;
    let rows = sqlx::query(OBJECTS)
        .bind(&session.schema)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| query_error(&e, "list what is in the schema"))?;
    let mut dropped = Vec::with_capacity(rows.len());
    for row in rows {
        let (kind, name, sql): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .map_err(|e| query_error(&e, &format!("drop {kind} \"{name}\"")))?;
        dropped.push(Dropped { kind, name });
    }
    tx.commit()
        .await
        .map_err(|e| query_error(&e, "commit the drops"))?;
    Ok(dropped)
}
