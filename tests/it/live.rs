//! `migrate up` against a database an app is serving from: a workload
//! shaped like the Lambda's (its own sessions, Prisma's queries, each
//! timed) while a long transaction holds a lock the migration needs; a
//! concurrent index build on a million rows, killed and resumed; every
//! command's reads bounded while another session holds `ACCESS EXCLUSIVE`
//! on a table they read; `up --dry-run`; out-of-range timeouts.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};
use sqlx::{Connection, Row};

use crate::support::{Out, TestDb, pg, wait_until};

const NICKNAME: &str = "20261129000005_fixture_user_nickname";
const BIG_INDEX: &str = "20261129000006_fixture_big_index_concurrently";
const NICKNAME_SQL: &str =
    include_str!("../fixtures/live/20261129000005_fixture_user_nickname/migration.sql");
const BIG_INDEX_SQL: &str =
    include_str!("../fixtures/live/20261129000006_fixture_big_index_concurrently/migration.sql");
const APP_PASSWORD: &str = "Lambda-Passw0rd-live";

/// The fixture runner with the live migrations.
fn fixtures(db: &TestDb) -> Command {
    let mut cmd = db.fixtures();
    cmd.env("FIXTURE_LIVE", "1").env("FIXTURE_FAIL", "0");
    cmd
}

/// Runs `cmd`, checking the output for the app's password too.
fn run(db: &TestDb, cmd: &mut Command) -> Out {
    let mut secrets = db.secrets();
    secrets.push(APP_PASSWORD.to_string());
    Out::capture(cmd, &secrets)
}

/// A database with the project's migrations and the first three fixtures
/// applied (the live ones pending), its app role with a password, and the
/// owner allowed to see other roles' sessions (as RDS's master user is,
/// through `rds_superuser`), so that blockers are shown in full.
fn deployed(hint: &str) -> (TestDb, String) {
    let db = pg().new_db(hint);
    let app = format!("{}_app", db.name);
    run(
        &db,
        fixtures(&db)
            .args(["up", "--steps", "4"])
            .env("DB_APP_USER", &app),
    )
    .expect(0);
    db.psql(&format!("ALTER ROLE \"{app}\" PASSWORD '{APP_PASSWORD}'"));
    db.psql(&format!("GRANT pg_read_all_stats TO \"{}\"", db.role));
    (db, app)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Where a thread connects to: the test database's port and name.
#[derive(Clone)]
struct Target {
    port: u16,
    name: String,
}

impl Target {
    fn of(db: &TestDb) -> Target {
        Target {
            port: db.port,
            name: db.name.clone(),
        }
    }
}

/// A session of `user` on the test database, as the Lambda opens one.
async fn connect(db: &Target, user: &str, password: &str, application_name: &str) -> PgConnection {
    let options = PgConnectOptions::new_without_pgpass()
        .host("127.0.0.1")
        .port(db.port)
        .username(user)
        .password(password)
        .database(&db.name)
        .ssl_mode(PgSslMode::Require)
        .application_name(application_name);
    PgConnection::connect_with(&options)
        .await
        .expect("connect like the app")
}

/// What one workload session measured.
#[derive(Debug, Default)]
struct Timings {
    queries: usize,
    longest: Duration,
    failures: Vec<String>,
}

/// The Lambda's traffic: `sessions` sessions of the app role, each in a
/// loop of Prisma-shaped queries on "User" (find by id, create, update its
/// own row), each timed, with a few milliseconds between requests.
struct Workload {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Timings>>,
}

impl Workload {
    fn start(db: &TestDb, app: &str, sessions: usize) -> Workload {
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let threads = (0..sessions)
            .map(|n| {
                let (stop, ready) = (stop.clone(), ready_tx.clone());
                let (target, app) = (Target::of(db), app.to_string());
                std::thread::spawn(move || {
                    runtime().block_on(session(&target, &app, n, &stop, ready))
                })
            })
            .collect();
        for _ in 0..sessions {
            ready_rx
                .recv_timeout(Duration::from_secs(20))
                .expect("the workload sessions connect");
        }
        Workload { stop, threads }
    }

    /// Stops the sessions and merges what they measured.
    fn finish(self) -> Timings {
        self.stop.store(true, Ordering::SeqCst);
        let mut all = Timings::default();
        for thread in self.threads {
            let t = thread.join().expect("a workload session");
            all.queries += t.queries;
            all.longest = all.longest.max(t.longest);
            all.failures.extend(t.failures);
        }
        all
    }
}

async fn session(
    db: &Target,
    app: &str,
    n: usize,
    stop: &AtomicBool,
    ready: std::sync::mpsc::Sender<()>,
) -> Timings {
    let mut conn = connect(db, app, APP_PASSWORD, &format!("lambda-{n}")).await;
    let mut t = Timings::default();
    // Each session updates its own row only: app sessions do not wait for
    // each other's row locks, only for the migration.
    let own: i32 = sqlx::query(
        r#"INSERT INTO "public"."User" ("email","name") VALUES ($1,$2) RETURNING "public"."User"."id""#,
    )
    .bind(format!("session-{n}@example.com"))
    .bind("own row")
    .fetch_one(&mut conn)
    .await
    .map(|r| r.get(0))
    .expect("the session's own row");
    let _ = ready.send(());
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let started = Instant::now();
        let result = match i % 3 {
            0 => sqlx::query(
                r#"SELECT "public"."User"."id", "public"."User"."email", "public"."User"."name", "public"."User"."createdAt" FROM "public"."User" WHERE ("public"."User"."id" = $1 AND 1=1) LIMIT $2 OFFSET $3"#,
            )
            .bind(own)
            .bind(1i64)
            .bind(0i64)
            .fetch_optional(&mut conn)
            .await
            .map(|_| ()),
            1 => sqlx::query(
                r#"INSERT INTO "public"."User" ("email","name") VALUES ($1,$2) RETURNING "public"."User"."id", "public"."User"."email", "public"."User"."name", "public"."User"."createdAt""#,
            )
            .bind(format!("s{n}-{i}@example.com"))
            .bind("load")
            .fetch_one(&mut conn)
            .await
            .map(|_| ()),
            _ => sqlx::query(
                r#"UPDATE "public"."User" SET "name" = $1 WHERE ("public"."User"."id" = $2 AND 1=1) RETURNING "public"."User"."id", "public"."User"."email", "public"."User"."name", "public"."User"."createdAt""#,
            )
            .bind(format!("update {i}"))
            .bind(own)
            .fetch_one(&mut conn)
            .await
            .map(|_| ()),
        };
        t.longest = t.longest.max(started.elapsed());
        t.queries += 1;
        if let Err(e) = result {
            t.failures.push(e.to_string());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let _ = conn.close().await;
    t
}

/// A long Lambda transaction: a Prisma interactive transaction
/// (`prisma.$transaction(async (tx) => ...)`) that updates a row of "User"
/// (ROW EXCLUSIVE on the table) and then awaits something slow (an HTTP
/// call) before it commits, idle in transaction meanwhile. Returns its pid
/// once the UPDATE is done, and the thread that commits after `hold`.
fn long_transaction(db: &TestDb, app: &str, hold: Duration) -> (i32, JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let (db, app) = (Target::of(db), app.to_string());
    let thread = std::thread::spawn(move || {
        runtime().block_on(async {
            let mut conn = connect(&db, &app, APP_PASSWORD, "lambda-report").await;
            let pid: i32 = sqlx::query("SELECT pg_backend_pid()")
                .fetch_one(&mut conn)
                .await
                .map(|r| r.get(0))
                .expect("pid");
            // A row of its own: the workload's sessions never wait for its
            // row lock, only for what the migration does.
            sqlx::query(r#"INSERT INTO "public"."User" ("email","name") VALUES ($1,$2)"#)
                .bind("report@example.com")
                .bind("report")
                .execute(&mut conn)
                .await
                .expect("the report's row");
            let mut txn = conn.begin().await.expect("BEGIN");
            sqlx::query(
                r#"UPDATE "public"."User" SET "name" = $1 WHERE "public"."User"."email" = $2"#,
            )
            .bind("report, running")
            .bind("report@example.com")
            .execute(&mut *txn)
            .await
            .expect("the long transaction's UPDATE");
            let _ = tx.send(pid);
            tokio::time::sleep(hold).await;
            txn.commit().await.expect("COMMIT");
        });
    });
    let pid = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the long transaction starts");
    (pid, thread)
}

fn has_nickname(db: &TestDb) -> (bool, bool) {
    (
        db.psql(
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_name = 'User' AND column_name = 'nickname'",
        ) == "1",
        db.psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'User_nickname_idx'") == "1",
    )
}

/// What happened in one run of the scenario.
struct Scenario {
    timings: Timings,
    blocker: i32,
    up: Out,
    refused: Option<Out>,
}

/// The Lambda's workload runs; a long transaction holds ROW EXCLUSIVE on
/// "User" for 15 s; `migrate up` (with `up_args`) adds a column and an
/// index to "User" meanwhile. With `refuse_first`, an `up --lock-retries
/// 0` goes first.
fn scenario(hint: &str, up_args: &[&str], refuse_first: bool) -> (TestDb, Scenario) {
    let (db, app) = deployed(hint);
    let workload = Workload::start(&db, &app, 8);
    std::thread::sleep(Duration::from_millis(500));
    let (blocker, long) = long_transaction(&db, &app, Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(500));
    let refused = refuse_first.then(|| {
        run(
            &db,
            fixtures(&db).args([
                "up",
                "--steps",
                "1",
                "--no-grants",
                "--lock-retries",
                "0",
                "--format",
                "json",
            ]),
        )
    });
    let up = run(
        &db,
        fixtures(&db)
            .args(["up", "--steps", "1", "--no-grants"])
            .args(up_args),
    );
    long.join().expect("the long transaction");
    std::thread::sleep(Duration::from_millis(300));
    let timings = workload.finish();
    (
        db,
        Scenario {
            timings,
            blocker,
            up,
            refused,
        },
    )
}

#[test]
fn under_load_the_app_waits_at_most_the_ddl_lock_timeout() {
    let started = Instant::now();
    // The two runs at once: with the default DDL lock timeout (1 s), and
    // with none (`--ddl-lock-timeout 0`: the migration waits up to
    // --lock-timeout, as Prisma's would), which shows the test can fail.
    let unbounded =
        std::thread::spawn(|| scenario("liveunbounded", &["--ddl-lock-timeout", "0"], false));
    let (db, bounded) = scenario("livebounded", &[], true);
    let (db_unbounded, unbounded) = unbounded.join().expect("the unbounded run");
    eprintln!(
        "longest app query: {:?} with the DDL lock timeout ({} queries), {:?} without ({} queries); {:?} in all",
        bounded.timings.longest,
        bounded.timings.queries,
        unbounded.timings.longest,
        unbounded.timings.queries,
        started.elapsed()
    );

    // With --lock-retries 0: exit 5 with its code, the blocker named,
    // nothing changed.
    let refused = bounded.refused.as_ref().expect("the refused run");
    let error = refused.error(5, "migration.lock_timeout");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(&format!("pid {}", bounded.blocker)),
        "{refused}"
    );
    assert!(message.contains("\"lambda-report\""), "{refused}");
    assert!(message.contains("idle in transaction"), "{refused}");
    assert!(message.contains("transaction open for"), "{refused}");
    assert!(
        Out::hint(&error).contains("pg_terminate_backend"),
        "{refused}"
    );
    assert!(refused.elapsed < Duration::from_secs(4), "{refused}");

    // With retries: each attempt logged naming the blocker, then applied
    // once the long transaction committed.
    let up = &bounded.up;
    up.expect(0);
    let first = up
        .stderr
        .lines()
        .find(|l| l.contains(&format!("migration {NICKNAME}: attempt 1 of 11 waited 1s")))
        .unwrap_or_else(|| panic!("the first attempt is logged: {up}"));
    assert!(
        first.contains(&format!(
            "pid {} (application_name \"lambda-report\"",
            bounded.blocker
        )),
        "{up}"
    );
    assert!(up.stderr.contains("trying again in"), "{up}");
    assert!(up.stderr.contains(&format!("applied {NICKNAME}")), "{up}");
    assert!(
        up.stderr
            .contains("warning: prisma/migrations/20261129000005_fixture_user_nickname/migration.sql:5: index-without-concurrently"),
        "the lint finding is a warning: {up}"
    );
    // No query text of another session in any output.
    for out in [up, refused] {
        assert!(!out.stderr.contains("UPDATE \"public\""), "{out}");
        assert!(!out.stdout.contains("UPDATE \"public\""), "{out}");
    }
    assert_eq!(has_nickname(&db), (true, true));
    assert!(db.history("public").contains(&NICKNAME.to_string()));

    // The app, by its own timings: no query failed, none waited longer
    // than the DDL lock timeout plus 1 s.
    let t = &bounded.timings;
    assert!(t.failures.is_empty(), "{:?}", t.failures);
    assert!(t.queries > 500, "the workload ran: {t:?}");
    assert!(
        t.longest < Duration::from_secs(2),
        "an app query waited {:?}",
        t.longest
    );

    // Without the DDL lock timeout the app's queries queue behind the
    // migration for as long as the long transaction lasts.
    unbounded.up.expect(0);
    assert!(
        !unbounded.up.stderr.contains("attempt 1"),
        "{}",
        unbounded.up
    );
    assert_eq!(has_nickname(&db_unbounded), (true, true));
    assert!(
        unbounded.timings.failures.is_empty(),
        "{:?}",
        unbounded.timings.failures
    );
    assert!(
        unbounded.timings.longest > Duration::from_secs(8),
        "without the lock timeout the app must wait: {:?}",
        unbounded.timings.longest
    );
}

/// A table of a million rows, for an index build that takes a while.
fn big_table(db: &TestDb) {
    db.psql_as_owner(
        r#"CREATE TABLE "Big" ("id" SERIAL PRIMARY KEY, "v" INTEGER);
           INSERT INTO "Big" ("v") SELECT g FROM generate_series(1, 1000000) g;"#,
    )
    .expect("a million rows");
}

/// Writes to "Big" in short transactions until stopped: the failures.
fn writer(db: &TestDb) -> (Arc<AtomicBool>, JoinHandle<(usize, Vec<String>)>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let (target, role, password) = (Target::of(db), db.role.clone(), db.password.clone());
    let thread = std::thread::spawn(move || {
        let db = target;
        runtime().block_on(async {
            let mut conn = connect(&db, &role, &password, "big-writer").await;
            let (mut writes, mut failures) = (0, Vec::new());
            while !flag.load(Ordering::SeqCst) {
                writes += 1;
                let sql = if writes % 2 == 0 {
                    r#"INSERT INTO "Big" ("v") VALUES ($1)"#
                } else {
                    r#"UPDATE "Big" SET "v" = "v" + 1 WHERE "id" = $1"#
                };
                if let Err(e) = sqlx::query(sql)
                    .bind(writes as i32)
                    .execute(&mut conn)
                    .await
                {
                    failures.push(e.to_string());
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (writes, failures)
        })
    });
    (stop, thread)
}

fn index_valid(db: &TestDb) -> Option<bool> {
    match db.psql(
        "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('public.\"Big_v_live_idx\"')",
    ) {
        v if v == "t" => Some(true),
        v if v == "f" => Some(false),
        _ => None,
    }
}

#[test]
fn a_killed_concurrent_build_leaves_an_invalid_index_that_the_next_run_rebuilds() {
    let started = Instant::now();
    let (db, _) = deployed("liveconcurrent");
    run(
        &db,
        fixtures(&db).args(["up", "--steps", "1", "--no-grants"]),
    )
    .expect(0);
    big_table(&db);
    let (stop, writes) = writer(&db);

    // A transaction older than the build keeps it waiting after it has
    // created the (not yet valid) index; `up` is killed during the build.
    let runtime = runtime();
    let target = Target::of(&db);
    let (mut observer, mut old) = runtime.block_on(async {
        (
            connect(&target, &db.role, &db.password, "test-observer").await,
            connect(&target, &db.role, &db.password, "old-transaction").await,
        )
    });
    let mut old = runtime.block_on(old.begin()).expect("BEGIN");
    runtime.block_on(async {
        sqlx::query(r#"UPDATE "Big" SET "v" = "v" WHERE "id" = 1"#)
            .execute(&mut *old)
            .await
            .expect("an old transaction")
    });
    let mut child = fixtures(&db)
        .args(["up", "--no-grants", "--format", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn up");
    wait_until(Duration::from_secs(20), "the build to start", || {
        index_valid(&db) == Some(false)
    });
    // The build is under way (its index exists, not yet valid) and waits
    // for the old transaction: killed there. The server notices the dead
    // client within a second (client_connection_check_interval) and
    // cancels the build; the old transaction ends only after that, or the
    // build could finish in the meantime.
    let phase: Option<String> = runtime.block_on(async {
        sqlx::query(
            "SELECT phase FROM pg_stat_progress_create_index WHERE datname = current_database()",
        )
        .fetch_optional(&mut observer)
        .await
        .expect("progress")
        .map(|r| r.get(0))
    });
    assert_eq!(phase.as_deref(), Some("waiting for writers before build"));
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    wait_until(
        Duration::from_secs(10),
        "the dead run's backend to end",
        || {
            db.psql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'impulse-db migrate'",
            ) == "0"
        },
    );
    runtime.block_on(old.commit()).expect("COMMIT");
    assert_eq!(
        index_valid(&db),
        Some(false),
        "an INVALID index is left behind"
    );
    assert!(!db.history("public").contains(&BIG_INDEX.to_string()));

    // The next run notices it, says so, drops it, builds it again (writes
    // going on all along), and records the migration.
    let again = run(&db, fixtures(&db).args(["up", "--no-grants"]));
    again.expect(0);
    assert!(
        again
            .stderr
            .contains("index \"public\".\"Big_v_live_idx\" exists but is INVALID")
            && again
                .stderr
                .contains("dropping it with DROP INDEX CONCURRENTLY and building it again"),
        "{again}"
    );
    assert_eq!(index_valid(&db), Some(true));
    assert!(db.history("public").contains(&BIG_INDEX.to_string()));
    stop.store(true, Ordering::SeqCst);
    let (count, failures) = writes.join().expect("the writer");
    assert!(failures.is_empty(), "{failures:?}");
    assert!(count > 50, "writes went on: {count}");
    // `status` says it ran outside a transaction, because of its file.
    let status = run(&db, fixtures(&db).args(["status", "--format", "json"]));
    let entry = status.json()["migrations"]
        .as_array()
        .and_then(|m| m.iter().find(|e| e["name"] == BIG_INDEX).cloned())
        .expect("the entry");
    assert_eq!(entry["outside_transaction"], true);
    eprintln!("concurrent build test: {:?}", started.elapsed());
}

/// Another session holding `ACCESS EXCLUSIVE` on `table` in an open
/// transaction for 60 s; end it with `pg_terminate_backend`.
fn lock_table(db: &TestDb, table: &str, application_name: &str) -> std::process::Child {
    let holder = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={} user={} dbname={} sslmode=require",
            db.port, db.role, db.name
        ))
        .args([
            "-X",
            "-q",
            "-c",
            &format!("BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60)"),
        ])
        .env("PGPASSWORD", &db.password)
        .env("PGAPPNAME", application_name)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn psql");
    wait_until(Duration::from_secs(10), "the table lock", || {
        db.psql(&format!(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE l.mode = 'AccessExclusiveLock' AND l.granted AND a.application_name = '{application_name}'"
        )) != "0"
    });
    holder
}

fn release(db: &TestDb, mut holder: std::process::Child, application_name: &str) {
    db.psql(&format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{application_name}'"
    ));
    let _ = holder.wait();
}

fn doctor(db: &TestDb, app: &str) -> Command {
    let mut cmd = fixtures(db);
    cmd.args(["doctor", "--format", "json", "--connect-timeout", "2"])
        .env(
            "DATABASE_URL",
            format!(
                "postgresql://{app}:{APP_PASSWORD}@127.0.0.1:{}/{}?sslmode=verify-full&sslrootcert={}",
                db.port,
                db.name,
                db.ca.display()
            ),
        )
        .env("DIRECT_URL", db.url());
    cmd
}

fn diagnosis(out: &Out) -> Vec<String> {
    out.json()["diagnosis"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|d| d["code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_read_is_bounded_while_another_session_holds_a_table_lock() {
    let (db, app) = deployed("livereads");
    let holder_pid = |name: &str| {
        db.psql(&format!(
            "SELECT pid FROM pg_stat_activity WHERE application_name = '{name}'"
        ))
    };

    // ACCESS EXCLUSIVE on the history: status, up and down give up after
    // --lock-timeout (2 s) with lock.read_blocked (exit 4), naming it; the
    // doctor within --connect-timeout + 2 s.
    let locker = lock_table(&db, "_prisma_migrations", "history-locker");
    let pid = holder_pid("history-locker");
    for args in [&["status"][..], &["up"], &["down"]] {
        let out = run(
            &db,
            fixtures(&db)
                .args(args)
                .args(["--lock-timeout", "2", "--format", "json"]),
        );
        let error = out.error(4, "lock.read_blocked");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("could not read the migration history"),
            "{out}"
        );
        assert!(message.contains("it waited 2s"), "{out}");
        assert!(message.contains(&format!("pid {pid}")), "{out}");
        assert!(message.contains("\"history-locker\""), "{out}");
        assert!(
            out.elapsed < Duration::from_secs(4),
            "{args:?} within --lock-timeout: {out}"
        );
    }
    let out = run(&db, &mut doctor(&db, &app));
    out.expect(1);
    assert!(
        diagnosis(&out).contains(&"lock.read_blocked".to_string()),
        "{out}"
    );
    assert!(out.stdout.contains(&format!("pid {pid}")), "{out}");
    assert!(
        out.elapsed < Duration::from_secs(4),
        "within --connect-timeout + 2 s: {out}"
    );
    release(&db, locker, "history-locker");

    // ACCESS EXCLUSIVE on "User": the doctor's catalog read, a migration
    // and a rollback that change "User" are bounded too.
    run(
        &db,
        fixtures(&db).args(["up", "--steps", "1", "--no-grants"]),
    )
    .expect(0);
    let locker = lock_table(&db, "\"User\"", "user-locker");
    let pid = holder_pid("user-locker");
    let out = run(&db, &mut doctor(&db, &app));
    out.expect(1);
    assert!(
        diagnosis(&out).contains(&"lock.read_blocked".to_string()),
        "{out}"
    );
    assert!(out.stdout.contains(&format!("pid {pid}")), "{out}");
    assert!(
        out.elapsed < Duration::from_secs(4),
        "within --connect-timeout + 2 s: {out}"
    );
    let out = run(
        &db,
        fixtures(&db).args([
            "down",
            "--lock-retries",
            "1",
            "--ddl-lock-timeout",
            "0.5",
            "--format",
            "json",
        ]),
    );
    let error = out.error(5, "migration.lock_timeout");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("rollback of"),
        "{out}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("pid {pid}")),
        "{out}"
    );
    assert!(out.elapsed < Duration::from_secs(4), "{out}");
    let out = run(
        &db,
        fixtures(&db)
            .args(["grant", "--check", "--lock-timeout", "2"])
            .env("DB_APP_USER", &app),
    );
    assert!(out.elapsed < Duration::from_secs(4), "{out}");
    release(&db, locker, "user-locker");
    assert_eq!(db.history("public").len(), 5, "nothing was rolled back");
    assert_eq!(has_nickname(&db), (true, true));
}

#[test]
fn the_dry_run_prints_the_pending_sql_and_changes_nothing() {
    let (db, _) = deployed("livedryrun");
    let state = || {
        (
            db.psql(
                "SELECT string_agg(c.relname || ':' || c.relkind::text, ',' ORDER BY c.relname) \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
            ),
            db.psql("SELECT string_agg(a.attname, ',' ORDER BY a.attname) FROM pg_attribute a WHERE a.attrelid = '\"User\"'::regclass AND a.attnum > 0"),
            db.psql("SELECT string_agg(concat_ws(' ', id, migration_name, finished_at), ',' ORDER BY id) FROM _prisma_migrations"),
            db.psql(
                "SELECT coalesce(string_agg(concat_ws(' ', locktype, mode, classid, objid, pid), ',' ORDER BY pid, objid), '') \
                 FROM pg_locks WHERE pid <> pg_backend_pid() AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            ),
        )
    };
    // Another deploy job holds the migration lock: `up` would wait for
    // it; the dry run does not take it.
    let mut holder = db.hold_lock("other-deploy-job");
    let before = state();
    let text = run(
        &db,
        fixtures(&db).args(["up", "--dry-run", "--lock-timeout", "0"]),
    );
    text.expect(0);
    let expected = format!("-- migration {NICKNAME} (in a transaction)\n{NICKNAME_SQL}");
    assert!(text.stdout.starts_with(&expected), "{text}");
    let second = format!(
        "-- migration {BIG_INDEX} (outside a transaction, statement by statement)\n{BIG_INDEX_SQL}\n"
    );
    assert!(text.stdout.contains(&second), "{text}");
    assert!(
        text.stdout
            .contains("-- lint: line 5: index-without-concurrently:"),
        "{text}"
    );
    assert!(text.stdout.contains("nothing was changed"), "{text}");
    let json = run(
        &db,
        fixtures(&db).args(["up", "--dry-run", "--lock-timeout", "0", "--format", "json"]),
    );
    json.expect(0);
    let report = json.json();
    assert_eq!(report["dry_run"], true);
    let migrations = report["migrations"].as_array().cloned().unwrap_or_default();
    let got: Vec<(String, String, bool)> = migrations
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap_or_default().to_string(),
                m["sql"].as_str().unwrap_or_default().to_string(),
                m["in_transaction"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (NICKNAME.to_string(), NICKNAME_SQL.to_string(), true),
            (BIG_INDEX.to_string(), BIG_INDEX_SQL.to_string(), false),
        ]
    );
    assert_eq!(
        migrations[0]["findings"][0]["rule"],
        "index-without-concurrently"
    );
    assert_eq!(migrations[1]["findings"], serde_json::json!([]));
    assert_eq!(state(), before, "catalog, history and locks unchanged");
    // With --steps, the rest is named as still pending.
    let one = run(
        &db,
        fixtures(&db).args(["up", "--dry-run", "--steps", "1", "--format", "json"]),
    );
    assert_eq!(one.json()["pending_after"], serde_json::json!([BIG_INDEX]));
    // The real `up` does wait for the lock.
    run(
        &db,
        fixtures(&db).args(["up", "--lock-timeout", "0", "--format", "json"]),
    )
    .error(4, "lock.timeout");
    db.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'other-deploy-job'");
    let _ = holder.wait();
    assert_eq!(has_nickname(&db), (false, false));
}

#[test]
fn out_of_range_timeouts_are_usage_errors() {
    let db = pg().new_db("liveranges");
    for args in [
        &["--lock-timeout", "2147484", "status"][..],
        &["--lock-timeout", "9223372036854775807", "status"],
        &["--lock-timeout", "9300000000000000000", "up"],
        &["--connect-timeout", "0", "status"],
        &["--connect-timeout", "18446744073709551615", "status"],
        &["up", "--ddl-lock-timeout", "86400.5"],
        &["up", "--statement-timeout", "1e9"],
        &["down", "--lock-retries", "1000"],
    ] {
        let out = run(&db, db.migrate().args(args).args(["--format", "json"]));
        let error = out.error(2, "usage.invalid");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{out}"
        );
    }
    let out = run(
        &db,
        db.migrate()
            .args(["status", "--format", "json"])
            .env("DATABASE_URL", db.url_with("&connect_timeout=99999999999")),
    );
    let error = out.error(2, "config.invalid_url");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("from 0 to 3600"),
        "{out}"
    );
}

#[test]
fn a_statement_timeout_ends_a_slow_migration_and_rolls_it_back() {
    let db = pg().new_db("livestatement");
    run(
        &db,
        db.fixtures()
            .args(["up", "--steps", "2"])
            .env("FIXTURE_FAIL", "0"),
    )
    .expect(0);
    let out = run(
        &db,
        db.fixtures()
            .args([
                "up",
                "--steps",
                "1",
                "--statement-timeout",
                "0.5",
                "--format",
                "json",
            ])
            .env("FIXTURE_SLEEP", "5"),
    );
    let error = out.error(5, "migration.failed");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("statement timeout") && message.contains("57014"),
        "{out}"
    );
    assert!(message.contains("rolled back"), "{out}");
    assert!(out.elapsed < Duration::from_secs(3), "{out}");
    assert!(!db.table_exists("public", "Slow"));
}
