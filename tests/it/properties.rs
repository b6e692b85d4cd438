//! The binary's properties for any input (issue 11): generated command
//! lines, environments and `.env` files, run through the real `migrate`
//! binary. Whatever the input:
//!
//! - the exit status is one of the design's, never 70 (a bug) or a signal;
//! - with `--format json`, stdout holds exactly one JSON document;
//! - the password the input carries appears nowhere in stdout or stderr;
//! - the run ends within a bound.
//!
//! Nothing listens where the generated URLs point (a closed loopback port)
//! and AWS points at a closed port too, so every run stays on this machine
//! and ends quickly. The parser-level properties are in `src/fuzzing`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::support::{bin, empty_dir};

/// Each run, whatever its input.
const BOUND: Duration = Duration::from_secs(30);

fn password() -> impl Strategy<Value = String> {
    (
        "[A-Z][a-z0-9]{7}",
        prop::sample::select(vec![
            "", "@", "/", "#", "?", ":", "%", " ", "'", "\"", "é", "+",
        ]),
        "[a-z0-9]{3}",
    )
        .prop_map(|(a, special, b)| format!("Sx{a}{special}{b}"))
}

fn url(password: &str, encode: bool, host: &str, query: &str) -> String {
    let pw = if encode {
        percent_encoding::utf8_percent_encode(password, percent_encoding::NON_ALPHANUMERIC)
            .to_string()
    } else {
        password.to_string()
    };
    format!("postgresql://impulse_app:{pw}@{host}/impulse{query}")
}

#[derive(Debug, Clone)]
struct Case {
    password: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    dotenv: Option<String>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        password(),
        any::<bool>(),
        prop::sample::select(vec![
            "127.0.0.1:1",
            "localhost:1",
            "[::1]:1",
            "127.0.0.1:1/x?x=",
            "h:1:2",
            "",
        ]),
        prop::sample::select(vec![
            "",
            "?schema=pg_catalog",
            "?sslmode=verify-full&sslrootcert=/nonexistent",
            "?connect_timeout=99999999999999999999",
            "?connect_timeout=0",
            "?schema=%00",
            "?pgbouncer=true",
            "?sslmode=bogus",
        ]),
        prop::sample::select(vec![
            "up",
            "down",
            "status",
            "grant",
            "doctor",
            "url",
            "iam-token",
            "baseline",
            "resolve",
            "new",
            "import-prisma",
            "upp",
            "",
        ]),
        prop::collection::vec(
            prop_oneof![
                prop::sample::select(vec![
                    "--format",
                    "json",
                    "--steps",
                    "1",
                    "--port",
                    "--host",
                    "--user",
                    "--dbname",
                    "--region",
                    "eu-west-1",
                    "--database-url",
                    "--secret-id",
                    "--iam",
                    "--yes",
                    "--check",
                    "--connect-timeout",
                    "--lock-timeout",
                    "18446744073709551616",
                    "--env-file",
                    "-v",
                    "-q",
                    "--help",
                    "--version",
                    "--",
                    "0",
                ])
                .prop_map(String::from),
                Just("URL".to_string()),
                Just("PASSWORD".to_string()),
                "[ -~]{0,12}",
            ],
            0..6,
        ),
        any::<bool>(),
        prop::collection::vec(
            (
                prop::sample::select(vec![
                    "DATABASE_URL",
                    "DIRECT_URL",
                    "DB_SECRET_ARN",
                    "DB_IAM_AUTH",
                    "DB_APP_USER",
                    "DB_SSLMODE",
                    "AWS_REGION",
                ]),
                prop_oneof![
                    Just("URL".to_string()),
                    prop::sample::select(vec![
                        "true",
                        "eu-west-1",
                        "verify-full",
                        "impulse_app",
                        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:impulse",
                        "pg_catalog",
                        "",
                    ])
                    .prop_map(String::from),
                    "[ -~]{0,12}",
                ],
            ),
            0..4,
        ),
        prop::option::of(prop_oneof![
            Just("DATABASE_URL=URL\n".to_string()),
            Just("\u{feff}DATABASE_URL=\"URL\"\n".to_string()),
            Just("DATABASE_URL='URL\nX=1\n".to_string()),
            "[ -~\n]{0,40}",
        ]),
    )
        .prop_map(
            |(password, encode, host, query, command, words, json, env, dotenv)| {
                let url = url(&password, encode, host, query);
                let fill = |w: &str| w.replace("URL", &url).replace("PASSWORD", &password);
                let mut args = Vec::new();
                if !command.is_empty() {
                    args.push(command.to_string());
                }
                // A bare password is a secret where a URL or a number
                // belongs; as a host, a user or a path it is shown, as
                // those always are.
                let shown_as_typed = [
                    "--host",
                    "--user",
                    "--dbname",
                    "--region",
                    "--secret-id",
                    "--env-file",
                ];
                for (i, w) in words.iter().enumerate() {
                    let after_shown = i > 0 && shown_as_typed.contains(&words[i - 1].as_str());
                    args.push(if after_shown && w == "PASSWORD" {
                        "x".to_string()
                    } else {
                        fill(w)
                    });
                }
                if json {
                    args.extend(["--format".to_string(), "json".to_string()]);
                }
                Case {
                    args,
                    env: env.iter().map(|(k, v)| (k.to_string(), fill(v))).collect(),
                    dotenv: dotenv.map(|d| fill(&d)),
                    password,
                }
            },
        )
}

fn run(case: &Case) -> Result<(), TestCaseError> {
    let dir = empty_dir();
    if let Some(text) = &case.dotenv {
        std::fs::write(dir.join(".env"), text).expect("write .env");
    }
    let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
    cmd.current_dir(&dir)
        .args(&case.args)
        .env("HOME", &dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
        .env(
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &case.env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn migrate");
    let output = loop {
        if child.try_wait().expect("wait").is_some() {
            break child.wait_with_output().expect("output");
        }
        if started.elapsed() > BOUND {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            return Err(TestCaseError::fail(format!(
                "still running after {BOUND:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let code = output.status.code();
    prop_assert!(
        matches!(code, Some(0..=5)),
        "exit {code:?}\nstdout: {stdout}\nstderr: {stderr}"
    );
    for (name, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        prop_assert!(
            !text.contains(&case.password),
            "the password is in {name}: {text}"
        );
        let encoded = percent_encoding::utf8_percent_encode(
            &case.password,
            percent_encoding::NON_ALPHANUMERIC,
        )
        .to_string();
        prop_assert!(
            !text.contains(&encoded),
            "the encoded password is in {name}: {text}"
        );
    }
    let json = case
        .args
        .windows(2)
        .any(|w| w[0] == "--format" && w[1] == "json");
    let prints_help = case
        .args
        .iter()
        .any(|a| ["--help", "--version", "-h", "-V"].contains(&a.as_str()));
    if json && !prints_help {
        let documents = serde_json::Deserializer::from_str(&stdout)
            .into_iter::<serde_json::Value>()
            .collect::<Result<Vec<_>, _>>();
        prop_assert!(
            matches!(&documents, Ok(d) if d.len() == 1),
            "not one JSON document on stdout: {stdout}\nstderr: {stderr}"
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(96),
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_command_line_environment_and_env_file(case in case()) {
        run(&case)?;
    }
}

/// A case by hand, to see the harness catch what it must: a password in
/// the output is a failure.
#[test]
fn the_harness_sees_a_leaked_password() {
    let leaked = Case {
        password: "impulse_app".to_string(),
        args: vec!["url".to_string()],
        env: vec![(
            "DATABASE_URL".to_string(),
            "postgresql://impulse_app:x@127.0.0.1:1/impulse".to_string(),
        )],
        dotenv: None,
    };
    assert!(
        run(&leaked).is_err(),
        "a user name shown is what a leak looks like"
    );
}
