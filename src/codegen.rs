//! Entity generation, in-process, with sea-orm-cli's own discovery and
//! generator and every option fixed here, in one place.
//!
//! The options are sea-orm-cli 2.0.4's defaults for `generate entity --lib
//! --ignore-tables seaql_migrations`: compact format, a prelude, no serde,
//! chrono date-times, `i64` big integers, no schema name, empty
//! `ActiveModelBehavior` impls, the minor version in the banner. Output is
//! formatted with `rustfmt` as sea-orm-cli does, so `migrate entities` and
//! `sea-orm-cli generate entity` produce the same bytes.

use std::io::Write;
use std::process::{Command, Stdio};

use sea_orm_codegen::{
    BannerVersion, BigIntegerType, DateTimeCrate, EntityFormat, EntityTransformer,
    EntityWriterContext, WithPrelude, WithSerde,
};
use sea_schema::postgres::discovery::SchemaDiscovery;
use sqlx::PgPool;

use crate::error::{Code, Error, Result};

/// The writer options.
fn context() -> EntityWriterContext {
    EntityWriterContext::new(
        EntityFormat::Compact,
        WithPrelude::All,
        WithSerde::None,
        false, // with_copy_enums
        DateTimeCrate::Chrono,
        BigIntegerType::I64,
        None, // schema_name
        true, // lib.rs rather than mod.rs
        false,
        false,
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        false, // seaography
        true,  // impl_active_model_behavior
        BannerVersion::Minor,
    )
}

/// The entity files for every table of `schema` but `history_table`, as
/// (file name, formatted content), sorted by name.
pub async fn generate(
    pool: PgPool,
    schema: &str,
    history_tables: &[&str],
) -> Result<Vec<(String, String)>> {
    let discovered = SchemaDiscovery::new(pool, schema)
        .discover()
        .await
        .map_err(|e| Error::internal(format!("cannot read the schema for codegen: {e}")))?;
    let statements = discovered
        .tables
        .into_iter()
        .filter(|t| {
            !history_tables.contains(&t.info.name.as_str()) && !t.info.name.starts_with('_')
        })
        .map(|mut table| {
            // As sea-orm-cli: generated columns and partial unique indexes
            // cannot be expressed in an entity.
            table.columns.retain(|c| c.generated.is_none());
            table.unique_constraints.retain(|c| !c.is_partial);
            table.write()
        })
        .collect();
    let writer = EntityTransformer::transform(statements)
        .map_err(|e| Error::internal(format!("cannot generate entities: {e}")))?;
    let mut files: Vec<(String, String)> = writer
        .generate(&context())
        .files
        .into_iter()
        .map(|f| Ok((f.name, rustfmt(&f.content)?)))
        .collect::<Result<_>>()?;
    files.sort();
    Ok(files)
}

/// Formats Rust source with `rustfmt` (its defaults, as sea-orm-cli runs it).
fn rustfmt(source: &str) -> Result<String> {
    let missing = |e: std::io::Error| {
        Error::new(
            Code::EntitiesNoRustfmt,
            format!("cannot run rustfmt: {e}"),
            "install it with `rustup component add rustfmt`",
        )
    };
    let mut child = Command::new("rustfmt")
        .args(["--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .current_dir(std::env::temp_dir())
        .spawn()
        .map_err(missing)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(source.as_bytes()).map_err(missing)?;
    }
    let output = child.wait_with_output().map_err(missing)?;
    if !output.status.success() {
        return Err(Error::internal(format!(
            "rustfmt rejected generated code: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    String::from_utf8(output.stdout).map_err(|e| Error::internal(format!("rustfmt output: {e}")))
}
