//! The linter against a table of snippets with their exact findings, Prisma 7.10.1 SQL included, and its ignore comments.

use super::*;

/// `(rule id, line)` of every finding, in file order.
fn found(sql: &str) -> Vec<(&'static str, usize)> {
    lint(sql)
        .findings
        .iter()
        .map(|f| (f.rule.id(), f.line))
        .collect()
}

/// `(rule id, line)` pairs a snippet must report, exactly.
type Expected = &'static [(&'static str, usize)];

/// Snippets (name, SQL) and exactly what they must report.
const CASES: &[(&str, &str, Expected)] = &[
    (
        "Prisma's first migration: new table and its unique index",
        include_str!("../sql/testdata/prisma_init.sql"),
        &[],
    ),
    (
        "Prisma's rich first migration: enum, tables, indexes, foreign keys between new tables",
        include_str!("../sql/testdata/prisma_rich_init.sql"),
        &[],
    ),
    (
        "Prisma: enum value, four ADD COLUMN forms, varchar widening, drop column, index on existing table",
        include_str!("../sql/testdata/prisma_add_columns.sql"),
        &[
            ("add-column-not-null-without-default", 5),
            ("column-type-change", 11),
            ("drop-column", 14),
            ("index-without-concurrently", 17),
        ],
    ),
    (
        "Prisma: enum value removal in its own BEGIN/COMMIT, BigInt to Int",
        include_str!("../sql/testdata/prisma_enum_removal.sql"),
        &[("column-type-change", 5), ("column-type-change", 13)],
    ),
    (
        "Prisma: drop FK, drop index, volatile dbgenerated default, SET NOT NULL, drop table, FK from an existing table to a new one",
        include_str!("../sql/testdata/prisma_relations.sql"),
        &[
            ("set-not-null", 8),
            ("add-column-volatile-default", 8),
            ("drop-table", 15),
            ("constraint-without-not-valid", 29),
        ],
    ),
    (
        "ADD COLUMN with constant and stable defaults is instant",
        "ALTER TABLE \"User\" ADD COLUMN     \"a\" INTEGER NOT NULL DEFAULT 0,\n\
         ADD COLUMN     \"b\" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,\n\
         ADD COLUMN     \"c\" TIMESTAMPTZ DEFAULT now(),\n\
         ADD COLUMN     \"d\" TEXT;",
        &[],
    ),
    (
        "ADD COLUMN with volatile defaults",
        "ALTER TABLE \"User\" ADD COLUMN \"a\" UUID DEFAULT gen_random_uuid();\n\
         ALTER TABLE \"User\" ADD COLUMN \"b\" DOUBLE PRECISION DEFAULT random();\n\
         ALTER TABLE \"User\" ADD COLUMN \"c\" TIMESTAMPTZ DEFAULT clock_timestamp();",
        &[
            ("add-column-volatile-default", 1),
            ("add-column-volatile-default", 2),
            ("add-column-volatile-default", 3),
        ],
    ),
    (
        "concurrent index on an existing table is fine",
        "CREATE INDEX CONCURRENTLY \"User_name_idx\" ON \"User\"(\"name\");",
        &[],
    ),
    (
        "plain and unique index on an existing table",
        "CREATE INDEX \"User_name_idx\" ON \"User\"(\"name\");\n\
         CREATE UNIQUE INDEX \"User_nick_key\" ON public.\"User\"(\"nick\");",
        &[
            ("index-without-concurrently", 1),
            ("index-without-concurrently", 2),
        ],
    ),
    (
        "foreign key and check without NOT VALID on an existing table",
        "ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\n\
         ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_views_check\" CHECK (\"views\" >= 0);",
        &[
            ("constraint-without-not-valid", 1),
            ("constraint-without-not-valid", 2),
        ],
    ),
    (
        "NOT VALID is fine; VALIDATE in the same (runner) transaction is not",
        "ALTER TABLE \"Post\" ADD CONSTRAINT \"c\" CHECK (\"views\" >= 0) NOT VALID;\n\
         ALTER TABLE \"Post\" VALIDATE CONSTRAINT \"c\";",
        &[("constraint-without-not-valid", 2)],
    ),
    (
        "VALIDATE alone, as the later migration",
        "ALTER TABLE \"Post\" VALIDATE CONSTRAINT \"c\";",
        &[],
    ),
    (
        "type changes",
        "ALTER TABLE \"User\" ALTER COLUMN \"id\" SET DATA TYPE BIGINT;\n\
         ALTER TABLE \"User\" ALTER COLUMN \"name\" TYPE VARCHAR(500);",
        &[("column-type-change", 1), ("column-type-change", 2)],
    ),
    (
        "renames and drops of existing tables and columns",
        "ALTER TABLE \"User\" RENAME COLUMN \"name\" TO \"fullName\";\n\
         ALTER TABLE \"User\" RENAME TO \"Member\";\n\
         ALTER TABLE \"Post\" DROP COLUMN \"legacy\";\n\
         DROP TABLE \"Old\";",
        &[
            ("rename-column", 1),
            ("rename-table", 2),
            ("drop-column", 3),
            ("drop-table", 4),
        ],
    ),
    (
        "everything on a table created in the same file is exempt",
        "CREATE TABLE \"Tag\" (\"id\" SERIAL NOT NULL, \"name\" TEXT, CONSTRAINT \"Tag_pkey\" PRIMARY KEY (\"id\"));\n\
         CREATE INDEX \"Tag_name_idx\" ON \"Tag\"(\"name\");\n\
         ALTER TABLE \"Tag\" ADD COLUMN \"slug\" TEXT NOT NULL;\n\
         ALTER TABLE \"Tag\" ADD COLUMN \"uid\" UUID DEFAULT gen_random_uuid();\n\
         ALTER TABLE \"Tag\" ALTER COLUMN \"name\" SET NOT NULL;\n\
         ALTER TABLE \"Tag\" ALTER COLUMN \"name\" SET DATA TYPE VARCHAR(10);\n\
         ALTER TABLE public.\"Tag\" ADD CONSTRAINT \"Tag_userId_fkey\" FOREIGN KEY (\"id\") REFERENCES \"User\"(\"id\");\n\
         ALTER TABLE \"Tag\" RENAME COLUMN \"slug\" TO \"handle\";\n\
         ALTER TABLE \"Tag\" RENAME TO \"Label\";\n\
         CREATE INDEX \"Label_handle_idx\" ON \"Label\"(\"handle\");\n\
         DROP TABLE \"Label\";",
        &[],
    ),
    (
        "a quoted name is not the unquoted one",
        "CREATE TABLE \"Tag\" (\"id\" INT);\nCREATE INDEX tag_id ON tag (id);",
        &[("index-without-concurrently", 2)],
    ),
    (
        "SET NOT NULL is reported, DROP NOT NULL is not",
        "ALTER TABLE \"User\" ALTER COLUMN \"name\" SET NOT NULL;\n\
         ALTER TABLE \"User\" ALTER COLUMN \"nick\" DROP NOT NULL;",
        &[("set-not-null", 1)],
    ),
    (
        "SET NOT NULL proven by a CHECK validated earlier in the same file",
        "ALTER TABLE \"User\" VALIDATE CONSTRAINT \"User_name_not_null\";\n\
         ALTER TABLE \"User\" ALTER COLUMN \"name\" SET NOT NULL;\n\
         ALTER TABLE \"User\" DROP CONSTRAINT \"User_name_not_null\";",
        &[],
    ),
    (
        "primary key and unique constraint without an index",
        "ALTER TABLE \"User\" ADD CONSTRAINT \"User_pkey\" PRIMARY KEY (\"id\");\n\
         ALTER TABLE \"User\" ADD CONSTRAINT \"User_email_key\" UNIQUE (\"email\");\n\
         ALTER TABLE \"User\" ADD CONSTRAINT \"User_nick_key\" UNIQUE USING INDEX \"User_nick_idx\";",
        &[
            ("add-primary-key-without-index", 1),
            ("add-unique-constraint-without-index", 2),
        ],
    ),
    (
        "maintenance that rewrites or locks",
        "VACUUM FULL \"User\";\nVACUUM (FULL, ANALYZE) \"Post\";\nVACUUM (ANALYZE) \"Post\";\nCLUSTER \"User\" USING \"User_pkey\";\nREINDEX TABLE \"User\";\nREINDEX TABLE CONCURRENTLY \"Post\";",
        &[
            ("vacuum-full", 1),
            ("vacuum-full", 2),
            ("cluster", 4),
            ("reindex-without-concurrently", 5),
        ],
    ),
    (
        "enum changes: adding a value is fine, renaming one is not",
        "ALTER TYPE \"Role\" ADD VALUE 'GUEST';\nALTER TYPE \"Role\" RENAME VALUE 'USER' TO 'MEMBER';",
        &[("rename-enum-value", 2)],
    ),
    (
        "enum created in the same file",
        "CREATE TYPE \"Kind\" AS ENUM ('A');\nALTER TYPE \"Kind\" RENAME VALUE 'A' TO 'B';",
        &[],
    ),
    (
        "destructive or far-reaching",
        "TRUNCATE \"User\" CASCADE;\nDROP SCHEMA \"old\" CASCADE;\nDROP DATABASE \"x\";\nALTER DOMAIN positive ADD CONSTRAINT p CHECK (VALUE > 0);",
        &[
            ("truncate-cascade", 1),
            ("drop-schema", 2),
            ("drop-database", 3),
            ("alter-domain-add-constraint", 4),
        ],
    ),
    (
        "partition detach",
        "ALTER TABLE \"Event\" DETACH PARTITION \"Event_2020\";\nALTER TABLE \"Event\" DETACH PARTITION \"Event_2021\" CONCURRENTLY;",
        &[("detach-partition-without-concurrently", 1)],
    ),
    (
        "concurrent statements inside the file's own transaction",
        "BEGIN;\nCREATE INDEX CONCURRENTLY i ON \"User\" (\"name\");\nDROP INDEX CONCURRENTLY j;\nCOMMIT;\nCREATE INDEX CONCURRENTLY k ON \"User\" (\"nick\");",
        &[
            ("concurrently-in-transaction", 2),
            ("concurrently-in-transaction", 3),
        ],
    ),
    (
        "a transaction the file never commits",
        "BEGIN;\nALTER TABLE \"User\" ADD COLUMN \"x\" TEXT;",
        &[("uncommitted-transaction", 1)],
    ),
    (
        "Prisma's DDL style, timeouts and IF NOT EXISTS are not reported",
        "SET lock_timeout = '1s';\nCREATE TABLE IF NOT EXISTS \"A\" (\"id\" SERIAL, \"n\" INTEGER, \"t\" TIMESTAMP(3), \"c\" CHAR(2), \"v\" VARCHAR(5));\n\
         ALTER TABLE \"User\" ADD COLUMN \"n\" INTEGER, ADD COLUMN \"t\" TIMESTAMP(3), ADD COLUMN \"s\" SMALLINT;\n\
         DROP INDEX \"User_name_idx\";\nALTER TABLE \"User\" ALTER COLUMN \"x\" DROP DEFAULT;\nALTER TABLE \"Post\" DROP CONSTRAINT \"Post_authorId_fkey\";",
        &[],
    ),
    (
        "syntax squawk cannot read",
        "SELECT 1;\nALTER TABLE \"User\" FROBNICATE;",
        &[("syntax-error", 2)],
    ),
];

#[test]
fn snippets_report_exactly_what_they_should() {
    assert!(CASES.len() >= 20);
    let mut failures = Vec::new();
    for (name, sql, expected) in CASES {
        let actual = found(sql);
        if actual != *expected {
            failures.push(format!(
                "{name}:\n  expected {expected:?}\n  actual   {actual:?}\n  {:#?}",
                lint(sql).findings
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn findings_carry_statement_reason_and_safe_pattern() {
    let sql = "-- CreateIndex\nCREATE INDEX \"User_name_idx\" ON \"User\"(\"name\");\n";
    let report = lint(sql);
    assert_eq!(report.findings.len(), 1);
    let finding = &report.findings[0];
    assert_eq!(finding.rule, RuleId::IndexWithoutConcurrently);
    assert_eq!(
        finding.statement,
        "CREATE INDEX \"User_name_idx\" ON \"User\"(\"name\");"
    );
    assert_eq!(finding.line, 2);
    assert_eq!(finding.offset, 15);
    assert!(finding.why.contains("SHARE lock"));
    assert!(finding.safe_pattern.contains("CREATE INDEX CONCURRENTLY"));
    assert!(!finding.detail.is_empty());
    let json = serde_json::to_value(&report).unwrap_or_default();
    assert_eq!(json["findings"][0]["rule"], "index-without-concurrently");
}

#[test]
fn ignore_with_a_reason_silences_one_finding() {
    let sql = "-- AlterTable\n\
               -- migrate-lint: ignore drop-column -- unused since v42 (#123)\n\
               ALTER TABLE \"Post\" DROP COLUMN \"legacy\";\n\
               ALTER TABLE \"Post\" DROP COLUMN \"other\";\n";
    let report = lint(sql);
    assert_eq!(found(sql), [("drop-column", 4)]);
    assert_eq!(report.suppressed.len(), 1);
    let suppressed = &report.suppressed[0];
    assert_eq!(suppressed.finding.rule, RuleId::DropColumn);
    assert_eq!(suppressed.finding.line, 3);
    assert_eq!(suppressed.reason, "unused since v42 (#123)");
    assert_eq!(suppressed.ignore_line, 2);
}

#[test]
fn ignore_lists_several_rules_for_one_statement() {
    let sql = "-- migrate-lint: ignore add-column-volatile-default, set-not-null -- table has 12 rows\n\
               ALTER TABLE \"User\" ADD COLUMN \"uid\" UUID NOT NULL DEFAULT gen_random_uuid(),\n\
               ALTER COLUMN \"name\" SET NOT NULL;";
    let report = lint(sql);
    assert!(report.is_clean(), "{:#?}", report.findings);
    assert_eq!(report.suppressed.len(), 2);
}

#[test]
fn ignore_without_a_reason_is_itself_a_finding_and_silences_nothing() {
    let sql = "-- migrate-lint: ignore drop-column\nALTER TABLE \"Post\" DROP COLUMN \"legacy\";";
    assert_eq!(found(sql), [("lint-ignore-invalid", 1), ("drop-column", 2)]);
    let report = lint(sql);
    assert!(report.findings[0].detail.contains("reason"));
    assert!(report.suppressed.is_empty());
}

#[test]
fn ignore_problems() {
    let cases: &[(&str, &[(&str, usize)])] = &[
        // Unknown id (squawk's name, not ours).
        (
            "-- migrate-lint: ignore ban-drop-column -- old\nALTER TABLE t DROP COLUMN c;",
            &[("lint-ignore-invalid", 1), ("drop-column", 2)],
        ),
        // Nothing to silence on the statement below.
        (
            "-- migrate-lint: ignore drop-table -- wrong place\nALTER TABLE t DROP COLUMN c;",
            &[("lint-ignore-unused", 1), ("drop-column", 2)],
        ),
        // No statement below at all.
        (
            "SELECT 1;\n-- migrate-lint: ignore drop-table -- nothing here\n",
            &[("lint-ignore-unused", 2)],
        ),
        // Inside a statement.
        (
            "ALTER TABLE t\n-- migrate-lint: ignore drop-column -- inside\nDROP COLUMN c;",
            &[("drop-column", 1), ("lint-ignore-invalid", 2)],
        ),
        // squawk's own comments are not trusted.
        (
            "-- squawk-ignore ban-drop-column\nALTER TABLE t DROP COLUMN c;",
            &[("lint-ignore-invalid", 1)],
        ),
        // A block comment.
        (
            "/* migrate-lint: ignore drop-column -- why */\nALTER TABLE t DROP COLUMN c;",
            &[("lint-ignore-invalid", 1), ("drop-column", 2)],
        ),
        // The ignore rules cannot be ignored.
        (
            "-- migrate-lint: ignore lint-ignore-unused -- no\nSELECT 1;",
            &[("lint-ignore-invalid", 1)],
        ),
        // An exempt finding leaves the ignore unused.
        (
            "CREATE TABLE t (c INT);\n-- migrate-lint: ignore drop-column -- new table\nALTER TABLE t DROP COLUMN c;",
            &[("lint-ignore-unused", 2)],
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(found(sql), *expected, "{sql}");
    }
}

#[test]
fn ignore_applies_to_the_next_statement_only() {
    let sql = "-- migrate-lint: ignore index-without-concurrently -- small lookup table\n\n\
               -- CreateIndex\nCREATE INDEX a ON t (x);\nCREATE INDEX b ON t (y);";
    assert_eq!(found(sql), [("index-without-concurrently", 5)]);
}

#[test]
fn every_rule_has_texts_and_a_round_tripping_id() {
    for rule in RuleId::ALL {
        assert_eq!(rule.id().parse::<RuleId>(), Ok(rule));
        assert!(rule.why().ends_with('.'), "{rule}");
        assert!(!rule.safe_pattern().is_empty(), "{rule}");
        assert_eq!(rule.to_string(), rule.id());
    }
    assert!("prefer-identity".parse::<RuleId>().is_err());
}

#[test]
fn every_squawk_rule_we_run_maps_to_a_rule() {
    for (squawk, ours) in rules::SQUAWK_RULES {
        assert_eq!(RuleId::from_squawk(squawk), Some(ours));
    }
}

#[test]
fn nesting_deeper_than_postgres_accepts_is_reported_unchecked() {
    let sql = format!(
        "DROP TABLE t;\nSELECT {}1;",
        "(".repeat(crate::sql::split::MAX_NESTING + 1)
    );
    assert_eq!(found(&sql), [("syntax-error", 1)]);
    let fine = format!(
        "DROP TABLE t;\nSELECT {}1{};",
        "(".repeat(3_000),
        ")".repeat(3_000)
    );
    assert_eq!(found(&fine), [("drop-table", 1)]);
}

#[test]
fn arbitrary_input_does_not_panic() {
    for sql in [
        "",
        ";",
        "'",
        "$$",
        "/*",
        "-- migrate-lint:",
        "-- migrate-lint: ignore",
        "ALTER TABLE",
        "CREATE INDEX ON",
        "BEGIN",
        "\u{feff}SELECT 1",
    ] {
        let _ = lint(sql);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]

    #[test]
    fn lint_never_panics(input in proptest::prelude::any::<String>()) {
        let report = lint(&input);
        for finding in &report.findings {
            proptest::prop_assert!(finding.offset <= input.len());
            proptest::prop_assert!(finding.line >= 1);
        }
    }

    #[test]
    fn lint_never_panics_on_sql_like_input(
        parts in proptest::collection::vec(
            proptest::prop_oneof![
                proptest::prelude::Just("ALTER TABLE \"User\" "),
                proptest::prelude::Just("ADD COLUMN \"x\" TEXT NOT NULL"),
                proptest::prelude::Just("DROP COLUMN \"y\""),
                proptest::prelude::Just("CREATE TABLE \"User\" (id INT)"),
                proptest::prelude::Just("CREATE INDEX ON \"User\" (id)"),
                proptest::prelude::Just(";\n"),
                proptest::prelude::Just("-- migrate-lint: ignore drop-column -- r\n"),
                proptest::prelude::Just("-- migrate-lint: ignore\n"),
                proptest::prelude::Just("BEGIN;"),
                proptest::prelude::Just("COMMIT;"),
                proptest::prelude::Just("'"),
                proptest::prelude::Just("$$"),
                proptest::prelude::Just("/*"),
            ],
            0..20,
        )
    ) {
        let sql = parts.concat();
        let report = lint(&sql);
        for finding in report.findings.iter().chain(report.suppressed.iter().map(|s| &s.finding)) {
            proptest::prop_assert!(sql.get(finding.offset..).is_some());
        }
    }
}
