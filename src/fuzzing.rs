//! The properties every parser of user input keeps, for any input: one
//! function per parser, shared by the cargo-fuzz targets (`fuzz/`) and the
//! property tests, so that both check the same thing. Not a stable API.
//!
//! Each function feeds its input to the tool's own code, exactly as a
//! command would, and panics when a property fails:
//!
//! - no panic inside the tool (the function's own assertions aside);
//! - a rejection is a usage or configuration error (exit 2), never an
//!   internal one (70);
//! - no secret the input carries appears in a message, a hint or `Debug`.
//!
//! The binary-level properties (one JSON document, bounded time) are in
//! the end-to-end tests, which run the real binary.

use std::path::Path;
use std::time::{Duration, SystemTime};

use clap::Parser;

use crate::cli::Cli;
use crate::config::{self, ConnSpec, DbSecret, DotEnv, Sources, Which, checks};
use crate::error::{Error, Exit};

/// Secrets shorter than this are not looked for: a one-letter password
/// appears in any message.
const MIN_SECRET: usize = 6;

/// A rejection of input: exit 2, and none of `secrets` in what it says.
fn assert_user_error(e: &Error, secrets: &[&str]) {
    assert_eq!(
        e.exit(),
        Exit::Usage,
        "input was rejected as {:?}: {} / {}",
        e.code,
        e.message,
        e.hint
    );
    assert_no_secret(&format!("{} {} {:?}", e.message, e.hint, e), secrets);
}

/// None of `secrets` (long enough to be told apart) is in `text`.
pub fn assert_no_secret(text: &str, secrets: &[&str]) {
    for secret in secrets.iter().filter(|s| s.len() >= MIN_SECRET) {
        assert!(!text.contains(secret), "a secret is shown: {text}");
    }
}

/// A connection URL (`DATABASE_URL`). Accepted: it prints without its
/// password and reads back as itself. Rejected: exit 2, no password.
pub fn url(input: &str) {
    let password = userinfo_password(input);
    let secrets: Vec<&str> = password.into_iter().collect();
    match ConnSpec::parse(input, "DATABASE_URL") {
        Ok(spec) => {
            let redacted = spec.redacted();
            if let Some(password) = spec.password.as_ref().map(|p| p.expose().to_string()) {
                let without = ConnSpec {
                    password: None,
                    ..spec.clone()
                };
                // Unless the rest of the URL spells it anyway (a password
                // equal to the host, say), it never shows.
                if !without.redacted().contains(&password) {
                    assert_no_secret(&redacted, &[&password]);
                }
                assert_no_secret(&format!("{spec:?}"), &[&password]);
            }
            let again = ConnSpec::parse(&spec.to_url_with_password(), "DATABASE_URL")
                .unwrap_or_else(|e| panic!("a parsed URL does not read back: {}", e.message));
            // What the URL says, not how: unknown parameters are dropped
            // (they were ignored), defaults are left out.
            let said = |s: &ConnSpec| ConnSpec {
                unknown_params: Vec::new(),
                sslmode_from_url: false,
                schema_from_url: false,
                ..s.clone()
            };
            assert_eq!(
                said(&again),
                said(&spec),
                "a parsed URL reads back as another"
            );
        }
        Err(e) => assert_user_error(&e, &secrets),
    }
}

/// What a URL-shaped input holds between `user:` and the last `@`.
fn userinfo_password(input: &str) -> Option<&str> {
    let rest = input.split_once("://").map_or(input, |(_, rest)| rest);
    let (userinfo, _) = rest.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password)
}

/// A Secrets Manager `SecretString`. Rejected: exit 2, and no string of
/// the secret's in the message.
pub fn secret_json(text: &str) {
    let values = json_strings(text);
    match DbSecret::parse(
        text,
        "arn:aws:secretsmanager:eu-west-1:1:secret:s",
        "v1",
        "AWSCURRENT",
    ) {
        Ok(secret) => {
            let shown = format!("{secret:?}");
            assert_no_secret(&shown, &[secret.password.expose()]);
        }
        Err(e) => {
            // The message names keys ("password"); a value that is also
            // one of the message's own words is not a leak.
            let own = DbSecret::parse("{}", "arn:aws:secretsmanager:eu-west-1:1:secret:s", "v1", "AWSCURRENT")
                .err()
                .map(|e| format!("{} {} username password host port dbname engine not JSON object string number control character", e.message, e.hint))
                .unwrap_or_default();
            let secrets: Vec<&str> = values
                .iter()
                .map(String::as_str)
                .filter(|v| !own.contains(v))
                .collect();
            assert_user_error(&e, &secrets);
        }
    }
}

/// Every string in a JSON text, when it is JSON.
fn json_strings(text: &str) -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        walk(&value, &mut out);
    }
    out
}

/// An env file's text: parsed without a panic, in time linear in its size,
/// and `Debug` shows no value.
pub fn dotenv(text: &str) {
    let env = DotEnv::parse(text, Path::new(".env"));
    let shown = format!("{env:?}");
    for (key, value) in &env.values {
        if !key.contains(&value.value) && !".env".contains(&value.value) {
            assert_no_secret(&shown, &[&value.value]);
        }
    }
}

/// A name the tool would send as an identifier: accepted exactly when it
/// is not empty, at most 63 bytes and free of control characters; as a
/// schema, also when it is not one of PostgreSQL's own.
pub fn identifier(value: &str) {
    let fits = !value.is_empty()
        && value.len() <= checks::MAX_IDENTIFIER_BYTES
        && !value.chars().any(char::is_control);
    match checks::identifier("the user", value) {
        Ok(()) => assert!(fits, "accepted an identifier PostgreSQL would not keep"),
        Err(e) => {
            assert!(!fits, "refused a fit identifier: {}", e.message);
            assert_user_error(&e, &[]);
        }
    }
    let lower = value.to_ascii_lowercase();
    let system = lower.starts_with("pg_") || lower == "information_schema";
    match checks::managed_schema("the schema", value) {
        Ok(()) => assert!(
            fits && !system,
            "accepted a schema the tool must not manage"
        ),
        Err(e) => {
            assert!(!fits || system, "refused a fit schema: {}", e.message);
            assert_user_error(&e, &[]);
        }
    }
}

/// A `schema.prisma`: parsed, derived and rendered as the SQL of a first
/// migration without a panic.
pub fn prisma(text: &str) {
    let Ok(schema) = crate::prisma::parse(text) else {
        return;
    };
    let Ok(catalog) = crate::prisma::derive(&schema) else {
        return;
    };
    let _ = crate::prisma::migrate::migration(
        &crate::prisma::Catalog::default(),
        &catalog,
        &crate::prisma::migrate::Options::default(),
    );
}

/// A command line (without the program name), the environment and an env
/// file, resolved as a command would resolve them before it connects. A
/// rejection anywhere is exit 2 and shows none of `secrets`; neither does
/// the `Debug` of the parsed connection flags.
pub fn command_line(args: &[String], env: &[(String, String)], dotenv: &str, secrets: &[&str]) {
    // The password of every URL given, wherever it was given, is a secret.
    let mut secrets: Vec<&str> = secrets.to_vec();
    let values = args
        .iter()
        .map(String::as_str)
        .chain(env.iter().map(|(_, v)| v.as_str()))
        .chain(dotenv.lines());
    secrets.extend(
        values
            .filter(|v| v.contains("://"))
            .filter_map(userinfo_password),
    );
    let secrets = secrets.as_slice();
    let argv = std::iter::once("migrate".to_string()).chain(args.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if !matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                assert_user_error(&crate::cli::usage_error(&e), secrets);
            }
            return;
        }
    };
    // The connection flags' `Debug` (a command's own words, such as a
    // migration's name, are the user's to choose).
    assert_no_secret(&format!("{:?}", cli.command.settings().conn), secrets);
    let sources = Sources {
        flags: cli.command.conn_flags(),
        env: env.iter().cloned().collect(),
        dotenv: DotEnv::parse(dotenv, Path::new(".env")),
    };
    for which in [Which::App, Which::Migration] {
        if let Err(e) = resolve_offline(&sources, which, secrets) {
            assert_user_error(&e, secrets);
        }
    }
}

/// Resolution without the network: the secret, when one is configured, is
/// read from the `IMPULSE_FUZZ_SECRET` entry of the environment, and an
/// IAM token is signed with fixed credentials.
fn resolve_offline(sources: &Sources, which: Which, secrets: &[&str]) -> crate::error::Result<()> {
    let plan = config::plan(sources, which)?;
    plan.check_typed_placeholders()?;
    let secret = match &plan.secret_id {
        Some(id) => {
            let text = sources
                .env
                .get("IMPULSE_FUZZ_SECRET")
                .map_or("{}", String::as_str);
            Some(DbSecret::parse(
                text,
                &id.value,
                "v1",
                &plan.secret_stage.value,
            )?)
        }
        None => None,
    };
    let mut resolved = config::resolve(&plan, secret.as_ref())?;
    resolved.check_parts()?;
    if resolved.iam.is_some()
        && let Some(region) = resolved.iam_region()
    {
        let credentials = aws_credential_types::Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "fuzz",
        );
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let token = crate::aws::iam::auth_token(
            &resolved.host.value,
            resolved.port.value,
            &resolved.user.value,
            &region.value,
            &credentials,
            time,
        )
        .unwrap_or_else(|e| panic!("a checked connection cannot be signed for: {}", e.message));
        resolved.use_iam_token(token);
    }
    resolved.check_placeholders()?;
    assert_no_secret(&format!("{resolved:?} {}", resolved.redacted()), secrets);
    Ok(())
}

#[cfg(test)]
mod tests;
