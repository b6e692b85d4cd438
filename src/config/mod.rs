//! Resolution of the two connections (app and migration), with the
//! provenance of every part.
//!
//! Sources are layered as the README's Configuration orders them: flags, the process
//! environment, the env file, the secret, IAM. Resolution happens in two
//! pure steps around the network: [`plan`] reads flags and variables and
//! says what to fetch; [`resolve`] merges the plan with the fetched secret
//! (if any) into a [`Resolved`] connection that knows where each part came
//! from, so `migrate url` and error messages can say "user from secret
//! arn:…, version …". IAM then replaces the password with a fresh token
//! ([`Resolved::use_iam_token`]). Nothing in this module touches the network.

pub mod checks;
pub mod db_secret;
pub mod dotenv;
pub mod resolve;
pub mod url;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

pub use db_secret::DbSecret;
pub use dotenv::DotEnv;
pub use resolve::{Resolved, SecretRef, Which, plan, resolve};
pub use url::{ConnSpec, SslMode};

/// A value and where it came from, kept together so that they cannot
/// drift apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub origin: Origin,
}

impl<T> Sourced<T> {
    pub fn new(value: T, origin: Origin) -> Self {
        Self { value, origin }
    }

    /// The same origin with a value derived from this one.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Sourced<U> {
        Sourced {
            value: f(self.value),
            origin: self.origin,
        }
    }
}

/// The first candidate that is present: precedence, read top to bottom.
pub fn first<T>(candidates: impl IntoIterator<Item = Option<Sourced<T>>>) -> Option<Sourced<T>> {
    candidates.into_iter().flatten().next()
}

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A command-line flag, such as `--database-url`.
    Flag(&'static str),
    /// The process environment.
    Env(&'static str),
    /// The env file, with the line of the assignment.
    DotEnv {
        var: &'static str,
        path: PathBuf,
        line: Option<usize>,
    },
    /// A part of a URL that came from `source`.
    Url(Box<Origin>),
    /// A Secrets Manager secret: its ARN, version and stage.
    Secret {
        arn: String,
        version_id: String,
        stage: String,
    },
    /// A fresh RDS IAM auth token, or a setting IAM implies.
    Iam(&'static str),
    /// A default of this tool or of PostgreSQL.
    Default(&'static str),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => write!(f, "{flag}"),
            Origin::Env(var) => write!(f, "{var} (environment)"),
            Origin::DotEnv { var, path, line } => {
                write!(f, "{var} ({}", path.display())?;
                if let Some(line) = line {
                    write!(f, " line {line}")?;
                }
                f.write_str(")")
            }
            Origin::Url(source) => write!(f, "{source}"),
            Origin::Secret {
                arn,
                version_id,
                stage,
            } => write!(f, "secret {arn} version {version_id} ({stage})"),
            Origin::Iam(what) => write!(f, "IAM ({what})"),
            Origin::Default(what) => write!(f, "default ({what})"),
        }
    }
}

/// The connection flags (docs/reference.md). They apply to the connection the
/// command uses (both, for `migrate url`), above every other source.
/// `Debug` shows no password of any URL in them.
#[derive(Clone, Default)]
pub struct ConnFlags {
    pub database_url: Option<String>,
    pub secret_id: Option<String>,
    pub secret_stage: Option<String>,
    pub iam: bool,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub dbname: Option<String>,
    pub region: Option<String>,
}

impl fmt::Debug for ConnFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Any flag may hold a URL typed in the wrong place.
        let text = |v: &Option<String>| v.as_deref().map(redact_urls_in);
        f.debug_struct("ConnFlags")
            .field(
                "database_url",
                &self.database_url.as_deref().map(redact_url),
            )
            .field("secret_id", &text(&self.secret_id))
            .field("secret_stage", &text(&self.secret_stage))
            .field("iam", &self.iam)
            .field("host", &text(&self.host))
            .field("port", &self.port)
            .field("user", &text(&self.user))
            .field("dbname", &text(&self.dbname))
            .field("region", &text(&self.region))
            .finish()
    }
}

/// Migrations need a session of their own (the lock, `SET`s, DDL): through
/// PgBouncer in transaction mode or RDS Proxy they would silently lose it.
/// `host_origin` says where the pooler's host came from.
pub fn refuse_pooler(spec: &ConnSpec, host_origin: &Origin) -> crate::error::Result<()> {
    if !spec.is_pooler() {
        return Ok(());
    }
    let why = if spec.pgbouncer {
        "it has pgbouncer=true"
    } else {
        "its host is an RDS Proxy endpoint"
    };
    Err(crate::error::Error::new(
        crate::error::Code::PoolerMigrationsThroughProxy,
        format!(
            "the migration connection (host from {host_origin}) goes through a connection pooler: {why}"
        ),
        "set DIRECT_URL to the database's own endpoint (the RDS instance or cluster writer, \
         not the proxy), as Prisma's directUrl; migrations use it and the Lambda keeps DATABASE_URL",
    ))
}

/// A URL for `Debug` and logs: the password as `****`, or nothing of it
/// when it does not even parse.
pub fn redact_url(raw: &str) -> String {
    ConnSpec::parse(raw, "the URL")
        .map_or_else(|_| "<unparsable URL>".to_string(), |s| s.redacted())
}

/// `text` with the password of every URL in it shown as `****`: for
/// messages that quote what the user typed. The password runs to the last
/// `@` of its line, so that one with a raw `@`, a space or a quote in it is
/// hidden whole (at worst, more than the password is).
pub fn redact_urls_in(text: &str) -> String {
    static URL_PASSWORD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?P<keep>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\x22]*:)[^\n]*@")
            .expect("static regex")
    });
    URL_PASSWORD.replace_all(text, "${keep}****@").into_owned()
}

/// The layered sources connections are resolved from. `Debug` shows the
/// environment's names only: its values can be passwords.
#[derive(Clone, Default)]
pub struct Sources {
    pub flags: ConnFlags,
    /// A snapshot of the process environment.
    pub env: HashMap<String, String>,
    /// The env file overlay (never overrides `env`).
    pub dotenv: DotEnv,
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.env.keys().collect();
        names.sort();
        f.debug_struct("Sources")
            .field("flags", &self.flags)
            .field("env", &names)
            .field("dotenv", &self.dotenv)
            .finish()
    }
}

impl Sources {
    /// The variables of [`crate::env_vars::ALL`] from the process
    /// environment. Only those are read, one by one: a variable that is not
    /// valid UTF-8 counts as unset instead of failing every command, even
    /// one the tool never reads.
    pub fn process_env() -> HashMap<String, String> {
        crate::env_vars::ALL
            .iter()
            .filter_map(|var| {
                let value = std::env::var_os(var)?.into_string().ok()?;
                Some((var.to_string(), value))
            })
            .collect()
    }

    /// The value of `var`: the process environment first, then the env file.
    /// Empty values count as unset, as in Prisma's `env()`.
    pub fn var(&self, var: &'static str) -> Option<Sourced<String>> {
        if let Some(value) = self.env.get(var).filter(|v| !v.is_empty()) {
            return Some(Sourced::new(value.clone(), Origin::Env(var)));
        }
        // The env file is consulted only where the environment is silent.
        let found = self.dotenv.get(var).filter(|v| !v.value.is_empty())?;
        Some(Sourced::new(
            found.value.clone(),
            Origin::DotEnv {
                var,
                path: self.dotenv.path.clone().unwrap_or_default(),
                line: found.line,
            },
        ))
    }

    /// A boolean variable: `true`, `1` or `yes` (any case) mean on.
    pub fn flag_var(&self, var: &'static str) -> Option<Sourced<bool>> {
        self.var(var)
            .map(|v| v.map(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes")))
    }
}

#[cfg(test)]
mod tests {
    use super::redact_urls_in;

    #[test]
    fn passwords_of_urls_in_text_are_hidden_whole() {
        for (text, shown) in [
            (
                "see postgresql://u:Pw1@h/d now",
                "see postgresql://u:****@h/d now",
            ),
            ("postgresql://u:P@w1@h/d", "postgresql://u:****@h/d"),
            (
                "file postgresql://u:P w'1@h/d: not found",
                "file postgresql://u:****@h/d: not found",
            ),
            ("postgresql://u@h/d", "postgresql://u@h/d"),
            ("no URL: a@b", "no URL: a@b"),
        ] {
            assert_eq!(redact_urls_in(text), shown, "{text}");
        }
    }
}
