//! Where the connection comes from, and what happens when it cannot be made.

use std::time::Duration;

use crate::support::{Out, bin, pg};

fn migrate() -> std::process::Command {
    bin(env!("CARGO_BIN_EXE_migrate"))
}

#[test]
fn no_configuration_is_a_usage_error_naming_every_way_out() {
    let out = Out::capture(migrate().arg("up"), &[]);
    out.expect(2);
    assert!(
        out.stderr
            .starts_with("error: no database connection is configured\nhint: "),
        "{out}"
    );
    for way in [
        "--database-url",
        "DATABASE_URL",
        "DIRECT_URL",
        ".env",
        "migrate dev",
    ] {
        assert!(out.stderr.contains(way), "hint names {way}: {out}");
    }
    assert_eq!(out.stdout, "");

    let json = Out::capture(migrate().args(["status", "--format", "json"]), &[]);
    json.expect(2);
    assert_eq!(json.json()["error"]["code"], "config.missing");
    assert!(
        json.json()["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("migrate dev")
    );
}

#[test]
fn a_closed_port_fails_fast_with_exit_3() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let out = Out::capture(
        migrate().args(["up", "--format", "json"]).env(
            "DATABASE_URL",
            format!("postgresql://u:closedportpw@127.0.0.1:{port}/d"),
        ),
        &["closedportpw".into()],
    );
    out.expect(3);
    assert_eq!(out.json()["error"]["code"], "network.refused");
    assert!(out.elapsed < Duration::from_secs(2), "{out}");
}

#[test]
fn a_silent_server_times_out_within_connect_timeout() {
    // Accepts TCP (the kernel completes the handshake) but never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let out = Out::capture(
        migrate()
            .args(["up", "--connect-timeout", "2", "--format", "json"])
            .env(
                "DATABASE_URL",
                format!("postgresql://u:silentpw@127.0.0.1:{port}/d"),
            ),
        &["silentpw".into()],
    );
    out.expect(3);
    assert_eq!(out.json()["error"]["code"], "network.timeout");
    assert!(out.elapsed < Duration::from_secs(4), "{out}");
    drop(listener);
}

#[test]
fn wrong_password_is_exit_3_without_the_password() {
    let db = pg().new_db("wrongpw");
    let url = db.url().replace(&db.password, "Wr0ngPassw0rdValue");
    let out = db.run(
        db.migrate()
            .args(["up", "--format", "json"])
            .env("DATABASE_URL", url),
    );
    out.expect(3);
    assert_eq!(out.json()["error"]["code"], "auth.password_mismatch");
    out.assert_no_secrets(&["Wr0ngPassw0rdValue".into()]);
}

#[test]
fn env_file_fills_in_what_the_environment_lacks() {
    let db = pg().new_db("dotenv");
    let dir = crate::support::empty_dir();
    std::fs::write(
        dir.join(".env"),
        format!("# local\nDATABASE_URL=\"{}\"\n", db.url()),
    )
    .unwrap();

    let out = db.run(migrate().arg("up").current_dir(&dir));
    out.expect(0);
    assert!(db.table_exists("public", "User"));

    // --no-dotenv ignores it.
    db.run(migrate().args(["status", "--no-dotenv"]).current_dir(&dir))
        .expect(2);

    // The environment wins over the file: a DIRECT_URL there beats the
    // file's DATABASE_URL (and here points at a closed port).
    let out = db.run(
        migrate()
            .args(["status", "-v"])
            .current_dir(&dir)
            .env("DIRECT_URL", "postgresql://u:x@127.0.0.1:1/d"),
    );
    out.expect(3);

    // --env-file names another file, which must exist.
    std::fs::write(dir.join("other.env"), format!("DIRECT_URL={}\n", db.url())).unwrap();
    db.run(
        migrate()
            .args(["status", "--env-file", "other.env"])
            .current_dir(&dir),
    )
    .expect(0);
    let missing = db.run(
        migrate()
            .args(["status", "--env-file", "nope.env"])
            .current_dir(&dir),
    );
    missing.expect(2);
    assert!(missing.stderr.contains("nope.env"), "{missing}");
}

#[test]
fn help_never_shows_a_configured_password() {
    let secret = "HelpPassw0rdNeverShown";
    for args in [
        &["--help"][..],
        &["up", "--help"],
        &["status", "--help"],
        &["dev", "--help"],
    ] {
        let out = Out::capture(
            migrate()
                .args(args)
                .env("DATABASE_URL", format!("postgresql://u:{secret}@h/d"))
                .env("DIRECT_URL", format!("postgresql://u:{secret}@h/d")),
            &[secret.into()],
        );
        out.expect(0);
        assert!(out.stdout.contains("Usage:"), "{out}");
    }
}

#[test]
fn unencoded_passwords_and_poolers_are_refused_before_connecting() {
    let out = Out::capture(
        migrate().args(["up", "--format", "json"]).env(
            "DATABASE_URL",
            "postgresql://impulse_app:p@ss/w0rd@127.0.0.1:1/impulse",
        ),
        &["p@ss/w0rd".into()],
    );
    out.expect(2);
    assert_eq!(out.json()["error"]["code"], "config.unencoded_password");

    let out = Out::capture(
        migrate().args(["up", "--format", "json"]).env(
            "DATABASE_URL",
            "postgresql://u:pw@impulse.proxy-abc123.us-east-1.rds.amazonaws.com/impulse",
        ),
        &[],
    );
    out.expect(2);
    assert_eq!(
        out.json()["error"]["code"],
        "pooler.migrations_through_proxy"
    );
    assert!(
        out.json()["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("DIRECT_URL")
    );
}
