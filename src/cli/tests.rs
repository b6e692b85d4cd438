//! Parsing: ranges, per-command flags, and no password in `Debug`.

use std::time::Duration;

use clap::{CommandFactory, Parser};

use super::*;

#[test]
fn seconds_take_decimals_within_the_range() {
    assert_eq!(seconds("2"), Ok(Duration::from_secs(2)));
    assert_eq!(seconds("0.5"), Ok(Duration::from_millis(500)));
    assert_eq!(seconds(".25"), Ok(Duration::from_millis(250)));
    assert_eq!(seconds("0"), Ok(Duration::ZERO));
    assert_eq!(seconds("86400"), Ok(Duration::from_secs(86_400)));
    for bad in [
        "",
        ".",
        "-1",
        "1e3",
        "abc",
        "0.0001",
        "86400.5",
        "86401",
        "2147484",
        "9223372036854775807",
        " 1",
        "1s",
        "+1",
        "NaN",
        "inf",
    ] {
        assert!(seconds(bad).is_err(), "{bad}");
    }
}

#[test]
fn out_of_range_timeouts_are_usage_errors() {
    for args in [
        &["migrate", "status", "--lock-timeout", "86401"][..],
        &["migrate", "status", "--lock-timeout", "2147484"],
        &["migrate", "status", "--lock-timeout", "9223372036854775808"],
        &["migrate", "status", "--lock-timeout", "-1"],
        &["migrate", "status", "--connect-timeout", "0"],
        &["migrate", "status", "--connect-timeout", "3601"],
        &[
            "migrate",
            "status",
            "--connect-timeout",
            "18446744073709551615",
        ],
        &["migrate", "up", "--ddl-lock-timeout", "1e9"],
        &["migrate", "up", "--statement-timeout", "-5"],
        &["migrate", "up", "--lock-retries", "101"],
        &["migrate", "down", "--ddl-lock-timeout", "86401"],
    ] {
        assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
    }
    let cli = Cli::try_parse_from(["migrate", "up", "--lock-timeout", "86400"]).unwrap();
    assert_eq!(cli.command.settings().lock.lock_timeout, 86_400);
    let Command::Up(up) = cli.command else {
        panic!("up")
    };
    assert_eq!(
        up.ddl.ddl_lock_timeout,
        crate::runner::DEFAULT_DDL_LOCK_TIMEOUT
    );
    assert_eq!(up.ddl.lock_retries, crate::runner::DEFAULT_LOCK_RETRIES);
    assert_eq!(up.ddl.statement_timeout, None);
}

/// The long flags a command accepts (the global ones and `--help` aside).
fn flags_of(name: &str) -> Vec<String> {
    let cli = Cli::command();
    let sub = cli.find_subcommand(name).expect("a command");
    let mut flags: Vec<String> = sub
        .get_arguments()
        .filter(|a| !a.is_global_set())
        .filter_map(|a| a.get_long())
        .filter(|l| !["help", "format", "quiet", "verbose"].contains(l))
        .map(|l| format!("--{l}"))
        .collect();
    flags.sort();
    flags
}

#[test]
fn each_command_takes_only_the_flags_it_uses() {
    const CONNECTION: [&str; 9] = [
        "--database-url",
        "--secret-id",
        "--secret-stage",
        "--iam",
        "--host",
        "--port",
        "--user",
        "--dbname",
        "--region",
    ];
    for local in ["new", "entities", "import-prisma", "dev"] {
        let flags = flags_of(local);
        for flag in CONNECTION.iter().chain(&["--env-file"]) {
            if local == "dev" && *flag == "--env-file" {
                continue; // the file dev writes
            }
            assert!(!flags.contains(&flag.to_string()), "{local} {flag}");
        }
    }
    assert!(!flags_of("import-prisma").contains(&"--connect-timeout".to_string()));
    for connects in [
        "up",
        "down",
        "status",
        "grant",
        "doctor",
        "lint",
        "resolve",
        "baseline",
        "fresh",
        "reset",
        "url",
        "iam-token",
    ] {
        let flags = flags_of(connects);
        for flag in CONNECTION
            .iter()
            .chain(&["--env-file", "--no-dotenv", "--connect-timeout"])
        {
            assert!(flags.contains(&flag.to_string()), "{connects} {flag}");
        }
    }
    for no_lock in ["url", "iam-token", "new", "entities", "import-prisma"] {
        assert!(
            !flags_of(no_lock).contains(&"--lock-timeout".to_string()),
            "{no_lock}"
        );
    }
    assert_eq!(
        flags_of("prisma-check"),
        [
            "--connect-timeout",
            "--database-url",
            "--lock-timeout",
            "--schema"
        ]
    );

    let e = Cli::try_parse_from(["migrate", "new", "x", "--iam"]).unwrap_err();
    let e = usage_error(&e);
    assert_eq!(e.code, crate::Code::UsageInvalid);
    assert!(
        e.hint.starts_with("`migrate new` takes no --iam"),
        "{}",
        e.hint
    );
    assert!(
        e.hint.contains("the commands that do: up, down,"),
        "{}",
        e.hint
    );

    // A connection flag before the command's name: where it goes.
    let e = Cli::try_parse_from(["migrate", "--database-url", "postgresql://u:Pw1@h/d", "up"])
        .unwrap_err();
    let e = usage_error(&e);
    assert!(
        e.hint
            .starts_with("--database-url goes after the command's name"),
        "{}",
        e.hint
    );
    assert!(!format!("{e}").contains("Pw1"), "{e}");
    // Global flags go anywhere.
    for args in [
        &["migrate", "--format", "json", "up"][..],
        &["migrate", "up", "--format", "json", "-q"],
        &["migrate", "-v", "new", "x", "--empty"],
    ] {
        Cli::try_parse_from(args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    }
}

#[test]
fn resolve_needs_exactly_one_of_its_two_flags() {
    assert!(Cli::try_parse_from(["migrate", "resolve"]).is_err());
    assert!(
        Cli::try_parse_from(["migrate", "resolve", "--applied", "a", "--rolled-back", "b"])
            .is_err()
    );
    assert!(
        Cli::try_parse_from([
            "migrate",
            "resolve",
            "--applied",
            "a",
            "--database-url",
            "postgresql://h/d"
        ])
        .is_ok()
    );
}

#[test]
fn debug_of_the_parsed_command_line_hides_the_password() {
    let cli = Cli::try_parse_from([
        "migrate",
        "up",
        "--database-url",
        "postgresql://u:CliPassw0rd@h/d",
    ])
    .unwrap();
    let shown = format!("{cli:?}");
    assert!(!shown.contains("CliPassw0rd"), "{shown}");
    assert!(shown.contains("u:****@h"), "{shown}");
}
