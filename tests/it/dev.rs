//! `migrate dev`: a migrated local PostgreSQL with no configuration.

use crate::support::{Out, bin, empty_dir, psql};

#[test]
fn dev_creates_migrates_reuses_and_stops_a_local_cluster() {
    let dir = empty_dir();
    let dev = || {
        let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
        cmd.current_dir(&dir);
        cmd
    };

    let first = Out::capture(dev().arg("dev"), &[]);
    first.expect(0);
    assert!(
        first.stderr.contains("creating a local PostgreSQL cluster"),
        "{first}"
    );
    assert!(
        first
            .stderr
            .contains("applied 20261129000001_create_user_table"),
        "{first}"
    );
    let var = |out: &Out, name: &str| -> String {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=\"")))
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or_else(|| panic!("stdout has {name}=\"...\":\n{out}"))
            .to_string()
    };
    let url = var(&first, "DATABASE_URL");
    let direct = var(&first, "DIRECT_URL");
    assert!(url.contains("sslmode=verify-full"), "{url}");
    assert!(
        url.starts_with("postgresql://impulse_app:"),
        "the app role: {url}"
    );
    assert!(
        direct.starts_with("postgresql://postgres:"),
        "the migration role: {direct}"
    );

    // The URL works for another client, with TLS verified, and the table is there.
    let out = std::process::Command::new("psql")
        .args([
            url.as_str(),
            "-X",
            "-A",
            "-t",
            "-c",
            "SELECT count(*) FROM \"User\"",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert!(dir.join(".migrate/data/PG_VERSION").exists());

    // A second run reuses the cluster and has nothing to do.
    let second = Out::capture(dev().arg("dev"), &[]);
    second.expect(0);
    assert!(!second.stderr.contains("creating"), "{second}");
    assert!(
        second.stderr.contains("nothing to apply (0 pending)"),
        "{second}"
    );
    assert!(second.stdout.contains(&url), "same URL:\n{second}");

    let status = Out::capture(
        dev().args(["status", "--check", "--database-url", &direct]),
        &[],
    );
    status.expect(0);
    // The app role has least privilege: it may not even read the history.
    let denied = Out::capture(
        dev().args(["status", "--format", "json", "--database-url", &url]),
        &[],
    );
    denied.expect(3);
    assert_eq!(denied.json()["error"]["code"], "privileges.missing");

    let stop = Out::capture(dev().args(["dev", "--stop"]), &[]);
    stop.expect(0);
    assert!(stop.stdout.contains("stopped"), "{stop}");
    let port = url
        .split(':')
        .nth(3)
        .and_then(|s| s.split('/').next())
        .unwrap();
    assert!(
        psql(
            port.parse().unwrap(),
            "postgres",
            "x",
            "postgres",
            "SELECT 1"
        )
        .is_err()
    );

    // And it starts again with its data.
    let again = Out::capture(dev().args(["dev", "--format", "json"]), &[]);
    again.expect(0);
    assert_eq!(again.json()["applied"], serde_json::json!([]));
    Out::capture(dev().args(["dev", "--stop"]), &[]).expect(0);
}

/// As root (CI), `migrate dev` runs the server as the `postgres` OS user;
/// here the tool itself runs as that unprivileged user, so `initdb` and
/// `pg_ctl` run directly. (Run as a normal user, the test above already
/// covers this path.)
#[test]
fn dev_works_as_a_normal_user() {
    let uid = std::process::Command::new("id").arg("-u").output().unwrap();
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return; // not root: `dev_creates_migrates_reuses_and_stops_a_local_cluster` is this case
    }
    let dir = empty_dir();
    // The postgres user cannot reach root's build directory: copy the binary.
    let binary = dir.join("migrate");
    std::fs::copy(env!("CARGO_BIN_EXE_migrate"), &binary).unwrap();
    let work = dir.join("work");
    std::fs::create_dir(&work).unwrap();
    let chown = std::process::Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(chown.success());

    let run = |args: &[&str]| {
        let mut cmd = bin("runuser");
        cmd.args(["-u", "postgres", "--"])
            .arg(&binary)
            .args(args)
            .current_dir(&work);
        Out::capture(&mut cmd, &[])
    };
    let out = run(&["dev"]);
    out.expect(0);
    assert!(
        out.stdout
            .starts_with("DATABASE_URL=\"postgresql://impulse_app:"),
        "{out}"
    );
    let owner = std::process::Command::new("stat")
        .args(["-c", "%U"])
        .arg(work.join(".migrate/superuser.password"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), "postgres");
    run(&["dev", "--stop"]).expect(0);
    // The copy of the debug binary is some 300 MB: not left behind.
    std::fs::remove_dir_all(&dir).expect("remove the test's directory");
}
