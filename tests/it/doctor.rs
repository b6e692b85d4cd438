//! `migrate doctor` names the root cause: one test per diagnosis code,
//! each asserting the exact codes in the JSON and the exit status.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::moto::moto;
use crate::pgbouncer::bouncer;
use crate::support::{HBA_REJECTED_DB, Out, TestDb, bin, empty_dir, pg, wait_until};

const APP_PASSWORD: &str = "AppRolePassw0rdForDoctor";

/// A migrated database with its own app role (with a password), as in a
/// real deployment: the owner runs migrations, the app role is the Lambda's.
fn deployed(hint: &str) -> (TestDb, String) {
    let db = pg().new_db(hint);
    // Before 15, with the owner's fix for the one finding the master
    // cannot fix itself (tests/it/rds.rs has the finding).
    db.revoke_public_create_before_15();
    let app = format!("{}_app", db.name);
    db.run(db.migrate().arg("up").env("DB_APP_USER", &app))
        .expect(0);
    db.psql(&format!("ALTER ROLE \"{app}\" PASSWORD '{APP_PASSWORD}'"));
    (db, app)
}

fn app_url(db: &TestDb, user: &str, password: &str) -> String {
    format!(
        "postgresql://{user}:{password}@127.0.0.1:{}/{}?sslmode=verify-full&sslrootcert={}",
        db.port,
        db.name,
        db.ca.display()
    )
}

/// `migrate doctor --format json` with the app URL and DIRECT_URL set.
fn doctor_cmd(db: &TestDb, database_url: &str) -> Command {
    let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
    cmd.args(["doctor", "--format", "json"])
        .env("DATABASE_URL", database_url)
        .env("DIRECT_URL", db.url());
    cmd
}

/// Runs it and returns the output and the diagnosis codes, in order.
fn diagnose(db: &TestDb, cmd: &mut Command, extra_secrets: &[&str]) -> (Out, Vec<String>) {
    let mut secrets = db.secrets();
    secrets.push(APP_PASSWORD.to_string());
    secrets.extend(extra_secrets.iter().map(|s| s.to_string()));
    let out = Out::capture(cmd, &secrets);
    let codes = out.json()["diagnosis"]
        .as_array()
        .unwrap_or_else(|| panic!("a diagnosis list:\n{out}"))
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    (out, codes)
}

#[track_caller]
fn expect_codes(db: &TestDb, cmd: &mut Command, codes: &[&str]) -> Out {
    let (out, found) = diagnose(db, cmd, &[]);
    assert_eq!(found, codes, "{out}");
    out.expect(if codes.is_empty() { 0 } else { 1 });
    out
}

fn check(out: &Out, connection: &str, id: &str) -> serde_json::Value {
    out.json()["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["connection"] == connection && c["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no {connection}/{id} check:\n{out}"))
}

#[test]
fn a_healthy_setup_passes_every_check() {
    let (db, app) = deployed("healthy");
    let app_secret = moto().create_secret(
        "doctor-app",
        &serde_json::json!({"username": app, "password": APP_PASSWORD}).to_string(),
    );
    let owner_secret = moto().create_secret("doctor-owner", &db.secret_json());
    let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
    moto().env(&mut cmd);
    cmd.args(["doctor", "--format", "json"])
        .env(
            "DATABASE_URL",
            app_url(&db, "REPLACED_BY_SECRET", "REPLACED_BY_SECRET"),
        )
        .env("DB_SECRET_ARN", &app_secret)
        .env(
            "DIRECT_URL",
            app_url(&db, "REPLACED_BY_SECRET", "REPLACED_BY_SECRET"),
        )
        .env("MIGRATION_SECRET_ARN", &owner_secret);
    let out = expect_codes(&db, &mut cmd, &[]);
    let json = out.json();
    assert_eq!(json["ok"], true);
    let checks = json["checks"].as_array().unwrap();
    for c in checks {
        assert_eq!(c["status"], "pass", "{c}");
        assert!(c["elapsed_ms"].as_f64().is_some());
    }
    let ids: Vec<&str> = checks
        .iter()
        .filter(|c| c["connection"] == "app")
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "config", "url", "secret", "dns", "tcp", "tls", "auth", "database"
        ]
    );
    assert_eq!(checks.len(), 8 + 8 + 3);

    // The text form: one line per check, ASCII when not a terminal.
    let mut text = bin(env!("CARGO_BIN_EXE_migrate"));
    moto().env(&mut text);
    text.arg("doctor")
        .env("DATABASE_URL", app_url(&db, &app, APP_PASSWORD))
        .env("DIRECT_URL", db.url());
    let text = Out::capture(&mut text, &db.secrets());
    text.expect(0);
    assert!(
        text.stdout.contains("[ok]   auth       logged in as"),
        "{text}"
    );
    assert!(text.stdout.contains("no problems found"), "{text}");
}

#[test]
fn config_missing() {
    let db = pg().new_db("docnocfg");
    let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
    cmd.args(["doctor", "--format", "json"]);
    expect_codes(&db, &mut cmd, &["config.missing"]);
}

#[test]
fn config_placeholder_from_the_guides_env() {
    let db = pg().new_db("docplaceholder");
    let dir = empty_dir();
    std::fs::write(
        dir.join(".env"),
        "DATABASE_URL=\"postgresql://impulse_app:REPLACED_BY_SECRET@impulse-proxy.proxy-abc123.us-east-1.rds.amazonaws.com:5432/impulse\"\n",
    )
    .unwrap();
    let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
    cmd.args(["doctor", "--format", "json"]).current_dir(&dir);
    let out = expect_codes(&db, &mut cmd, &["config.placeholder"]);
    assert!(
        out.json()["diagnosis"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("DB_SECRET_ARN")
    );
}

#[test]
fn config_unencoded_password() {
    let (db, app) = deployed("docunencoded");
    let url = format!(
        "postgresql://{app}:p@ss/w0rd@127.0.0.1:{}/{}",
        db.port, db.name
    );
    expect_codes(
        &db,
        &mut doctor_cmd(&db, &url),
        &["config.unencoded_password"],
    );
}

#[test]
fn secret_not_found_and_malformed() {
    let (db, _) = deployed("docsecret");
    for (arn, code) in [
        (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:missing-AbCdEf".to_string(),
            "secret.not_found",
        ),
        (
            moto().create_secret("bad", "not json at all"),
            "secret.malformed",
        ),
    ] {
        let mut cmd = doctor_cmd(
            &db,
            &app_url(&db, "REPLACED_BY_SECRET", "REPLACED_BY_SECRET"),
        );
        moto().env(&mut cmd).env("DB_SECRET_ARN", &arn);
        expect_codes(&db, &mut cmd, &[code]);
    }
}

#[test]
fn secret_rotation_incomplete_when_the_database_has_the_pending_password() {
    let (db, app) = deployed("docpending");
    let arn = moto().create_secret(
        "pending",
        &serde_json::json!({"username": app, "password": APP_PASSWORD}).to_string(),
    );
    // setSecret ran (the database has the new password); finishSecret did not.
    let new_password = "PendingPassw0rdValue";
    moto().put_pending(
        &arn,
        &serde_json::json!({"username": app, "password": new_password}).to_string(),
    );
    db.psql(&format!("ALTER ROLE \"{app}\" PASSWORD '{new_password}'"));
    let mut cmd = doctor_cmd(
        &db,
        &app_url(&db, "REPLACED_BY_SECRET", "REPLACED_BY_SECRET"),
    );
    moto().env(&mut cmd).env("DB_SECRET_ARN", &arn);
    let (out, codes) = diagnose(&db, &mut cmd, &[new_password]);
    assert_eq!(codes, ["secret.rotation_incomplete"], "{out}");
    out.expect(1);
}

#[test]
fn secret_stale_when_the_database_still_has_the_previous_password() {
    let (db, app) = deployed("docstale");
    let arn = moto().create_secret(
        "stale",
        &serde_json::json!({"username": app, "password": APP_PASSWORD}).to_string(),
    );
    // The secret moved on; the database password did not.
    let new_password = "RotatedButNotSet0";
    moto().rotate(
        &arn,
        &serde_json::json!({"username": app, "password": new_password}).to_string(),
    );
    let mut cmd = doctor_cmd(
        &db,
        &app_url(&db, "REPLACED_BY_SECRET", "REPLACED_BY_SECRET"),
    );
    moto().env(&mut cmd).env("DB_SECRET_ARN", &arn);
    let (out, codes) = diagnose(&db, &mut cmd, &[new_password]);
    assert_eq!(codes, ["secret.stale"], "{out}");
    assert!(
        out.json()["diagnosis"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("--sync-password")
    );
}

#[test]
fn dns_unresolved() {
    let (db, app) = deployed("docdns");
    let url = format!(
        "postgresql://{app}:{APP_PASSWORD}@impulse-db.invalid:5432/{}",
        db.name
    );
    expect_codes(&db, &mut doctor_cmd(&db, &url), &["dns.unresolved"]);
}

#[test]
fn network_refused() {
    let (db, app) = deployed("docrefused");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!(
        "postgresql://{app}:{APP_PASSWORD}@127.0.0.1:{port}/{}",
        db.name
    );
    expect_codes(&db, &mut doctor_cmd(&db, &url), &["network.refused"]);
}

#[test]
fn network_timeout_within_the_connect_timeout() {
    let (db, app) = deployed("doctimeout");
    // A listener whose accept queue is full: the kernel drops further SYNs,
    // exactly what a security group does.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    let _fillers: Vec<_> = (0..3)
        .filter_map(|_| {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)).ok()
        })
        .collect();
    let url = format!(
        "postgresql://{app}:{APP_PASSWORD}@127.0.0.1:{}/{}",
        addr.port(),
        db.name
    );
    let mut cmd = doctor_cmd(&db, &url);
    cmd.args(["--connect-timeout", "2"]);
    let out = expect_codes(&db, &mut cmd, &["network.timeout"]);
    assert!(
        out.elapsed < Duration::from_secs(5),
        "within --connect-timeout + 3 s: {out}"
    );

    // Both connections blackholed: the two walks wait at the same time, so
    // the run takes the connect timeout once (walked one after the other,
    // it took twice that: 4 s).
    let direct = format!(
        "postgresql://{}:x@127.0.0.1:{}/{}",
        db.role,
        addr.port(),
        db.name
    );
    let mut cmd = doctor_cmd(&db, &url);
    cmd.env("DIRECT_URL", &direct)
        .args(["--connect-timeout", "2"]);
    let out = expect_codes(&db, &mut cmd, &["network.timeout"]);
    for which in ["app", "migration"] {
        assert_eq!(check(&out, which, "tcp")["status"], "fail", "{out}");
    }
    assert!(
        out.elapsed < Duration::from_millis(3500),
        "one --connect-timeout (2 s), not one per connection: {out}"
    );
}

#[test]
fn tls_required_and_tls_verify_failed() {
    let (db, app) = deployed("doctls");
    let plain = format!(
        "postgresql://{app}:{APP_PASSWORD}@127.0.0.1:{}/{}?sslmode=disable",
        db.port, db.name
    );
    expect_codes(&db, &mut doctor_cmd(&db, &plain), &["tls.required"]);

    let dir = empty_dir();
    let (other_ca, _, _) = impulse_db::testing::make_certificates().unwrap();
    std::fs::write(dir.join("other.crt"), other_ca).unwrap();
    let url = app_url(&db, &app, APP_PASSWORD).replace(
        db.ca.to_str().unwrap(),
        dir.join("other.crt").to_str().unwrap(),
    );
    expect_codes(&db, &mut doctor_cmd(&db, &url), &["tls.verify_failed"]);
}

#[test]
fn auth_password_mismatch() {
    let (db, app) = deployed("docmismatch");
    let out = expect_codes(
        &db,
        &mut doctor_cmd(&db, &app_url(&db, &app, "NotThePassword1")),
        &["auth.password_mismatch"],
    );
    assert_eq!(check(&out, "app", "auth")["status"], "fail");
    assert_eq!(check(&out, "app", "tls")["status"], "pass");
}

#[test]
fn auth_role_missing() {
    let (db, _) = deployed("docnorole");
    expect_codes(
        &db,
        &mut doctor_cmd(&db, &app_url(&db, "nobody_here_at_all", APP_PASSWORD)),
        &["auth.role_missing", "privileges.missing"],
    );
}

#[test]
fn auth_username_case() {
    // The guide's case: the URL says Impulse_App, the role is impulse_app.
    let db = pg().new_db("doccase");
    db.revoke_public_create_before_15();
    db.run(db.migrate().arg("up")).expect(0); // creates impulse_app (cluster-wide)
    let out = expect_codes(
        &db,
        &mut doctor_cmd(&db, &app_url(&db, "Impulse_App", APP_PASSWORD)),
        // Not also privileges.missing: `migrate grant` would create a
        // second, wrong-case role. The role it meant has its privileges.
        &["auth.username_case"],
    );
    assert!(
        out.json()["diagnosis"][0]["message"]
            .as_str()
            .unwrap()
            .contains("\"impulse_app\"")
    );
}

#[test]
fn auth_password_expired() {
    let (db, app) = deployed("docexpired");
    db.psql(&format!("ALTER ROLE \"{app}\" VALID UNTIL '2001-01-01'"));
    expect_codes(
        &db,
        &mut doctor_cmd(&db, &app_url(&db, &app, APP_PASSWORD)),
        &["auth.password_expired"],
    );
}

#[test]
fn auth_iam_required() {
    let (db, app) = deployed("dociam");
    // A local stand-in for RDS's rds_iam role; IAM users have no password.
    db.psql("DO $$ BEGIN CREATE ROLE rds_iam; EXCEPTION WHEN duplicate_object THEN NULL; END $$");
    db.psql(&format!(
        "GRANT rds_iam TO \"{app}\"; ALTER ROLE \"{app}\" PASSWORD NULL"
    ));
    let out = expect_codes(
        &db,
        &mut doctor_cmd(&db, &app_url(&db, &app, APP_PASSWORD)),
        &["auth.iam_required"],
    );
    assert!(
        out.json()["diagnosis"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("DB_IAM_AUTH=true")
    );
}

#[test]
fn auth_no_hba_entry() {
    let (db, app) = deployed("dochba");
    db.psql(&format!("CREATE DATABASE {HBA_REJECTED_DB}"));
    let url = app_url(&db, &app, APP_PASSWORD)
        .replace(&format!("/{}?", db.name), &format!("/{HBA_REJECTED_DB}?"));
    expect_codes(&db, &mut doctor_cmd(&db, &url), &["auth.no_hba_entry"]);
}

#[test]
fn database_missing() {
    let (db, app) = deployed("docnodb");
    let url =
        app_url(&db, &app, APP_PASSWORD).replace(&format!("/{}?", db.name), "/no_such_database?");
    expect_codes(&db, &mut doctor_cmd(&db, &url), &["database.missing"]);
}

#[test]
fn database_too_many_connections() {
    let (db, app) = deployed("docslots");
    db.psql(&format!("ALTER ROLE \"{app}\" CONNECTION LIMIT 1"));
    let mut holder = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={} user={app} dbname={} sslmode=require",
            db.port, db.name
        ))
        .args(["-X", "-q", "-c", "SELECT pg_sleep(30)"])
        .env("PGPASSWORD", APP_PASSWORD)
        .env("PGAPPNAME", "slot-holder")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(Duration::from_secs(10), "the slot to be taken", || {
        db.psql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'slot-holder'")
            == "1"
    });
    expect_codes(
        &db,
        &mut doctor_cmd(&db, &app_url(&db, &app, APP_PASSWORD)),
        &["database.too_many_connections"],
    );
    // Outside the doctor too, the cause is named, within --connect-timeout
    // (sqlx's pool alone would retry 53300 and end with "timed out").
    let mut status = bin(env!("CARGO_BIN_EXE_migrate"));
    status
        .args(["status", "--format", "json", "--connect-timeout", "3"])
        .env("DATABASE_URL", app_url(&db, &app, APP_PASSWORD));
    let out = Out::capture(&mut status, &[APP_PASSWORD.to_string()]);
    out.expect(3);
    assert_eq!(out.json()["error"]["code"], "database.too_many_connections");
    assert!(out.elapsed < Duration::from_millis(3500), "{out}");
    db.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'slot-holder'");
    let _ = holder.wait();
}

#[test]
fn privileges_excess_and_missing() {
    let (db, app) = deployed("docprivs");
    db.psql(&format!("GRANT TRUNCATE ON \"User\" TO \"{app}\""));
    expect_codes(
        &db,
        &mut doctor_cmd(&db, &app_url(&db, &app, APP_PASSWORD)),
        &["privileges.excess"],
    );
    db.psql(&format!(
        "REVOKE TRUNCATE, SELECT ON \"User\" FROM \"{app}\""
    ));
    expect_codes(
        &db,
        &mut doctor_cmd(&db, &app_url(&db, &app, APP_PASSWORD)),
        &["privileges.missing"],
    );
}

#[test]
fn migrations_pending() {
    let (db, app) = deployed("docpending_m");
    // The fixture binary knows two more migrations than were applied.
    let mut cmd = bin(crate::support::fixtures_binary());
    cmd.args(["doctor", "--format", "json"])
        .env("DATABASE_URL", app_url(&db, &app, APP_PASSWORD))
        .env("DIRECT_URL", db.url());
    let out = expect_codes(&db, &mut cmd, &["migrations.pending"]);
    assert_eq!(
        check(&out, "database", "schema")["status"],
        "pass",
        "pending is not drift"
    );
}

#[test]
fn schema_drift() {
    let (db, app) = deployed("docdrift");
    db.psql(r#"ALTER TABLE "User" ALTER COLUMN "name" TYPE varchar(10)"#);
    let out = expect_codes(
        &db,
        &mut doctor_cmd(&db, &app_url(&db, &app, APP_PASSWORD)),
        &["schema.drift"],
    );
    let message = out.json()["diagnosis"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains(
            "User.name: type text in the migrations, character varying(10) in the database"
        ),
        "{message}"
    );
    // The check builds its reference in a rolled-back transaction: nothing is left.
    assert_eq!(
        db.psql("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'impulse_db_doctor_%'"),
        "0"
    );
}

#[test]
fn pooler_as_the_migration_connection() {
    let (db, app) = deployed("docpooler");
    // Through a real PgBouncer with pgbouncer=true.
    bouncer().add_user(&db.role, &db.password);
    let pooled = format!(
        "postgresql://{}:{}@127.0.0.1:{}/{}?pgbouncer=true&sslmode=disable",
        db.role,
        db.password,
        bouncer().port,
        db.name
    );
    let mut cmd = doctor_cmd(&db, &app_url(&db, &app, APP_PASSWORD));
    cmd.env("DIRECT_URL", &pooled);
    let out = expect_codes(&db, &mut cmd, &["pooler.migrations_through_proxy"]);
    assert_eq!(
        check(&out, "migration", "auth")["status"],
        "pass",
        "PgBouncer let it in:\n{out}"
    );

    // An RDS Proxy host name, without connecting anywhere real.
    let mut cmd = doctor_cmd(&db, &app_url(&db, &app, APP_PASSWORD));
    cmd.env(
        "DIRECT_URL",
        format!(
            "postgresql://{}:x@impulse.proxy-abc123.us-east-1.rds.amazonaws.com:5432/impulse",
            db.role
        ),
    )
    .args(["--connect-timeout", "2"]);
    let (out, codes) = diagnose(&db, &mut cmd, &[]);
    assert_eq!(
        codes.first().map(String::as_str),
        Some("pooler.migrations_through_proxy"),
        "{out}"
    );
}

#[test]
fn migrations_failed_edited_and_not_baselined() {
    let (db, app) = deployed("dochist");
    db.psql(
        "INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name) \
         VALUES ('failed-run', 'x', now(), '20261129000002_fixture_half')",
    );
    let mut cmd = bin(crate::support::fixtures_binary());
    cmd.args(["doctor", "--format", "json"])
        .env("DATABASE_URL", app_url(&db, &app, APP_PASSWORD))
        .env("DIRECT_URL", db.url());
    expect_codes(&db, &mut cmd, &["migrations.failed", "migrations.pending"]);

    let (db, app) = deployed("docedited");
    db.psql("UPDATE _prisma_migrations SET checksum = repeat('0', 64)");
    expect_codes(
        &db,
        &mut doctor_cmd(&db, &app_url(&db, &app, APP_PASSWORD)),
        &["migrations.edited"],
    );

    let db = pg().new_db("docnobase");
    db.psql_as_owner(include_str!(
        "../../prisma/migrations/20261129000001_create_user_table/migration.sql"
    ))
    .unwrap();
    let out = expect_codes(
        &db,
        &mut doctor_cmd(&db, &db.url()),
        &[
            "privileges.excess",
            "migrations.not_baselined",
            "migrations.pending",
        ],
    );
    assert_eq!(
        check(&out, "database", "schema")["status"],
        "warn",
        "not drift"
    );
}
