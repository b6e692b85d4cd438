//! sea-orm-migration's history table, read and written the way sea-orm
//! does, so `sea-orm-cli` and this runner can work on the same database.
//!
//! The table (`seaql_migrations` unless the migrator names another) lives in
//! the managed schema and has two columns: `version`, the migration's name,
//! and `applied_at`, Unix seconds. Reading never creates it, so `status`
//! works for a role without DDL rights.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use sea_orm_migration::MigratorTrait;
use sqlx::{AssertSqlSafe, Row};

use crate::error::{Code, Result};
use crate::session::{Session, query_error};
use crate::sql::{qualified, quote_ident};

/// One row of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: String,
    /// Unix seconds, as sea-orm records them.
    pub applied_at: i64,
}

/// The history table's name for migrator `M`.
pub fn table_name<M: MigratorTrait>() -> String {
    M::migration_table_name().to_string()
}

/// Does the managed schema exist?
pub async fn schema_exists(session: &Session) -> Result<bool> {
    sqlx::query("SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)")
        .bind(&session.schema)
        .fetch_one(&session.pool)
        .await
        .map(|row| row.get(0))
        .map_err(|e| query_error(&e, "look up the schema"))
}

/// The applied migrations, oldest first; empty when the table does not exist.
pub async fn read<M: MigratorTrait>(session: &Session) -> Result<Vec<Applied>> {
    let table = table_name::<M>();
    let exists: bool = sqlx::query(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = $1 AND tablename = $2)",
    )
    .bind(&session.schema)
    .bind(&table)
    .fetch_one(&session.pool)
    .await
    .map(|row| row.get(0))
    .map_err(|e| query_error(&e, "look up the migration history"))?;
    if !exists {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(AssertSqlSafe(format!(
        "SELECT version, applied_at FROM {} ORDER BY version",
        qualified(&session.schema, &table)
    )))
    .fetch_all(&session.pool)
    .await
    .map_err(|e| query_error(&e, "read the migration history"))?;
    Ok(rows
        .into_iter()
        .map(|row| Applied {
            version: row.get(0),
            applied_at: row.get(1),
        })
        .collect())
}

/// Creates the managed schema when it is missing, then the history table,
/// both with sea-orm's own statements.
pub async fn install<M: MigratorTrait>(session: &Session) -> Result<()> {
    if !schema_exists(session).await? {
        sqlx::query(AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_ident(&session.schema)
        )))
        .execute(&session.pool)
        .await
        .map_err(|e| query_error(&e, "create the schema"))?;
    }
    M::install(&session.db).await.map_err(|e| {
        crate::error::Error::new(
            Code::QueryFailed,
            format!(
                "could not create the migration history table: {}",
                crate::session::describe_db_error(&e)
            ),
            "connect as the role that owns the schema (DIRECT_URL), not the app role",
        )
    })
}

/// Records `name` as applied, on `conn` (the migration's transaction).
pub async fn record<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
    name: &str,
) -> std::result::Result<(), DbErr> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "INSERT INTO {} (version, applied_at) VALUES ($1, $2)",
            qualified(schema, table)
        ),
        [name.into(), now.into()],
    ))
    .await
    .map(|_| ())
}

/// Removes `name` from the history, on `conn` (the rollback's transaction).
pub async fn forget<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    table: &str,
    name: &str,
) -> std::result::Result<(), DbErr> {
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!(
            "DELETE FROM {} WHERE version = $1",
            qualified(schema, table)
        ),
        [name.into()],
    ))
    .await
    .map(|_| ())
}
