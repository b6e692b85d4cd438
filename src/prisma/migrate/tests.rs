//! The engine's rules on catalogs derived from small schemas: what it
//! refuses, the order it numbers objects in, the notes where it knowingly
//! departs from Prisma, and how it reads PostgreSQL's defaults. The SQL
//! itself is compared with the real Prisma Migrate by the corpus test
//! (`tests/it/prisma_sql.rs`), never with text written here.

use super::defaults::{self, Kind, Value};
use super::types::{self, Cast};
use super::*;
use crate::prisma::model::{Column, ColumnType, PgType};
use crate::prisma::{derive, parse};

const DATASOURCE: &str = "datasource db {\n  provider = \"postgresql\"\n}\n";

fn catalog(models: &str) -> Catalog {
    let schema = format!("{DATASOURCE}{models}");
    let parsed = parse(&schema).unwrap_or_else(|e| panic!("parse: {e}"));
    derive(&parsed).unwrap_or_else(|e| panic!("derive: {e}"))
}

fn up(before: &str, after: &str) -> Result<Migration, Refused> {
    migration(&catalog(before), &catalog(after), &Options::default())
}

fn refusal(before: &str, after: &str) -> Refused {
    match up(before, after) {
        Ok(m) => panic!("expected a refusal, got:\n{}", m.script),
        Err(refused) => refused,
    }
}

fn refuses(refused: &Refused, construct: &str) -> bool {
    refused.0.iter().any(|r| r.construct == construct)
}

#[test]
fn no_change_is_an_empty_migration() {
    let schema =
        "model User {\n  id Int @id @default(autoincrement())\n  email String @unique\n}\n";
    let m = up(schema, schema).unwrap_or_else(|e| panic!("{e}"));
    assert!(m.is_empty());
    assert_eq!(m.script, "-- This is an empty migration.\n");
    assert_eq!(m.migration_sql, "-- This is an empty migration.");
    assert!(m.warnings.is_empty() && m.notes.is_empty());
}

#[test]
fn both_directions_render() {
    let before = "model User {\n  id Int @id\n}\n";
    let after = "model User {\n  id Int @id\n  name String?\n}\n";
    let forward = up(before, after).unwrap_or_else(|e| panic!("{e}"));
    let back = up(after, before).unwrap_or_else(|e| panic!("{e}"));
    assert!(forward.script.contains("ADD COLUMN"), "{}", forward.script);
    assert!(
        back.script.contains("DROP COLUMN \"name\""),
        "{}",
        back.script
    );
    assert_eq!(back.warnings.len(), 1, "{:?}", back.warnings);
}

#[test]
fn new_tables_come_in_declaration_order() {
    let after = "model Zebra {\n  id Int @id\n}\nmodel Apple {\n  id Int @id\n}\n";
    let m = up("", after).unwrap_or_else(|e| panic!("{e}"));
    let zebra = m.script.find("CREATE TABLE \"Zebra\"");
    let apple = m.script.find("CREATE TABLE \"Apple\"");
    assert!(zebra.is_some() && zebra < apple, "{}", m.script);
    // Introspected, they are numbered by name, as Prisma's describer does.
    let mut database = catalog(after);
    database.declared = None;
    let back =
        migration(&database, &catalog(""), &Options::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        back.script.find("DROP TABLE \"Apple\"") < back.script.find("DROP TABLE \"Zebra\""),
        "{}",
        back.script
    );
}

#[test]
fn a_default_prisma_reads_back_differently_is_refused() {
    let refused = refusal(
        "model Key {\n  id String @id @db.Uuid\n}\n",
        "model Key {\n  id String @id @db.Uuid @default(\"5F1B1C5E-0000-0000-0000-00000000000A\")\n}\n",
    );
    assert!(refuses(&refused, "Key.id"), "{refused}");
    let refused = refusal(
        "model Host {\n  id Int @id\n}\n",
        "model Host {\n  id Int @id\n  ip String @db.Inet @default(\"10.0.0.1/32\")\n}\n",
    );
    assert!(refuses(&refused, "Host.ip"), "{refused}");
}

#[test]
fn changes_prisma_does_not_see_are_refused() {
    // Prisma compares the values and ignores dates and trailing zeros.
    let refused = refusal(
        "model E {\n  id Int @id\n  at DateTime @default(\"2020-01-01T00:00:00Z\")\n}\n",
        "model E {\n  id Int @id\n  at DateTime @default(\"2021-01-01T00:00:00Z\")\n}\n",
    );
    assert!(refuses(&refused, "E.at"), "{refused}");
    let refused = refusal(
        "model P {\n  id Int @id\n  x Decimal @default(1.50)\n}\n",
        "model P {\n  id Int @id\n  x Decimal @default(1.5)\n}\n",
    );
    assert!(refuses(&refused, "P.x"), "{refused}");
    // Prisma ignores the order of enum values.
    let refused = refusal(
        "enum S {\n  A\n  C\n}\nmodel T {\n  id Int @id\n  s S\n}\n",
        "enum S {\n  C\n  A\n}\nmodel T {\n  id Int @id\n  s S\n}\n",
    );
    assert!(refuses(&refused, "enum S"), "{refused}");
}

#[test]
fn a_value_inserted_before_others_is_placed_with_a_note() {
    let m = up(
        "enum S {\n  A\n  C\n}\nmodel T {\n  id Int @id\n  s S\n}\n",
        "enum S {\n  A\n  B\n  C\n  D\n}\nmodel T {\n  id Int @id\n  s S\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        m.script.contains("ADD VALUE 'B' BEFORE 'C';"),
        "{}",
        m.script
    );
    assert!(m.script.contains("ADD VALUE 'D';"), "{}", m.script);
    assert_eq!(m.notes.len(), 1);
    assert_eq!(m.notes[0].path, "enum S");
}

#[test]
fn what_the_model_cannot_represent_is_refused() {
    let mut from = catalog("model T {\n  id Int @id\n}\n");
    from.declared = None;
    from.unsupported = vec!["check constraint \"positive\" on \"T\"".to_string()];
    let to = catalog("model T {\n  id Int @id\n}\n");
    let refused = migration(&from, &to, &Options::default())
        .err()
        .unwrap_or_else(|| panic!("rendered"));
    assert!(
        refuses(&refused, "check constraint \"positive\" on \"T\""),
        "{refused}"
    );

    let long = "M".repeat(64);
    let refused = refusal("", &format!("model {long} {{\n  id Int @id\n}}\n"));
    assert!(
        refused.to_string().contains("longer than 63 bytes"),
        "{refused}"
    );
}

#[test]
fn bigserial_is_written_so_that_it_runs() {
    let m = up(
        "model O {\n  id Int @id @default(autoincrement())\n}\n",
        "model O {\n  id BigInt @id @default(autoincrement())\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(!m.script.contains("BIGSERIAL"), "{}", m.script);
    assert!(
        m.script.contains("ALTER SEQUENCE \"O_id_seq\" AS BIGINT;"),
        "{}",
        m.script
    );
    assert_eq!(m.notes.len(), 1);
    assert_eq!(m.notes[0].path, "O.id");
    let mut prisma = m.script.clone();
    for (written, original) in &m.notes[0].replaced {
        assert!(prisma.contains(written.as_str()), "{written:?} in {prisma}");
        prisma = prisma.replacen(written.as_str(), original, 1);
    }
    assert!(prisma.contains("SET DATA TYPE BIGSERIAL"), "{prisma}");
}

#[test]
fn casts_follow_prismas_table() {
    let ty = |base: PgType| ColumnType { base, list: false };
    let change = |a: PgType, b: PgType| types::change(&ty(a), false, &ty(b), true);
    assert_eq!(change(PgType::Integer, PgType::BigInt), Some(Cast::Safe));
    assert_eq!(change(PgType::BigInt, PgType::Integer), Some(Cast::Risky));
    assert_eq!(
        change(PgType::Text, PgType::Integer),
        Some(Cast::NotCastable)
    );
    assert_eq!(
        change(PgType::VarChar(Some(10)), PgType::VarChar(Some(5))),
        Some(Cast::Risky)
    );
    // A scale above the precision (PostgreSQL 15) is no arithmetic trap.
    assert_eq!(
        change(PgType::Numeric(Some((2, 5))), PgType::Numeric(Some((4, 2)))),
        Some(Cast::Risky)
    );
    // An introspected timestamp without precision is Prisma's precision 6.
    assert_eq!(
        change(PgType::Timestamp(None), PgType::Timestamp(Some(6))),
        None
    );
    assert_eq!(
        change(PgType::Timestamp(Some(3)), PgType::Timestamp(Some(6))),
        Some(Cast::Safe)
    );
    assert_eq!(
        change(PgType::Enum("A".into()), PgType::Enum("B".into())),
        Some(Cast::NotCastable)
    );
}

fn introspected(base: PgType, default: &str) -> Column {
    Column {
        name: "c".into(),
        field: None,
        data_type: base.format(),
        column_type: ColumnType { base, list: false },
        nullable: true,
        default: Some(default.to_string()),
        serial: None,
        prisma_default: None,
    }
}

#[test]
fn defaults_are_read_only_in_the_forms_postgres_prints() {
    let kind = |base: PgType, text: &str| defaults::kind(&introspected(base, text), false);
    let value = |v: Value| Some(Kind::Value(v));
    assert_eq!(
        kind(PgType::Integer, "'-5'::integer"),
        value(Value::Int(-5))
    );
    assert_eq!(kind(PgType::BigInt, "3"), value(Value::Int(3)));
    assert_eq!(
        kind(PgType::Numeric(Some((8, 2))), "1.50"),
        value(Value::Decimal("1.50".into()))
    );
    assert_eq!(
        kind(PgType::DoublePrecision, "'-1.5'::numeric"),
        value(Value::Decimal("-1.5".into()))
    );
    assert_eq!(
        kind(PgType::Text, "'it''s'::text"),
        value(Value::String("it's".into()))
    );
    assert_eq!(
        kind(PgType::VarChar(Some(5)), "'ab'::character varying"),
        value(Value::String("ab".into()))
    );
    assert_eq!(
        kind(PgType::Enum("Role".into()), "'USER'::\"Role\""),
        value(Value::Enum("USER".into()))
    );
    assert_eq!(
        kind(PgType::Bytea, "'\\x0102'::bytea"),
        value(Value::Bytes(vec![1, 2]))
    );
    assert_eq!(kind(PgType::Boolean, "false"), value(Value::Boolean(false)));
    assert_eq!(
        kind(PgType::Timestamp(Some(3)), "CURRENT_TIMESTAMP"),
        Some(Kind::Now)
    );
    // Anything else is an expression, as Prisma keeps it.
    for (base, text) in [
        (PgType::Text, "('x'::text || 'y'::text)"),
        (PgType::Text, "'x'::character varying"),
        (PgType::Integer, "(1 + 2)"),
        (PgType::Uuid, "'5f1b1c5e-0000-0000-0000-00000000000a'::uuid"),
        (
            PgType::Timestamp(Some(3)),
            "'2020-01-01 00:00:00'::timestamp without time zone",
        ),
    ] {
        assert_eq!(
            kind(base, text),
            Some(Kind::Expression(text.to_string())),
            "{text}"
        );
    }
}

/// `migrate new`'s file: Prisma's own `migration.sql` when there is no
/// note, else the same after a header naming every note.
#[test]
fn the_file_says_where_it_differs_from_prisma() {
    let plain = up(
        "model User {\n  id Int @id\n}\n",
        "model User {\n  id Int @id\n  name String?\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(plain.file(), plain.migration_sql);

    let noted = up(
        "model O {\n  id Int @id @default(autoincrement())\n}\n",
        "model O {\n  id BigInt @id @default(autoincrement())\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let file = noted.file();
    let (header, rest) = file.split_once("\n\n").unwrap_or_else(|| panic!("{file}"));
    assert_eq!(rest, noted.migration_sql);
    assert!(
        header.starts_with("-- impulse-db: this SQL differs"),
        "{header}"
    );
    assert!(
        header.contains("-- - O.id: Prisma Migrate 7.10"),
        "{header}"
    );
    for line in header.lines() {
        assert!(line.starts_with("--"), "{line}");
        assert!(
            line.chars().count() <= 78 || !line.trim_start_matches("-- ").contains(' '),
            "{line}"
        );
    }
    // Every word of the note is there.
    let words: Vec<&str> = header
        .lines()
        .skip(2)
        .flat_map(|l| l.trim_start_matches('-').split_whitespace())
        .collect();
    let expected: Vec<&str> = noted.notes[0].message.split_whitespace().collect();
    assert_eq!(&words[2..], &expected[..]);
}
