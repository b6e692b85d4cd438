//! `_prisma_migrations` as the history: refusals that change nothing,
//! their repairs (`resolve`, `baseline`, `--allow-edited`), Prisma's lock,
//! the lock-polling that cannot deadlock a concurrent index build, the
//! conversion of the old `seaql_migrations`, and the stale-binary refusal.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::prisma_cli::{Project, copy_dir, project_schema, repo};
use crate::support::{Out, TestDb, bin, empty_dir, pg, wait_until};

const FIRST: &str = "20261129000001_create_user_table";
const HALF: &str = "20261129000002_fixture_half";

/// What the schema is, for before/after comparisons: relations, columns,
/// constraints and indexes of `public`.
fn fingerprint(db: &TestDb) -> String {
    db.psql(
        "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ( \
           SELECT 'rel ' || c.relname || ' ' || c.relkind::text AS x FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' \
           UNION ALL SELECT 'col ' || table_name || '.' || column_name || ' ' || data_type || ' ' \
             || is_nullable || ' ' || coalesce(column_default, '') \
             FROM information_schema.columns WHERE table_schema = 'public' \
           UNION ALL SELECT 'con ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE connamespace = 'public'::regnamespace \
           UNION ALL SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public') s",
    )
}

/// Every row of the history, as text.
fn rows(db: &TestDb) -> String {
    db.psql(
        "SELECT coalesce(string_agg(concat_ws(' ', migration_name, checksum, finished_at IS NOT NULL, \
         rolled_back_at IS NOT NULL, applied_steps_count, logs), E'\\n' ORDER BY started_at, id), '') \
         FROM _prisma_migrations",
    )
}

fn fixtures(db: &TestDb) -> Command {
    db.fixtures()
}

#[test]
fn a_failed_run_is_refused_until_resolved_and_nothing_changes() {
    let db = pg().new_db("histfailed");
    db.run(db.migrate().arg("up")).expect(0);
    // The real Prisma CLI runs the half fixture's directory, which fails:
    // the failed row is Prisma's own (P3009).
    let project = Project::new(&project_schema());
    project.copy_migrations(&repo().join("prisma/migrations"));
    let half = project.migrations().join(HALF);
    std::fs::create_dir_all(&half).unwrap();
    std::fs::write(
        half.join("migration.sql"),
        "CREATE TABLE \"Half\" (\"id\" SERIAL PRIMARY KEY);\nSELECT 1/0;\n",
    )
    .unwrap();
    project.prisma(&db, &["migrate", "deploy"]).expect(1);
    let history = rows(&db);
    assert!(history.contains(&format!("{HALF} ")), "{history}");
    let (schema, history) = (fingerprint(&db), rows(&db));

    for args in [&["up"][..], &["up", "--allow-edited"], &["down"]] {
        let out = db.run(
            fixtures(&db)
                .args(args)
                .args(["--format", "json"])
                .env("FIXTURE_FAIL", "0"),
        );
        let error = out.error(2, "migrations.failed");
        assert!(error["message"].as_str().unwrap().contains(HALF), "{out}");
        assert!(
            Out::hint(&error).contains(&format!("migrate resolve --rolled-back {HALF}")),
            "{out}"
        );
        assert_eq!(
            (fingerprint(&db), rows(&db)),
            (schema.clone(), history.clone())
        );
    }
    let status = db.run(fixtures(&db).args(["status", "--check", "--format", "json"]));
    status.expect(1);
    assert_eq!(status.json()["failed"], 1);
    assert_eq!(status.json()["migrations"][1]["status"], "failed");

    // Rolled back: it runs again, once, and finishes.
    db.run(fixtures(&db).args(["resolve", "--rolled-back", HALF]))
        .expect(0);
    assert!(
        rows(&db)
            .lines()
            .any(|l| l.starts_with(HALF) && l.contains(" f t ")),
        "{}",
        rows(&db)
    );
    db.run(fixtures(&db).arg("up").env("FIXTURE_FAIL", "0"))
        .expect(0);
    db.run(fixtures(&db).args(["status", "--check"])).expect(0);
    assert_eq!(
        db.psql(&format!(
            "SELECT count(*) FROM _prisma_migrations WHERE migration_name = '{HALF}' \
             AND finished_at IS NOT NULL AND rolled_back_at IS NULL"
        )),
        "1"
    );
}

#[test]
fn resolve_applied_records_a_hotfixed_run_and_refuses_what_prisma_refuses() {
    let db = pg().new_db("histresolve");
    db.run(db.migrate().arg("up")).expect(0);
    db.psql(&format!(
        "INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name, logs) \
         VALUES ('failed-run', 'x', now(), '{HALF}', 'ERROR: it broke')"
    ));
    let resolved = db.run(fixtures(&db).args(["resolve", "--applied", HALF, "--format", "json"]));
    resolved.expect(0);
    assert_eq!(resolved.json()["failed_run_rolled_back"], true);
    // Prisma's two statements: the failed row rolled back, a new row with logs ''.
    assert_eq!(
        db.psql(&format!(
            "SELECT string_agg(concat_ws(' ', rolled_back_at IS NOT NULL, finished_at IS NOT NULL, \
             applied_steps_count, quote_nullable(logs)), ', ' ORDER BY started_at) \
             FROM _prisma_migrations WHERE migration_name = '{HALF}'"
        )),
        "t f 0 'ERROR: it broke', f t 0 ''"
    );
    let status = db.run(fixtures(&db).args(["status", "--format", "json"]));
    assert_eq!(status.json()["migrations"][1]["status"], "applied");

    for (args, says) in [
        (vec!["resolve", "--applied", FIRST], "P3008"),
        (vec!["resolve", "--rolled-back", FIRST], "P3012"),
        (
            vec!["resolve", "--rolled-back", "20261129000003_fixture_slow"],
            "P3011",
        ),
        (
            vec!["resolve", "--applied", "20991231000000_nope"],
            "no migration",
        ),
    ] {
        let before = rows(&db);
        let out = db.run(fixtures(&db).args(&args).args(["--format", "json"]));
        let error = out.error(2, "resolve.refused");
        assert!(error["message"].as_str().unwrap().contains(says), "{out}");
        assert_eq!(rows(&db), before);
    }
}

#[test]
fn an_edited_migration_is_refused_naming_both_checksums() {
    let db = pg().new_db("histedited");
    db.run(db.migrate().arg("up")).expect(0);
    let recorded = "0".repeat(64);
    db.psql(&format!(
        "UPDATE _prisma_migrations SET checksum = '{recorded}'"
    ));
    let (schema, history) = (fingerprint(&db), rows(&db));
    let out = db.run(
        fixtures(&db)
            .args(["up", "--format", "json"])
            .env("FIXTURE_FAIL", "0"),
    );
    let error = out.error(2, "migrations.edited");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&recorded)
            && message.contains("107c91d824bffb158f5c014822b922fa1776e0e58190e703a40fc1ef4e8f1a03"),
        "{out}"
    );
    assert_eq!((fingerprint(&db), rows(&db)), (schema, history));
    let status = db.run(db.migrate().args(["status", "--check", "--format", "json"]));
    status.expect(1);
    assert_eq!(status.json()["edited"], 1);
    // A line-ending variant is not an edit.
    let crlf = db.psql(&format!(
        "SELECT encode(sha256(convert_to(replace('{}', E'\\n', E'\\r\\n'), 'UTF8')), 'hex')",
        include_str!("../../prisma/migrations/20261129000001_create_user_table/migration.sql")
            .replace('\'', "''")
    ));
    db.psql(&format!(
        "UPDATE _prisma_migrations SET checksum = '{crlf}'"
    ));
    db.run(db.migrate().args(["status", "--check"])).expect(0);
    // --allow-edited goes on.
    db.psql(&format!(
        "UPDATE _prisma_migrations SET checksum = '{recorded}'"
    ));
    db.run(
        fixtures(&db)
            .args(["up", "--allow-edited"])
            .env("FIXTURE_FAIL", "0"),
    )
    .expect(0);
}

/// A database with Prisma's first migration applied by hand, and no history.
fn built_without_history(hint: &str) -> TestDb {
    let db = pg().new_db(hint);
    db.psql_as_owner(include_str!(
        "../../prisma/migrations/20261129000001_create_user_table/migration.sql"
    ))
    .expect("Prisma's SQL applies");
    db
}

#[test]
fn tables_without_history_are_refused_and_baseline_records_what_matches() {
    let db = built_without_history("histbaseline");
    let schema = fingerprint(&db);
    let out = db.run(db.migrate().args(["up", "--format", "json"]));
    let error = out.error(2, "migrations.not_baselined");
    assert!(Out::hint(&error).contains("migrate baseline"), "{out}");
    assert_eq!(fingerprint(&db), schema);
    assert!(!db.table_exists("public", "_prisma_migrations"));

    // Baselined up to the first migration: the fixtures after it are applied.
    let baseline = db.run(fixtures(&db).args(["baseline", "--to", FIRST, "--format", "json"]));
    baseline.expect(0);
    assert_eq!(baseline.json()["recorded"], serde_json::json!([FIRST]));
    assert_eq!(db.history("public"), [FIRST]);
    let up = db.run(
        fixtures(&db)
            .args(["up", "--format", "json"])
            .env("FIXTURE_FAIL", "0"),
    );
    up.expect(0);
    let applied: Vec<String> = up.json()["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(applied.len(), 3, "{up}");
    assert!(!applied.iter().any(|a| a == FIRST));
    // A second baseline: there is a history now.
    let again = db.run(fixtures(&db).args(["baseline", "--format", "json"]));
    again.error(2, "baseline.has_history");
    db.run(fixtures(&db).args(["dev", "--stop"])).expect(0);
}

#[test]
fn baseline_of_a_schema_that_differs_records_nothing() {
    let db = built_without_history("histbaselinediff");
    db.psql(r#"ALTER TABLE "User" ADD COLUMN "nickname" TEXT"#);
    let out = db.run(db.migrate().args(["baseline", "--format", "json"]));
    out.expect(1);
    let json = out.json();
    assert_eq!(json["ok"], false);
    assert_eq!(json["recorded"], serde_json::json!([]));
    let differences = json["differences"].to_string();
    assert!(differences.contains("User.nickname"), "{out}");
    let recorded = db.table_exists("public", "_prisma_migrations")
        && db.psql("SELECT count(*) FROM _prisma_migrations") != "0";
    assert!(!recorded, "nothing recorded");
    db.run(db.migrate().args(["dev", "--stop"])).expect(0);
}

#[test]
fn prismas_lock_holds_migrate_up_back_and_names_the_holder() {
    let db = pg().new_db("histprismalock");
    let holder = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={} user={} dbname={} sslmode=require",
            db.port, db.role, db.name
        ))
        .args([
            "-X",
            "-q",
            "-c",
            "SELECT pg_advisory_lock(72707369)",
            "-c",
            "SELECT pg_sleep(30)",
        ])
        .env("PGPASSWORD", &db.password)
        .env("PGAPPNAME", "prisma-migrate-deploy")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn psql");
    wait_until(Duration::from_secs(10), "Prisma's lock to be held", || {
        db.psql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND objid = 72707369 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        ) == "1"
    });
    let started = Instant::now();
    let out = db.run(
        db.migrate()
            .args(["up", "--lock-timeout", "2", "--format", "json"]),
    );
    let error = out.error(4, "lock.timeout");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("Prisma Migrate lock (72707369)"), "{out}");
    assert!(message.contains("\"prisma-migrate-deploy\""), "{out}");
    assert!(started.elapsed() < Duration::from_secs(5), "{out}");
    assert!(!db.table_exists("public", "User"));
    db.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'prisma-migrate-deploy'");
    let mut holder = holder;
    let _ = holder.wait();
}

/// A table of a million rows, for an index build that takes a while.
fn big_table(db: &TestDb) {
    db.psql_as_owner(
        r#"CREATE TABLE "Big" ("id" SERIAL PRIMARY KEY, "v" INTEGER);
           INSERT INTO "Big" ("v") SELECT g FROM generate_series(1, 1000000) g;"#,
    )
    .expect("a million rows");
}

/// Starts the fixtures' `up`: the slow fixture holds the lock for `sleep`
/// seconds, then the index fixture builds concurrently on `"Big"`.
fn spawn_index_build(db: &TestDb, sleep: u32, args: &[&str]) -> std::process::Child {
    fixtures(db)
        .args(["up", "--format", "json", "--no-grants"])
        .args(args)
        .env("FIXTURE_FAIL", "0")
        .env("FIXTURE_SLEEP", sleep.to_string())
        .env("FIXTURE_INDEX", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the index build")
}

fn wait_for_sleep(db: &TestDb) {
    wait_until(
        Duration::from_secs(20),
        "the slow fixture to hold the lock",
        || {
            db.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' \
             AND datname = current_database()",
            ) == "1"
        },
    );
}

fn finish(db: &TestDb, child: std::process::Child) -> Out {
    let started = Instant::now();
    Out::from_output(
        child.wait_with_output().expect("wait"),
        started.elapsed(),
        &db.secrets(),
    )
}

#[test]
fn a_concurrent_index_build_does_not_deadlock_with_a_waiting_run() {
    // The hazard, with a waiter blocked inside pg_advisory_lock: the index
    // build of the run holding the lock is aborted as a deadlock. (With no
    // DDL lock timeout: the default one, 1 s, would end the build's wait
    // for the waiter's snapshot before the deadlock is detected.)
    let db = pg().new_db("histdeadlockctl");
    db.run(fixtures(&db).args(["up", "--steps", "1"])).expect(0);
    big_table(&db);
    let builder = spawn_index_build(&db, 2, &["--ddl-lock-timeout", "0"]);
    wait_for_sleep(&db);
    let key = db.psql(&format!(
        "SELECT {}",
        impulse_db::testing::KEY_SQL.replace("$1", "'public'")
    ));
    let blocked = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={} user={} dbname={} sslmode=require",
            db.port, db.role, db.name
        ))
        .args(["-X", "-q", "-c", &format!("SELECT pg_advisory_lock({key})")])
        .env("PGPASSWORD", &db.password)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the blocked waiter");
    let out = finish(&db, builder);
    out.expect(5);
    assert!(
        out.stderr.contains("deadlock detected"),
        "the hazard is real:\n{out}"
    );
    let mut blocked = blocked;
    let _ = blocked.wait();

    // The same with a second `migrate up` waiting: it polls, so the build
    // finishes, the index is valid, and both runs exit 0.
    let db = pg().new_db("histdeadlock");
    db.run(fixtures(&db).args(["up", "--steps", "1"])).expect(0);
    big_table(&db);
    let builder = spawn_index_build(&db, 2, &[]);
    wait_for_sleep(&db);
    let waiter = fixtures(&db)
        .args(["up", "--format", "json", "--no-grants"])
        .env("FIXTURE_FAIL", "0")
        .env("FIXTURE_INDEX", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the waiting run");
    let built = finish(&db, builder);
    built.expect(0);
    let waited = finish(&db, waiter);
    waited.expect(0);
    assert_eq!(waited.json()["applied"], serde_json::json!([]), "{waited}");
    assert_eq!(
        db.psql(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.\"Big_v_idx\"'::regclass"
        ),
        "t"
    );
    assert_eq!(db.history("public").len(), 4);
}

#[test]
fn the_old_seaql_migrations_history_is_converted_once() {
    let db = built_without_history("histconvert");
    db.revoke_public_create_before_15();
    // As the previous version of this tool left it.
    db.psql_as_owner(
        "CREATE TABLE seaql_migrations (version varchar PRIMARY KEY, applied_at bigint NOT NULL); \
         INSERT INTO seaql_migrations VALUES ('m20261129_000001_create_user_table', 1764410400)",
    )
    .expect("the old history");
    let status = db.run(db.migrate().args(["status", "--format", "json"]));
    status.expect(0);
    assert_eq!(status.json()["history"], "seaql_migrations");
    assert_eq!(status.json()["applied"], 1);

    let up = db.run(db.migrate().arg("up"));
    up.expect(0);
    assert!(
        up.stderr
            .contains("converted the old seaql_migrations history (1 row(s))"),
        "{up}"
    );
    assert!(!db.table_exists("public", "seaql_migrations"));
    assert_eq!(
        db.psql(
            "SELECT concat_ws(' ', migration_name, checksum, finished_at = to_timestamp(1764410400), \
             applied_steps_count) FROM _prisma_migrations"
        ),
        format!("{FIRST} 107c91d824bffb158f5c014822b922fa1776e0e58190e703a40fc1ef4e8f1a03 t 1")
    );
    let history = rows(&db);
    let again = db.run(db.migrate().arg("up"));
    again.expect(0);
    assert!(!again.stderr.contains("converted"), "{again}");
    assert_eq!(rows(&db), history);
    // The app role may not touch the history, old or new.
    db.run(db.migrate().args(["grant", "--check"])).expect(0);
}

#[test]
fn a_binary_older_than_the_workspace_refuses_with_the_rebuild_hint() {
    let db = pg().new_db("histstale");
    let workspace = empty_dir();
    std::fs::create_dir_all(workspace.join("migration/src")).unwrap();
    std::fs::copy(
        repo().join("migration/src/lib.rs"),
        workspace.join("migration/src/lib.rs"),
    )
    .unwrap();
    copy_dir(
        &repo().join("prisma/migrations"),
        &workspace.join("prisma/migrations"),
    );
    let in_workspace = |args: &[&str]| {
        let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
        cmd.current_dir(&workspace)
            .args(args)
            .env("DATABASE_URL", db.url());
        db.run(&mut cmd)
    };
    in_workspace(&["status"]).expect(0);

    let added = workspace.join("prisma/migrations/20991231000000_added_later");
    std::fs::create_dir_all(&added).unwrap();
    std::fs::write(added.join("migration.sql"), "SELECT 1;\n").unwrap();
    for args in [
        &["status", "--format", "json"][..],
        &["up", "--format", "json"],
    ] {
        let out = in_workspace(args);
        let error = out.error(2, "migrations.stale_binary");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("20991231000000_added_later is new in prisma/migrations"),
            "{out}"
        );
        assert!(Out::hint(&error).contains("cargo migrate"), "{out}");
    }
    assert!(!db.table_exists("public", "User"), "nothing ran");
    // Commands that do not use the migrations still work.
    in_workspace(&["url"]).expect(0);
}
