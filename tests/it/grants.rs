//! Least privilege for the app role, proven by connecting as it.

use std::process::Stdio;
use std::time::Duration;

use crate::moto::moto;
use crate::support::{Out, TestDb, pg};

/// A test's own app role (roles are global to the cluster), with a password
/// set by the superuser so the test can log in as it.
fn app_role(db: &TestDb) -> (String, String) {
    (format!("{}_app", db.name), "AppRolePassw0rd".to_string())
}

fn set_password(db: &TestDb, role: &str, password: &str) {
    db.psql(&format!(
        "ALTER ROLE \"{}\" PASSWORD '{password}'",
        role.replace('"', "\"\"")
    ));
}

#[track_caller]
fn denied(db: &TestDb, role: &str, password: &str, sql: &str) {
    let err = db
        .psql_as(role, password, sql)
        .expect_err(&format!("{sql} must fail for the app role"));
    assert!(
        err.contains("42501"),
        "{sql}: expected SQLSTATE 42501, got {err}"
    );
}

#[test]
fn after_up_the_app_role_has_exactly_least_privilege() {
    let db = pg().new_db("matrix");
    // Before 15, `public` is the bootstrap superuser's: with its owner's
    // fix for the one finding the tool cannot fix (tests/it/rds.rs).
    db.revoke_public_create_before_15();
    let (app, password) = app_role(&db);
    let up = db.run(
        db.migrate()
            .args(["up", "--format", "json"])
            .env("DB_APP_USER", &app),
    );
    up.expect(0);
    assert!(
        up.json()["grants"]["executed"].as_u64().unwrap() > 0,
        "{up}"
    );
    set_password(&db, &app, &password);

    let ok = |sql: &str| {
        db.psql_as(&app, &password, sql)
            .unwrap_or_else(|e| panic!("{sql} must work for the app role: {e}"))
    };
    ok(r#"INSERT INTO "User" ("email", "name") VALUES ('ada@example.com', 'Ada')"#);
    assert_eq!(
        ok(r#"SELECT "id" FROM "User""#),
        "1",
        "the SERIAL default works"
    );
    ok(r#"UPDATE "User" SET "name" = 'Ada L.' WHERE "id" = 1"#);
    ok(r#"DELETE FROM "User" WHERE "id" = 1"#);

    // A schema the app role owns, so a foreign key to "User" fails only for
    // lack of REFERENCES.
    db.psql(&format!("CREATE SCHEMA scratch AUTHORIZATION \"{app}\""));
    for sql in [
        "CREATE TABLE nope (id int)",
        r#"DROP TABLE "User""#,
        r#"ALTER TABLE "User" ADD COLUMN "x" int"#,
        r#"TRUNCATE "User""#,
        r#"CREATE TABLE scratch.child ("u" int REFERENCES public."User"("id"))"#,
        "CREATE VIEW v AS SELECT 1",
        "CREATE TEMP TABLE t (id int)",
        "SELECT * FROM _prisma_migrations",
        "INSERT INTO _prisma_migrations (id, checksum, migration_name) VALUES ('x', 'y', 'm_fake')",
        "DELETE FROM _prisma_migrations",
    ] {
        denied(&db, &app, &password, sql);
    }

    // --check agrees: nothing to change.
    let check = db.run(
        db.migrate()
            .args(["grant", "--check"])
            .env("DB_APP_USER", &app),
    );
    check.expect(0);
    assert!(check.stdout.contains("exactly least privilege"), "{check}");
}

#[test]
fn tables_of_later_migrations_are_usable_right_after_up() {
    let db = pg().new_db("later");
    let (app, password) = app_role(&db);
    db.run(db.migrate().arg("up").env("DB_APP_USER", &app))
        .expect(0);
    set_password(&db, &app, &password);
    db.run(
        db.fixtures()
            .arg("up")
            .env("FIXTURE_FAIL", "0")
            .env("DB_APP_USER", &app),
    )
    .expect(0);
    for table in ["Half", "Slow"] {
        db.psql_as(
            &app,
            &password,
            &format!(r#"INSERT INTO "{table}" DEFAULT VALUES"#),
        )
        .unwrap_or_else(|e| panic!("insert into {table}: {e}"));
        assert_eq!(
            db.psql_as(
                &app,
                &password,
                &format!(r#"SELECT count(*) FROM "{table}""#)
            )
            .unwrap(),
            "1"
        );
    }
}

#[test]
fn drift_is_found_fixed_and_then_nothing_is_issued() {
    let db = pg().new_db("drift");
    // The grant on the schema is the tool's to revoke: before 15 only once
    // the migration role owns `public`, as from 15 on.
    db.own_public_before_15();
    let (app, _) = app_role(&db);
    let migrate = || {
        let mut cmd = db.migrate();
        cmd.env("DB_APP_USER", &app);
        cmd
    };
    db.run(migrate().arg("up")).expect(0);
    db.psql(&format!(
        r#"GRANT TRUNCATE ON "User" TO "{app}"; GRANT CREATE ON SCHEMA public TO "{app}""#
    ));

    let check = db.run(migrate().args(["grant", "--check"]));
    check.expect(1);
    assert!(
        check
            .stdout
            .contains(r#"excess   TRUNCATE on table "User""#),
        "{check}"
    );
    assert!(
        check
            .stdout
            .contains(r#"excess   CREATE on schema "public""#),
        "{check}"
    );
    let json = db.run(migrate().args(["grant", "--check", "--format", "json"]));
    json.expect(1);
    assert_eq!(
        json.json()["changes"].as_array().unwrap().len(),
        2,
        "{json}"
    );
    assert_eq!(json.json()["executed"], 0);

    let fix = db.run(migrate().arg("grant"));
    fix.expect(0);
    assert!(
        fix.stderr.contains(r#"revoked TRUNCATE on table "User""#),
        "{fix}"
    );
    assert!(fix.stdout.contains("issued 2 statement(s)"), "{fix}");
    db.run(migrate().args(["grant", "--check"])).expect(0);

    let again = db.run(migrate().args(["grant", "--format", "json"]));
    again.expect(0);
    assert_eq!(
        again.json()["executed"],
        0,
        "a second run issues no statement"
    );
    assert_eq!(again.json()["changes"], serde_json::json!([]));
    let again = db.run(migrate().arg("grant"));
    assert!(
        again
            .stdout
            .contains("nothing to change: no statement issued"),
        "{again}"
    );
}

#[test]
fn a_missing_role_is_created_and_sync_password_makes_the_secret_work() {
    let db = pg().new_db("syncpw");
    let (app, _) = app_role(&db);
    let secret_password = "Secr3t-From-Secrets-Manager";
    let arn = moto().create_secret(
        "app",
        &serde_json::json!({"username": app, "password": secret_password}).to_string(),
    );
    let migrate = || {
        let mut cmd = db.migrate();
        moto().env(&mut cmd);
        cmd.env("DIRECT_URL", db.url())
            .env("DB_SECRET_ARN", &arn)
            .env("DB_APP_USER", &app);
        cmd
    };
    let secrets: Vec<String> = db
        .secrets()
        .into_iter()
        .chain([secret_password.to_string()])
        .collect();

    let up = Out::capture(migrate().args(["up", "--no-grants"]), &secrets);
    up.expect(0);
    assert_eq!(
        db.psql(&format!(
            "SELECT count(*) FROM pg_roles WHERE rolname = '{app}'"
        )),
        "0"
    );

    let grant = Out::capture(migrate().arg("grant"), &secrets);
    grant.expect(0);
    assert!(
        grant
            .stderr
            .contains(&format!(r#"created role "{app}" (LOGIN, no password)"#)),
        "{grant}"
    );
    assert_eq!(
        db.psql(&format!(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = '{app}'"
        )),
        "t"
    );
    let before = db.psql_as(&app, secret_password, "SELECT 1");
    assert!(before.is_err(), "no password yet");

    let sync = Out::capture(migrate().args(["grant", "--sync-password"]), &secrets);
    sync.expect(0);
    assert!(sync.stderr.contains("set the password of"), "{sync}");
    assert_eq!(db.psql_as(&app, secret_password, "SELECT 1").unwrap(), "1");
    // Stored as a SCRAM verifier, never as the clear text.
    assert!(
        db.psql(&format!(
            "SELECT rolpassword FROM pg_authid WHERE rolname = '{app}'"
        ))
        .starts_with("SCRAM-SHA-256$")
    );
}

#[test]
fn grant_waits_for_the_lock_and_times_out() {
    let db = pg().new_db("grantlock");
    let (app, _) = app_role(&db);
    db.run(db.migrate().arg("up").env("DB_APP_USER", &app))
        .expect(0);
    let terminate = || {
        db.psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'grant-lock-holder'");
    };

    let mut holder = db.hold_lock("grant-lock-holder");
    let out = db.run(
        db.migrate()
            .args(["grant", "--lock-timeout", "1"])
            .env("DB_APP_USER", &app),
    );
    out.expect(4);
    assert!(out.stderr.contains("grant-lock-holder"), "{out}");

    // It waits: released after a second, the grant goes through.
    let waiting = db
        .migrate()
        .args(["grant", "--lock-timeout", "20"])
        .env("DB_APP_USER", &app)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    terminate();
    let _ = holder.wait();
    let started = std::time::Instant::now();
    let out = Out::from_output(
        waiting.wait_with_output().unwrap(),
        started.elapsed(),
        &db.secrets(),
    );
    out.expect(0);
}

#[test]
fn identifiers_with_quotes_spaces_and_capitals_work() {
    let db = pg().new_db("quoting");
    let app = format!("{} \"App\" Role", db.name.to_uppercase());
    let password = "QuotedRolePassw0rd";
    let mut cmd = db.migrate();
    cmd.env("DATABASE_URL", db.url_with("&schema=App%20Data"))
        .env("DB_APP_USER", &app);
    db.run(cmd.arg("up")).expect(0);
    set_password(&db, &app, password);
    let q = |sql: &str| db.psql_as(&app, password, sql);
    q(r#"INSERT INTO "App Data"."User" ("email") VALUES ('q@example.com')"#).unwrap();
    assert_eq!(q(r#"SELECT count(*) FROM "App Data"."User""#).unwrap(), "1");
    assert!(
        q(r#"CREATE TABLE "App Data".nope (id int)"#)
            .unwrap_err()
            .contains("42501")
    );
    let mut check = db.migrate();
    check
        .env("DATABASE_URL", db.url_with("&schema=App%20Data"))
        .env("DB_APP_USER", &app);
    db.run(check.args(["grant", "--check"])).expect(0);
}
