//! Resolution of the connections a command needs, with the provenance of
//! every value.
//!
//! Sources are layered as DESIGN.md orders them: flags, then the process
//! environment, then the env file. The function that resolves a connection
//! reads that precedence top to bottom and returns the value together with
//! where it came from, so `migrate url` and error messages can say
//! "DIRECT_URL from .env line 3". Nothing here touches the network.

pub mod dotenv;
pub mod url;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use crate::env_vars;
use crate::error::{Error, Result};
pub use dotenv::DotEnv;
pub use url::{ConnSpec, SslMode};

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
    /// Made by this tool (the local cluster of `migrate dev`).
    Generated(&'static str),
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
            Origin::Generated(what) => f.write_str(what),
        }
    }
}

/// The layered sources a connection is resolved from.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// `--database-url`, the only connection flag so far.
    pub database_url_flag: Option<String>,
    /// A snapshot of the process environment.
    pub env: HashMap<String, String>,
    /// The env file overlay (never overrides `env`).
    pub dotenv: DotEnv,
}

impl Sources {
    /// The value of `var`: the process environment first, then the env file.
    /// Empty values count as unset, as in Prisma's `env()`.
    pub fn var(&self, var: &'static str) -> Option<(String, Origin)> {
        if let Some(value) = self.env.get(var).filter(|v| !v.is_empty()) {
            return Some((value.clone(), Origin::Env(var)));
        }
        // The env file is consulted only where the environment is silent.
        let found = self.dotenv.get(var).filter(|v| !v.value.is_empty())?;
        Some((
            found.value.clone(),
            Origin::DotEnv {
                var,
                path: self.dotenv.path.clone().unwrap_or_default(),
                line: found.line,
            },
        ))
    }
}

/// A connection ready to use, and where its URL came from.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub spec: ConnSpec,
    pub origin: Origin,
}

/// The migration connection: `--database-url`, else `DIRECT_URL`, else the
/// app connection's `DATABASE_URL`.
pub fn resolve_migration(sources: &Sources) -> Result<Resolved> {
    let (raw, origin) = if let Some(url) = &sources.database_url_flag {
        (url.clone(), Origin::Flag("--database-url"))
    } else if let Some(found) = sources.var(env_vars::DIRECT_URL) {
        found
    } else if let Some(found) = sources.var(env_vars::DATABASE_URL) {
        found
    } else {
        return Err(missing());
    };
    let spec = ConnSpec::parse(&raw, &origin.to_string())?;
    for param in &spec.unknown_params {
        tracing::warn!("{origin}: URL parameter `{param}` is not understood and is ignored");
    }
    Ok(Resolved { spec, origin })
}

fn missing() -> Error {
    Error::config(
        "config.missing",
        "no database connection is configured",
        "pass --database-url, set DIRECT_URL or DATABASE_URL (in the environment or in .env), \
         or run `migrate dev` for a local database that needs no configuration",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use dotenv::DotEnvValue;

    fn sources(flag: Option<&str>, env: &[(&str, &str)], file: &[(&str, &str)]) -> Sources {
        Sources {
            database_url_flag: flag.map(String::from),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            dotenv: DotEnv {
                path: Some(PathBuf::from(".env")),
                values: file
                    .iter()
                    .enumerate()
                    .map(|(i, (k, v))| {
                        (
                            k.to_string(),
                            DotEnvValue {
                                value: v.to_string(),
                                line: Some(i + 1),
                            },
                        )
                    })
                    .collect(),
            },
        }
    }

    const F: &str = "postgresql://flag@h/d";
    const E_DIRECT: &str = "postgresql://env_direct@h/d";
    const E_APP: &str = "postgresql://env_app@h/d";
    const D_DIRECT: &str = "postgresql://file_direct@h/d";
    const D_APP: &str = "postgresql://file_app@h/d";

    /// Flag, environment, env file, expected user, expected origin.
    type Case<'a> = (
        Option<&'a str>,
        &'a [(&'a str, &'a str)],
        &'a [(&'a str, &'a str)],
        &'a str,
        &'a str,
    );

    #[test]
    fn precedence_matrix() {
        let cases: &[Case] = &[
            (
                Some(F),
                &[("DIRECT_URL", E_DIRECT)],
                &[("DIRECT_URL", D_DIRECT)],
                "flag",
                "--database-url",
            ),
            (
                None,
                &[("DIRECT_URL", E_DIRECT), ("DATABASE_URL", E_APP)],
                &[("DIRECT_URL", D_DIRECT)],
                "env_direct",
                "DIRECT_URL (environment)",
            ),
            (
                None,
                &[("DATABASE_URL", E_APP)],
                &[("DIRECT_URL", D_DIRECT)],
                "file_direct",
                "DIRECT_URL (.env line 1)",
            ),
            (
                None,
                &[("DATABASE_URL", E_APP)],
                &[("DATABASE_URL", D_APP)],
                "env_app",
                "DATABASE_URL (environment)",
            ),
            (
                None,
                &[("DIRECT_URL", "")],
                &[("X", "1"), ("DATABASE_URL", D_APP)],
                "file_app",
                "DATABASE_URL (.env line 2)",
            ),
        ];
        for (flag, env, file, user, origin) in cases {
            let r = resolve_migration(&sources(*flag, env, file)).unwrap();
            assert_eq!(
                (r.spec.user.as_str(), r.origin.to_string().as_str()),
                (*user, *origin)
            );
        }
    }

    #[test]
    fn nothing_configured_names_every_way_out() {
        let err = resolve_migration(&sources(None, &[], &[])).unwrap_err();
        assert_eq!(err.code, "config.missing");
        assert_eq!(err.exit, crate::error::Exit::Usage);
        for way in [
            "--database-url",
            "DIRECT_URL",
            "DATABASE_URL",
            ".env",
            "migrate dev",
        ] {
            assert!(err.hint.contains(way), "{way}");
        }
    }

    #[test]
    fn parse_errors_say_where_the_url_came_from() {
        let err = resolve_migration(&sources(None, &[], &[("DATABASE_URL", "nope")])).unwrap_err();
        assert!(
            err.message
                .starts_with("DATABASE_URL (.env line 1) is not a valid"),
            "{}",
            err.message
        );
    }
}
