//! The engine on catalogs derived from small schemas: Prisma's SQL for
//! them (checked with Prisma Migrate 7.10.1) and what it refuses. The
//! corpus test (`tests/it/prisma_sql.rs`) compares with the real engine.

use super::*;
use crate::prisma::{derive, parse};

fn catalog(schema: &str) -> Catalog {
    let parsed = parse(schema).unwrap_or_else(|e| panic!("parse: {e}"));
    derive(&parsed).unwrap_or_else(|e| panic!("derive: {e}"))
}

fn up(before: &str, after: &str) -> Result<Migration, Refused> {
    migration(&catalog(before), &catalog(after), &Options::default())
}

#[test]
fn no_change_is_an_empty_migration() {
    let schema =
        "model User {\n  id Int @id @default(autoincrement())\n  email String @unique\n}\n";
    let m = up(schema, schema).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.is_empty());
    assert_eq!(m.script, "-- This is an empty migration.\n");
    assert_eq!(m.migration_sql, "-- This is an empty migration.");
}
