//! `up`, `down` and `status` against a real database: exit codes, the
//! history, the lock, failures and crashes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Out, pg, wait_until};

const FIRST: &str = "20261129000001_create_user_table";
const HALF: &str = "20261129000002_fixture_half";
const SLOW: &str = "20261129000003_fixture_slow";
const INDEX: &str = "20261129000004_fixture_concurrent_index";

#[test]
fn up_status_down_round_trip() {
    let db = pg().new_db("roundtrip");

    let status = db.run(db.migrate().args(["status", "--format", "json"]));
    status.expect(0);
    let json = status.json();
    assert_eq!(
        (json["applied"].as_u64(), json["pending"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(json["migrations"][0]["name"], FIRST);
    assert_eq!(json["migrations"][0]["status"], "pending");
    db.run(db.migrate().args(["status", "--check"])).expect(1);
    // status creates nothing, not even the history table.
    assert!(!db.table_exists("public", "_prisma_migrations"));

    let up = db.run(db.migrate().args(["up", "--format", "json"]));
    up.expect(0);
    let json = up.json();
    assert_eq!(json["ok"], true);
    assert_eq!(json["applied"][0]["name"], FIRST);
    assert!(json["applied"][0]["elapsed_ms"].as_f64().is_some());
    assert_eq!(json["pending"], serde_json::json!([]));
    assert!(
        up.stderr.contains(&format!("applied {FIRST} (")) && up.stderr.contains(" ms)"),
        "progress with timing on stderr:\n{up}"
    );

    let status = db.run(db.migrate().args(["status", "--check"]));
    status.expect(0);
    assert!(
        status.stdout.contains(&format!("applied  {FIRST}")),
        "{status}"
    );
    assert!(status.stdout.contains("1 applied, 0 pending"), "{status}");

    let again = db.run(db.migrate().arg("up"));
    again.expect(0);
    assert!(again.stdout.contains("nothing to apply"), "{again}");

    let down = db.run(db.migrate().args(["down", "--format", "json"]));
    down.expect(0);
    assert_eq!(down.json()["rolled_back"][0]["name"], FIRST);
    assert!(!db.table_exists("public", "User"));
    db.run(db.migrate().args(["status", "--check"])).expect(1);

    db.run(db.migrate().arg("up")).expect(0);
    db.run(db.migrate().args(["status", "--check"])).expect(0);
    assert_eq!(db.history("public"), [FIRST]);
}

#[test]
fn steps_limit_up_and_down() {
    let db = pg().new_db("steps");
    db.run(
        db.fixtures()
            .args(["up", "--steps", "1"])
            .env("FIXTURE_FAIL", "0"),
    )
    .expect(0);
    assert_eq!(db.history("public"), [FIRST]);
    db.run(db.fixtures().arg("up").env("FIXTURE_FAIL", "0"))
        .expect(0);
    assert_eq!(db.history("public"), [FIRST, HALF, SLOW, INDEX]);
    db.run(db.fixtures().args(["down", "--steps", "3"]))
        .expect(0);
    assert_eq!(db.history("public"), [FIRST]);
    assert!(!db.table_exists("public", "Half") && !db.table_exists("public", "Slow"));
}

#[test]
fn concurrent_ups_apply_each_migration_exactly_once() {
    for round in 0..5 {
        let db = pg().new_db(&format!("race{round}"));
        let children: Vec<_> = (0..8)
            .map(|_| {
                db.migrate()
                    .args(["up", "--format", "json"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn migrate up")
            })
            .collect();
        let mut applied = 0;
        for child in children {
            let started = Instant::now();
            let out = Out::from_output(
                child.wait_with_output().expect("wait"),
                started.elapsed(),
                &db.secrets(),
            );
            out.expect(0);
            applied += out.json()["applied"].as_array().map_or(0, Vec::len);
        }
        assert_eq!(
            applied, 1,
            "round {round}: exactly one run applies the migration"
        );
        assert_eq!(db.history("public"), [FIRST], "round {round}");
        assert_eq!(
            db.psql("SELECT count(*) FROM _prisma_migrations"),
            "1",
            "round {round}: one row, finished"
        );
        assert!(db.table_exists("public", "User"));
    }
}

#[test]
fn lock_timeout_names_the_holder() {
    let db = pg().new_db("locked");
    // Another session holds the lock, as a second deploy job would.
    let mut holder = db.hold_lock("other-deploy-job");
    let holder_pid =
        db.psql("SELECT pid FROM pg_stat_activity WHERE application_name = 'other-deploy-job'");

    let out = db.run(db.migrate().args(["up", "--lock-timeout", "2"]));
    out.expect(4);
    assert!(out.elapsed < Duration::from_millis(3500), "{out}");
    assert!(out.stderr.contains("error: the migration lock"), "{out}");
    assert!(out.stderr.contains(&format!("pid {holder_pid}")), "{out}");
    assert!(out.stderr.contains("\"other-deploy-job\""), "{out}");
    assert!(out.stderr.contains("client 127.0.0.1"), "{out}");
    assert!(out.stderr.contains("connected since"), "{out}");
    assert!(out.stderr.contains("hint:"), "{out}");
    assert!(!db.table_exists("public", "User"));

    let json = db.run(
        db.migrate()
            .args(["up", "--lock-timeout", "0", "--format", "json"]),
    );
    json.expect(4);
    assert_eq!(json.json()["error"]["code"], "lock.timeout");

    db.psql(&format!("SELECT pg_terminate_backend({holder_pid})"));
    let _ = holder.wait();
    db.run(db.migrate().arg("up")).expect(0);
}

#[test]
fn a_failing_migration_leaves_nothing_behind() {
    let db = pg().new_db("failing");
    let out = db.run(db.fixtures().arg("up"));
    out.expect(5);
    assert!(
        out.stderr
            .contains(&format!("error: migration {HALF} failed")),
        "{out}"
    );
    assert!(out.stderr.contains("SQLSTATE 23505"), "{out}");
    assert!(out.stderr.contains("rolled back"), "{out}");
    assert!(!out.stderr.contains("at line"), "no C source lines: {out}");
    // The migration before it stays; nothing of the failed one remains.
    assert_eq!(db.history("public"), [FIRST]);
    assert!(db.table_exists("public", "User"));
    assert!(!db.table_exists("public", "Half"));
    assert!(!db.table_exists("public", "Slow"));

    let json = db.run(db.fixtures().args(["up", "--format", "json"]));
    json.expect(5);
    assert_eq!(json.json()["error"]["code"], "migration.failed");

    db.run(db.fixtures().arg("up").env("FIXTURE_FAIL", "0"))
        .expect(0);
    assert_eq!(db.history("public"), [FIRST, HALF, SLOW, INDEX]);
}

/// From 14 on the server notices the dead client within a second
/// (`client_connection_check_interval`, which the runner sets) and rolls its
/// transaction back, releasing the lock. PostgreSQL 13 has no such setting:
/// the dead run's session, and the lock, live until its statement ends, and
/// the next run waits for it (within `--lock-timeout`), then applies.
#[test]
fn kill_9_during_a_migration_leaves_a_consistent_database() {
    let db = pg().new_db("killed");
    let major = db.major();
    let sleep = if major >= 14 { 120 } else { 6 };
    let mut child = db
        .fixtures()
        .arg("up")
        .env("FIXTURE_FAIL", "0")
        .env("FIXTURE_SLEEP", sleep.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the slow up");
    let sleeping = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' \
                    AND datname = current_database()";
    wait_until(Duration::from_secs(20), "the slow migration to run", || {
        db.psql(&format!("{sleeping} AND state = 'active'")) == "1"
    });
    child.kill().expect("SIGKILL");
    let killed = Instant::now();
    let _ = child.wait();

    if major >= 14 {
        wait_until(
            Duration::from_secs(5),
            "the dead run's session to end",
            || db.psql(sleeping) == "0",
        );
        assert_eq!(db.history("public"), [FIRST, HALF]);
        assert!(!db.table_exists("public", "Slow"));
    } else {
        // Still there, holding the lock, until its pg_sleep ends.
        assert_eq!(
            db.psql(sleeping),
            "1",
            "PostgreSQL 13 keeps the dead session"
        );
    }

    let out = db.run(db.fixtures().args(["up", "--lock-timeout", "20"]));
    out.expect(0);
    if major >= 14 {
        assert!(out.elapsed < Duration::from_secs(10), "{out}");
    } else {
        let freed = killed.elapsed();
        eprintln!(
            "PostgreSQL 13: the next up got the lock and finished {} ms after the SIGKILL \
             (the killed statement slept {sleep} s)",
            freed.as_millis()
        );
        assert!(freed > Duration::from_secs(sleep - 2), "it waited: {out}");
    }
    assert!(db.table_exists("public", "Slow"));
    assert_eq!(db.history("public"), [FIRST, HALF, SLOW, INDEX]);
}

#[test]
fn prisma_schema_parameter_selects_the_schema() {
    let db = pg().new_db("schema");
    let mut cmd = db.migrate();
    cmd.env("DATABASE_URL", db.url_with("&schema=App%20Data"));
    db.run(cmd.arg("up")).expect(0);
    assert!(db.table_exists("App Data", "User"));
    assert_eq!(db.history("App Data"), [FIRST]);
    assert!(!db.table_exists("public", "User"));
    assert!(!db.table_exists("public", "_prisma_migrations"));
    // The public schema of the same database still has it pending.
    db.run(db.migrate().args(["status", "--check"])).expect(1);
}

#[test]
fn migrations_the_binary_does_not_know_are_refused() {
    let db = pg().new_db("unknown");
    db.run(db.fixtures().arg("up").env("FIXTURE_FAIL", "0"))
        .expect(0);
    let out = db.run(db.migrate().arg("up"));
    out.expect(2);
    assert!(
        out.stderr.contains(HALF) && out.stderr.contains(SLOW),
        "{out}"
    );
    let status = db.run(db.migrate().args(["status", "--check"]));
    status.expect(1);
    assert!(
        status.stdout.contains(&format!("unknown  {HALF}")),
        "{status}"
    );
}
