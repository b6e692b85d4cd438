//! The cluster code on other PostgreSQL versions: which server the tests
//! really run on (`IMPULSE_TEST_PG_BINDIR`, see `scripts/test-matrix`), that
//! the settings it writes are valid there, `MIGRATE_PG_BINDIR` for
//! `migrate dev`, and how long a killed run holds the lock on this version.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{Out, bin, empty_dir, pg, test_bindir, wait_until};

#[test]
fn the_cluster_runs_the_chosen_server_with_its_settings() {
    let pg = pg();
    let version = pg.psql("postgres", "SHOW server_version");
    eprintln!(
        "the tests' cluster: PostgreSQL {version} from {}",
        pg.cluster.bindir().display()
    );
    if let Some(dir) = test_bindir() {
        assert_eq!(
            pg.cluster.bindir(),
            std::fs::canonicalize(&dir).unwrap(),
            "the cluster runs the binaries IMPULSE_TEST_PG_BINDIR names"
        );
        let reported = std::process::Command::new(dir.join("postgres"))
            .arg("--version")
            .output()
            .expect("postgres --version");
        let reported = String::from_utf8_lossy(&reported.stdout);
        assert!(
            reported.contains(&format!("(PostgreSQL) {version}")),
            "{reported} vs {version}"
        );
    }
    // What the cluster code wrote, as this version read it: no setting it
    // rejects or ignores (but for initdb's own lines that ours override),
    // no pg_hba.conf line it cannot parse.
    let rejected = pg.psql(
        "postgres",
        "SELECT string_agg(f.name || ': ' || coalesce(f.error, 'not applied'), '; ') \
         FROM pg_file_settings f WHERE f.error IS NOT NULL OR (NOT f.applied AND NOT EXISTS ( \
           SELECT 1 FROM pg_file_settings g WHERE g.name = f.name AND g.seqno > f.seqno \
           AND g.applied))",
    );
    assert_eq!(
        rejected, "",
        "postgresql.conf settings this version rejects"
    );
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT count(*) FROM pg_hba_file_rules WHERE error IS NOT NULL"
        ),
        "0"
    );
    for (name, value) in [
        ("ssl", "on"),
        ("password_encryption", "scram-sha-256"),
        ("listen_addresses", "127.0.0.1"),
        ("unix_socket_directories", ""),
        ("fsync", "off"),
        ("server_encoding", "UTF8"),
    ] {
        assert_eq!(
            pg.psql("postgres", &format!("SHOW {name}")),
            value,
            "{name}"
        );
    }
    // `SHOW lc_collate` is gone from 16 on; the catalog has it everywhere.
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT datcollate || ',' || datctype FROM pg_database WHERE datname = 'postgres'"
        ),
        "C,C"
    );
    // Only TLS rules reach the server over TCP, and this very session is TLS.
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT string_agg(DISTINCT type, ',') FROM pg_hba_file_rules"
        ),
        "hostssl,local"
    );
    assert_eq!(
        pg.psql(
            "postgres",
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ),
        "t"
    );
    assert!(
        pg.psql(
            "postgres",
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'"
        )
        .starts_with("SCRAM-SHA-256$")
    );
}

#[test]
fn dev_refuses_a_bad_bindir_and_a_cluster_of_another_major_version() {
    let dir = empty_dir();
    let dev = || {
        let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
        cmd.current_dir(&dir);
        cmd
    };
    let out = Out::capture(
        dev()
            .args(["dev", "--format", "json"])
            .env("MIGRATE_PG_BINDIR", dir.join("no-such-dir")),
        &[],
    );
    let error = out.error(2, "dev.bad_bindir");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("MIGRATE_PG_BINDIR="),
        "{out}"
    );
    assert!(!dir.join(".migrate").exists(), "nothing made: {out}");

    Out::capture(dev().arg("dev"), &[]).expect(0);
    let major = std::fs::read_to_string(dir.join(".migrate/data/PG_VERSION")).unwrap();

    // Binaries of another major version (stand-ins that only answer --version).
    let other = empty_dir();
    for program in ["initdb", "pg_ctl", "postgres"] {
        use std::os::unix::fs::PermissionsExt;
        let path = other.join(program);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho '{program} (PostgreSQL) 99.1'\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = Out::capture(
        dev()
            .args(["dev", "--format", "json"])
            .env("MIGRATE_PG_BINDIR", &other),
        &[],
    );
    let error = out.error(2, "dev.version_mismatch");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "made by PostgreSQL {} (data/PG_VERSION)",
            major.trim()
        )) && message.contains("are PostgreSQL 99.1"),
        "{out}"
    );
    assert!(Out::hint(&error).contains("migrate dev --stop"), "{out}");

    let stop = Out::capture(dev().args(["dev", "--stop"]), &[]);
    stop.expect(0);
    assert!(stop.stdout.contains("stopped"), "{stop}");
}

/// PostgreSQL 14 added `client_connection_check_interval`, which the runner
/// sets to 1 s: the server notices a dead client during a statement. On 13
/// a killed run's session (and the migration lock) lives until its
/// statement ends. The measured time is printed (`--nocapture`).
#[test]
fn a_killed_run_lets_go_of_the_lock_within_a_second_from_14() {
    const SLEEP: u64 = 5;
    let pg = pg();
    let major = pg.major();
    let db = pg.new_db("linger");
    let sleeping = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{}' \
         AND query LIKE 'SELECT pg_sleep%'",
        db.name
    );
    let mut child = db
        .fixtures()
        .arg("up")
        .env("FIXTURE_FAIL", "0")
        .env("FIXTURE_SLEEP", SLEEP.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the slow up");
    wait_until(Duration::from_secs(20), "the slow migration to run", || {
        db.psql(&format!("{sleeping} AND state = 'active'")) == "1"
    });
    child.kill().expect("SIGKILL");
    let killed = Instant::now();
    let _ = child.wait();
    wait_until(
        Duration::from_secs(SLEEP + 10),
        "the dead run's session to end",
        || db.psql(&sleeping) == "0",
    );
    let lingered = killed.elapsed();
    eprintln!(
        "PostgreSQL {major}: the killed run's session ended {} ms after SIGKILL \
         (its statement sleeps {SLEEP} s)",
        lingered.as_millis()
    );
    if major >= 14 {
        assert!(lingered < Duration::from_secs(3), "{lingered:?}");
    } else {
        assert!(
            lingered > Duration::from_secs(SLEEP - 2),
            "13 cannot notice the dead client before the statement ends: {lingered:?}"
        );
    }
    assert_eq!(
        db.history("public"),
        [
            "20261129000001_create_user_table",
            "20261129000002_fixture_half"
        ]
    );
    assert!(!db.table_exists("public", "Slow"), "rolled back");
    db.run(db.fixtures().arg("up").env("FIXTURE_FAIL", "0"))
        .expect(0);
}
