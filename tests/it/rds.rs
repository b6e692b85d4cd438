//! What is particular to RDS, on the tests' RDS-shaped cluster (see
//! `support`: `hostssl`-only rules, `rds_superuser` and `rds_iam` as plain
//! roles, the migration role like the master user): TLS is required, the
//! master user deploys end to end, `rds_iam` and an app role it did not
//! create need the ADMIN option from 16 on, and a `public` schema it does
//! not own (before 15, or on any version when someone else owns it).
//!
//! Each test states what happens on the server version the tests run on;
//! `scripts/test-matrix` runs this module on PostgreSQL 13 to 18. What
//! differs by version is PostgreSQL's, not ours:
//! - before 15 the `public` schema of a new database belongs to the
//!   bootstrap superuser (`rdsadmin` on RDS) and `PUBLIC` may create in it:
//!   the app role's `USAGE` comes through `PUBLIC`, and `CREATE` is the one
//!   finding (`create-on-schema`) only the owner can fix, or the operator
//!   accept (`DB_GRANT_ACCEPT`);
//! - from 16 on, `CREATEROLE` alone no longer lets a role alter or grant
//!   other roles: that takes the ADMIN option on them, which a role gets
//!   automatically only for roles it creates (so not for `rds_iam`, nor for
//!   an app role someone else made).

use crate::moto::moto;
use crate::support::{Out, TestDb, bin, pg};

const APP_PASSWORD: &str = "RdsAppPassw0rd";

/// A database as on RDS: the master-like role creates it and runs the
/// migrations (every test database is made so; see `support`).
fn master_db(hint: &str) -> TestDb {
    pg().new_db(hint)
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

/// The doctor with the Lambda's URL and `DIRECT_URL`, and `DB_GRANT_ACCEPT`.
fn doctor(db: &TestDb, app: &str, accept: Option<&str>) -> Out {
    let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
    cmd.args(["doctor", "--format", "json"])
        .env("DATABASE_URL", app_url(db, app, APP_PASSWORD))
        .env("DIRECT_URL", db.url());
    if let Some(accept) = accept {
        cmd.env("DB_GRANT_ACCEPT", accept);
    }
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
    let major = pg().major();
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
            .contains(&format!(r#"created role "{app}" (LOGIN, no password)"#)),
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
    if major < 15 {
        // `public` belongs to the bootstrap superuser: the app role's USAGE
        // comes through PUBLIC (no finding), and PUBLIC's CREATE is the one
        // finding, named, with its owner's statement, on every run.
        check.expect(1);
        assert_eq!(check.json()["changes"], serde_json::json!([]), "{check}");
        let json = check.json();
        let found = json["findings"].as_array().unwrap();
        assert_eq!(found.len(), 1, "{check}");
        assert_eq!(found[0]["code"], "privileges.excess", "{check}");
        assert_eq!(found[0]["name"], "create-on-schema", "{check}");
        let message = found[0]["message"].as_str().unwrap();
        assert!(
            message.contains(r#"CREATE on schema "public" through PUBLIC"#)
                && message.contains(r#"belongs to "postgres""#),
            "{check}"
        );
        let hint = found[0]["hint"].as_str().unwrap();
        let fix = format!(
            r#"GRANT CREATE ON SCHEMA "public" TO "{}"; REVOKE CREATE ON SCHEMA "public" FROM PUBLIC"#,
            db.role
        );
        for part in [
            r#"as "postgres" (the owner of schema "public")"#,
            &fix,
            &format!(r#"ALTER SCHEMA "public" OWNER TO "{}""#, db.role),
            "DB_GRANT_ACCEPT=create-on-schema",
        ] {
            assert!(hint.contains(part), "{part} in {hint}");
        }
        assert!(app_can_create_in_public(&db, &app));
        let doctor_before = doctor(&db, &app, None);
        assert_eq!(
            diagnosis(&doctor_before),
            ["privileges.excess"],
            "{doctor_before}"
        );
        doctor_before.expect(1);

        // Left as it is, consciously: reported, and no longer a difference.
        let accepted = Out::capture(
            deploy_cmd(&db, &app, &arn)
                .args(["grant", "--check", "--format", "json"])
                .env("DB_GRANT_ACCEPT", "create-on-schema"),
            &secrets,
        );
        accepted.expect(0);
        assert_eq!(accepted.json()["findings"], serde_json::json!([]));
        assert_eq!(
            accepted.json()["accepted"][0]["name"],
            "create-on-schema",
            "{accepted}"
        );
        let text = Out::capture(
            deploy_cmd(&db, &app, &arn)
                .args(["grant", "--check"])
                .env("DB_GRANT_ACCEPT", "create-on-schema"),
            &secrets,
        );
        text.expect(0);
        assert!(
            text.stdout.contains("accepted every role")
                && text.stdout.contains("1 accepted finding(s)"),
            "{text}"
        );
        let doctor_accepted = doctor(&db, &app, Some("create-on-schema"));
        assert_eq!(
            diagnosis(&doctor_accepted),
            Vec::<String>::new(),
            "{doctor_accepted}"
        );
        doctor_accepted.expect(0);

        // The REVOKE alone would lock the migrations out: the master
        // creates its tables through PUBLIC's CREATE.
        assert!(
            db.psql_as_owner(
                "CREATE TABLE public.master_made (id int); DROP TABLE public.master_made"
            )
            .is_ok()
        );
        assert!(
            db.psql(
                "SELECT count(*) FROM aclexplode((SELECT nspacl FROM pg_namespace \
                 WHERE nspname = 'public')) WHERE grantee = (SELECT oid FROM pg_roles \
                 WHERE rolname = current_database() || '_owner')"
            ) == "0",
            "the master has no CREATE of its own"
        );
        // Fixed by the owner, as the hint says: then nothing is left, without
        // accepting anything, and the migrations still run (down and up below).
        db.psql(&fix);
    }
    let check = if major < 15 {
        run(&["grant", "--check", "--format", "json"])
    } else {
        check
    };
    check.expect(0);
    assert_eq!(check.json()["changes"], serde_json::json!([]), "{check}");
    assert!(findings(&check).is_empty(), "{check}");
    assert!(!app_can_create_in_public(&db, &app));
    let healthy = doctor(&db, &app, None);
    assert_eq!(diagnosis(&healthy), Vec::<String>::new(), "{healthy}");
    healthy.expect(0);

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
    let major = pg().major();
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
            "GRANT rds_iam TO \"{}\" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE",
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
    let major = pg().major();
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
/// `up` says so instead of issuing statements that change nothing
/// (PostgreSQL only warns "no privileges were granted").
#[test]
fn a_schema_the_master_does_not_own_gives_findings_not_silent_no_ops() {
    let db = master_db("foreignschema");
    db.psql("ALTER SCHEMA public OWNER TO postgres; GRANT CREATE ON SCHEMA public TO PUBLIC");
    let app = format!("{}_app", db.name);
    let migrate = |args: &[&str]| {
        let mut cmd = db.migrate();
        cmd.args(args).env("DB_APP_USER", &app);
        db.run(&mut cmd)
    };
    let up = migrate(&["up", "--format", "json"]);
    up.expect(0);
    let grants = &up.json()["grants"];
    assert!(
        !grants["changes"].to_string().contains(" ON SCHEMA "),
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
    // That USAGE is held: the one finding is PUBLIC's CREATE, with the fix.
    let found = grants["findings"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{up}");
    assert_eq!(found[0]["name"], "create-on-schema", "{up}");
    assert!(
        found[0]["hint"]
            .as_str()
            .unwrap()
            .contains(&format!(r#"ALTER SCHEMA "public" OWNER TO "{}""#, db.role)),
        "{up}"
    );
    assert!(up.stderr.contains("WARN"), "said on stderr too: {up}");

    // The revoke side: a grant to the app role itself, which the master
    // cannot take back, and which no DB_GRANT_ACCEPT covers.
    db.psql(&format!("GRANT CREATE ON SCHEMA public TO \"{app}\""));
    let mut cmd = db.migrate();
    cmd.args(["grant", "--check", "--format", "json"])
        .env("DB_APP_USER", &app)
        .env("DB_GRANT_ACCEPT", "create-on-schema");
    let check = db.run(&mut cmd);
    check.expect(1);
    let json = check.json();
    assert!(
        !json["changes"].to_string().contains(" ON SCHEMA "),
        "{check}"
    );
    let found = json["findings"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{check}");
    assert_eq!(found[0]["name"], serde_json::Value::Null, "{check}");
    assert!(
        found[0]["hint"]
            .as_str()
            .unwrap()
            .contains(&format!(r#"REVOKE CREATE ON SCHEMA "public" FROM "{app}""#)),
        "{check}"
    );
    assert_eq!(json["accepted"].as_array().unwrap().len(), 1, "{check}");

    // Without PUBLIC's USAGE the app role really lacks it: a finding.
    db.psql(&format!(
        "REVOKE CREATE ON SCHEMA public FROM \"{app}\"; REVOKE ALL ON SCHEMA public FROM PUBLIC"
    ));
    let check = migrate(&["grant", "--check", "--format", "json"]);
    check.expect(1);
    assert_eq!(
        findings(&check),
        [format!(
            r#"privileges.missing: the app role "{app}" lacks USAGE on schema "public", and the migration role "{}" cannot grant it: it does not own schema "public""#,
            db.role
        )],
        "{check}"
    );
}

/// The other fix the finding names, on every version: the owner of
/// `public` hands it to the master, and from then on `migrate grant` keeps
/// it right itself (on 15+ nothing changes: the master owns it already,
/// through `pg_database_owner`).
#[test]
fn a_public_schema_handed_to_the_master_is_managed_by_grant() {
    let db = master_db("handedover");
    let app = format!("{}_app", db.name);
    let migrate = |args: &[&str]| {
        let mut cmd = db.migrate();
        cmd.args(args).env("DB_APP_USER", &app);
        db.run(&mut cmd)
    };
    migrate(&["up"]).expect(0);
    db.psql(&format!("ALTER SCHEMA public OWNER TO \"{}\"", db.role));
    let grant = migrate(&["grant"]);
    grant.expect(0);
    if pg().major() < 15 {
        assert!(
            grant
                .stderr
                .contains(r#"revoked CREATE on schema "public" through PUBLIC"#)
                && grant.stderr.contains(r#"granted USAGE on schema "public""#),
            "{grant}"
        );
    }
    let check = migrate(&["grant", "--check", "--format", "json"]);
    check.expect(0);
    assert_eq!(check.json()["accepted"], serde_json::json!([]), "{check}");
    db.psql(&format!("ALTER ROLE \"{app}\" PASSWORD '{APP_PASSWORD}'"));
    assert!(!app_can_create_in_public(&db, &app));
}
