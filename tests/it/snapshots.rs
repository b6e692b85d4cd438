//! The whole output of every command, text and JSON, for its success and
//! its main failure paths, as `insta` snapshots (`tests/it/snapshots/`).
//!
//! What differs from run to run is replaced before comparing: ports, temp
//! paths, database and role names, timings, times, secret versions and
//! every password in play (the output is also searched for them, as
//! everywhere). Review a change with `cargo insta review`, or accept it with
//! `INSTA_UPDATE=always cargo test --test it snapshots::`.

use std::path::Path;
use std::process::Command;

use regex::Regex;

use crate::moto::moto;
use crate::support::{Out, TestDb, bin, empty_dir, fixtures_binary, pg};

/// The output as a snapshot: exit status, stdout (JSON pretty-printed),
/// stderr, with what varies replaced.
fn shown(out: &Out, db: Option<&TestDb>) -> String {
    let stdout = match serde_json::from_str::<serde_json::Value>(&out.stdout) {
        Ok(json) if out.stdout.trim_start().starts_with('{') => {
            serde_json::to_string_pretty(&json).unwrap_or_default() + "\n"
        }
        _ => out.stdout.clone(),
    };
    let text = format!(
        "exit {}\n--- stdout\n{stdout}--- stderr\n{}",
        out.code, out.stderr
    );
    normalize(&text, db)
}

fn normalize(text: &str, db: Option<&TestDb>) -> String {
    let mut text = text.to_string();
    if let Some(db) = db {
        for secret in db.secrets() {
            text = text.replace(&secret, "[password]");
        }
        text = text.replace(&db.role, "[owner]");
        text = text.replace(&db.name, "[db]");
        text = text.replace(&db.ca.display().to_string(), "[ca]");
    }
    let rules: &[(&str, &str)] = &[
        (
            r"/tmp/impulse-db-[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]*)?",
            "[tmp]",
        ),
        (
            r"%2Ftmp%2Fimpulse-db-[A-Za-z0-9_.-]+(%2F[A-Za-z0-9_.-]+)*",
            "[tmp]",
        ),
        (r"\(/[^)\s]*/bin\)", "([bindir])"),
        (
            r"impulse-db-it/\d+-\d+-(\w+)-[A-Za-z0-9]{6}",
            "impulse-db-it/[n]-$1-[suffix]",
        ),
        (r"(127\.0\.0\.1|localhost):\d{2,5}", "$1:[port]"),
        (r#""port": \d+"#, r#""port": [port]"#),
        (r"port(\s+)\d{4,5}", "port$1[port]"),
        (r"\d+(\.\d+)? ?ms\b", "[t] ms"),
        (r#""(elapsed_ms|lock_wait_ms)": [0-9.e-]+"#, r#""$1": [t]"#),
        (
            r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+)?)?(Z| UTC)?",
            "[time]",
        ),
        (r"pid \d+", "pid [pid]"),
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "[uuid]",
        ),
        (r"X-Amz-[A-Za-z-]+=[^&\s\x22]+", "X-Amz-[param]"),
        (r"\(\d+(\.\d+)?s\)", "([s])"),
        (r#""value": "\d{4,5}""#, r#""value": "[port]""#),
        (r"for \d+s\b", "for [s]"),
        // Padding after a replaced value depends on the original's width.
        (r"\[(db|owner|app|ca|tmp|password|port)\] {2,}", "[$1]  "),
    ];
    for (pattern, replacement) in rules {
        let re = Regex::new(pattern).expect("snapshot filter");
        text = re.replace_all(&text, *replacement).into_owned();
    }
    text
}

fn migrate_bin() -> Command {
    bin(env!("CARGO_BIN_EXE_migrate"))
}

#[track_caller]
fn snap(name: &str, out: &Out, db: Option<&TestDb>) {
    insta::assert_snapshot!(name, shown(out, db));
}

#[test]
fn up_status_down() {
    let db = pg().new_db("snapupdown");
    for (name, args) in [
        ("status_pending_text", &["status"][..]),
        (
            "status_check_pending_json",
            &["status", "--check", "--format", "json"],
        ),
        ("up_text", &["up"]),
        ("up_again_json", &["up", "--format", "json"]),
        ("status_text", &["status"]),
        ("status_json", &["status", "--format", "json"]),
        ("down_text", &["down"]),
        ("down_nothing_json", &["down", "--format", "json"]),
    ] {
        let out = db.run(db.migrate().args(args));
        snap(name, &out, Some(&db));
    }
}

#[test]
fn lint_and_dry_run() {
    let dir = empty_dir();
    let add = dir.join("20261201000000_add_nickname");
    std::fs::create_dir_all(&add).unwrap();
    std::fs::write(
        add.join("migration.sql"),
        "-- AlterTable\nALTER TABLE \"User\" ADD COLUMN     \"nickname\" TEXT NOT NULL;\n\n\
         -- CreateIndex\nCREATE INDEX \"User_nickname_idx\" ON \"User\"(\"nickname\");\n\n\
         -- migrate-lint: ignore drop-column -- unused since v42\n\
         ALTER TABLE \"User\" DROP COLUMN \"legacy\";\n",
    )
    .unwrap();
    let clean = dir.join("clean.sql");
    std::fs::write(
        &clean,
        "CREATE INDEX CONCURRENTLY \"User_name_idx\" ON \"User\"(\"name\");\n",
    )
    .unwrap();
    for (name, format) in [("lint_text", "text"), ("lint_json", "json")] {
        let out = Out::capture(
            migrate_bin()
                .current_dir(&dir)
                .args(["lint", "20261201000000_add_nickname", "clean.sql"])
                .args(["--format", format]),
            &[],
        );
        snap(name, &out, None);
    }

    let db = pg().new_db("snapdryrun");
    let live = || {
        let mut cmd = db.fixtures();
        cmd.env("FIXTURE_LIVE", "1").env("FIXTURE_FAIL", "0");
        cmd
    };
    db.run(live().args(["up", "--steps", "4", "--no-grants"]))
        .expect(0);
    for (name, format) in [("up_dry_run_text", "text"), ("up_dry_run_json", "json")] {
        let out = db.run(live().args(["up", "--dry-run", "--format", format]));
        snap(name, &out, Some(&db));
    }
}

#[test]
fn grant() {
    let db = pg().new_db("snapgrant");
    let app = format!("{}_app", db.name);
    db.run(db.migrate().args(["up", "--no-grants"])).expect(0);
    let first = db.run(db.migrate().arg("grant").env("DB_APP_USER", &app));
    snap("grant_text", &normalize_app(first, &app), Some(&db));
    db.psql(&format!("GRANT TRUNCATE ON \"User\" TO \"{app}\""));
    let check = db.run(
        db.migrate()
            .args(["grant", "--check", "--format", "json"])
            .env("DB_APP_USER", &app),
    );
    snap(
        "grant_check_drift_json",
        &normalize_app(check, &app),
        Some(&db),
    );
    let check = db.run(
        db.migrate()
            .args(["grant", "--check"])
            .env("DB_APP_USER", &app),
    );
    snap(
        "grant_check_drift_text",
        &normalize_app(check, &app),
        Some(&db),
    );
}

/// The app role's name holds the database's: name it on its own.
fn normalize_app(mut out: Out, app: &str) -> Out {
    out.stdout = out.stdout.replace(app, "[app]");
    out.stderr = out.stderr.replace(app, "[app]");
    out
}

#[test]
fn doctor() {
    const APP_PASSWORD: &str = "SnapshotAppPassw0rd";
    let db = pg().new_db("snapdoctor");
    let app = format!("{}_app", db.name);
    db.run(db.migrate().arg("up").env("DB_APP_USER", &app))
        .expect(0);
    db.psql(&format!("ALTER ROLE \"{app}\" PASSWORD '{APP_PASSWORD}'"));
    let url = |password: &str| {
        format!(
            "postgresql://{app}:{password}@127.0.0.1:{}/{}?sslmode=verify-full&sslrootcert={}",
            db.port,
            db.name,
            db.ca.display()
        )
    };
    let mut secrets = db.secrets();
    secrets.push(APP_PASSWORD.into());
    for (name, password, format) in [
        ("doctor_healthy_text", APP_PASSWORD, "text"),
        ("doctor_healthy_json", APP_PASSWORD, "json"),
        ("doctor_wrong_password_text", "NotThePassw0rd", "text"),
        ("doctor_wrong_password_json", "NotThePassw0rd", "json"),
    ] {
        let out = Out::capture(
            migrate_bin()
                .args(["doctor", "--format", format])
                .env("DATABASE_URL", url(password))
                .env("DIRECT_URL", db.url()),
            &secrets,
        );
        let out = normalize_app(out, &app);
        snap(name, &out, Some(&db));
    }
}

#[test]
fn url_and_iam_token() {
    let db = pg().new_db("snapurl");
    let dir = empty_dir();
    std::fs::write(
        dir.join(".env"),
        format!("# local\nDIRECT_URL=\"{}\"\n", db.url()),
    )
    .unwrap();
    for (name, format) in [("url_text", "text"), ("url_json", "json")] {
        let out = db.run(
            migrate_bin()
                .current_dir(&dir)
                .args(["url", "--format", format])
                .env(
                    "DATABASE_URL",
                    "postgresql://impulse_app@db.abc.eu-west-1.rds.amazonaws.com/impulse",
                )
                .env("DB_IAM_AUTH", "true")
                .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
                .env("AWS_SECRET_ACCESS_KEY", "SnapshotSecretKey")
                .env("AWS_EC2_METADATA_DISABLED", "true"),
        );
        snap(name, &out, Some(&db));
    }
    let mut cmd = migrate_bin();
    cmd.args(["iam-token", "--format", "json"])
        .env(
            "DATABASE_URL",
            "postgresql://impulse_app@db.abc.eu-west-1.rds.amazonaws.com/impulse",
        )
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env("AWS_SECRET_ACCESS_KEY", "SnapshotSecretKey")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = Out::capture(&mut cmd, &["SnapshotSecretKey".into()]);
    snap("iam_token_json", &out, None);
}

#[test]
fn secrets() {
    let db = pg().new_db("snapsecret");
    let arn = moto().create_secret("snap", &db.secret_json());
    let mut cmd = migrate_bin();
    moto().env(&mut cmd);
    cmd.args(["url"])
        .env("DB_SECRET_ARN", &arn)
        .env("DB_SSLMODE", "verify-full")
        .env("DB_SSLROOTCERT", &db.ca);
    let out = db.run(&mut cmd);
    snap("url_from_secret_text", &out, Some(&db));
    let mut cmd = migrate_bin();
    moto().env(&mut cmd);
    cmd.args(["up", "--format", "json"])
        .env("DB_SECRET_ARN", format!("{arn}-nope"));
    let out = db.run(&mut cmd);
    snap("secret_not_found_json", &out, Some(&db));
}

#[test]
fn errors() {
    let db = pg().new_db("snaperrors");
    let cases: [(&str, Vec<&str>); 6] = [
        ("config_missing_text", vec!["status"]),
        ("config_missing_json", vec!["status", "--format", "json"]),
        ("usage_unknown_command_text", vec!["upp"]),
        (
            "usage_unknown_command_json",
            vec!["upp", "--format", "json"],
        ),
        (
            "usage_bad_value_json",
            vec!["up", "--steps", "many", "--format=json"],
        ),
        (
            "usage_missing_argument_json",
            vec!["--format", "json", "new"],
        ),
    ];
    for (name, args) in cases {
        let out = Out::capture(migrate_bin().args(&args), &[]);
        snap(name, &out, None);
    }
    let refused = db.run(
        migrate_bin()
            .args(["status", "--format", "json"])
            .env("DATABASE_URL", "postgresql://u:p@127.0.0.1:1/d"),
    );
    snap("network_refused_json", &refused, None);

    let holder = db.hold_lock("snapshot-holder");
    let locked = db.run(
        db.migrate()
            .args(["up", "--lock-timeout", "1", "--format", "json"]),
    );
    snap("lock_timeout_json", &locked, Some(&db));
    db.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'snapshot-holder'",
    );
    let mut holder = holder;
    let _ = holder.wait();

    let failed = db.run(
        Command::new(fixtures_binary())
            .current_dir(empty_dir())
            .env("DATABASE_URL", db.url())
            .args(["up"]),
    );
    snap("migration_failed_text", &failed, Some(&db));
}

#[test]
fn schema_commands() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let db = pg().new_db("snapschema");
    db.run(db.migrate().arg("up")).expect(0);
    let check = db.run(
        migrate_bin()
            .args(["prisma-check", "--schema"])
            .arg(repo.join("prisma/schema.prisma"))
            .args(["--database-url", &db.url()]),
    );
    snap("prisma_check_text", &normalize_repo(check, repo), Some(&db));

    let dir = empty_dir();
    std::fs::write(
        dir.join("broken.prisma"),
        "model User {\n  id Int @id\n  name Strin g\n}\n",
    )
    .unwrap();
    let broken = db.run(
        migrate_bin()
            .current_dir(&dir)
            .args([
                "prisma-check",
                "--schema",
                "broken.prisma",
                "--format",
                "json",
            ])
            .args(["--database-url", &db.url()]),
    );
    snap("prisma_check_parse_error_json", &broken, Some(&db));
}

/// `migrate new` in a copy of the workspace's skeleton (`prisma/`,
/// `migration/src`, `entity/src`), whose `.migrate/` is the tests' cluster:
/// generated (text and JSON, and the files it writes, one with a note
/// where it knowingly differs from Prisma), nothing to do, refused,
/// `--empty`, and a name that is not snake_case; and `prisma-check` on
/// the change before it.
#[test]
fn new_command() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = empty_dir();
    let copy = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd '{}' && tar -cf - prisma migration/src entity/src | tar -xf - -C '{}'",
            repo.display(),
            workspace.display()
        ))
        .status()
        .expect("run sh");
    assert!(copy.success(), "copy the skeleton");
    std::os::unix::fs::symlink(pg().cluster.root(), workspace.join(".migrate")).unwrap();
    let schema = workspace.join("prisma/schema.prisma");
    let original = std::fs::read_to_string(&schema).unwrap();
    let edit = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&schema).unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(&schema, text.replacen(from, to, 1)).unwrap();
    };
    let stamps = |text: &str| {
        let text = Regex::new(r"m\d{8}_\d{6}_")
            .unwrap()
            .replace_all(text, "m[timestamp]_")
            .into_owned();
        Regex::new(r"\b\d{14}_")
            .unwrap()
            .replace_all(&text, "[timestamp]_")
            .into_owned()
    };
    let run = |args: &[&str]| {
        let out = Out::capture(migrate_bin().current_dir(&workspace).args(args), &[]);
        Out {
            stdout: stamps(&out.stdout),
            stderr: stamps(&out.stderr),
            ..out
        }
    };
    let newest = || {
        let mut names: Vec<String> = std::fs::read_dir(workspace.join("prisma/migrations"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("20"))
            .collect();
        names.sort();
        let dir = workspace
            .join("prisma/migrations")
            .join(names.last().unwrap());
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        format!(
            "--- migration.sql\n{}--- down.sql\n{}",
            read("migration.sql"),
            read("down.sql")
        )
    };

    edit(
        "  name      String?\n",
        "  name      String?\n  nickname  String?\n",
    );
    snap(
        "prisma_check_difference_text",
        &run(&["prisma-check"]),
        None,
    );
    snap(
        "prisma_check_difference_json",
        &run(&["prisma-check", "--format", "json"]),
        None,
    );
    snap(
        "new_generated_text",
        &run(&["new", "add_user_nickname"]),
        None,
    );
    insta::assert_snapshot!("new_generated_files", newest());
    snap("new_up_to_date_text", &run(&["new", "again"]), None);
    snap(
        "new_up_to_date_json",
        &run(&["new", "again", "--format", "json"]),
        None,
    );

    edit("  nickname  String?\n", "");
    edit(
        "  createdAt DateTime @default(now())\n",
        "  createdAt DateTime @default(now())\n  score     Int\n\n  @@index([createdAt(sort: Desc)])\n",
    );
    snap(
        "new_generated_json",
        &run(&["new", "rework_user", "--no-entities", "--format", "json"]),
        None,
    );
    insta::assert_snapshot!("new_generated_json_files", newest());

    // Where Prisma's own SQL would not run, the file's header says so.
    edit(
        "  id        Int      @id @default(autoincrement())\n",
        "  id        BigInt   @id @default(autoincrement())\n",
    );
    snap(
        "new_generated_noted_text",
        &run(&["new", "widen_user_id", "--no-entities"]),
        None,
    );
    insta::assert_snapshot!("new_generated_noted_files", newest());

    // A migration newer than the binary, with a Rust step: new says it
    // replays its SQL only.
    let module = std::fs::read_dir(workspace.join("migration/src"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("_add_user_nickname.rs"))
        .unwrap();
    let text = std::fs::read_to_string(&module).unwrap();
    std::fs::write(
        &module,
        text.replacen(
            "        Ok(())\n",
            "        // a backfill here\n        Ok(())\n",
            1,
        ),
    )
    .unwrap();
    std::fs::write(
        &schema,
        format!("{original}\nmodel Key {{\n  id String @id @db.Uuid @default(\"5f1b1c5e-0000-0000-0000-00000000000a\")\n}}\n"),
    )
    .unwrap();
    snap("new_refused_text", &run(&["new", "add_key"]), None);
    snap(
        "new_refused_json",
        &run(&["new", "add_key", "--format", "json"]),
        None,
    );

    snap("new_empty_text", &run(&["new", "by_hand", "--empty"]), None);
    snap(
        "new_empty_json",
        &run(&["new", "more_by_hand", "--empty", "--format", "json"]),
        None,
    );
    snap(
        "new_invalid_name_text",
        &run(&["new", "Add-Nickname"]),
        None,
    );
}

/// The repository's path varies with the checkout.
fn normalize_repo(mut out: Out, repo: &Path) -> Out {
    let shown = repo.display().to_string();
    out.stdout = out.stdout.replace(&shown, "[repo]");
    out.stderr = out.stderr.replace(&shown, "[repo]");
    out
}

#[test]
fn dev_and_entities() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = empty_dir();
    let run = |args: &[&str]| Out::capture(migrate_bin().current_dir(&dir).args(args), &[]);
    let first = run(&["dev", "--format", "json"]);
    first.expect(0);
    let secrets: Vec<String> = ["database_url", "direct_url"]
        .iter()
        .filter_map(|k| first.json()[k].as_str().map(String::from))
        .filter_map(|url| {
            url.split(':')
                .nth(2)
                .and_then(|s| s.split('@').next())
                .map(String::from)
        })
        .collect();
    let hide = |out: Out| {
        let mut out = normalize_repo(out, repo);
        for s in &secrets {
            out.stdout = out.stdout.replace(s, "[password]");
            out.stderr = out.stderr.replace(s, "[password]");
        }
        out
    };
    snap("dev_first_json", &hide(first.clone()), None);
    snap("dev_again_text", &hide(run(&["dev"])), None);
    let entities = Out::capture(
        migrate_bin()
            .current_dir(&dir)
            .args(["entities", "--check", "--dir"])
            .arg(repo.join("entity/src")),
        &[],
    );
    snap("entities_check_text", &hide(entities), None);
    snap("dev_stop_text", &hide(run(&["dev", "--stop"])), None);
    snap(
        "dev_stop_again_json",
        &hide(run(&["dev", "--stop", "--format", "json"])),
        None,
    );
}

/// The history's repairs and the import, on a database Prisma's SQL built
/// without a history: `baseline`, `resolve` (a success and a refusal) and
/// `import-prisma` (a success into a skeleton, and a folder that is not one).
#[test]
fn history_commands() {
    const FIRST: &str = "20261129000001_create_user_table";
    const HALF: &str = "20261129000002_fixture_half";
    let db = pg().new_db("snaphistory");
    db.psql_as_owner(include_str!(
        "../../prisma/migrations/20261129000001_create_user_table/migration.sql"
    ))
    .expect("Prisma's SQL applies");
    let out = db.run(db.migrate().arg("baseline"));
    snap("baseline_text", &out, Some(&db));
    let out = db.run(db.migrate().args(["baseline", "--format", "json"]));
    snap("baseline_has_history_json", &out, Some(&db));
    let out = db.run(
        db.migrate()
            .args(["resolve", "--applied", FIRST, "--format", "json"]),
    );
    snap("resolve_refused_json", &out, Some(&db));
    db.psql(&format!(
        "INSERT INTO _prisma_migrations (id, checksum, started_at, migration_name, logs) \
         VALUES ('failed-run', 'x', now(), '{HALF}', 'ERROR: it broke')"
    ));
    let out = db.run(db.fixtures().args(["resolve", "--rolled-back", HALF]));
    snap("resolve_rolled_back_text", &out, Some(&db));
    let out = db.run(
        db.fixtures()
            .args(["resolve", "--rolled-back", HALF, "--format", "json"]),
    );
    snap("resolve_nothing_failed_json", &out, Some(&db));
    db.run(db.migrate().args(["dev", "--stop"])).expect(0);

    let dir = empty_dir();
    std::fs::create_dir_all(dir.join("prisma-history/0_init")).unwrap();
    std::fs::write(
        dir.join("prisma-history/0_init/migration.sql"),
        include_str!("../../prisma/migrations/20261129000001_create_user_table/migration.sql"),
    )
    .unwrap();
    std::fs::write(
        dir.join("prisma-history/migration_lock.toml"),
        "provider = \"postgresql\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("migration/src")).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("migration/src/lib.rs"),
        dir.join("migration/src/lib.rs"),
    )
    .unwrap();
    let import = |args: &[&str]| {
        let out = Out::capture(
            migrate_bin()
                .current_dir(&dir)
                .arg("import-prisma")
                .args(args),
            &[],
        );
        normalize_repo(out, &dir)
    };
    snap(
        "import_prisma_text",
        &import(&["--from", "prisma-history"]),
        None,
    );
    snap(
        "import_prisma_invalid_json",
        &import(&["--from", "no-such-folder", "--format", "json"]),
        None,
    );
}
