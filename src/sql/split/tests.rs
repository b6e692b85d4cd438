//! Tests of the splitter: quoting, comments, bodies, Prisma files, transaction rules, and properties on arbitrary input.

use proptest::prelude::*;

use super::*;

fn texts(sql: &str) -> Vec<&str> {
    split(sql).statements.iter().map(|s| s.text).collect()
}

/// The spans, then the trailer, are the input byte for byte.
fn assert_covers(sql: &str) {
    let script = split(sql);
    let mut rebuilt = String::new();
    let mut at = 0;
    for statement in &script.statements {
        assert_eq!(statement.span.start, at, "spans are contiguous in {sql:?}");
        assert!(statement.span.start <= statement.offset);
        assert_eq!(statement.offset + statement.text.len(), statement.span.end);
        assert_eq!(&sql[statement.offset..statement.span.end], statement.text);
        rebuilt.push_str(&sql[statement.span.clone()]);
        at = statement.span.end;
    }
    assert_eq!(script.trailing.start, at);
    assert_eq!(script.trailing.end, sql.len());
    rebuilt.push_str(&sql[script.trailing.clone()]);
    assert_eq!(rebuilt, sql);
}

#[test]
fn single_quotes_hide_semicolons() {
    let sql = "INSERT INTO t VALUES ('a;b');\nSELECT 'it''s; fine';";
    assert_eq!(
        texts(sql),
        ["INSERT INTO t VALUES ('a;b');", "SELECT 'it''s; fine';"]
    );
    assert_covers(sql);
}

#[test]
fn escape_strings_hide_semicolons() {
    let sql = r"SELECT E'a\';b'; SELECT e'\\'; SELECT U&'d\0061t;a';";
    assert_eq!(
        texts(sql),
        [
            r"SELECT E'a\';b';",
            r"SELECT e'\\';",
            r"SELECT U&'d\0061t;a';"
        ]
    );
}

#[test]
fn quoted_identifiers_hide_semicolons() {
    let sql = r#"CREATE TABLE "a;b" ("c;""d" INT); DROP TABLE "a;b";"#;
    assert_eq!(
        texts(sql),
        [
            r#"CREATE TABLE "a;b" ("c;""d" INT);"#,
            r#"DROP TABLE "a;b";"#
        ]
    );
}

#[test]
fn dollar_quotes_hide_semicolons() {
    let sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\
               DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $body$;\n\
               SELECT $a$ $b$ ; $b$ $a$;";
    assert_eq!(
        texts(sql),
        [
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;",
            "DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $body$;",
            "SELECT $a$ $b$ ; $b$ $a$;",
        ]
    );
    assert_covers(sql);
}

#[test]
fn comments_hide_semicolons_and_nest() {
    let sql = "-- a; b\nSELECT 1; /* x; /* nested; */ still; */ SELECT /* ; */ 2;\n-- tail;\n";
    let script = split(sql);
    assert_eq!(texts(sql), ["SELECT 1;", "SELECT /* ; */ 2;"]);
    assert_eq!(script.statements[0].line, 2);
    assert_eq!(script.statements[1].line, 2);
    assert_eq!(&sql[script.trailing.clone()], "\n-- tail;\n");
    assert_covers(sql);
}

#[test]
fn routine_bodies_and_rule_actions_are_one_statement() {
    let sql = "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;\n\
               CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b);\nSELECT 3;";
    assert_eq!(
        texts(sql),
        [
            "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;",
            "CREATE RULE r AS ON INSERT TO t DO ALSO (NOTIFY a; NOTIFY b);",
            "SELECT 3;",
        ]
    );
}

#[test]
fn empty_statements_are_skipped_and_kept_in_spans() {
    let sql = ";;\n  ; SELECT 1;;; SELECT 2; ;";
    let script = split(sql);
    assert_eq!(texts(sql), ["SELECT 1;", "SELECT 2;"]);
    assert_eq!(&sql[script.statements[0].span.clone()], ";;\n  ; SELECT 1;");
    assert_eq!(&sql[script.statements[1].span.clone()], ";; SELECT 2;");
    assert_eq!(&sql[script.trailing.clone()], " ;");
    assert_covers(sql);
    assert!(split("").statements.is_empty());
    assert!(split(" ;\n-- nothing\n").statements.is_empty());
    assert_covers(" ;\n-- nothing\n");
}

#[test]
fn trailing_statement_without_semicolon() {
    let sql = "SELECT 1;\n\nALTER TABLE \"User\" ADD COLUMN \"x\" TEXT  \n-- end\n";
    let script = split(sql);
    assert_eq!(
        texts(sql),
        ["SELECT 1;", "ALTER TABLE \"User\" ADD COLUMN \"x\" TEXT"]
    );
    assert_eq!(script.statements[1].line, 3);
    assert_eq!(script.statements[1].offset, 11);
    assert_eq!(&sql[script.trailing.clone()], "  \n-- end\n");
    assert_covers(sql);
}

#[test]
fn offsets_and_lines_count_bytes_and_newlines() {
    let sql = "-- é\r\nSELECT 'ü';\r\n\r\n  SELECT 2;";
    let script = split(sql);
    assert_eq!(script.statements[0].offset, 7);
    assert_eq!(script.statements[0].line, 2);
    assert_eq!(script.statements[1].line, 4);
    assert_eq!(script.statements[1].text, "SELECT 2;");
    assert_covers(sql);
}

#[test]
fn prisma_first_migration() {
    let sql = include_str!("../testdata/prisma_init.sql");
    let script = split(sql);
    assert_eq!(script.statements.len(), 2);
    assert!(
        script.statements[0]
            .text
            .starts_with("CREATE TABLE \"User\" (")
    );
    assert!(script.statements[0].text.ends_with(");"));
    assert_eq!(script.statements[0].line, 2);
    assert_eq!(
        script.statements[1].text,
        "CREATE UNIQUE INDEX \"User_email_key\" ON \"User\"(\"email\");"
    );
    assert_eq!(script.statements[1].line, 12);
    assert!(sql[script.statements[1].span.clone()].starts_with("\n\n-- CreateIndex\n"));
    assert_eq!(script.mode(), ExecutionMode::SingleTransaction);
    assert_covers(sql);
}

#[test]
fn prisma_rich_and_alter_migrations_are_transactional() {
    for sql in [
        include_str!("../testdata/prisma_rich_init.sql"),
        include_str!("../testdata/prisma_add_columns.sql"),
        include_str!("../testdata/prisma_relations.sql"),
    ] {
        let script = split(sql);
        assert!(
            script
                .statements
                .iter()
                .all(|s| s.kind == StatementKind::Ordinary)
        );
        assert_eq!(script.mode(), ExecutionMode::SingleTransaction);
        assert_covers(sql);
    }
    assert_eq!(
        split(include_str!("../testdata/prisma_rich_init.sql"))
            .statements
            .len(),
        11
    );
    let add = split(include_str!("../testdata/prisma_add_columns.sql"));
    assert_eq!(add.statements.len(), 5);
    assert_eq!(
        add.statements[0].text,
        "ALTER TYPE \"Role\" ADD VALUE 'GUEST';"
    );
    assert_eq!(add.statements[1].line, 5);
}

#[test]
fn prisma_enum_removal_controls_its_own_transaction() {
    let sql = include_str!("../testdata/prisma_enum_removal.sql");
    let script = split(sql);
    let kinds: Vec<_> = script.statements.iter().map(|s| (s.line, s.kind)).collect();
    use StatementKind::{Ordinary, TransactionControl as Tx};
    assert_eq!(
        kinds,
        [
            (2, Tx(TransactionControl::Begin)),
            (3, Ordinary),
            (4, Ordinary),
            (5, Ordinary),
            (6, Ordinary),
            (7, Ordinary),
            (8, Ordinary),
            (9, Ordinary),
            (10, Tx(TransactionControl::Commit)),
            (13, Ordinary),
        ]
    );
    assert_eq!(script.mode(), ExecutionMode::AsWritten);
    assert_eq!(script.transaction_control().count(), 2);
    assert_covers(sql);
}

#[test]
fn create_index_concurrently_needs_statement_by_statement() {
    let sql = "-- CreateIndex\nCREATE INDEX CONCURRENTLY \"User_name_idx\" ON \"User\"(\"name\");\n\
               CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS u ON t (a);\n\
               CREATE INDEX i ON t (a);";
    let script = split(sql);
    let no_tx: Vec<_> = script.non_transactional().map(|s| s.line).collect();
    assert_eq!(no_tx, [2, 3]);
    assert_eq!(
        script.statements[0].kind,
        StatementKind::NoTransaction {
            command: "CREATE INDEX CONCURRENTLY"
        }
    );
    assert_eq!(script.statements[2].kind, StatementKind::Ordinary);
    assert_eq!(script.mode(), ExecutionMode::StatementByStatement);
    // Even with the file's own transaction control.
    let mixed = "BEGIN; CREATE TABLE a (); COMMIT; CREATE INDEX CONCURRENTLY ON a ((1));";
    assert_eq!(split(mixed).mode(), ExecutionMode::StatementByStatement);
}

#[test]
fn statements_postgres_refuses_in_a_transaction_block() {
    let refused = [
        (
            "CREATE INDEX CONCURRENTLY i ON t (c)",
            "CREATE INDEX CONCURRENTLY",
        ),
        (
            "create unique index concurrently on t (c)",
            "CREATE INDEX CONCURRENTLY",
        ),
        ("DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"),
        (
            "DROP INDEX CONCURRENTLY IF EXISTS i",
            "DROP INDEX CONCURRENTLY",
        ),
        ("REINDEX INDEX CONCURRENTLY i", "REINDEX CONCURRENTLY"),
        ("REINDEX TABLE CONCURRENTLY t", "REINDEX CONCURRENTLY"),
        ("REINDEX (CONCURRENTLY) TABLE t", "REINDEX CONCURRENTLY"),
        ("REINDEX SCHEMA public", "REINDEX SCHEMA"),
        ("REINDEX DATABASE app", "REINDEX DATABASE"),
        ("REINDEX SYSTEM app", "REINDEX SYSTEM"),
        ("VACUUM", "VACUUM"),
        ("VACUUM t", "VACUUM"),
        ("VACUUM FULL t", "VACUUM"),
        ("VACUUM (ANALYZE, VERBOSE) t", "VACUUM"),
        ("CLUSTER", "CLUSTER"),
        ("CREATE DATABASE x", "CREATE DATABASE"),
        ("DROP DATABASE IF EXISTS x", "DROP DATABASE"),
        (
            "ALTER DATABASE x SET TABLESPACE pg_default",
            "ALTER DATABASE SET TABLESPACE",
        ),
        ("CREATE TABLESPACE ts LOCATION '/data'", "CREATE TABLESPACE"),
        ("DROP TABLESPACE ts", "DROP TABLESPACE"),
        ("ALTER SYSTEM SET work_mem = '4MB'", "ALTER SYSTEM"),
        (
            "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY",
            "ALTER TABLE ... DETACH CONCURRENTLY",
        ),
        ("DISCARD ALL", "DISCARD ALL"),
        ("COMMIT PREPARED 'x'", "COMMIT PREPARED"),
        ("ROLLBACK PREPARED 'x'", "ROLLBACK PREPARED"),
        (
            "CREATE SUBSCRIPTION s CONNECTION 'host=h' PUBLICATION p",
            "CREATE SUBSCRIPTION",
        ),
        ("DROP SUBSCRIPTION s", "DROP SUBSCRIPTION"),
    ];
    for (sql, command) in refused {
        let script = split(sql);
        assert_eq!(script.statements.len(), 1, "{sql}");
        assert_eq!(
            script.statements[0].kind,
            StatementKind::NoTransaction { command },
            "{sql}"
        );
        assert_eq!(script.mode(), ExecutionMode::StatementByStatement, "{sql}");
    }
}

#[test]
fn statements_postgres_allows_in_a_transaction_block() {
    for sql in [
        "ALTER TYPE \"Role\" ADD VALUE 'GUEST'",
        "ALTER TYPE e ADD VALUE IF NOT EXISTS 'c' BEFORE 'a'",
        "CREATE INDEX i ON t (c)",
        "DROP INDEX i",
        "REINDEX TABLE t",
        "REINDEX INDEX i",
        "CLUSTER t USING t_pkey",
        "ANALYZE t",
        "DISCARD PLANS",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
        "ALTER TABLE p DETACH PARTITION p1",
        "ALTER DATABASE x SET work_mem = '4MB'",
        "SELECT 'CREATE INDEX CONCURRENTLY i ON t (c)'",
        "-- CREATE INDEX CONCURRENTLY i ON t (c)\nSELECT 1",
    ] {
        let script = split(sql);
        assert!(
            script
                .statements
                .iter()
                .all(|s| s.kind == StatementKind::Ordinary),
            "{sql}: {:?}",
            script.statements
        );
        assert_eq!(script.mode(), ExecutionMode::SingleTransaction, "{sql}");
    }
}

#[test]
fn transaction_control_statements() {
    use TransactionControl::*;
    for (sql, control) in [
        ("BEGIN", Begin),
        ("BEGIN ISOLATION LEVEL SERIALIZABLE", Begin),
        ("START TRANSACTION", Begin),
        ("COMMIT", Commit),
        ("END", Commit),
        ("ROLLBACK", Rollback),
        ("ABORT", Rollback),
        ("SAVEPOINT s", Savepoint),
        ("RELEASE SAVEPOINT s", Savepoint),
        ("ROLLBACK TO SAVEPOINT s", Savepoint),
        ("PREPARE TRANSACTION 'x'", PrepareTransaction),
    ] {
        let script = split(sql);
        assert_eq!(
            script.statements[0].kind,
            StatementKind::TransactionControl(control),
            "{sql}"
        );
        assert_eq!(script.mode(), ExecutionMode::AsWritten, "{sql}");
    }
}

#[test]
fn unparseable_input_still_splits() {
    let sql = "SELEKT 1; CREATE INDEX CONCURRENTLY ON; )))(; 'unterminated";
    let script = split(sql);
    assert_eq!(script.statements.len(), 4);
    assert_eq!(script.statements[3].text, "'unterminated");
    assert_covers(sql);
}

#[test]
fn deep_nesting_is_parsed_on_a_big_stack_or_lexed() {
    // Deeper than a 2 MiB test thread could parse in a debug build.
    let deep = format!(
        "SELECT {}1{};\nSELECT 2;",
        "(".repeat(3_000),
        ")".repeat(3_000)
    );
    assert_eq!(split(&deep).statements.len(), 2);
    let not_chain = format!("SELECT {}true; SELECT 2;", "NOT ".repeat(3_000));
    assert_eq!(split(&not_chain).statements.len(), 2);
    // Deeper than PostgreSQL accepts: the lexer alone cuts it.
    let deeper = format!(
        "CREATE INDEX CONCURRENTLY i ON t (c);\nSELECT {}1;",
        "[".repeat(MAX_NESTING + 1)
    );
    let script = split(&deeper);
    assert_eq!(script.statements.len(), 2);
    assert_eq!(script.statements[0].kind, StatementKind::Ordinary);
    assert_covers(&deeper);
}

#[test]
fn lexer_fallback_cuts_like_the_parser_on_plain_files() {
    for sql in [
        include_str!("../testdata/prisma_rich_init.sql"),
        include_str!("../testdata/prisma_enum_removal.sql"),
        "SELECT 'a;b'; /* ; /* ; */ */ SELECT $x$;$x$;; SELECT 3",
    ] {
        let lexed: Vec<_> = split_lexed(sql)
            .statements
            .iter()
            .map(|s| (s.text, s.span.clone()))
            .collect();
        let parsed: Vec<_> = split(sql)
            .statements
            .iter()
            .map(|s| (s.text, s.span.clone()))
            .collect();
        assert_eq!(lexed, parsed);
    }
}

fn sql_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(";".to_string()),
        Just("'".to_string()),
        Just("''".to_string()),
        Just("\"".to_string()),
        Just("$$".to_string()),
        Just("$a$".to_string()),
        Just("--".to_string()),
        Just("/*".to_string()),
        Just("*/".to_string()),
        Just("\n".to_string()),
        Just("E'\\'".to_string()),
        Just("BEGIN ATOMIC".to_string()),
        Just("END".to_string()),
        Just("CREATE INDEX CONCURRENTLY i ON t (c)".to_string()),
        Just("CREATE TABLE \"T\" (id INT)".to_string()),
        Just("BEGIN".to_string()),
        Just("COMMIT".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        "[a-zA-Z0-9 ]{0,8}",
        any::<String>(),
    ]
}

#[test]
fn concurrent_index_builds_are_named_and_have_a_transaction_form() {
    let sql = "CREATE UNIQUE INDEX CONCURRENTLY \"User_a_key\" ON \"User\"(\"a\");\n\
               CREATE INDEX CONCURRENTLY IF NOT EXISTS app.big_v ON app.big (v);\n\
               CREATE INDEX CONCURRENTLY ON t (c);\n\
               DROP INDEX CONCURRENTLY \"x\";\n\
               CREATE INDEX \"plain\" ON t (c);\n\
               VACUUM t;\n\
               BEGIN;\n";
    let script = split(sql);
    let named: Vec<Option<ObjectName>> = script
        .statements
        .iter()
        .map(|s| s.builds_index.clone())
        .collect();
    let name = |schema: Option<&str>, name: &str| {
        Some(ObjectName {
            schema: schema.map(String::from),
            name: name.to_string(),
        })
    };
    assert_eq!(
        named,
        [
            name(None, "User_a_key"),
            name(Some("app"), "big_v"),
            None,
            None,
            None,
            None,
            None
        ]
    );
    let forms: Vec<Option<String>> = script
        .statements
        .iter()
        .map(|s| s.in_transaction_form(sql))
        .collect();
    assert_eq!(
        forms,
        [
            Some("CREATE UNIQUE INDEX  \"User_a_key\" ON \"User\"(\"a\");".to_string()),
            Some("CREATE INDEX  IF NOT EXISTS app.big_v ON app.big (v);".to_string()),
            Some("CREATE INDEX  ON t (c);".to_string()),
            Some("DROP INDEX  \"x\";".to_string()),
            Some("CREATE INDEX \"plain\" ON t (c);".to_string()),
            None,
            None,
        ]
    );
    let concurrent: Vec<bool> = script
        .statements
        .iter()
        .map(|s| s.kind.is_concurrent())
        .collect();
    assert_eq!(concurrent, [true, true, true, true, false, false, false]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_and_spans_cover_arbitrary_input(input in any::<String>()) {
        assert_covers(&input);
    }

    #[test]
    fn the_lexed_mode_is_the_parsed_one(parts in proptest::collection::vec(prop_oneof![
        sql_fragment(),
        Just(";".to_string()),
        proptest::sample::select(vec![
            "VACUUM", "vacuum analyze t", "REINDEX SCHEMA s", "reindex table concurrently t",
            "CLUSTER", "DROP DATABASE d", "ALTER DATABASE d SET TABLESPACE x", "ALTER SYSTEM SET a = 1",
            "DISCARD ALL", "COMMIT PREPARED 'x'", "ROLLBACK", "start transaction", "savepoint a",
            "RELEASE a", "ABORT", "END", "DROP SUBSCRIPTION s", "\"vacuum\"", "SELECT 'commit'",
            "ALTER TABLE t DETACH PARTITION p CONCURRENTLY", "CREATE TABLESPACE x LOCATION '/x'",
        ]).prop_map(String::from),
    ], 0..24)) {
        let input = parts.concat();
        prop_assert_eq!(mode(&input), split(&input).mode(), "{:?}", input);
    }

    #[test]
    fn spans_cover_sql_like_input(parts in proptest::collection::vec(sql_fragment(), 0..24)) {
        let input = parts.concat();
        assert_covers(&input);
        let script = split(&input);
        for statement in &script.statements {
            prop_assert!(!statement.text.is_empty());
            // PostgreSQL's whitespace, not Unicode's: a no-break space is
            // part of an identifier to the server (the first proptest find).
            prop_assert!(!statement.text.starts_with([' ', '\t', '\n', '\r', '\x0b', '\x0c']));
            prop_assert_eq!(statement.line, input[..statement.offset].matches('\n').count() + 1);
        }
    }
}
