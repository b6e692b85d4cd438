//! What an adversarial run found, by class, against real PostgreSQL: each
//! test asserts the exit code and that nothing changed in the database.
//!
//! - the migration role never locks itself out;
//! - system schemas are never managed;
//! - identifiers PostgreSQL would truncate, and control characters, never
//!   reach the server;
//! - argument errors never echo a secret;
//! - races: a new app role created by 16 databases at once, parallel
//!   `migrate dev`;
//! - inputs that hang: a FIFO as `.env`, `--env-file` or `sslrootcert`;
//! - an environment variable that is not UTF-8;
//! - unverified TLS to a host that is not this machine is warned about.

use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Out, TestDb, bin, empty_dir, pg};

fn migrate() -> Command {
    bin(env!("CARGO_BIN_EXE_migrate"))
}

/// What the database holds, for before/after comparisons: relations with
/// their ACLs (the catalog's included), schemas with theirs, the
/// database's. (Roles are cluster-wide, and other tests make theirs.)
fn state(db: &TestDb) -> String {
    db.psql(
        "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ( \
           SELECT 'rel ' || n.nspname || '.' || c.relname || ' ' || coalesce(c.relacl::text, '-') AS x \
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
           WHERE n.nspname NOT IN ('pg_toast') AND c.relkind IN ('r', 'S', 'v') \
           UNION ALL SELECT 'nsp ' || nspname || ' ' || coalesce(nspacl::text, '-') FROM pg_namespace \
           UNION ALL SELECT 'db ' || coalesce(datacl::text, '-') FROM pg_database WHERE datname = current_database()) s",
    )
}

#[test]
fn the_migration_role_never_locks_itself_out() {
    let db = pg().new_db("lockout");
    let before = state(&db);
    for args in [&["up"][..], &["grant"], &["grant", "--check"]] {
        let out = db.run(
            db.migrate()
                .args(args)
                .args(["--format", "json"])
                .env("DB_APP_USER", &db.role),
        );
        let error = out.error(2, "privileges.lockout");
        assert!(Out::hint(&error).contains("DB_APP_USER"), "{out}");
        assert_eq!(state(&db), before, "{args:?} changed nothing");
    }
    // A role the migration role inherits its privileges through counts too.
    let through = format!("{}_through", db.name);
    db.psql(&format!(
        "CREATE ROLE \"{through}\"; GRANT \"{through}\" TO \"{}\"",
        db.role
    ));
    let before = state(&db);
    let out = db.run(
        db.migrate()
            .args(["up", "--format", "json"])
            .env("DB_APP_USER", &through),
    );
    out.error(2, "privileges.lockout");
    assert_eq!(state(&db), before);
    // Without the lock-out, the same database migrates.
    db.run(db.migrate().arg("up")).expect(0);
    db.run(db.migrate().args(["status", "--check"])).expect(0);
}

#[test]
fn system_schemas_are_never_managed() {
    let db = pg().new_db("sysschema");
    let before = state(&db);
    for schema in [
        "pg_catalog",
        "information_schema",
        "pg_toast",
        "pg_temp",
        "pg_temp_3",
        "pg_anything",
    ] {
        for command in ["up", "grant", "status", "down"] {
            let out = db.run(
                migrate()
                    .args([command, "--format", "json", "--database-url"])
                    .arg(db.url_with(&format!("&schema={schema}"))),
            );
            out.error(2, "config.system_schema");
        }
    }
    assert_eq!(state(&db), before);
    let doctor = db.run(
        migrate()
            .args(["doctor", "--format", "json", "--database-url"])
            .arg(db.url_with("&schema=pg_catalog")),
    );
    doctor.expect(1);
    assert!(doctor.stdout.contains("config.system_schema"), "{doctor}");
    assert_eq!(state(&db), before);
}

#[test]
fn identifiers_postgres_would_truncate_are_refused_by_name() {
    let db = pg().new_db("longnames");
    let before = state(&db);
    for (what, extra, env) in [
        ("app role", "", Some(("DB_APP_USER", "a".repeat(64)))),
        ("app role", "", Some(("DB_APP_USER", "a".repeat(70)))),
        ("schema", &*format!("&schema={}", "s".repeat(64)), None),
        ("schema", &*format!("&schema={}", "s".repeat(70)), None),
    ] {
        let mut cmd = migrate();
        cmd.args(["up", "--format", "json", "--database-url"])
            .arg(db.url_with(extra));
        if let Some((var, value)) = &env {
            cmd.env(var, value);
        }
        let out = db.run(&mut cmd);
        let error = out.error(2, "config.invalid");
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(what) && message.contains("bytes"), "{out}");
        assert_eq!(state(&db), before);
    }
    // A database name of 70 bytes, before any connection.
    let url = db
        .url()
        .replace(&format!("/{}?", db.name), &format!("/{}?", "d".repeat(70)));
    let out = db.run(migrate().args(["status", "--format", "json", "--database-url", &url]));
    let error = out.error(2, "config.invalid");
    assert!(
        error["message"].as_str().unwrap().contains("database"),
        "{out}"
    );

    // 63 bytes is PostgreSQL's limit, and works.
    let schema = "s".repeat(63);
    let url = db.url_with(&format!("&schema={schema}"));
    db.run(migrate().args(["up", "--database-url", &url]))
        .expect(0);
    db.run(migrate().args(["up", "--database-url", &url]))
        .expect(0);
    db.run(migrate().args(["status", "--check", "--database-url", &url]))
        .expect(0);
    assert!(db.table_exists(&schema, "User"));
}

#[test]
fn control_characters_never_reach_the_server() {
    let db = pg().new_db("controlchars");
    let before = state(&db);
    let base = db.url();
    let cases = [
        (
            "database",
            base.replace(&format!("/{}?", db.name), &format!("/{}%00?", db.name)),
        ),
        (
            "database",
            base.replace(
                &format!("/{}?", db.name),
                &format!("/{}%00default_transaction_read_only%3Don?", db.name),
            ),
        ),
        (
            "user",
            base.replace(&format!("//{}:", db.role), &format!("//{}%0A:", db.role)),
        ),
        (
            "password",
            base.replace(
                &format!(":{}@", db.password),
                &format!(":{}%00x@", db.password),
            ),
        ),
        (
            "password",
            base.replace(
                &format!(":{}@", db.password),
                &format!(":{}%0Ax@", db.password),
            ),
        ),
        ("schema", db.url_with("&schema=app%09x")),
        ("schema", db.url_with("&schema=app%0A")),
        ("application_name", db.url_with("&application_name=x%00y")),
    ];
    for (part, url) in cases {
        let started = Instant::now();
        let out = db.run(migrate().args(["up", "--format", "json", "--database-url", &url]));
        let error = out.error(2, "config.invalid");
        let message = error["message"].as_str().unwrap();
        assert!(
            message.contains(part) && message.contains("control character"),
            "{out}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(state(&db), before);
    }
    // A region with a newline.
    let out = db.run(
        migrate()
            .args([
                "url",
                "--format",
                "json",
                "--region",
                "eu-west-1\n",
                "--database-url",
            ])
            .arg(&base),
    );
    out.error(2, "config.invalid");
    // A secret's field with a NUL: malformed, the value never shown.
    let json =
        serde_json::json!({"username": db.role, "password": format!("{}\u{0}", db.password)})
            .to_string();
    let arn = crate::moto::moto().create_secret("nul", &json);
    let mut cmd = migrate();
    crate::moto::moto().env(&mut cmd);
    cmd.args(["up", "--format", "json"])
        .env("DB_SECRET_ARN", &arn)
        .env(
            "DATABASE_URL",
            db.url().replace(
                &format!("{}:{}@", db.role, db.password),
                "REPLACED_BY_SECRET@",
            ),
        );
    let out = db.run(&mut cmd);
    let error = out.error(2, "secret.malformed");
    assert!(
        error["message"].as_str().unwrap().contains("\"password\""),
        "{out}"
    );
    assert_eq!(state(&db), before);
}

#[test]
fn argument_errors_never_echo_a_secret() {
    let db = pg().new_db("echo");
    let url = db.url();
    let cases: Vec<Vec<String>> = vec![
        vec!["up".into(), url.clone()],
        vec![url.clone()],
        vec!["status".into(), "--port".into(), url.clone()],
        vec!["up".into(), "--steps".into(), url.clone()],
        vec!["status".into(), "--format".into(), url.clone()],
        vec!["new".into(), url.clone()],
        vec!["status".into(), "--port".into(), db.password.clone()],
        vec!["new".into(), db.password.clone()],
        vec![
            "--format".into(),
            "json".into(),
            "up".into(),
            "--lock-timeout".into(),
            db.password.clone(),
        ],
    ];
    for args in cases {
        let out = db.run(migrate().args(&args).current_dir(empty_dir()));
        assert_eq!(out.code, 2, "{args:?}: {out}");
        assert!(
            out.stderr.contains("error:") && out.stderr.contains("hint:"),
            "{out}"
        );
    }
}

#[test]
fn sixteen_databases_create_one_new_app_role_at_once() {
    let role = format!("shared_app_{}", std::process::id());
    let dbs: Vec<TestDb> = (0..16)
        .map(|i| pg().new_db(&format!("race16_{i}")))
        .collect();
    let children: Vec<_> = dbs
        .iter()
        .map(|db| {
            db.migrate()
                .args(["up", "--format", "json"])
                .env("DB_APP_USER", &role)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn up")
        })
        .collect();
    for (db, child) in dbs.iter().zip(children) {
        let started = Instant::now();
        let out = Out::from_output(
            child.wait_with_output().unwrap(),
            started.elapsed(),
            &db.secrets(),
        );
        out.expect(0);
    }
    for db in &dbs {
        db.run(
            db.migrate()
                .args(["grant", "--check"])
                .env("DB_APP_USER", &role),
        )
        .expect(0);
        assert_eq!(
            db.psql(&format!(
                "SELECT has_table_privilege('{role}', 'public.\"User\"', 'SELECT')"
            )),
            "t"
        );
    }
}

#[test]
fn parallel_dev_runs_make_one_cluster() {
    let dir = empty_dir();
    let children: Vec<_> = (0..4)
        .map(|_| {
            migrate()
                .current_dir(&dir)
                .args(["dev", "--format", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn dev")
        })
        .collect();
    let mut urls = Vec::new();
    for child in children {
        let started = Instant::now();
        let out = Out::from_output(child.wait_with_output().unwrap(), started.elapsed(), &[]);
        out.expect(0);
        urls.push(out.json()["direct_url"].as_str().unwrap().to_string());
    }
    assert!(
        urls.windows(2).all(|w| w[0] == w[1]),
        "one cluster, one password"
    );
    let status = Out::capture(
        migrate()
            .current_dir(&dir)
            .args(["status", "--check", "--database-url", &urls[0]]),
        &[],
    );
    status.expect(0);
    Out::capture(migrate().current_dir(&dir).args(["dev", "--stop"]), &[]).expect(0);
}

#[test]
fn a_fifo_is_never_read() {
    let db = pg().new_db("fifo");
    let dir = empty_dir();
    let fifo = dir.join(".env");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let out = db.run(db.migrate().current_dir(&dir).arg("status"));
    out.expect(0);
    assert!(out.stderr.contains("not a regular file"), "{out}");
    let out = db.run(
        db.migrate()
            .current_dir(&dir)
            .args(["status", "--format", "json", "--env-file"])
            .arg(&fifo),
    );
    out.error(2, "config.env_file");
    let cert = dir.join("ca.pem");
    assert!(
        Command::new("mkfifo")
            .arg(&cert)
            .status()
            .unwrap()
            .success()
    );
    let url = db
        .url()
        .replace(&db.ca.display().to_string(), &cert.display().to_string());
    let out = db.run(migrate().args(["status", "--format", "json", "--database-url", &url]));
    out.error(2, "config.invalid");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn an_environment_variable_that_is_not_utf8_is_not_a_crash() {
    let db = pg().new_db("nonutf8");
    let mut cmd = db.migrate();
    cmd.arg("status")
        .env(
            std::ffi::OsStr::from_bytes(b"SOME_VAR"),
            std::ffi::OsStr::from_bytes(b"\xff\xfe"),
        )
        .env(
            std::ffi::OsStr::from_bytes(b"DB_APP_USER"),
            std::ffi::OsStr::from_bytes(b"\xff"),
        );
    db.run(&mut cmd).expect(0);
}

#[test]
fn unverified_tls_to_another_host_is_warned_about() {
    // Remote by its name; under `.invalid`, it never resolves, so no
    // traffic leaves this machine (the warning comes before any lookup).
    let host = "impulse-db-test.invalid";
    let out = Out::capture(
        migrate().args([
            "status",
            "--format",
            "json",
            "--connect-timeout",
            "2",
            "--database-url",
            &format!("postgresql://u:pw@{host}:1/d?sslmode=require"),
        ]),
        &[],
    );
    assert_eq!(out.code, 3, "{out}");
    assert!(
        out.stderr
            .contains("does not verify the server's certificate"),
        "{out}"
    );
    let local = Out::capture(
        migrate().args([
            "status",
            "--format",
            "json",
            "--database-url",
            "postgresql://u:pw@127.0.0.1:1/d?sslmode=require",
        ]),
        &[],
    );
    assert!(!local.stderr.contains("does not verify"), "{local}");
}

/// A fake server on loopback that announces a 2 GiB message in answer to
/// the startup (after declining TLS when asked), then sends zeros for as
/// long as the client reads, at most `BOUND`.
fn announcing_server() -> u16 {
    use std::io::{Read, Write};
    const BOUND: Duration = Duration::from_secs(20);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let _ = s.set_read_timeout(Some(BOUND));
                let _ = s.set_write_timeout(Some(BOUND));
                // The SSLRequest (declined) or the startup message.
                loop {
                    let mut length = [0u8; 4];
                    if s.read_exact(&mut length).is_err() {
                        return;
                    }
                    let mut rest = vec![0u8; u32::from_be_bytes(length) as usize - 4];
                    if s.read_exact(&mut rest).is_err() {
                        return;
                    }
                    if rest[..4] == [0x04, 0xd2, 0x16, 0x2f] {
                        let _ = s.write_all(b"N");
                        continue;
                    }
                    break;
                }
                let mut announce = vec![b'R'];
                announce.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
                if s.write_all(&announce).is_err() {
                    return;
                }
                let zeros = vec![0u8; 64 * 1024];
                let started = Instant::now();
                while started.elapsed() < BOUND && s.write_all(&zeros).is_ok() {}
            });
        }
    });
    port
}

/// The peak resident memory of a running child, polled until it exits.
fn run_measuring_peak_rss(cmd: &mut Command) -> (Out, u64) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        assert!(started.elapsed() < Duration::from_secs(30), "still running");
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = Out::from_output(child.wait_with_output().unwrap(), started.elapsed(), &[]);
    (out, peak_kb)
}

#[test]
fn a_server_announcing_a_huge_message_is_cut_off() {
    let port = announcing_server();
    for sslmode in ["disable", "prefer"] {
        let url = format!("postgresql://u:pw@127.0.0.1:{port}/d?sslmode={sslmode}");
        let (out, peak_kb) = run_measuring_peak_rss(migrate().args([
            "status",
            "--format",
            "json",
            "--connect-timeout",
            "10",
            "--database-url",
            &url,
        ]));
        let error = out.error(3, "network.error");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("2147483647 bytes"),
            "{out}"
        );
        assert!(peak_kb < 100 * 1024, "peak RSS {peak_kb} kB: {out}");
        assert!(out.elapsed < Duration::from_secs(10), "{out}");
        // Under a memory limit it is the same error, not an abort.
        let mut limited = migrate();
        limited.args(["status", "--format", "json", "--database-url", &url]);
        // SAFETY: setrlimit is async-signal-safe; the closure touches
        // nothing else between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut limited, || {
                let limit = libc::rlimit {
                    rlim_cur: 1 << 30,
                    rlim_max: 1 << 30,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        let limited = Out::capture(&mut limited, &[]);
        limited.error(3, "network.error");
    }
}
