//! RDS-shaped roles: the migration role is not a superuser but like the RDS
//! master user (`CREATEROLE CREATEDB`, a member of `rds_superuser`, the
//! owner of the database it created), `rds_iam` exists as a plain role, the
//! app role is created by the migration role, and `pg_hba.conf` has only
//! `hostssl` rules (`rds.force_ssl=1`).
//!
//! Each test states what happens on the server version the tests run on;
//! `scripts/test-matrix` runs this module on PostgreSQL 13 to 18. What
//! differs by version is PostgreSQL's, not ours:
//! - before 15 the `public` schema of a new database belongs to the
//!   bootstrap superuser and `PUBLIC` may create in it, so the migration
//!   role can neither grant `USAGE` on it nor revoke `CREATE`;
//! - from 16 on, `CREATEROLE` alone no longer lets a role alter or grant
//!   other roles: that takes the ADMIN option on them, which a role gets
//!   automatically only for roles it creates (so not for `rds_iam`, nor for
//!   an app role someone else made).

use std::sync::OnceLock;

use crate::moto::moto;
use crate::support::{Out, Pg, TestDb, bin, psql, start_cluster, unique_name, write_hba};

/// `pg_hba.conf` of the RDS-shaped cluster: TLS or nothing, as with
/// `rds.force_ssl=1` (the default from RDS for PostgreSQL 15 on).
const FORCE_SSL_HBA: &str = "# rds.force_ssl=1: TLS and scram-sha-256 only\n\
                             hostssl all all 127.0.0.1/32 scram-sha-256\n\
                             hostssl all all ::1/128      scram-sha-256\n";

const APP_PASSWORD: &str = "RdsAppPassw0rd";

static RDS: OnceLock<Pg> = OnceLock::new();

/// The RDS-shaped cluster of this test process (the tests' server
/// binaries), with the plain roles `rds_superuser` and `rds_iam`.
fn rds() -> &'static Pg {
    RDS.get_or_init(|| {
        let cluster = start_cluster("impulse-db-rds-");
        write_hba(&cluster, FORCE_SSL_HBA);
        let pg = Pg::from(cluster);
        pg.psql("postgres", "CREATE ROLE rds_superuser NOLOGIN");
        pg.psql("postgres", "CREATE ROLE rds_iam NOLOGIN");
        pg
    })
}

/// A database as on RDS: a master-like role (made by the superuser, as
/// `rdsadmin` makes the master user) creates it and runs the migrations.
fn master_db(hint: &str) -> TestDb {
    let pg = rds();
    let name = unique_name(hint);
    let role = format!("{name}_master");
    let password = impulse_db::testing::random_token(24).expect("random password");
    pg.psql(
        "postgres",
        &format!(
            "CREATE ROLE \"{role}\" LOGIN CREATEROLE CREATEDB PASSWORD '{password}' \
             IN ROLE rds_superuser"
        ),
    );
    psql(
        pg.port(),
        &role,
        &password,
        "postgres",
        &format!("CREATE DATABASE \"{name}\""),
    )
    .expect("the master user creates its database");
    pg.test_db(name, role, password)
}

fn app_url(db: &TestDb, user: &str, password: &str) -> String {
    format!(
        "postgresql://{user}:{password}@127.0.0.1:{}/{}?sslmode=verify-full&sslrootcert={}",
        db.port,
        db.name,
        db.ca.display()
    )
}

/// `migrate` with the app secret in moto (the Lambda's setup), the master's
/// own URL as `DIRECT_URL`, and `DB_APP_USER`.
fn deploy_cmd(db: &TestDb, app: &str, secret_arn: &str) -> std::process::Command {
    let mut cmd = db.migrate();
    moto().env(&mut cmd);
    cmd.env("DIRECT_URL", db.url())
        .env("DB_SECRET_ARN", secret_arn)
        .env("DB_APP_USER", app);
    cmd
}

fn app_secret(app: &str) -> String {
    moto().create_secret(
        "rds-app",
        &serde_json::json!({"username": app, "password": APP_PASSWORD}).to_string(),
    )
}

fn secrets(db: &TestDb) -> Vec<String> {
    let mut all = db.secrets();
    all.push(APP_PASSWORD.to_string());
    all
}

fn findings(out: &Out) -> Vec<String> {
    out.json()["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("findings:\n{out}"))
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f["code"].as_str().unwrap_or_default(),
                f["message"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn doctor(db: &TestDb, app: &str) -> Out {
    let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
    cmd.args(["doctor", "--format", "json"])
        .env("DATABASE_URL", app_url(db, app, APP_PASSWORD))
        .env("DIRECT_URL", db.url());
    Out::capture(&mut cmd, &secrets(db))
}

fn diagnosis(out: &Out) -> Vec<String> {
    out.json()["diagnosis"]
        .as_array()
        .unwrap_or_else(|| panic!("a diagnosis list:\n{out}"))
        .iter()
        .map(|d| d["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn is_member(db: &TestDb, role: &str, of: &str) -> bool {
    db.psql(&format!(
        "SELECT pg_has_role('{}', '{of}', 'MEMBER')",
        role.replace('\'', "''")
    )) == "t"
}

/// Whether the app role can create a table in `public` (it then drops it).
fn app_can_create_in_public(db: &TestDb, app: &str) -> bool {
    db.psql_as(
        app,
        APP_PASSWORD,
        "CREATE TABLE public.app_made (id int); DROP TABLE public.app_made",
    )
    .is_ok()
}

#[test]
fn force_ssl_refuses_connections_without_tls() {
    let db = master_db("forcessl");
    let plain = format!(
        "postgresql://{}:{}@127.0.0.1:{}/{}?sslmode=disable",
        db.role, db.password, db.port, db.name
    );
    let out = db.run(
        db.migrate()
            .args(["status", "--format", "json"])
            .env("DATABASE_URL", &plain),
    );
    let error = out.error(3, "tls.required");
    assert!(Out::hint(&error).contains("sslmode=require"), "{out}");
    // With TLS the same role gets in.
    db.run(db.migrate().args(["status", "--check"])).expect(1);
}

#[test]
fn the_master_user_runs_up_grant_status_doctor_and_down() {
    let major = rds().major();
    let db = master_db("lifecycle");
    let app = format!("{}_app", db.name);
    let arn = app_secret(&app);
    let secrets = secrets(&db);
    let run = |args: &[&str]| Out::capture(deploy_cmd(&db, &app, &arn).args(args), &secrets);

    run(&["status", "--check"]).expect(1);
    let up = run(&["up", "--format", "json"]);
    up.expect(0);
    assert_eq!(
        up.json()["applied"][0]["name"],
        "20261129000001_create_user_table"
    );
    assert!(
        up.stderr
            .contains(&format!(r#"granted role "{app}" (LOGIN, no password)"#)),
        "the master user creates the app role:\n{up}"
    );
    // The master made the app role, so it may set its password (from 16 on
    // that takes the ADMIN option, which its creator gets).
    let sync = run(&["grant", "--sync-password"]);
    sync.expect(0);
    assert!(sync.stderr.contains("set the password of"), "{sync}");

    let app_sql = |sql: &str| {
        db.psql_as(&app, APP_PASSWORD, sql)
            .unwrap_or_else(|e| panic!("{sql} must work for the app role: {e}"))
    };
    app_sql(r#"INSERT INTO "User" ("email", "name") VALUES ('ada@example.com', 'Ada')"#);
    assert_eq!(app_sql(r#"SELECT count(*) FROM "User""#), "1");
    app_sql(r#"UPDATE "User" SET "name" = 'Ada L.'"#);
    app_sql(r#"DELETE FROM "User""#);
    let history = db.psql_as(&app, APP_PASSWORD, "SELECT * FROM _prisma_migrations");
    assert!(
        history.unwrap_err().contains("42501"),
        "no access to the history"
    );

    let check = run(&["grant", "--check", "--format", "json"]);
    let doctor_before = doctor(&db, &app);
    if major >= 15 {
        check.expect(0);
        assert_eq!(check.json()["changes"], serde_json::json!([]), "{check}");
        assert!(findings(&check).is_empty(), "{check}");
        assert!(!app_can_create_in_public(&db, &app));
        assert_eq!(
            diagnosis(&doctor_before),
            Vec::<String>::new(),
            "{doctor_before}"
        );
        doctor_before.expect(0);
    } else {
        // Before 15, `public` belongs to the bootstrap superuser: the master
        // can neither grant USAGE on it nor take CREATE from PUBLIC, and
        // says so (no statement pretends to do it), every run.
        check.expect(1);
        assert_eq!(check.json()["changes"], serde_json::json!([]), "{check}");
        let found = findings(&check);
        assert_eq!(found.len(), 2, "{check}");
        assert!(
            found[0].starts_with("privileges.missing: ")
                && found[0].contains(r#"USAGE on schema "public""#)
                && found[0].contains("does not own"),
            "{check}"
        );
        assert!(
            found[1].starts_with("privileges.excess: ")
                && found[1].contains(r#"CREATE on schema "public" through PUBLIC"#),
            "{check}"
        );
        let hints = check.json()["findings"].to_string();
        assert!(
            hints.contains(&format!(
                r#"ALTER SCHEMA \"public\" OWNER TO \"{}\""#,
                db.role
            )),
            "the hint names the fix: {check}"
        );
        // The app role really can create tables in public.
        assert!(app_can_create_in_public(&db, &app));
        // Each finding counts where its code puts it.
        assert_eq!(
            diagnosis(&doctor_before),
            ["privileges.missing", "privileges.excess"],
            "{doctor_before}"
        );
        assert!(
            doctor_before
                .stdout
                .contains(r#"lacks USAGE on schema \"public\""#),
            "{doctor_before}"
        );
        doctor_before.expect(1);

        // The hint's fix (as the schema's owner, here the superuser): then
        // the master manages `public` like on 15+.
        db.psql(&format!("ALTER SCHEMA public OWNER TO \"{}\"", db.role));
        run(&["grant"]).expect(0);
        run(&["grant", "--check"]).expect(0);
        assert!(!app_can_create_in_public(&db, &app));
        let doctor_after = doctor(&db, &app);
        assert_eq!(
            diagnosis(&doctor_after),
            Vec::<String>::new(),
            "{doctor_after}"
        );
        doctor_after.expect(0);
    }

    run(&["status", "--check"]).expect(0);
    let down = run(&["down", "--format", "json"]);
    down.expect(0);
    assert!(!db.table_exists("public", "User"));
    run(&["status", "--check"]).expect(1);
    run(&["up"]).expect(0);
    assert_eq!(
        db.psql_as(&app, APP_PASSWORD, r#"SELECT count(*) FROM "User""#)
            .unwrap(),
        "0",
        "the new table is the app's at once (default privileges)"
    );
}

#[test]
fn rds_iam_membership_takes_the_admin_option_from_16() {
    let major = rds().major();
    let db = master_db("iam");
    let app = format!("{}_app", db.name);
    let iam = || {
        let mut cmd = db.migrate();
        cmd.env(
            "DATABASE_URL",
            app_url(&db, &app, "AWS_IAM_TOKEN").replace("sslmode=verify-full", "sslmode=require"),
        )
        .env("DB_IAM_AUTH", "true")
        .env("DIRECT_URL", db.url())
        .env("DB_APP_USER", &app)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing");
        cmd
    };

    let up = db.run(iam().args(["up", "--format", "json"]));
    up.expect(0);
    let grants = &up.json()["grants"];
    let iam_findings: Vec<&serde_json::Value> = grants["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .unwrap_or_default()
                .contains("rds_iam")
        })
        .collect();
    if major >= 16 {
        // CREATEROLE may not grant a role it has no ADMIN option on: the
        // membership is a finding with the statement, the rest is applied.
        assert!(!is_member(&db, &app, "rds_iam"), "{up}");
        assert_eq!(iam_findings.len(), 1, "{up}");
        let hint = iam_findings[0]["hint"].as_str().unwrap();
        assert!(
            hint.contains(&format!(r#"GRANT "rds_iam" TO "{app}""#))
                && hint.contains("ADMIN OPTION"),
            "{hint}"
        );
        assert!(
            db.psql(&format!(
                "SELECT has_table_privilege('{app}', 'public.\"User\"', 'SELECT')"
            )) == "t",
            "the other grants went through"
        );
        // What an RDS administrator would give the master user.
        db.psql(&format!(
            "GRANT rds_iam TO \"{}\" WITH ADMIN OPTION",
            db.role
        ));
        let grant = db.run(iam().arg("grant"));
        grant.expect(0);
        assert!(grant.stderr.contains("membership in rds_iam"), "{grant}");
    } else {
        assert!(iam_findings.is_empty(), "{up}");
        assert!(
            up.stderr.contains("granted membership in rds_iam"),
            "CREATEROLE may grant any non-superuser role before 16:\n{up}"
        );
    }
    assert!(is_member(&db, &app, "rds_iam"));
    let check = db.run(iam().args(["grant", "--check", "--format", "json"]));
    assert!(
        !check.stdout.contains("rds_iam"),
        "nothing left about rds_iam:\n{check}"
    );
}

#[test]
fn an_app_role_the_master_did_not_create_needs_the_admin_option_from_16() {
    let major = rds().major();
    let db = master_db("foreign");
    let app = format!("{}_app", db.name);
    // Made by someone else (another administrator, or the master itself
    // before an upgrade to 16: the ADMIN option is given at CREATE ROLE).
    db.psql(&format!("CREATE ROLE \"{app}\" NOLOGIN"));
    let arn = app_secret(&app);
    let secrets = secrets(&db);
    let run = |args: &[&str]| Out::capture(deploy_cmd(&db, &app, &arn).args(args), &secrets);

    let up = run(&["up", "--format", "json"]);
    up.expect(0);
    let login = db.psql(&format!(
        "SELECT rolcanlogin FROM pg_roles WHERE rolname = '{app}'"
    ));
    let sync = run(&["grant", "--sync-password", "--format", "json"]);
    if major >= 16 {
        // ALTER ROLE ... LOGIN is a finding, not a failed transaction.
        assert_eq!(login, "f", "{up}");
        let found = up.json()["grants"]["findings"].to_string();
        assert!(
            found.contains("NOLOGIN")
                && found.contains(&format!(
                    r#"GRANT \"{app}\" TO \"{}\" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE"#,
                    db.role
                )),
            "{up}"
        );
        let error = sync.error(2, "privileges.cannot_grant");
        assert!(
            error["message"].as_str().unwrap().contains("ADMIN option"),
            "{sync}"
        );
        assert!(
            Out::hint(&error).contains(&format!(
                r#"GRANT "{app}" TO "{}" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE"#,
                db.role
            )),
            "{sync}"
        );
        assert!(db.psql_as(&app, APP_PASSWORD, "SELECT 1").is_err());
        // The hint's fix, as the role's creator (here the superuser).
        db.psql(&format!(
            "GRANT \"{app}\" TO \"{}\" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE",
            db.role
        ));
        run(&["grant", "--sync-password"]).expect(0);
    } else {
        assert_eq!(
            login, "t",
            "CREATEROLE may alter any non-superuser role:\n{up}"
        );
        sync.expect(0);
    }
    assert_eq!(db.psql_as(&app, APP_PASSWORD, "SELECT 1").unwrap(), "1");
    assert_eq!(
        db.psql(&format!(
            "SELECT rolcanlogin FROM pg_roles WHERE rolname = '{app}'"
        )),
        "t"
    );
}

/// The pre-15 `public` schema, reproduced on any version: owned by another
/// role, `CREATE` for PUBLIC. The master cannot grant or revoke there, and
/// `up` must say so instead of issuing statements that change nothing
/// (PostgreSQL only warns "no privileges were granted").
#[test]
fn a_schema_the_master_does_not_own_gives_findings_not_silent_no_ops() {
    let db = master_db("foreignschema");
    db.psql("ALTER SCHEMA public OWNER TO postgres; GRANT CREATE ON SCHEMA public TO PUBLIC");
    let app = format!("{}_app", db.name);
    let up = db.run(
        db.migrate()
            .args(["up", "--format", "json"])
            .env("DB_APP_USER", &app),
    );
    up.expect(0);
    let grants = &up.json()["grants"];
    let changes = grants["changes"].to_string();
    assert!(
        !changes.contains(" ON SCHEMA "),
        "no statement on the schema: {up}"
    );
    assert!(
        !up.stderr.contains(r#"granted USAGE on schema "public""#),
        "{up}"
    );
    assert_eq!(
        db.psql(&format!(
            "SELECT has_schema_privilege('{app}', 'public', 'USAGE') \
             AND NOT 'USAGE' = ANY (SELECT privilege_type FROM aclexplode( \
                 (SELECT nspacl FROM pg_namespace WHERE nspname = 'public')) \
                 WHERE grantee = '{app}'::regrole)"
        )),
        "t",
        "the app role has USAGE only through PUBLIC"
    );
    let found = grants["findings"].to_string();
    assert!(
        found.contains(r#"USAGE on schema \"public\""#)
            && found.contains(&format!(
                r#"ALTER SCHEMA \"public\" OWNER TO \"{}\""#,
                db.role
            )),
        "{up}"
    );
    // The revoke side: a grant on the schema the master cannot take back.
    db.psql(&format!("GRANT CREATE ON SCHEMA public TO \"{app}\""));
    let check = db.run(
        db.migrate()
            .args(["grant", "--check", "--format", "json"])
            .env("DB_APP_USER", &app),
    );
    check.expect(1);
    assert!(
        !check.json()["changes"].to_string().contains(" ON SCHEMA "),
        "{check}"
    );
    let revoke = format!(r#"REVOKE CREATE ON SCHEMA "public" FROM "{app}""#);
    let json = check.json();
    let hints: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["hint"].as_str())
        .collect();
    assert!(hints.iter().any(|h| h.contains(&revoke)), "{check}");
}
