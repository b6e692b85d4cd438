//! Prisma Migrate's history table, `_prisma_migrations`, read and written
//! the way `prisma migrate deploy` does, so that the Prisma CLI and this
//! tool read one history (README: "Living with the Prisma CLI").
//!
//! The table is created with Prisma's own statement, in the managed
//! schema. A migration's row is inserted with its checksum (SHA-256 of
//! `migration.sql`), its start time and its name, then gets
//! `applied_steps_count = 1` and `finished_at` when it is done: exactly
//! Prisma's columns and values. Unlike Prisma, the tool writes the row in
//! the migration's own transaction, so a failed migration leaves neither
//! its objects nor a failed row behind. `resolve --applied` writes what
//! Prisma's does (`logs = ''`, no steps).
//!
//! The previous history, sea-orm's `seaql_migrations` (`version`,
//! `applied_at`), is still read, so a database from before the change can
//! be converted once ([`convert_legacy`]). Reading never creates anything,
//! so `status` works for a role without DDL rights.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row as _};

use crate::error::{Code, Error, Result};
use crate::session::{Session, query_error};
use crate::sql::{qualified, quote_value};

/// Prisma Migrate's history table.
pub const TABLE: &str = "_prisma_migrations";

/// sea-orm-migration's history table, which this tool used before.
pub const LEGACY_TABLE: &str = "seaql_migrations";

/// Both history tables: never part of the schema the migrations define,
/// never granted to the app role.
pub const TABLES: [&str; 2] = [TABLE, LEGACY_TABLE];

/// Prisma Migrate's statement for the table (prisma-engines'
/// `sql-schema-connector`, checked against what Prisma 7.10 sends),
/// qualified with the managed schema.
fn create_statement(schema: &str) -> String {
    format!(
        "CREATE TABLE {} (\n    \
         id                      VARCHAR(36) PRIMARY KEY NOT NULL,\n    \
         checksum                VARCHAR(64) NOT NULL,\n    \
         finished_at             TIMESTAMPTZ,\n    \
         migration_name          VARCHAR(255) NOT NULL,\n    \
         logs                    TEXT,\n    \
         rolled_back_at          TIMESTAMPTZ,\n    \
         started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),\n    \
         applied_steps_count     INTEGER NOT NULL DEFAULT 0\n)",
        qualified(schema, TABLE)
    )
}

/// One row of `_prisma_migrations`. Times are RFC 3339 in UTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    pub checksum: String,
    pub finished_at: Option<String>,
    pub migration_name: String,
    pub logs: Option<String>,
    pub rolled_back_at: Option<String>,
    pub started_at: String,
    pub applied_steps_count: i32,
}

impl Row {
    /// Finished and not rolled back: the migration counts as applied.
    pub fn applied(&self) -> bool {
        self.finished_at.is_some() && self.rolled_back_at.is_none()
    }

    /// Neither finished nor rolled back: an earlier run failed (Prisma's
    /// P3009).
    pub fn failed(&self) -> bool {
        self.finished_at.is_none() && self.rolled_back_at.is_none()
    }
}

/// One row of the legacy `seaql_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyRow {
    /// The sea-orm migration name (`m20261129_000001_create_user_table`).
    pub version: String,
    /// Unix seconds.
    pub applied_at: i64,
}

/// Which history the managed schema has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum History {
    /// `_prisma_migrations`, oldest first.
    Prisma(Vec<Row>),
    /// Only the legacy `seaql_migrations`: to be converted.
    Legacy(Vec<LegacyRow>),
    /// Neither table.
    None,
}

impl History {
    /// The rows of `_prisma_migrations` (none for the other kinds).
    pub fn rows(&self) -> &[Row] {
        match self {
            History::Prisma(rows) => rows,
            _ => &[],
        }
    }
}

/// `migration.sql`'s checksum as Prisma records it: SHA-256, lower-case hex.
pub fn checksum(sql: &str) -> String {
    Sha256::digest(sql.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `recorded` is the checksum of `sql`, or of its CRLF/LF variant,
/// as Prisma accepts both (a checkout on Windows changes line endings).
pub fn checksum_matches(recorded: &str, sql: &str) -> bool {
    if recorded == checksum(sql) {
        return true;
    }
    let lf = sql.replace("\r\n", "\n");
    recorded == checksum(&lf) || recorded == checksum(&lf.replace('\n', "\r\n"))
}

const TIME: &str = "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'";

/// `to_regclass` of `schema`.`table`: NULL when it does not exist.
fn regclass(schema: &str, table: &str) -> String {
    format!("to_regclass({})", quote_value(&qualified(schema, table)))
}

/// The statement that reads `_prisma_migrations` in `schema`, oldest
/// first, for [`rows_from`]. It fails (42P01) where the table does not
/// exist.
pub fn rows_sql(schema: &str) -> String {
    format!(
        "SELECT id, checksum, to_char(finished_at AT TIME ZONE 'UTC', {TIME}), migration_name, \
                logs, to_char(rolled_back_at AT TIME ZONE 'UTC', {TIME}), \
                to_char(started_at AT TIME ZONE 'UTC', {TIME}), applied_steps_count \
         FROM {} ORDER BY started_at, migration_name",
        qualified(schema, TABLE)
    )
}

/// The rows [`rows_sql`] read.
pub fn rows_from(rows: &[PgRow]) -> sqlx::Result<Vec<Row>> {
    rows.iter()
        .map(|r| {
            Ok(Row {
                id: r.try_get(0)?,
                checksum: r.try_get(1)?,
                finished_at: r.try_get(2)?,
                migration_name: r.try_get(3)?,
                logs: r.try_get(4)?,
                rolled_back_at: r.try_get(5)?,
                started_at: r.try_get(6)?,
                applied_steps_count: r.try_get(7)?,
            })
        })
        .collect()
}

/// The history of the managed schema; creates nothing.
pub async fn read(session: &Session) -> Result<History> {
    let schema = &session.schema;
    let fail = |what: &'static str| move |e: sqlx::Error| query_error(&e, what);
    let rows = session
        .simple(format!(
            "SELECT {} IS NOT NULL, {} IS NOT NULL",
            regclass(schema, TABLE),
            regclass(schema, LEGACY_TABLE)
        ))
        .await
        .map_err(fail("look up the migration history"))?;
    let (prisma, legacy): (bool, bool) = rows
        .first()
        .ok_or(sqlx::Error::RowNotFound)
        .and_then(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .map_err(fail("look up the migration history"))?;
    if prisma {
        let rows = session
            .simple(rows_sql(schema))
            .await
            .and_then(|rows| rows_from(&rows))
            .map_err(fail("read the migration history"))?;
        return Ok(History::Prisma(rows));
    }
    if legacy {
        let rows = session
            .simple(format!(
                "SELECT version, applied_at FROM {} ORDER BY version",
                qualified(schema, LEGACY_TABLE)
            ))
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| {
                        Ok(LegacyRow {
                            version: r.try_get(0)?,
                            applied_at: r.try_get(1)?,
                        })
                    })
                    .collect()
            })
            .map_err(fail("read the old migration history"))?;
        return Ok(History::Legacy(rows));
    }
    Ok(History::None)
}

/// The tables of the managed schema besides the history: with no history
/// at all, their presence means the schema was built some other way
/// (Prisma's P3005).
pub async fn other_tables(session: &Session) -> Result<Vec<String>> {
    let history: Vec<String> = TABLES.iter().map(|t| quote_value(t)).collect();
    session
        .simple(format!(
            "SELECT c.relname::text FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = {} AND c.relkind IN ('r', 'p') AND c.relname::text NOT IN ({}) \
             ORDER BY 1",
            quote_value(&session.schema),
            history.join(", ")
        ))
        .await
        .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
        .map_err(|e| query_error(&e, "list the tables of the schema"))
}

/// Creates the managed schema when it is missing, then `_prisma_migrations`
/// with Prisma's own statement when it is missing.
pub async fn install(session: &Session) -> Result<()> {
    let fail = |e: sqlx::Error| {
        let mut e = query_error(&e, "create the migration history table");
        e.hint = "connect as the role that owns the schema (DIRECT_URL), not the app role".into();
        e
    };
    let schema = &session.schema;
    session
        .simple(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            crate::sql::quote_ident(schema)
        ))
        .await
        .map_err(fail)?;
    let exists: bool = session
        .simple(format!("SELECT {} IS NOT NULL", regclass(schema, TABLE)))
        .await
        .and_then(|rows| match rows.first() {
            Some(row) => row.try_get(0),
            None => Err(sqlx::Error::RowNotFound),
        })
        .map_err(fail)?;
    if !exists {
        session
            .simple(create_statement(schema))
            .await
            .map_err(fail)?;
    }
    Ok(())
}

fn statement(sql: String, values: Vec<sea_orm::Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

/// Starts the row of migration `name` (as `migrate deploy` does), on `conn`
/// (the migration's transaction); returns its id.
pub async fn start<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    name: &str,
    checksum: &str,
) -> std::result::Result<String, DbErr> {
    let row = conn
        .query_one_raw(statement(
            format!(
                "INSERT INTO {} (id, checksum, started_at, migration_name) \
                 VALUES (gen_random_uuid()::text, $1, clock_timestamp(), $2) RETURNING id",
                qualified(schema, TABLE)
            ),
            vec![checksum.into(), name.into()],
        ))
        .await?
        .ok_or_else(|| DbErr::Custom("INSERT ... RETURNING gave no row".into()))?;
    row.try_get("", "id")
}

/// Marks the row `id` finished (as `migrate deploy` does).
pub async fn finish<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    id: &str,
) -> std::result::Result<(), DbErr> {
    conn.execute_raw(statement(
        format!(
            "UPDATE {} SET applied_steps_count = applied_steps_count + 1, \
             finished_at = clock_timestamp() WHERE id = $1",
            qualified(schema, TABLE)
        ),
        vec![id.into()],
    ))
    .await
    .map(|_| ())
}

/// Records migration `name` as applied in one statement: for migrations
/// that ran outside a transaction, whose row is written after their last
/// statement (`started_at` is when they began).
pub async fn record_applied<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    name: &str,
    checksum: &str,
    started_at: chrono::DateTime<chrono::Utc>,
) -> std::result::Result<(), DbErr> {
    conn.execute_raw(statement(
        format!(
            "INSERT INTO {} (id, checksum, started_at, finished_at, migration_name, applied_steps_count) \
             VALUES (gen_random_uuid()::text, $1, to_timestamp($2), clock_timestamp(), $3, 1)",
            qualified(schema, TABLE)
        ),
        vec![
            checksum.into(),
            (started_at.timestamp_micros() as f64 / 1e6).into(),
            name.into(),
        ],
    ))
    .await
    .map(|_| ())
}

/// What `prisma migrate resolve --applied` writes: `logs = ''`, started
/// and finished now, no steps.
pub async fn record_resolved<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    name: &str,
    checksum: &str,
) -> std::result::Result<(), DbErr> {
    conn.execute_raw(statement(
        format!(
            "INSERT INTO {} (id, checksum, logs, started_at, finished_at, migration_name) \
             VALUES (gen_random_uuid()::text, $1, '', clock_timestamp(), clock_timestamp(), $2)",
            qualified(schema, TABLE)
        ),
        vec![checksum.into(), name.into()],
    ))
    .await
    .map(|_| ())
}

/// Marks the failed rows of migration `name` rolled back (Prisma's
/// `resolve --rolled-back`, and the first half of `resolve --applied`).
pub async fn mark_rolled_back<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    name: &str,
) -> std::result::Result<u64, DbErr> {
    conn.execute_raw(statement(
        format!(
            "UPDATE {} SET rolled_back_at = clock_timestamp() \
             WHERE migration_name = $1 AND finished_at IS NULL AND rolled_back_at IS NULL",
            qualified(schema, TABLE)
        ),
        vec![name.into()],
    ))
    .await
    .map(|r| r.rows_affected())
}

/// Removes the applied row of migration `name` (a rollback), so Prisma
/// would apply it again.
pub async fn forget<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    name: &str,
) -> std::result::Result<(), DbErr> {
    conn.execute_raw(statement(
        format!(
            "DELETE FROM {} WHERE migration_name = $1 AND finished_at IS NOT NULL \
             AND rolled_back_at IS NULL",
            qualified(schema, TABLE)
        ),
        vec![name.into()],
    ))
    .await
    .map(|_| ())
}

/// A migration the legacy history knows, with what its row becomes.
pub struct Converted<'a> {
    pub name: &'a str,
    pub checksum: &'a str,
}

/// Converts a legacy `seaql_migrations` history into `_prisma_migrations`
/// in one transaction: a row per applied migration, with the time it was
/// applied and its file's checksum, then the old table is dropped. The
/// caller holds the lock and has mapped every legacy row (`rows`) to its
/// migration; returns how many rows were carried over.
pub async fn convert_legacy(
    session: &Session,
    rows: &[(LegacyRow, Converted<'_>)],
) -> Result<usize> {
    let fail = |e: sqlx::Error| query_error(&e, "convert the seaql_migrations history");
    install(session).await?;
    let mut tx = session.pool().begin().await.map_err(fail)?;
    for (legacy, to) in rows {
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO {} (id, checksum, started_at, finished_at, migration_name, applied_steps_count) \
             SELECT gen_random_uuid()::text, $1, to_timestamp($2), to_timestamp($2), $3, 1 \
             WHERE NOT EXISTS (SELECT 1 FROM {0} WHERE migration_name = $3 \
                               AND finished_at IS NOT NULL AND rolled_back_at IS NULL)",
            qualified(&session.schema, TABLE)
        )))
        .bind(to.checksum)
        .bind(legacy.applied_at as f64)
        .bind(to.name)
        .execute(&mut *tx)
        .await
        .map_err(fail)?;
    }
    sqlx::query(AssertSqlSafe(format!(
        "DROP TABLE {}",
        qualified(&session.schema, LEGACY_TABLE)
    )))
    .execute(&mut *tx)
    .await
    .map_err(fail)?;
    tx.commit().await.map_err(fail)?;
    Ok(rows.len())
}

/// A legacy row whose migration this binary does not have.
pub fn unknown_legacy(version: &str) -> Error {
    Error::new(
        Code::MigrationsUnknownApplied,
        format!("the old seaql_migrations history has {version}, which this binary does not know"),
        "run a version of migrate that has this migration (it converts the history), or \
         remove the row if the migration was abandoned",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_prismas() {
        // FACTS: Prisma's own first migration deployed as 20250101000000_init.
        let sql =
            include_str!("../prisma/migrations/20261129000001_create_user_table/migration.sql");
        assert_eq!(
            checksum(sql),
            "107c91d824bffb158f5c014822b922fa1776e0e58190e703a40fc1ef4e8f1a03"
        );
        let crlf = sql.replace('\n', "\r\n");
        assert!(checksum_matches(&checksum(sql), &crlf));
        assert!(checksum_matches(&checksum(&crlf), sql));
        assert!(!checksum_matches(
            &checksum(sql),
            &format!("{sql}-- edited\n")
        ));
    }

    #[test]
    fn rows_applied_and_failed() {
        let row = |finished: bool, rolled_back: bool| Row {
            id: "1".into(),
            checksum: "c".into(),
            finished_at: finished.then(|| "t".to_string()),
            migration_name: "m".into(),
            logs: None,
            rolled_back_at: rolled_back.then(|| "t".to_string()),
            started_at: "t".into(),
            applied_steps_count: 1,
        };
        assert!(row(true, false).applied() && !row(true, false).failed());
        assert!(row(false, false).failed() && !row(false, false).applied());
        assert!(!row(false, true).failed() && !row(false, true).applied());
        assert!(!row(true, true).applied());
    }
}
