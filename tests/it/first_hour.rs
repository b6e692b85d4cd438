//! The first hour of a new user (issue 12): a fresh copy of the workspace,
//! `migrate dev`, then `status`, `up`, `url` and `doctor` with no step in
//! between; what `dev` does with `.env`; the hints when the checkout's
//! cluster is stopped or on another port; a cluster a command started is
//! stopped again; and what `down`, `fresh` and `reset` refuse, decided
//! before anything connects (a host under `.invalid` is never looked up).

use std::path::Path;

use crate::support::{Out, TestDb, bin, empty_dir, pg};
use crate::workspace_copy::{copy_workspace, released};

/// Runs the repository's `migrate` in `dir` with `args`.
fn run_in(dir: &Path, args: &[&str]) -> Out {
    let mut cmd = bin(released());
    cmd.args(args).current_dir(dir);
    Out::capture(&mut cmd, &[])
}

/// The value of `var` in the env file `text`, unquoted.
fn env_value(text: &str, var: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{var}=\"")))
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{var}=\"...\" in:\n{text}"))
        .to_string()
}

/// The port of a `postgresql://...@127.0.0.1:PORT/...` URL.
fn port_of(url: &str) -> u16 {
    url.split("@127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a loopback port in {url}"))
}

fn listens(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn from_a_fresh_copy_dev_then_status_up_url_and_doctor_need_no_step_between() {
    let copy = copy_workspace();
    assert!(!copy.join(".env").exists(), "a fresh copy has no .env");

    let dev = run_in(&copy, &["dev"]);
    dev.expect(0);
    assert!(
        dev.stderr.contains("wrote .env (DATABASE_URL, DIRECT_URL)"),
        "{dev}"
    );
    assert!(
        dev.stderr.contains("created role \"impulse_app\""),
        "the role is created, not granted: {dev}"
    );
    let env = std::fs::read_to_string(copy.join(".env")).unwrap();
    assert!(
        env.starts_with("# Written by `migrate dev`"),
        "dev owns it: {env}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(copy.join(".env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "it holds the local passwords");
    let app = env_value(&env, "DATABASE_URL");
    let direct = env_value(&env, "DIRECT_URL");
    assert!(dev.stdout.contains(&app), "the same URLs on stdout: {dev}");
    let secrets: Vec<String> = [&app, &direct]
        .iter()
        .filter_map(|u| u.split(':').nth(2)?.split('@').next().map(String::from))
        .collect();
    let run = |args: &[&str]| {
        let mut cmd = bin(released());
        cmd.args(args).current_dir(&copy);
        Out::capture(&mut cmd, &secrets)
    };

    // No configuration step between them.
    let status = run(&["status"]);
    status.expect(0);
    assert!(status.stdout.contains("applied"), "{status}");
    run(&["up"]).expect(0);
    let url = run(&["url"]);
    url.expect(0);
    assert!(url.stdout.contains(".env line"), "from the .env: {url}");
    let doctor = run(&["doctor", "--format", "json"]);
    doctor.expect(0);
    // Each step of the login times itself alone.
    let ms = |id: &str| {
        doctor.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["connection"] == "app" && c["id"] == id)
            .and_then(|c| c["elapsed_ms"].as_f64())
            .unwrap_or_else(|| panic!("{id} in {doctor}"))
    };
    let (tls, auth, database) = (ms("tls"), ms("auth"), ms("database"));
    assert!(
        !(tls == auth && auth == database),
        "tls {tls}, auth {auth}, database {database}: {doctor}"
    );

    // A second run changes nothing: no password set, no grant, no write.
    let again = run_in(&copy, &["dev"]);
    again.expect(0);
    assert!(again.stderr.contains(".env is up to date"), "{again}");
    assert!(!again.stderr.contains("set the password"), "{again}");
    assert!(!again.stderr.contains("grant statement"), "{again}");
    assert_eq!(std::fs::read_to_string(copy.join(".env")).unwrap(), env);

    // Stopped, the hint says so (not "run it again" to start a running one).
    let port = port_of(&app);
    run(&["dev", "--stop"]).expect(0);
    let stopped = run(&["status", "--format", "json"]);
    let e = stopped.error(3, "network.refused");
    assert_eq!(
        Out::hint(&e),
        "this checkout's local cluster is stopped: `migrate dev` starts it",
        "{stopped}"
    );

    // `entities --check` starts the cluster for its scratch database and
    // stops it again.
    let entities = run(&["entities", "--check"]);
    entities.expect(0);
    assert!(
        entities
            .stderr
            .contains("stopped the local PostgreSQL again (this command started it)"),
        "{entities}"
    );
    assert!(!listens(port), "left stopped: {entities}");

    // A .env of the user's pointing at another port: the hint names both
    // ports and where the wrong one comes from; `dev` does not touch it.
    run_in(&copy, &["dev"]).expect(0);
    let other = port.checked_add(1).unwrap_or(port - 1);
    let mine = format!(
        "DATABASE_URL=\"{}\"\nDIRECT_URL=\"{}\"\n",
        app.replace(&format!(":{port}/"), &format!(":{other}/")),
        direct.replace(&format!(":{port}/"), &format!(":{other}/"))
    );
    std::fs::write(copy.join(".env"), &mine).unwrap();
    let wrong = run(&["status", "--format", "json"]);
    let e = wrong.error(3, "network.refused");
    assert_eq!(
        Out::hint(&e),
        format!(
            "this checkout's local cluster runs on 127.0.0.1:{port}, but the port {other} comes \
             from DIRECT_URL (.env line 2): run `migrate dev`, which updates the .env it wrote, \
             or set the port to {port} there"
        ),
        "{wrong}"
    );
    let dev = run_in(&copy, &["dev"]);
    dev.expect(0);
    assert!(
        dev.stderr
            .contains("was not written by `migrate dev`, so it is left as it is"),
        "{dev}"
    );
    assert_eq!(std::fs::read_to_string(copy.join(".env")).unwrap(), mine);
    run(&["dev", "--stop"]).expect(0);
}

/// A connection to a host under `.invalid` (never looked up: the refusal
/// comes first), with `-v` so that a lookup would show.
fn remote(args: &[&str]) -> Out {
    with_url(
        args,
        "postgresql://owner:Zq9remote@db.example.invalid:5432/impulse",
    )
}

fn with_url(args: &[&str], url: &str) -> Out {
    let mut cmd = bin(released());
    cmd.args(args)
        .args(["-v", "--format", "json", "--database-url", url]);
    Out::capture(&mut cmd, &["Zq9remote".to_string()])
}

#[test]
fn down_fresh_and_reset_on_a_remote_host_are_refused_before_any_lookup() {
    // With -v, a connection attempt logs its lookup: the control (on
    // loopback, a port nothing listens on).
    let lookup = with_url(
        &["status"],
        "postgresql://owner:Zq9remote@127.0.0.1:1/impulse",
    );
    lookup.error(3, "network.refused");
    assert!(lookup.stderr.contains("resolving 127.0.0.1:1"), "{lookup}");

    for (args, code) in [
        (&["down"][..], "destructive.unconfirmed"),
        (&["down", "--steps", "5"], "destructive.unconfirmed"),
        (&["fresh"], "destructive.remote"),
        (&["fresh", "--yes"], "destructive.remote"),
        (&["fresh", "--allow-remote"], "destructive.unconfirmed"),
        (&["reset"], "destructive.remote"),
        (&["reset", "--yes"], "destructive.remote"),
        (&["reset", "--allow-remote"], "destructive.unconfirmed"),
    ] {
        let out = remote(args);
        let e = out.error(2, code);
        assert!(
            e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("on db.example.invalid:5432 (not this machine)"),
            "{args:?}: {out}"
        );
        assert!(!out.stderr.contains("resolving"), "{args:?}: {out}");
    }
}

/// `TestDb`'s URL with `localhost` for its host (as local as 127.0.0.1).
fn via_localhost(db: &TestDb) -> String {
    db.url().replace("@127.0.0.1:", "@localhost:")
}

#[test]
fn down_fresh_and_reset_on_this_machine() {
    let db = pg().new_db("destructive");
    db.run(db.migrate().arg("up")).expect(0);
    db.psql("INSERT INTO \"User\" (email) VALUES ('a@example.com')");

    // fresh and reset need --yes even here; nothing is touched without it.
    for (command, url) in [("fresh", db.url()), ("reset", via_localhost(&db))] {
        let mut cmd = bin(released());
        cmd.args([command, "--format", "json"])
            .env("DATABASE_URL", url);
        let out = db.run(&mut cmd);
        out.error(2, "destructive.unconfirmed");
    }
    assert_eq!(db.psql("SELECT count(*) FROM \"User\""), "1");

    // fresh --yes: everything dropped (the row too), every migration again.
    let out = db.run(db.migrate().args(["fresh", "--yes"]));
    out.expect(0);
    assert!(
        out.stderr.contains("dropped table \"User\""),
        "says what it drops: {out}"
    );
    assert_eq!(db.psql("SELECT count(*) FROM \"User\""), "0");
    assert_eq!(db.history("public").len(), 1);

    // down on loopback needs no --yes, and says what it drops first.
    db.psql("INSERT INTO \"User\" (email) VALUES ('b@example.com')");
    let out = db.run(db.migrate().args(["down", "--steps", "5"]));
    out.expect(0);
    let preview = out
        .stderr
        .find("rolling back 1 migration in schema \"public\"")
        .unwrap_or_else(|| panic!("a preview: {out}"));
    let done = out.stderr.find("rolled back 2026").unwrap();
    assert!(preview < done, "before it runs: {out}");
    assert!(out.stderr.contains("DROP TABLE \"User\""), "{out}");
    assert!(!db.table_exists("public", "User"));

    // reset --yes rolls back everything applied.
    db.run(db.migrate().arg("up")).expect(0);
    let out = db.run(db.migrate().args(["reset", "--yes", "--format", "json"]));
    out.expect(0);
    assert_eq!(out.json()["rolled_back"].as_array().map(Vec::len), Some(1));
    assert!(!db.table_exists("public", "User"));
    assert!(db.history("public").is_empty());
}

#[test]
fn every_command_takes_only_the_flags_it_uses() {
    let dir = empty_dir();
    let help = run_in(&dir, &["new", "--help"]);
    help.expect(0);
    for flag in [
        "--database-url",
        "--iam",
        "--secret-id",
        "--host",
        "--lock-timeout",
    ] {
        assert!(!help.stdout.contains(flag), "new takes no {flag}: {help}");
    }
    let help = run_in(&dir, &["entities", "--help"]);
    help.expect(0);
    assert!(!help.stdout.contains("--database-url"), "{help}");
    let help = run_in(&dir, &["status", "--help"]);
    assert!(help.stdout.contains("--database-url"), "{help}");

    let out = run_in(&dir, &["new", "x", "--iam", "--format", "json"]);
    let e = out.error(2, "usage.invalid");
    assert!(
        e["message"].as_str().unwrap_or_default().contains("--iam"),
        "{out}"
    );
}
