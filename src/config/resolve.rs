//! The two pure steps of resolution: [`plan`] (what the flags and variables
//! say) and [`resolve`] (that plus the fetched secret, into a connection
//! with the provenance of every part).
//!
//! Precedence, each part from the first source that has it:
//! 1. flags (`--database-url`, `--secret-id`, `--iam`, `--host`, `--port`,
//!    `--user`, `--dbname`, `--region`);
//! 2. the process environment, then 3. the env file (per variable);
//! 4. the secret: user and password always; host, port and database only
//!    when there is no URL (with a URL, the URL is a template);
//! 5. IAM: a fresh token replaces the password, and TLS becomes at least
//!    `require`.
//!
//! The migration connection uses `DIRECT_URL` / `MIGRATION_SECRET_ARN`, and
//! falls back to the app connection when both are unset. Choices made where
//! the contract is silent (see the README's Configuration section): a
//! `DIRECT_URL` without a usable password (none, or a placeholder) takes its
//! credentials from `DB_SECRET_ARN`, or from IAM with `DB_IAM_AUTH`, like
//! the app connection; `DB_SSLMODE` and `DB_SSLROOTCERT` fill in only what
//! the URL does not set.

use std::path::PathBuf;

use super::db_secret::DbSecret;
use super::url::Placeholder;
use super::{ConnSpec, Origin, Sourced, Sources, SslMode, checks, first};
use crate::env_vars as vars;
use crate::error::{Code, Error, Result};
use crate::secret::Secret;

/// The two connections: the Lambda's and the migrations'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Which {
    /// The Lambda's: `DATABASE_URL`, `DB_SECRET_ARN`, `DB_IAM_AUTH`.
    App,
    /// Migrations': `DIRECT_URL`, `MIGRATION_SECRET_ARN`, else the app's.
    Migration,
}

impl Which {
    pub fn label(self) -> &'static str {
        match self {
            Which::App => "app",
            Which::Migration => "migration",
        }
    }
}

/// What the flags and variables say about one connection. `Debug` redacts
/// the URL.
#[derive(Clone)]
pub struct Plan {
    pub which: Which,
    /// The migration connection has no sources of its own and uses the app's.
    pub same_as_app: bool,
    pub url: Option<Sourced<String>>,
    pub secret_id: Option<Sourced<String>>,
    pub secret_stage: Sourced<String>,
    /// Set when the password is to be an RDS IAM auth token.
    pub iam: Option<Origin>,
    /// `--region`, the secret ARN's region, or `AWS_REGION`/`AWS_DEFAULT_REGION`.
    pub region: Option<Sourced<String>>,
    pub host: Option<Sourced<String>>,
    pub port: Option<Sourced<u16>>,
    pub user: Option<Sourced<String>>,
    pub dbname: Option<Sourced<String>>,
    pub sslmode: Option<Sourced<SslMode>>,
    pub sslrootcert: Option<Sourced<PathBuf>>,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("which", &self.which)
            .field("same_as_app", &self.same_as_app)
            .field(
                "url",
                &self
                    .url
                    .as_ref()
                    .map(|u| (super::redact_url(&u.value), &u.origin)),
            )
            .field("secret_id", &self.secret_id)
            .field("secret_stage", &self.secret_stage)
            .field("iam", &self.iam)
            .field("region", &self.region)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .field("sslrootcert", &self.sslrootcert)
            .finish()
    }
}

impl Plan {
    /// The region of the plan, as the AWS SDK takes it.
    pub fn region_name(&self) -> Option<&str> {
        self.region.as_ref().map(|r| r.value.as_str())
    }

    /// Before any secret is fetched: a placeholder in the typed URL that
    /// nothing configured will replace (the secret replaces user and
    /// password; IAM replaces an `AWS_IAM_TOKEN` password). `migrate doctor`
    /// reports it at its `url` step; resolution would find it later anyway.
    pub fn check_typed_placeholders(&self) -> Result<()> {
        if self.url.is_none() {
            return Ok(());
        }
        let bare = Plan {
            secret_id: None,
            iam: None,
            ..self.clone()
        };
        let mut typed = resolve(&bare, None)?;
        if self.secret_id.is_some() {
            typed.user.value = "(from the secret)".into();
            typed.password = None;
        }
        let iam_token = typed
            .password
            .as_ref()
            .is_some_and(|p| Placeholder::find(p.value.expose()) == Some(Placeholder::AwsIamToken));
        if self.iam.is_some() && iam_token {
            typed.password = None;
        }
        typed.check_placeholders()
    }
}

/// Reads flags and variables for connection `which`. No network.
pub fn plan(sources: &Sources, which: Which) -> Result<Plan> {
    let flags = &sources.flags;
    let flag = |value: Option<String>, name: &'static str| {
        value.map(|v| Sourced::new(v, Origin::Flag(name)))
    };
    let flag_url = flag(flags.database_url.clone(), "--database-url");
    let flag_secret = flag(flags.secret_id.clone(), "--secret-id");

    let app_iam = || {
        if flags.iam {
            Some(Origin::Flag("--iam"))
        } else {
            sources
                .flag_var(vars::DB_IAM_AUTH)
                .and_then(|on| on.value.then_some(on.origin))
        }
    };

    let (url, secret_id, iam, same_as_app) = match which {
        Which::App => (
            flag_url.or_else(|| sources.var(vars::DATABASE_URL)),
            flag_secret.or_else(|| sources.var(vars::DB_SECRET_ARN)),
            app_iam(),
            false,
        ),
        Which::Migration => {
            let own_url = flag_url.or_else(|| sources.var(vars::DIRECT_URL));
            let own_secret = flag_secret.or_else(|| sources.var(vars::MIGRATION_SECRET_ARN));
            match (own_url, own_secret) {
                (None, None) => (
                    sources.var(vars::DATABASE_URL),
                    sources.var(vars::DB_SECRET_ARN),
                    app_iam(),
                    true,
                ),
                (Some(url), None) if lacks_password(&url.value) => {
                    // A DIRECT_URL template borrows the app's credentials.
                    let secret = sources.var(vars::DB_SECRET_ARN);
                    let iam = if secret.is_none() { app_iam() } else { None };
                    (Some(url), secret, iam, false)
                }
                (url, secret) => (
                    url,
                    secret,
                    flags.iam.then_some(Origin::Flag("--iam")),
                    false,
                ),
            }
        }
    };

    if url.is_none() && secret_id.is_none() && flags.host.is_none() {
        return Err(missing(which));
    }
    if let Some(id) = &secret_id {
        checks::secret_id(&format!("the secret id (from {})", id.origin), &id.value)?;
    }

    let secret_stage = flag(flags.secret_stage.clone(), "--secret-stage")
        .unwrap_or_else(|| Sourced::new("AWSCURRENT".to_string(), Origin::Default("AWSCURRENT")));
    let arn_region = secret_id.as_ref().and_then(|id| {
        arn_region(&id.value).map(|r| Sourced::new(r.to_string(), id.origin.clone()))
    });
    let region = first([
        flag(flags.region.clone(), "--region"),
        arn_region,
        sources.var(vars::AWS_REGION),
        sources.var(vars::AWS_DEFAULT_REGION),
    ]);
    let sslmode = match sources.var(vars::DB_SSLMODE) {
        Some(v) => Some(Sourced::new(
            SslMode::parse(&v.value).ok_or_else(|| {
                Error::new(
                    Code::ConfigInvalid,
                    format!("{} is not a TLS mode", v.origin),
                    "use one of disable, prefer, require, verify-ca, verify-full",
                )
            })?,
            v.origin,
        )),
        None => None,
    };
    Ok(Plan {
        which,
        same_as_app,
        url,
        secret_id,
        secret_stage,
        iam,
        region,
        host: flag(flags.host.clone(), "--host"),
        port: flags.port.map(|p| Sourced::new(p, Origin::Flag("--port"))),
        user: flag(flags.user.clone(), "--user"),
        dbname: flag(flags.dbname.clone(), "--dbname"),
        sslmode,
        sslrootcert: sources
            .var(vars::DB_SSLROOTCERT)
            .map(|p| p.map(PathBuf::from)),
    })
}

/// True when a URL carries no usable password: none, or a placeholder.
fn lacks_password(url: &str) -> bool {
    match ConnSpec::parse(url, "the URL") {
        Ok(spec) => spec
            .password
            .as_ref()
            .is_none_or(|p| p.is_empty() || Placeholder::find(p.expose()).is_some()),
        Err(_) => false,
    }
}

/// The region of a Secrets Manager ARN
/// (`arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME`).
pub fn arn_region(id: &str) -> Option<&str> {
    let mut parts = id.split(':');
    (parts.next()? == "arn").then_some(())?;
    parts.next()?; // partition
    (parts.next()? == "secretsmanager").then_some(())?;
    parts.next().filter(|r| !r.is_empty())
}

/// The region in an RDS host name (`x.abc.eu-west-1.rds.amazonaws.com`).
pub fn rds_host_region(host: &str) -> Option<&str> {
    let host = host.strip_suffix(".rds.amazonaws.com")?;
    host.rsplit('.').next().filter(|r| r.contains('-'))
}

fn missing(which: Which) -> Error {
    let message = match which {
        Which::App => "the app connection is not configured",
        Which::Migration => "no database connection is configured",
    };
    Error::new(
        Code::ConfigMissing,
        message,
        "pass --database-url, set DIRECT_URL or DATABASE_URL (in the environment or in .env), \
         or DB_SECRET_ARN for a Secrets Manager secret; or run `migrate dev` for a local \
         database that needs no configuration",
    )
}

/// A connection ready to use: every part with where it came from.
#[derive(Clone, Debug)]
pub struct Resolved {
    pub which: Which,
    pub same_as_app: bool,
    pub host: Sourced<String>,
    pub port: Sourced<u16>,
    pub user: Sourced<String>,
    pub password: Option<Sourced<Secret>>,
    pub dbname: Sourced<String>,
    pub schema: Sourced<String>,
    pub sslmode: Sourced<SslMode>,
    pub sslrootcert: Option<Sourced<PathBuf>>,
    /// The secret the credentials came from, if any.
    pub secret: Option<SecretRef>,
    /// Set when the password must be an IAM token (see [`Resolved::use_iam_token`]).
    pub iam: Option<Origin>,
    /// The password is an IAM token (set by [`Resolved::use_iam_token`]).
    pub iam_token: bool,
    pub region: Option<Sourced<String>>,
    /// The URL as parsed, for the settings that only a URL carries
    /// (`connect_timeout`, `application_name`, `pgbouncer`).
    template: ConnSpec,
    /// The variable the URL came from, for placeholder messages.
    url_origin: Option<Origin>,
}

/// Which secret version the credentials came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SecretRef {
    pub id: String,
    pub arn: String,
    pub version_id: String,
    pub stage: String,
}

/// Merges the plan with the fetched secret. No network.
pub fn resolve(plan: &Plan, secret: Option<&DbSecret>) -> Result<Resolved> {
    let which = plan.which;
    let url = match &plan.url {
        Some(raw) => Some((
            ConnSpec::parse(&raw.value, &raw.origin.to_string())?,
            raw.origin.clone(),
        )),
        None => None,
    };
    // A part of the URL, or of the secret, with its origin.
    fn from_url<T>(
        url: &Option<(ConnSpec, Origin)>,
        part: impl Fn(&ConnSpec) -> Option<T>,
    ) -> Option<Sourced<T>> {
        let (spec, origin) = url.as_ref()?;
        Some(Sourced::new(
            part(spec)?,
            Origin::Url(Box::new(origin.clone())),
        ))
    }
    fn from_secret<T>(
        secret: Option<&DbSecret>,
        part: impl Fn(&DbSecret) -> Option<T>,
    ) -> Option<Sourced<T>> {
        let s = secret?;
        let origin = Origin::Secret {
            arn: s.arn.clone(),
            version_id: s.version_id.clone(),
            stage: s.stage.clone(),
        };
        Some(Sourced::new(part(s)?, origin))
    }
    fn nonempty(v: &str) -> Option<String> {
        (!v.is_empty()).then(|| v.to_string())
    }
    // With a URL, the URL is a template: its endpoint and database win,
    // and the secret supplies only user and password.
    let endpoint_from_secret = url.is_none();

    let host = first([
        plan.host.clone(),
        from_url(&url, |s| nonempty(&s.host)),
        from_secret(secret, |s| s.host.clone()).filter(|_| endpoint_from_secret),
    ]);
    let port = first([
        plan.port.clone(),
        from_url(&url, |s| Some(s.port)),
        from_secret(secret, |s| s.port).filter(|_| endpoint_from_secret),
    ])
    .unwrap_or_else(|| Sourced::new(5432, Origin::Default("5432")));
    let user = first([
        plan.user.clone(),
        from_secret(secret, |s| Some(s.username.clone())),
        from_url(&url, |s| nonempty(&s.user)),
    ]);
    let password = first([
        from_secret(secret, |s| Some(s.password.clone())),
        from_url(&url, |s| s.password.clone()),
    ]);
    let dbname = first([
        plan.dbname.clone(),
        from_url(&url, |s| nonempty(&s.dbname)),
        from_secret(secret, |s| s.dbname.clone()).filter(|_| endpoint_from_secret),
    ])
    .unwrap_or_else(|| {
        let why = if secret.is_some() {
            "postgres, as in the rotation templates"
        } else {
            "postgres"
        };
        Sourced::new("postgres".into(), Origin::Default(why))
    });
    let schema = from_url(&url, |s| s.schema_from_url.then(|| s.schema.clone()))
        .unwrap_or_else(|| Sourced::new("public".into(), Origin::Default("public")));
    // DB_SSLMODE / DB_SSLROOTCERT fill in what the URL leaves unset.
    let sslmode = first([
        from_url(&url, |s| s.sslmode_from_url.then_some(s.sslmode)),
        plan.sslmode.clone(),
    ])
    .unwrap_or_else(|| Sourced::new(SslMode::Prefer, Origin::Default("prefer")));
    let sslrootcert = first([
        from_url(&url, |s| s.sslrootcert.clone()),
        plan.sslrootcert.clone(),
    ]);

    let where_from = secret
        .map(|s| format!("secret {}", s.arn))
        .unwrap_or_else(|| "the configuration".into());
    // Both missing parts at once.
    let no_host = || {
        Error::new(
            Code::ConfigMissingHost,
            format!(
                "the {} connection has no host: {where_from} does not name one",
                which.label()
            ),
            "an RDS-managed secret holds only username and password: set DATABASE_URL \
             (or DIRECT_URL) as a template with the endpoint and database, e.g. \
             postgresql://REPLACED_BY_SECRET@HOST:5432/DATABASE, or pass --host",
        )
    };
    let no_user = || {
        Error::new(
            Code::ConfigMissingUser,
            format!("the {} connection has no user name", which.label()),
            Code::ConfigMissingUser.hint(),
        )
    };
    let (host, user) = match (host, user) {
        (Some(host), Some(user)) => (host, user),
        (host, user) => {
            let problems = [host.is_none().then(no_host), user.is_none().then(no_user)];
            let all = Error::all(
                &format!("the {} connection", which.label()),
                problems.into_iter().flatten().collect(),
            );
            return Err(all.err().unwrap_or_else(no_host));
        }
    };

    let (template, url_origin) = match url {
        Some((spec, origin)) => (spec, Some(origin)),
        None => (ConnSpec::empty(), None),
    };
    Ok(Resolved {
        which,
        same_as_app: plan.same_as_app,
        host,
        port,
        user,
        password,
        dbname,
        schema,
        sslmode,
        sslrootcert,
        secret: secret.map(|s| SecretRef {
            id: plan
                .secret_id
                .as_ref()
                .map_or_else(|| s.arn.clone(), |id| id.value.clone()),
            arn: s.arn.clone(),
            version_id: s.version_id.clone(),
            stage: s.stage.clone(),
        }),
        iam: plan.iam.clone(),
        iam_token: false,
        region: plan.region.clone(),
        template,
        url_origin,
    })
}

impl Resolved {
    /// What the driver connects with: the resolved parts, plus the
    /// settings only a URL carries.
    pub fn spec(&self) -> ConnSpec {
        ConnSpec {
            host: self.host.value.clone(),
            port: self.port.value,
            user: self.user.value.clone(),
            password: self.password.as_ref().map(|p| p.value.clone()),
            dbname: self.dbname.value.clone(),
            schema: self.schema.value.clone(),
            sslmode: self.sslmode.value,
            sslrootcert: self.sslrootcert.as_ref().map(|c| c.value.clone()),
            iam_token: self.iam_token,
            ..self.template.clone()
        }
    }

    /// URL parameters that were not understood (warned about, never fatal).
    pub fn unknown_params(&self) -> &[String] {
        &self.template.unknown_params
    }

    /// The URL with the password as `****`.
    pub fn redacted(&self) -> String {
        self.spec().redacted()
    }

    /// The region an IAM token is signed for: the plan's, else the one in an
    /// `*.rds.amazonaws.com` host. Never a silent default.
    pub fn iam_region(&self) -> Option<Sourced<String>> {
        self.region.clone().or_else(|| {
            rds_host_region(&self.host.value)
                .map(|r| Sourced::new(r.to_string(), Origin::Iam("region of the RDS host name")))
        })
    }

    /// Replaces the password with an IAM token and raises TLS to `require`.
    pub fn use_iam_token(&mut self, token: Secret) {
        self.password = Some(Sourced::new(token, Origin::Iam("fresh auth token")));
        self.iam_token = true;
        if matches!(
            self.sslmode.value,
            SslMode::Disable | SslMode::Allow | SslMode::Prefer
        ) {
            self.sslmode = Sourced::new(
                SslMode::Require,
                Origin::Iam("IAM authentication requires TLS"),
            );
        }
    }

    /// Migrations need a session of their own (the lock, `SET`s, DDL):
    /// through PgBouncer in transaction mode or RDS Proxy they would
    /// silently lose it.
    pub fn refuse_pooler(&self) -> Result<()> {
        super::refuse_pooler(&self.spec(), &self.host.origin)
    }

    /// Every part is fit to send: no control characters, identifiers of at
    /// most 63 bytes, a schema that is not PostgreSQL's own. Every problem
    /// at once; a part that is still a placeholder is left to
    /// [`Resolved::check_placeholders`].
    pub fn check_parts(&self) -> Result<()> {
        Error::all(&self.label(), self.part_problems())
    }

    /// "the app connection", for messages.
    fn label(&self) -> String {
        format!("the {} connection", self.which.label())
    }

    fn part_problems(&self) -> Vec<Error> {
        let name = self.which.label();
        let part =
            |what: &str, origin: &Origin| format!("the {name} connection's {what} (from {origin})");
        let typed = |v: &str| Placeholder::find(v).is_none();
        let mut problems = Vec::new();
        let mut check = |result: Result<()>| {
            if let Err(e) = result {
                problems.push(e);
            }
        };
        if typed(&self.host.value) {
            check(checks::host(
                &part("host", &self.host.origin),
                &self.host.value,
            ));
        }
        if typed(&self.user.value) {
            check(checks::identifier(
                &part("user", &self.user.origin),
                &self.user.value,
            ));
        }
        if let Some(password) = &self.password {
            check(checks::no_control_characters(
                &part("password", &password.origin),
                password.value.expose(),
            ));
        }
        if typed(&self.dbname.value) {
            check(checks::identifier(
                &part("database", &self.dbname.origin),
                &self.dbname.value,
            ));
        }
        check(checks::managed_schema(
            &part("schema", &self.schema.origin),
            &self.schema.value,
        ));
        if let Some(cert) = &self.sslrootcert {
            check(checks::no_control_characters(
                &part("sslrootcert", &cert.origin),
                &cert.value.to_string_lossy(),
            ));
        }
        if let Some(app) = &self.template.application_name {
            let origin = self.url_origin.clone().unwrap_or(Origin::Default("none"));
            check(checks::no_control_characters(
                &part("application_name", &origin),
                app,
            ));
        }
        if let Some(region) = &self.region {
            check(checks::region(
                &part("AWS region", &region.origin),
                &region.value,
            ));
        }
        problems
    }

    /// Every problem at once, before an IAM token is signed: the parts
    /// ([`Resolved::check_parts`]) and the placeholders, except in the
    /// password when IAM is to replace it.
    /// `first` (the failure to read the secret) goes before the others;
    /// the user and password are then not checked, since the secret was
    /// to fill them in.
    pub fn check_all(&self, first: Option<Error>) -> Result<()> {
        let skip: &[&str] = match (first.is_some(), self.iam.is_some()) {
            (true, _) => &["user", "password"],
            (false, true) => &["password"],
            (false, false) => &[],
        };
        let mut problems: Vec<Error> = first.into_iter().collect();
        problems.extend(self.placeholder_problems(skip));
        problems.extend(self.part_problems());
        Error::all(&self.label(), problems)
    }

    /// A placeholder that survived resolution is an error naming the
    /// variable that should have replaced it; all of them at once (one
    /// problem per kind of placeholder, naming every part that holds it).
    pub fn check_placeholders(&self) -> Result<()> {
        Error::all(&self.label(), self.placeholder_problems(&[]))
    }

    /// The placeholder problems of every part but those in `skip`.
    fn placeholder_problems(&self, skip: &[&str]) -> Vec<Error> {
        let parts = [
            ("user", Some(self.user.value.as_str())),
            ("password", self.password.as_ref().map(|p| p.value.expose())),
            ("host", Some(self.host.value.as_str())),
            ("database", Some(self.dbname.value.as_str())),
            (
                "sslrootcert",
                self.sslrootcert.as_ref().and_then(|c| c.value.to_str()),
            ),
        ];
        let found: Vec<(&str, Placeholder)> = parts
            .iter()
            .filter(|(part, _)| !skip.contains(part))
            .filter_map(|(part, v)| v.and_then(Placeholder::find).map(|p| (*part, p)))
            .collect();
        let source = self
            .url_origin
            .as_ref()
            .map_or_else(|| "the configuration".to_string(), ToString::to_string);
        let secret_var = match self.which {
            Which::App => vars::DB_SECRET_ARN,
            Which::Migration => "MIGRATION_SECRET_ARN (or DB_SECRET_ARN)",
        };
        let mut problems = Vec::new();
        for placeholder in [
            Placeholder::Angle,
            Placeholder::ReplacedBySecret,
            Placeholder::AwsIamToken,
        ] {
            let names: Vec<&str> = found
                .iter()
                .filter(|(_, p)| *p == placeholder)
                .map(|(part, _)| *part)
                .collect();
            if names.is_empty() {
                continue;
            }
            let hint = match placeholder {
                Placeholder::ReplacedBySecret => format!(
                    "set {secret_var} to the secret's ARN: the URL is then a template and the \
                     secret supplies user and password"
                ),
                Placeholder::AwsIamToken => "set DB_IAM_AUTH=true (or pass --iam): the \
                     password is then a fresh RDS IAM auth token"
                    .to_string(),
                Placeholder::Angle => "replace the <...> placeholder with the real value \
                     (the endpoint, user or database it stands for)"
                    .to_string(),
            };
            let (parts, verb) = match names.as_slice() {
                [one] => (one.to_string(), "is"),
                [init @ .., last] => (format!("{} and {last}", init.join(", ")), "are"),
                [] => continue,
            };
            problems.push(Error::new(
                Code::ConfigPlaceholder,
                format!(
                    "the {} connection's {parts} {verb} still the placeholder {} (from {source})",
                    self.which.label(),
                    placeholder.shown()
                ),
                hint,
            ));
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConnFlags, DotEnv, dotenv::DotEnvValue};

    fn sources(flags: ConnFlags, env: &[(&str, &str)], file: &[(&str, &str)]) -> Sources {
        Sources {
            flags,
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

    fn secret(json: &str) -> DbSecret {
        DbSecret::parse(
            json,
            "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbC",
            "v7",
            "AWSCURRENT",
        )
        .unwrap()
    }

    const ARN: &str = "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbC";

    /// Flag, environment, env file, expected user, expected origin.
    type Case<'a> = (
        Option<&'a str>,
        &'a [(&'a str, &'a str)],
        &'a [(&'a str, &'a str)],
        &'a str,
        &'a str,
    );

    #[test]
    fn migration_url_precedence_matrix() {
        const F: &str = "postgresql://flag@h/d";
        const E_DIRECT: &str = "postgresql://env_direct:pw@h/d";
        const E_APP: &str = "postgresql://env_app:pw@h/d";
        const D_DIRECT: &str = "postgresql://file_direct:pw@h/d";
        const D_APP: &str = "postgresql://file_app:pw@h/d";
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
            let flags = ConnFlags {
                database_url: flag.map(String::from),
                ..Default::default()
            };
            let plan = plan(&sources(flags, env, file), Which::Migration).unwrap();
            let r = resolve(&plan, None).unwrap();
            assert_eq!(
                (r.spec().user.as_str(), r.user.origin.to_string().as_str()),
                (*user, *origin)
            );
        }
    }

    #[test]
    fn nothing_configured_names_every_way_out() {
        let err = plan(&sources(ConnFlags::default(), &[], &[]), Which::Migration).unwrap_err();
        assert_eq!(err.code, Code::ConfigMissing);
        assert_eq!(err.exit(), crate::error::Exit::Usage);
        for way in [
            "--database-url",
            "DIRECT_URL",
            "DATABASE_URL",
            ".env",
            "DB_SECRET_ARN",
            "migrate dev",
        ] {
            assert!(err.hint.contains(way), "{way}");
        }
    }

    #[test]
    fn a_url_plus_a_secret_is_a_template() {
        let s = sources(
            ConnFlags::default(),
            &[
                (
                    "DATABASE_URL",
                    "postgresql://REPLACED_BY_SECRET:REPLACED_BY_SECRET@proxy.example:5432/impulse?schema=app",
                ),
                ("DB_SECRET_ARN", ARN),
            ],
            &[],
        );
        let plan = plan(&s, Which::App).unwrap();
        assert_eq!(
            plan.region,
            Some(Sourced::new(
                "eu-west-1".into(),
                Origin::Env("DB_SECRET_ARN")
            ))
        );
        let r = resolve(
            &plan,
            Some(&secret(
                r#"{"username":"impulse_app","password":"s3","host":"elsewhere"}"#,
            )),
        )
        .unwrap();
        assert_eq!(r.spec().host, "proxy.example");
        assert_eq!(r.spec().user, "impulse_app");
        assert_eq!(r.spec().password.as_ref().unwrap().expose(), "s3");
        assert_eq!(r.spec().schema, "app");
        assert_eq!(r.host.origin.to_string(), "DATABASE_URL (environment)");
        assert_eq!(
            r.user.origin.to_string(),
            format!("secret {ARN} version v7 (AWSCURRENT)")
        );
        r.check_placeholders().unwrap();
    }

    #[test]
    fn a_secret_alone_gives_the_endpoint() {
        let s = sources(
            ConnFlags::default(),
            &[("DB_SECRET_ARN", ARN), ("DB_SSLMODE", "verify-full")],
            &[],
        );
        let plan = plan(&s, Which::App).unwrap();
        let r = resolve(
            &plan,
            Some(&secret(
                r#"{"username":"u","password":"p","host":"db","port":"6543"}"#,
            )),
        )
        .unwrap();
        assert_eq!(
            (
                r.spec().host.as_str(),
                r.spec().port,
                r.spec().dbname.as_str()
            ),
            ("db", 6543, "postgres")
        );
        assert_eq!(r.spec().sslmode, SslMode::VerifyFull);
        assert_eq!(r.sslmode.origin, Origin::Env("DB_SSLMODE"));
    }

    #[test]
    fn rds_managed_secret_without_url_names_the_missing_host() {
        let s = sources(ConnFlags::default(), &[("DB_SECRET_ARN", ARN)], &[]);
        let plan = plan(&s, Which::App).unwrap();
        let err = resolve(
            &plan,
            Some(&secret(r#"{"username":"postgres","password":"p"}"#)),
        )
        .unwrap_err();
        assert_eq!(
            (err.code, err.exit()),
            (Code::ConfigMissingHost, crate::error::Exit::Usage)
        );
        assert!(
            err.message.contains("no host") && err.message.contains(ARN),
            "{}",
            err.message
        );
        // --host fills it.
        let flags = ConnFlags {
            host: Some("db.internal".into()),
            ..Default::default()
        };
        let s = sources(flags, &[("DB_SECRET_ARN", ARN)], &[]);
        let r = resolve(
            &plan_for(&s),
            Some(&secret(r#"{"username":"postgres","password":"p"}"#)),
        )
        .unwrap();
        assert_eq!(r.spec().host, "db.internal");
        assert_eq!(r.host.origin, Origin::Flag("--host"));
    }

    fn plan_for(s: &Sources) -> Plan {
        plan(s, Which::App).unwrap()
    }

    #[test]
    fn migration_falls_back_to_the_app_connection() {
        let s = sources(
            ConnFlags::default(),
            &[
                ("DATABASE_URL", "postgresql://a:p@h/d"),
                ("DB_SECRET_ARN", ARN),
            ],
            &[],
        );
        let p = plan(&s, Which::Migration).unwrap();
        assert!(p.same_as_app);
        assert_eq!(p.secret_id.unwrap().origin, Origin::Env("DB_SECRET_ARN"));

        // Its own secret and URL win.
        let s = sources(
            ConnFlags::default(),
            &[
                ("DATABASE_URL", "postgresql://a:p@proxy/d"),
                ("DB_SECRET_ARN", ARN),
                ("DIRECT_URL", "postgresql://m:p@direct/d"),
                ("MIGRATION_SECRET_ARN", "migration-secret"),
            ],
            &[],
        );
        let p = plan(&s, Which::Migration).unwrap();
        assert!(!p.same_as_app);
        assert_eq!(p.url.unwrap().value, "postgresql://m:p@direct/d");
        assert_eq!(p.secret_id.unwrap().value, "migration-secret");

        // A DIRECT_URL template borrows the app's secret; one with its own password does not.
        let s = sources(
            ConnFlags::default(),
            &[
                ("DB_SECRET_ARN", ARN),
                ("DIRECT_URL", "postgresql://REPLACED_BY_SECRET@direct/d"),
            ],
            &[],
        );
        assert_eq!(
            plan(&s, Which::Migration).unwrap().secret_id.unwrap().value,
            ARN
        );
        let s = sources(
            ConnFlags::default(),
            &[
                ("DB_SECRET_ARN", ARN),
                ("DIRECT_URL", "postgresql://master:pw@direct/d"),
            ],
            &[],
        );
        assert!(plan(&s, Which::Migration).unwrap().secret_id.is_none());
    }

    #[test]
    fn placeholders_name_the_variable_that_should_fill_them() {
        let cases = [
            (
                "postgresql://REPLACED_BY_SECRET:REPLACED_BY_SECRET@h/d",
                "REPLACED_BY_SECRET",
                "DB_SECRET_ARN",
            ),
            (
                "postgresql://impulse_app:AWS_IAM_TOKEN@h/d",
                "AWS_IAM_TOKEN",
                "DB_IAM_AUTH=true",
            ),
            (
                "postgresql://impulse_app:%3Cpassword%3E@h/d",
                "<...>",
                "<...>",
            ),
            (
                "postgresql://u:p@<RDS_PROXY_ENDPOINT>:5432/d",
                "<...>",
                "<...>",
            ),
            (
                "postgresql://u:p@%3Cyour-proxy-endpoint%3E/d",
                "<...>",
                "<...>",
            ),
        ];
        for (url, shown, hint) in cases {
            let s = sources(ConnFlags::default(), &[("DATABASE_URL", url)], &[]);
            let err = resolve(&plan(&s, Which::App).unwrap(), None)
                .and_then(|r| r.check_placeholders())
                .unwrap_err();
            assert_eq!(err.code, Code::ConfigPlaceholder, "{url}");
            assert!(err.message.contains(shown), "{}", err.message);
            assert!(
                err.message.contains("DATABASE_URL (environment)"),
                "{}",
                err.message
            );
            assert!(err.hint.contains(hint), "{}", err.hint);
        }
    }

    #[test]
    fn typed_placeholders_count_only_when_nothing_fills_them() {
        let template = "postgresql://REPLACED_BY_SECRET:REPLACED_BY_SECRET@h/d";
        let unfilled = sources(ConnFlags::default(), &[("DATABASE_URL", template)], &[]);
        let err = plan(&unfilled, Which::App)
            .unwrap()
            .check_typed_placeholders()
            .unwrap_err();
        assert_eq!(err.code, Code::ConfigPlaceholder);
        let filled = sources(
            ConnFlags::default(),
            &[("DATABASE_URL", template), ("DB_SECRET_ARN", ARN)],
            &[],
        );
        plan(&filled, Which::App)
            .unwrap()
            .check_typed_placeholders()
            .unwrap();
        let iam = sources(
            ConnFlags::default(),
            &[
                ("DATABASE_URL", "postgresql://u:AWS_IAM_TOKEN@h/d"),
                ("DB_IAM_AUTH", "true"),
            ],
            &[],
        );
        plan(&iam, Which::App)
            .unwrap()
            .check_typed_placeholders()
            .unwrap();
        // A placeholder host is never filled by anything.
        let host = sources(
            ConnFlags::default(),
            &[
                ("DATABASE_URL", "postgresql://u@REPLACED_BY_SECRET/d"),
                ("DB_SECRET_ARN", ARN),
            ],
            &[],
        );
        assert!(
            plan(&host, Which::App)
                .unwrap()
                .check_typed_placeholders()
                .is_err()
        );
    }

    #[test]
    fn iam_replaces_the_password_and_requires_tls() {
        let s = sources(
            ConnFlags::default(),
            &[
                (
                    "DATABASE_URL",
                    "postgresql://impulse_app:AWS_IAM_TOKEN@db.abc.us-west-2.rds.amazonaws.com/impulse",
                ),
                ("DB_IAM_AUTH", "true"),
            ],
            &[],
        );
        let p = plan(&s, Which::App).unwrap();
        assert_eq!(p.iam, Some(Origin::Env("DB_IAM_AUTH")));
        let mut r = resolve(&p, None).unwrap();
        let Sourced {
            value: region,
            origin,
        } = r.iam_region().unwrap();
        assert_eq!(region, "us-west-2");
        assert!(matches!(origin, Origin::Iam(_)));
        r.use_iam_token(Secret::new("token"));
        assert_eq!(r.spec().sslmode, SslMode::Require);
        r.check_placeholders().unwrap();
        // An explicit --region wins over the host's.
        let flags = ConnFlags {
            region: Some("eu-central-1".into()),
            ..Default::default()
        };
        let s = sources(
            flags,
            &[
                (
                    "DATABASE_URL",
                    "postgresql://u@db.abc.us-west-2.rds.amazonaws.com/d",
                ),
                ("DB_IAM_AUTH", "1"),
            ],
            &[],
        );
        assert_eq!(
            resolve(&plan(&s, Which::App).unwrap(), None)
                .unwrap()
                .iam_region()
                .unwrap()
                .value,
            "eu-central-1"
        );
        // No region anywhere for a host that is not RDS's: none, not us-east-1.
        let s = sources(
            ConnFlags::default(),
            &[
                ("DATABASE_URL", "postgresql://u@db.internal/d"),
                ("DB_IAM_AUTH", "yes"),
            ],
            &[],
        );
        assert!(
            resolve(&plan(&s, Which::App).unwrap(), None)
                .unwrap()
                .iam_region()
                .is_none()
        );
    }

    #[test]
    fn debug_output_never_shows_a_password() {
        let flags = ConnFlags {
            database_url: Some("postgresql://u:FlagPassw0rd@h/d".into()),
            ..Default::default()
        };
        let s = sources(
            flags,
            &[
                ("DATABASE_URL", "postgresql://u:EnvPassw0rd@h/d"),
                ("DB_SECRET_ARN", ARN),
            ],
            &[("DIRECT_URL", "postgresql://u:FilePassw0rd@h/d")],
        );
        let plan = plan(&s, Which::Migration).unwrap();
        let resolved = resolve(
            &plan,
            Some(&secret(r#"{"username":"u","password":"SecretPassw0rd"}"#)),
        )
        .unwrap();
        let shown = format!("{s:?} {plan:?} {resolved:?}");
        for password in [
            "FlagPassw0rd",
            "EnvPassw0rd",
            "FilePassw0rd",
            "SecretPassw0rd",
        ] {
            assert!(!shown.contains(password), "{password} in {shown}");
        }
        assert!(shown.contains("DATABASE_URL") && shown.contains("u:****@h"));
    }

    #[test]
    fn regions_from_arns_and_hosts() {
        assert_eq!(arn_region(ARN), Some("eu-west-1"));
        assert_eq!(arn_region("my-secret"), None);
        assert_eq!(
            rds_host_region("impulse.proxy-abc.ap-southeast-2.rds.amazonaws.com"),
            Some("ap-southeast-2")
        );
        assert_eq!(rds_host_region("db.example.com"), None);
    }

    #[test]
    fn region_precedence() {
        let flags = ConnFlags {
            region: Some("r-flag".into()),
            ..Default::default()
        };
        let env = [("DB_SECRET_ARN", ARN), ("AWS_REGION", "r-env")];
        assert_eq!(
            plan(&sources(flags, &env, &[]), Which::App)
                .unwrap()
                .region
                .unwrap()
                .value,
            "r-flag"
        );
        assert_eq!(
            plan(&sources(ConnFlags::default(), &env, &[]), Which::App)
                .unwrap()
                .region
                .unwrap()
                .value,
            "eu-west-1"
        );
        let env = [
            ("DB_SECRET_ARN", "name-only"),
            ("AWS_DEFAULT_REGION", "r-default"),
        ];
        assert_eq!(
            plan(
                &sources(ConnFlags::default(), &env, &[("AWS_REGION", "r-file")]),
                Which::App
            )
            .unwrap()
            .region
            .unwrap(),
            Sourced::new(
                "r-file".to_string(),
                Origin::DotEnv {
                    var: "AWS_REGION",
                    path: PathBuf::from(".env"),
                    line: Some(1)
                }
            )
        );
    }
}
