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
//! A secret is either given (the property tests' generated passwords,
//! which nothing else can spell) or found in the input (the password of a
//! URL, a secret's `password`). A found one may coincide with the tool's
//! own words (a password `tgresql`), so it is checked by masking: the same
//! input with only that secret's letters and digits replaced by others of
//! their kind parses the same way, and must show the secret exactly where
//! the original does not show it.
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

/// A rejection of input: exit 2, never an internal error.
fn assert_user_error(e: &Error) {
    assert_eq!(
        e.exit(),
        Exit::Usage,
        "input was rejected as {:?}: {} / {}",
        e.code,
        e.message,
        e.hint
    );
}

/// What an error says, in full.
fn said(e: &Error) -> String {
    format!("{} {} {:?}", e.message, e.hint, e)
}

/// None of `secrets` (long enough to be told apart) is in `text`.
pub fn assert_no_secret(text: &str, secrets: &[&str]) {
    for secret in secrets.iter().filter(|s| s.len() >= MIN_SECRET) {
        assert!(!text.contains(secret), "a secret is shown: {text}");
    }
}

/// `text` with its letters and digits replaced by others of their kind
/// (`q`, `Q`, `7`, or `z`, `Z`, `3` where they were those), anything else
/// kept, percent-escapes (`%3A`) too: a masked part parses as the
/// original does.
fn mask(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let escape = text.get(at + 1..at + 3);
        if c == '%' && escape.is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())) {
            out.push('%');
            out.extend(chars.by_ref().take(2).map(|(_, h)| h));
            continue;
        }
        out.push(match c {
            'q' => 'z',
            'a'..='z' => 'q',
            'Q' => 'Z',
            'A'..='Z' => 'Q',
            '7' => '3',
            '0'..='9' => '7',
            other => other,
        });
    }
    out
}

/// `input` with `part`, a slice of it, masked in place (and only there).
fn masked_at(input: &str, part: &str) -> String {
    let start = part.as_ptr() as usize - input.as_ptr() as usize;
    format!(
        "{}{}{}",
        &input[..start],
        mask(part),
        &input[start + part.len()..]
    )
}

/// `secret`, found in the input, is not shown: `shown` is what the input
/// made the tool say, `shown_masked` what the input with the secret masked
/// made it say. Text that says the secret either way is the tool's own.
fn assert_not_leaked(secret: &str, shown: &str, shown_masked: &str) {
    if secret.len() < MIN_SECRET || mask(secret) == secret {
        return;
    }
    assert!(
        !shown.contains(secret) || shown_masked.contains(secret),
        "a secret is shown: {shown}"
    );
}

/// A connection URL (`DATABASE_URL`). Accepted: it reads back as
/// itself. Rejected: exit 2. Either way its password is not shown.
pub fn url(input: &str) {
    let shown = |input: &str| match ConnSpec::parse(input, "DATABASE_URL") {
        Ok(spec) => format!("{} {spec:?}", spec.redacted()),
        Err(e) => said(&e),
    };
    match ConnSpec::parse(input, "DATABASE_URL") {
        Ok(spec) => {
            let again = ConnSpec::parse(&spec.to_url_with_password(), "DATABASE_URL")
                .unwrap_or_else(|e| panic!("a parsed URL does not read back: {}", e.message));
            // What the URL says, not how: unknown parameters are dropped
            // (they were ignored), defaults are left out.
            let meaning = |s: &ConnSpec| ConnSpec {
                unknown_params: Vec::new(),
                sslmode_from_url: false,
                schema_from_url: false,
                ..s.clone()
            };
            assert_eq!(
                meaning(&again),
                meaning(&spec),
                "a parsed URL reads back as another"
            );
        }
        Err(e) => assert_user_error(&e),
    }
    if let Some(password) = userinfo_password(input) {
        assert_not_leaked(password, &shown(input), &shown(&masked_at(input, password)));
    }
}

/// What a URL-shaped input holds between `user:` and the last `@`.
fn userinfo_password(input: &str) -> Option<&str> {
    let rest = input.split_once("://").map_or(input, |(_, rest)| rest);
    let (userinfo, _) = rest.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password)
}

/// A Secrets Manager `SecretString`. Rejected: exit 2. Either way its
/// password is not shown.
pub fn secret_json(text: &str) {
    const ARN: &str = "arn:aws:secretsmanager:eu-west-1:1:secret:s";
    let shown = |text: &str| match DbSecret::parse(text, ARN, "v1", "AWSCURRENT") {
        Ok(secret) => format!("{secret:?}"),
        Err(e) => {
            assert_user_error(&e);
            said(&e)
        }
    };
    let original = shown(text);
    // The same secret, its password masked (the rest as it was).
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let Some(password) = value
        .get("password")
        .and_then(serde_json::Value::as_str)
        .map(String::from)
    else {
        return;
    };
    value["password"] = serde_json::Value::String(mask(&password));
    assert_not_leaked(&password, &original, &shown(&value.to_string()));
}

/// An env file's text: parsed without a panic, and `Debug` shows no
/// value (it is the same whatever the values are).
pub fn dotenv(text: &str) {
    let env = DotEnv::parse(text, Path::new(".env"));
    let mut masked = env.clone();
    for value in masked.values.values_mut() {
        value.value = mask(&value.value);
    }
    assert_eq!(
        format!("{env:?}"),
        format!("{masked:?}"),
        "Debug shows a value"
    );
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
            assert_user_error(&e);
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
            assert_user_error(&e);
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
/// rejection anywhere is exit 2; nothing said shows one of `secrets`, nor
/// the password of any URL given, wherever it was given.
pub fn command_line(args: &[String], env: &[(String, String)], dotenv: &str, secrets: &[&str]) {
    let shown = said_about(args, env, dotenv);
    assert_no_secret(&shown, secrets);
    // Each URL's password, masked in its own value only.
    for (i, arg) in args.iter().enumerate() {
        if let Some(password) = url_password(arg) {
            let mut masked = args.to_vec();
            masked[i] = masked_at(arg, password);
            assert_not_leaked(password, &shown, &said_about(&masked, env, dotenv));
        }
    }
    for (i, (_, value)) in env.iter().enumerate() {
        if let Some(password) = url_password(value) {
            let mut masked = env.to_vec();
            masked[i].1 = masked_at(value, password);
            assert_not_leaked(password, &shown, &said_about(args, &masked, dotenv));
        }
    }
    for line in dotenv.lines() {
        if let Some(password) = url_password(line) {
            let masked = masked_at(dotenv, password);
            assert_not_leaked(password, &shown, &said_about(args, env, &masked));
        }
    }
}

/// The password of a URL-shaped value.
fn url_password(value: &str) -> Option<&str> {
    value
        .contains("://")
        .then(|| userinfo_password(value))
        .flatten()
}

/// Everything the tool says about a command line before it connects: the
/// usage error, or the connection flags' `Debug` and each connection's
/// resolution (its error, or the resolved connection's `Debug` and URL).
/// Asserts that every rejection is exit 2.
fn said_about(args: &[String], env: &[(String, String)], dotenv: &str) -> String {
    let argv = std::iter::once("migrate".to_string()).chain(args.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                return String::new();
            }
            let e = crate::cli::usage_error(&e);
            assert_user_error(&e);
            return said(&e);
        }
    };
    // The connection flags' `Debug` (a command's own words, such as a
    // migration's name, are the user's to choose and to see).
    let mut shown = format!("{:?}", cli.global);
    let sources = Sources {
        flags: cli.global.conn_flags(),
        env: env.iter().cloned().collect(),
        dotenv: DotEnv::parse(dotenv, Path::new(".env")),
    };
    for which in [Which::App, Which::Migration] {
        match resolve_offline(&sources, which) {
            Ok(resolved) => shown.push_str(&format!(" {resolved:?} {}", resolved.redacted())),
            Err(e) => {
                assert_user_error(&e);
                shown.push(' ');
                shown.push_str(&said(&e));
            }
        }
    }
    shown
}

/// Resolution without the network: the secret, when one is configured, is
/// read from the `IMPULSE_FUZZ_SECRET` entry of the environment, and an
/// IAM token is signed with fixed credentials.
fn resolve_offline(sources: &Sources, which: Which) -> crate::error::Result<config::Resolved> {
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
    Ok(resolved)
}

#[cfg(test)]
mod tests;
