//! `migrate lint` as a command: a table of snippets through the binary
//! (one run, one file each), its exit codes, `--all`, files and migration
//! directories, ignore comments, the pending migrations from the history,
//! no connection, and `up` printing the findings of what it applies.

use std::path::Path;

use crate::support::{Out, TestDb, bin, empty_dir, pg};

/// The `(rule, line)` of each finding a snippet must report, exactly.
type Expected = &'static [(&'static str, usize)];

/// Snippets (file name, SQL) and their findings.
const CASES: &[(&str, &str, Expected)] = &[
    (
        "prisma_new_table",
        include_str!("../../prisma/migrations/20261129000001_create_user_table/migration.sql"),
        &[],
    ),
    (
        "prisma_new_tables_with_relation",
        "-- CreateTable\nCREATE TABLE \"Post\" (\n    \"id\" SERIAL NOT NULL,\n    \"tagId\" INTEGER NOT NULL,\n\n    CONSTRAINT \"Post_pkey\" PRIMARY KEY (\"id\")\n);\n\n-- CreateTable\nCREATE TABLE \"Tag\" (\n    \"id\" SERIAL NOT NULL,\n    \"name\" TEXT NOT NULL,\n\n    CONSTRAINT \"Tag_pkey\" PRIMARY KEY (\"id\")\n);\n\n-- CreateIndex\nCREATE INDEX \"Post_tagId_idx\" ON \"Post\"(\"tagId\");\n\n-- CreateIndex\nCREATE UNIQUE INDEX \"Tag_name_key\" ON \"Tag\"(\"name\");\n\n-- AddForeignKey\nALTER TABLE \"Post\" ADD CONSTRAINT \"Post_tagId_fkey\" FOREIGN KEY (\"tagId\") REFERENCES \"Tag\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\n",
        &[],
    ),
    (
        "index",
        "-- CreateIndex\nCREATE INDEX \"User_name_idx\" ON \"User\"(\"name\");\n",
        &[("index-without-concurrently", 2)],
    ),
    (
        "index_concurrently",
        "CREATE INDEX CONCURRENTLY \"User_name_idx\" ON \"User\"(\"name\");\n",
        &[],
    ),
    (
        "add_nullable_column",
        "-- AlterTable\nALTER TABLE \"User\" ADD COLUMN     \"nickname\" TEXT;\n",
        &[],
    ),
    (
        "add_required_column",
        "ALTER TABLE \"User\" ADD COLUMN     \"age\" INTEGER NOT NULL;\n",
        &[("add-column-not-null-without-default", 1)],
    ),
    (
        "add_column_constant_default",
        "ALTER TABLE \"User\" ADD COLUMN     \"n\" INTEGER NOT NULL DEFAULT 0;\n",
        &[],
    ),
    (
        "add_column_volatile_default",
        "ALTER TABLE \"User\" ADD COLUMN     \"token\" UUID DEFAULT gen_random_uuid();\n",
        &[("add-column-volatile-default", 1)],
    ),
    (
        "set_not_null",
        "ALTER TABLE \"User\" ALTER COLUMN \"name\" SET NOT NULL;\n",
        &[("set-not-null", 1)],
    ),
    (
        "type_change",
        "ALTER TABLE \"User\" ALTER COLUMN \"name\" SET DATA TYPE VARCHAR(100);\n",
        &[("column-type-change", 1)],
    ),
    (
        "drop_column",
        "ALTER TABLE \"User\" DROP COLUMN \"name\";\n",
        &[("drop-column", 1)],
    ),
    ("drop_table", "DROP TABLE \"Post\";\n", &[("drop-table", 1)]),
    (
        "rename_column",
        "ALTER TABLE \"User\" RENAME COLUMN \"name\" TO \"fullName\";\n",
        &[("rename-column", 1)],
    ),
    (
        "rename_table",
        "ALTER TABLE \"User\" RENAME TO \"Account\";\n",
        &[("rename-table", 1)],
    ),
    (
        "foreign_key",
        "ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\"(\"id\") ON DELETE RESTRICT ON UPDATE CASCADE;\n",
        &[("constraint-without-not-valid", 1)],
    ),
    (
        "not_valid_then_validate_in_one_transaction",
        "ALTER TABLE \"Post\" ADD CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\"(\"id\") NOT VALID;\nALTER TABLE \"Post\" VALIDATE CONSTRAINT \"Post_authorId_fkey\";\n",
        &[("constraint-without-not-valid", 2)],
    ),
    (
        "unique_constraint",
        "ALTER TABLE \"User\" ADD CONSTRAINT \"User_email_key\" UNIQUE (\"email\");\n",
        &[("add-unique-constraint-without-index", 1)],
    ),
    (
        "add_primary_key",
        "ALTER TABLE \"User\" ADD PRIMARY KEY (\"id\");\n",
        &[("add-primary-key-without-index", 1)],
    ),
    (
        "vacuum_full",
        "VACUUM FULL \"User\";\n",
        &[("vacuum-full", 1)],
    ),
    (
        "cluster",
        "CLUSTER \"User\" USING \"User_pkey\";\n",
        &[("cluster", 1)],
    ),
    (
        "rename_enum_value",
        "ALTER TYPE \"Role\" RENAME VALUE 'USER' TO 'MEMBER';\n",
        &[("rename-enum-value", 1)],
    ),
    (
        "concurrently_inside_the_files_own_block",
        "BEGIN;\nCREATE INDEX CONCURRENTLY \"User_name_idx\" ON \"User\"(\"name\");\nCOMMIT;\n",
        &[("concurrently-in-transaction", 2)],
    ),
    (
        "reindex",
        "REINDEX TABLE \"User\";\n",
        &[("reindex-without-concurrently", 1)],
    ),
    (
        "truncate_cascade",
        "TRUNCATE \"User\" CASCADE;\n",
        &[("truncate-cascade", 1)],
    ),
    (
        "drop_schema",
        "DROP SCHEMA \"app\" CASCADE;\n",
        &[("drop-schema", 1)],
    ),
    (
        "uncommitted_transaction",
        "BEGIN;\nALTER TABLE \"User\" ADD COLUMN \"x\" TEXT;\n",
        &[("uncommitted-transaction", 1)],
    ),
    (
        "ignored_with_a_reason",
        "-- AlterTable\n-- migrate-lint: ignore drop-column -- unused since v42, see #123\nALTER TABLE \"User\" DROP COLUMN \"legacy\";\n",
        &[],
    ),
    (
        "ignore_without_a_reason",
        "-- migrate-lint: ignore drop-column\nALTER TABLE \"User\" DROP COLUMN \"legacy\";\n",
        &[("lint-ignore-invalid", 1), ("drop-column", 2)],
    ),
    (
        "ignore_that_silences_nothing",
        "-- migrate-lint: ignore drop-table -- it is not dropped after all\nALTER TABLE \"User\" ADD COLUMN \"x\" TEXT;\n",
        &[("lint-ignore-unused", 1)],
    ),
    (
        "one_of_two_ignored",
        "-- migrate-lint: ignore index-without-concurrently -- the table has 10 rows\nCREATE INDEX \"User_a_idx\" ON \"User\"(\"a\");\nALTER TABLE \"User\" DROP COLUMN \"b\";\n",
        &[("drop-column", 3)],
    ),
];

fn migrate() -> std::process::Command {
    bin(env!("CARGO_BIN_EXE_migrate"))
}

fn write_cases(dir: &Path) -> Vec<String> {
    CASES
        .iter()
        .map(|(name, sql, _)| {
            let path = dir.join(format!("{name}.sql"));
            std::fs::write(&path, sql).expect("write a snippet");
            path.display().to_string()
        })
        .collect()
}

#[test]
fn the_snippets_give_their_findings_through_the_command() {
    assert!(CASES.len() >= 20);
    let dir = empty_dir();
    let files = write_cases(&dir);
    let out = Out::capture(
        migrate()
            .arg("lint")
            .args(&files)
            .args(["--format", "json"]),
        &[],
    );
    out.expect(1);
    let json = out.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["code"], "lint.findings");
    assert_eq!(json["linted"], "files");
    let reported = json["files"].as_array().cloned().unwrap_or_default();
    assert_eq!(reported.len(), CASES.len());
    for ((name, sql, expected), file) in CASES.iter().zip(&reported) {
        let got: Vec<(String, usize)> = file["findings"]
            .as_array()
            .map(|f| {
                f.iter()
                    .map(|f| {
                        (
                            f["rule"].as_str().unwrap_or_default().to_string(),
                            f["line"].as_u64().unwrap_or_default() as usize,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let want: Vec<(String, usize)> =
            expected.iter().map(|(r, l)| (r.to_string(), *l)).collect();
        assert_eq!(got, want, "{name}:\n{sql}");
        // Every finding says why and what to write instead, on its statement.
        for f in file["findings"].as_array().into_iter().flatten() {
            assert!(f["why"].as_str().is_some_and(|w| !w.is_empty()), "{name}");
            assert!(
                f["safe_pattern"].as_str().is_some_and(|w| !w.is_empty()),
                "{name}"
            );
            assert!(
                f["statement"].as_str().is_some_and(|s| sql.contains(s)),
                "{name}"
            );
        }
    }
    // The ignored ones are kept with their reasons.
    let ignored = &reported[CASES
        .iter()
        .position(|c| c.0 == "ignored_with_a_reason")
        .unwrap_or(0)];
    assert_eq!(
        ignored["suppressed"][0]["reason"],
        "unused since v42, see #123"
    );
    assert_eq!(ignored["suppressed"][0]["finding"]["rule"], "drop-column");

    // Text: where, the rule, the statement, why and instead, then a summary.
    let text = Out::capture(migrate().arg("lint").args(&files), &[]);
    text.expect(1);
    assert!(text.stdout.contains("index.sql:2: index-without-concurrently\n    CREATE INDEX \"User_name_idx\" ON \"User\"(\"name\");\n"), "{text}");
    assert!(text.stdout.contains("  why: "), "{text}");
    assert!(text.stdout.contains("  instead: "), "{text}");
    assert!(
        text.stdout
            .trim_end()
            .ends_with("(2 silenced by ignore comments)"),
        "{text}"
    );
}

#[test]
fn exit_codes_all_files_and_directories() {
    // Every migration of the project: Prisma's SQL for a new table is clean.
    let all = Out::capture(migrate().args(["lint", "--all"]), &[]);
    all.expect(0);
    assert_eq!(all.stdout.trim(), "no findings in 1 migration", "{all}");
    let json = Out::capture(migrate().args(["lint", "--all", "--format", "json"]), &[]);
    json.expect(0);
    assert_eq!(json.json()["ok"], true);
    assert_eq!(json.json()["code"], serde_json::Value::Null);
    assert_eq!(
        json.json()["files"][0]["migration"],
        "20261129000001_create_user_table"
    );

    // A migration directory stands for its migration.sql; one silenced
    // finding is not a failure.
    let dir = empty_dir().join("20261201000000_drop_legacy");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("migration.sql"),
        "-- migrate-lint: ignore drop-column -- unused since v42\nALTER TABLE \"User\" DROP COLUMN \"legacy\";\n",
    )
    .unwrap();
    let out = Out::capture(
        migrate().arg("lint").arg(&dir).args(["--format", "json"]),
        &[],
    );
    out.expect(0);
    assert_eq!(
        out.json()["files"][0]["migration"],
        "20261201000000_drop_legacy"
    );
    assert_eq!(out.json()["suppressed"], 1);

    // Unreadable: a usage error. --all with files: clap refuses.
    let missing = Out::capture(
        migrate().args(["lint", "/nonexistent/migration.sql", "--format", "json"]),
        &[],
    );
    missing.error(2, "lint.unreadable");
    Out::capture(
        migrate().args(["lint", "--all", "x.sql", "--format", "json"]),
        &[],
    )
    .error(2, "usage.invalid");

    // The pending migrations need the history: without a connection,
    // the hint says how to lint without one.
    let none = Out::capture(migrate().args(["lint", "--format", "json"]), &[]);
    let error = none.error(2, "config.missing");
    assert!(Out::hint(&error).contains("--all"), "{none}");
}

fn live_fixtures(db: &TestDb) -> std::process::Command {
    let mut cmd = db.fixtures();
    cmd.env("FIXTURE_LIVE", "1").env("FIXTURE_FAIL", "0");
    cmd
}

#[test]
fn pending_migrations_come_from_the_history_and_up_warns() {
    let db = pg().new_db("lintpending");
    db.run(live_fixtures(&db).args(["up", "--steps", "4", "--no-grants"]))
        .expect(0);
    let out = db.run(live_fixtures(&db).args(["lint", "--format", "json"]));
    out.expect(1);
    let json = out.json();
    assert_eq!(json["linted"], "pending");
    let names: Vec<&str> = json["files"]
        .as_array()
        .map(|f| f.iter().filter_map(|f| f["migration"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names,
        [
            "20261129000005_fixture_user_nickname",
            "20261129000006_fixture_big_index_concurrently"
        ]
    );
    assert_eq!(
        json["files"][0]["findings"][0]["rule"],
        "index-without-concurrently"
    );
    assert_eq!(json["files"][1]["findings"], serde_json::json!([]));

    // `up` applies it anyway, with the finding as a warning on stderr.
    let up = db.run(live_fixtures(&db).args(["up", "--steps", "1", "--no-grants"]));
    up.expect(0);
    assert!(
        up.stderr.starts_with(
            "warning: prisma/migrations/20261129000005_fixture_user_nickname/migration.sql:5: index-without-concurrently\n"
        ),
        "{up}"
    );
    assert!(
        !up.stdout.contains("warning"),
        "warnings go to stderr: {up}"
    );
    let quiet = db.run(live_fixtures(&db).args(["up", "--dry-run", "-q"]));
    assert!(quiet.stderr.is_empty(), "{quiet}");

    // What is left pending is clean.
    let out = db.run(live_fixtures(&db).arg("lint"));
    out.expect(0);
    assert_eq!(
        out.stdout.trim(),
        "no findings in 1 pending migration",
        "{out}"
    );
}
