//! PostgreSQL connection URLs as Prisma writes them.
//!
//! One `DATABASE_URL` must serve the Lambda's Prisma Client and this runner,
//! so the parser understands Prisma's parameters (`schema`, `sslmode`,
//! `sslaccept`, `pgbouncer`, ...) and libpq's `sslmode` values. It is strict
//! where a lax parser would hide the cause of `password authentication
//! failed`: a password with raw reserved characters is reported rather than
//! guessed at, and the value of the password never appears in a message.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::error::{Code, Error, Result};
use crate::secret::Secret;

/// libpq's `sslmode`, which Prisma shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Parameters Prisma documents for PostgreSQL that this runner accepts but
/// has no use for (it holds a single connection, without a pool).
const IGNORED_PRISMA_PARAMS: &[&str] = &[
    "connection_limit",
    "pool_timeout",
    "socket_timeout",
    "statement_cache_size",
    "max_connection_lifetime",
    "max_idle_connection_lifetime",
];

/// A parsed connection URL: what to connect to, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnSpec {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret>,
    pub dbname: String,
    /// Prisma's `schema` parameter: the search path and the schema managed.
    pub schema: String,
    pub sslmode: SslMode,
    /// Whether `sslmode` and `schema` were in the URL (not defaults), so that
    /// `DB_SSLMODE` fills in only what the URL leaves unset.
    pub sslmode_from_url: bool,
    pub schema_from_url: bool,
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Option<Duration>,
    pub application_name: Option<String>,
    /// `pgbouncer=true`: the URL points at a transaction pooler.
    pub pgbouncer: bool,
    /// Parameters that were not understood (warned about, never fatal).
    pub unknown_params: Vec<String>,
    /// The password is an RDS IAM auth token (set by resolution, never by
    /// a URL): a refused password is then a refused token.
    pub iam_token: bool,
}

impl ConnSpec {
    /// A spec with nothing in it but defaults, to be filled from a secret
    /// and flags.
    pub fn empty() -> Self {
        Self {
            host: String::new(),
            port: 5432,
            user: String::new(),
            password: None,
            dbname: String::new(),
            schema: "public".into(),
            sslmode: SslMode::Prefer,
            sslmode_from_url: false,
            schema_from_url: false,
            sslrootcert: None,
            connect_timeout: None,
            application_name: None,
            pgbouncer: false,
            unknown_params: Vec::new(),
            iam_token: false,
        }
    }

    /// Parses a URL. `var` names where it came from, for messages.
    pub fn parse(raw: &str, var: &str) -> Result<Self> {
        let raw = raw.trim();
        let invalid = |what: &str| {
            Error::new(
                Code::ConfigInvalidUrl,
                format!("{var} is not a valid PostgreSQL URL: {what}"),
                "use the form postgresql://USER:PASSWORD@HOST:PORT/DATABASE?schema=public \
                 with the password percent-encoded",
            )
        };
        let Some((scheme, rest)) = raw.split_once("://") else {
            return Err(invalid("it does not start with postgresql://"));
        };
        if scheme != "postgresql" && scheme != "postgres" {
            // Quoted only when it has a scheme's shape: what precedes a
            // `://` could be a whole user and password.
            let shaped = scheme.len() <= 20
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            return Err(invalid(&if shaped {
                format!("the scheme is `{scheme}`, expected `postgresql`")
            } else {
                "it does not start with postgresql://".to_string()
            }));
        }
        // `<RDS_PROXY_ENDPOINT>` and the like are not URL syntax at all:
        // each stands in for a part while the URL is parsed, and is put
        // back in that part, so that resolution reports every placeholder
        // (and every other problem) at once, naming the part.
        let angle = Error::new(
            Code::ConfigPlaceholder,
            format!("{var} still holds a <...> placeholder"),
            "replace every <...> in the URL with the real value (endpoint, user, database)",
        );
        let Some((rest, placeholders)) = stand_ins(rest) else {
            return Err(angle);
        };
        let rest = rest.as_str();
        let restore = |part: String| restored(part, &placeholders);
        if password_has_raw_reserved_chars(rest) {
            return Err(Error::new(
                Code::ConfigUnencodedPassword,
                format!(
                    "the password in {var} contains reserved URL characters that are not \
                     percent-encoded (one of @ / ? # [ ] % or a space)"
                ),
                "percent-encode the password (@ as %40, / as %2F, # as %23, ? as %3F, % as %25, \
                 space as %20) as Prisma also requires, or keep it in Secrets Manager \
                 (DB_SECRET_ARN) and let the URL be built for you",
            ));
        }
        // Parse with the scheme the `url` crate knows nothing special about;
        // both spellings mean the same thing.
        let url = match Url::parse(&format!("postgresql://{rest}")) {
            Ok(url) => url,
            // A placeholder where no stand-in fits (the port): name it.
            Err(_) if !placeholders.is_empty() => return Err(angle),
            Err(e) => return Err(invalid(&e.to_string())),
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(addr)) => addr.to_string(),
            Some(host) => host.to_string(),
            None => return Err(invalid("it has no host")),
        };
        if host.is_empty() {
            return Err(invalid("it has no host"));
        }
        let port = url.port().unwrap_or(5432);
        let user = decode(url.username()).map_err(|_| invalid("the user name is not UTF-8"))?;
        if user.is_empty() {
            return Err(invalid("it has no user name"));
        }
        let password = match url.password() {
            Some(p) => Some(Secret::new(decode(p).map_err(|_| {
                Error::new(
                    Code::ConfigUnencodedPassword,
                    format!("the password in {var} does not decode to UTF-8"),
                    "percent-encode the password's bytes as UTF-8",
                )
            })?)),
            None => None,
        };
        let dbname = decode(url.path().trim_start_matches('/'))
            .map_err(|_| invalid("the database name is not UTF-8"))?;
        if dbname.is_empty() {
            return Err(invalid("it names no database (…/DATABASE)"));
        }
        if dbname.contains('/') {
            return Err(invalid("the database name contains `/`"));
        }

        let mut spec = Self {
            host: restore(host),
            port,
            user: restore(user),
            password: password.map(|p| Secret::new(restore(p.expose().to_string()))),
            dbname: restore(dbname),
            ..Self::empty()
        };
        let mut sslaccept: Option<String> = None;
        for (key, value) in url.query_pairs() {
            let value = value.into_owned();
            match key.as_ref() {
                "schema" => {
                    if value.is_empty() {
                        return Err(invalid("`schema` is empty"));
                    }
                    spec.schema = value;
                    spec.schema_from_url = true;
                }
                "sslmode" => {
                    spec.sslmode_from_url = true;
                    spec.sslmode = SslMode::parse(&value).ok_or_else(|| {
                        Error::new(
                            Code::ConfigInvalidUrl,
                            format!("{var} has an sslmode that is not a TLS mode"),
                            "use one of disable, prefer, require, verify-ca, verify-full",
                        )
                    })?;
                }
                "sslrootcert" => spec.sslrootcert = Some(PathBuf::from(restore(value))),
                "sslaccept" => sslaccept = Some(value),
                "connect_timeout" => {
                    let max = crate::cli::MAX_CONNECT_TIMEOUT;
                    let secs: u64 = value.parse().ok().filter(|secs| *secs <= max).ok_or_else(
                        || {
                            invalid(&format!(
                                "connect_timeout must be a whole number of seconds from 0 to {max}"
                            ))
                        },
                    )?;
                    // As in Prisma and libpq, 0 means no limit of its own
                    // (the tool's default then applies).
                    spec.connect_timeout = (secs > 0).then(|| Duration::from_secs(secs));
                }
                "application_name" => spec.application_name = Some(value),
                "pgbouncer" => spec.pgbouncer = value == "true",
                k if IGNORED_PRISMA_PARAMS.contains(&k) => {}
                other => spec.unknown_params.push(other.to_string()),
            }
        }
        // Prisma's sslaccept: `strict` verifies the certificate,
        // `accept_invalid_certs` does not; it only matters when TLS is on.
        match sslaccept.as_deref() {
            Some("strict") if matches!(spec.sslmode, SslMode::Require | SslMode::Prefer) => {
                spec.sslmode = SslMode::VerifyFull;
                spec.sslmode_from_url = true;
            }
            Some("accept_invalid_certs") if spec.sslmode == SslMode::VerifyFull => {
                spec.sslmode = SslMode::Require;
                spec.sslmode_from_url = true;
            }
            Some("strict" | "accept_invalid_certs") | None => {}
            Some(_) => {
                return Err(Error::new(
                    Code::ConfigInvalidUrl,
                    format!("{var} has an sslaccept that Prisma does not know"),
                    "use sslaccept=strict or sslaccept=accept_invalid_certs",
                ));
            }
        }
        Ok(spec)
    }

    /// True when this URL reaches the database through a transaction pooler
    /// (PgBouncer or RDS Proxy), where session state such as advisory locks
    /// does not survive between statements.
    pub fn is_pooler(&self) -> bool {
        self.pgbouncer || is_rds_proxy_host(&self.host)
    }

    /// TLS without verifying the server's certificate, to a host that is
    /// not this machine: an on-path attacker can then pose as the database
    /// and ask for the password in clear text.
    pub fn unverified_remote_tls(&self) -> bool {
        !matches!(self.sslmode, SslMode::VerifyCa | SslMode::VerifyFull)
            && !is_local_host(&self.host)
    }

    /// The URL with the password shown as `****`.
    pub fn redacted(&self) -> String {
        self.to_string()
    }

    /// The URL with the real password, for handing to other programs
    /// (`migrate dev` prints it for the local cluster it owns).
    pub fn to_url_with_password(&self) -> String {
        self.build(
            self.password
                .as_ref()
                .map(|p| fully_encoded(p.expose()))
                .as_deref(),
        )
    }

    /// The URL with `password` as the userinfo's password, as it is
    /// (already percent-encoded, or `****`).
    fn build(&self, password: Option<&str>) -> String {
        // Start from a host-less URL so that `url` does the percent-encoding
        // of every part; never format the parts in by hand.
        let mut url = Url::parse("postgresql://placeholder/").expect("static URL parses");
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        // A host the URL crate refuses (a `<...>` placeholder, shown as
        // typed) stands in by a name it takes, put back afterwards.
        let refused_host = url.set_host(Some(&host)).is_err();
        if refused_host {
            let _ = url.set_host(Some(&stand_in(0)));
        }
        let _ = url.set_port((self.port != 5432).then_some(self.port));
        // `url` leaves a `%` as it is (it takes it for an escape already
        // made): the user and password are encoded completely first.
        let _ = url.set_username(&fully_encoded(&self.user));
        let _ = url.set_password(password);
        // Encoded completely too: a raw `@` in the path would read back as
        // part of a password that breaks the URL.
        url.set_path(&format!("/{}", fully_encoded(&self.dbname)));
        {
            let mut q = url.query_pairs_mut();
            if self.schema != "public" {
                q.append_pair("schema", &self.schema);
            }
            if self.sslmode != SslMode::Prefer {
                q.append_pair("sslmode", self.sslmode.as_str());
            }
            if let Some(cert) = &self.sslrootcert {
                q.append_pair("sslrootcert", &cert.to_string_lossy());
            }
            if let Some(t) = self.connect_timeout {
                q.append_pair("connect_timeout", &t.as_secs().to_string());
            }
            if let Some(name) = &self.application_name {
                q.append_pair("application_name", name);
            }
            if self.pgbouncer {
                q.append_pair("pgbouncer", "true");
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let text = url.to_string();
        if refused_host {
            return text.replacen(&stand_in(0), &host, 1);
        }
        text
    }
}

impl fmt::Display for ConnSpec {
    /// The URL with the password as `****`: safe for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.build(self.password.as_ref().map(|_| "****")))
    }
}

/// A value that is a placeholder from a guide or template, not a value:
/// `REPLACED_BY_SECRET`, `AWS_IAM_TOKEN`, or `<...>`.
/// A placeholder of the guide's `.env` that must not reach the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholder {
    /// `REPLACED_BY_SECRET`: the secret fills user and password in.
    ReplacedBySecret,
    /// `AWS_IAM_TOKEN`: IAM fills the password in.
    AwsIamToken,
    /// `<RDS_PROXY_ENDPOINT>` and the like: the user should have.
    Angle,
}

impl Placeholder {
    /// The placeholder in `value`, if any.
    pub fn find(value: &str) -> Option<Self> {
        if value.contains("REPLACED_BY_SECRET") {
            Some(Self::ReplacedBySecret)
        } else if value.contains("AWS_IAM_TOKEN") {
            Some(Self::AwsIamToken)
        } else if value
            .find('<')
            .is_some_and(|open| value[open..].contains('>'))
        {
            Some(Self::Angle)
        } else {
            None
        }
    }

    /// How messages name it.
    pub fn shown(self) -> &'static str {
        match self {
            Self::ReplacedBySecret => "REPLACED_BY_SECRET",
            Self::AwsIamToken => "AWS_IAM_TOKEN",
            Self::Angle => "<...>",
        }
    }
}

/// What stands in for the `n`th `<...>` of a URL while it is parsed: a
/// lower-case word that fits in every part (the URL parser lower-cases
/// host names).
fn stand_in(n: usize) -> String {
    format!("impulse-db-placeholder-{n}x")
}

/// `text` with each `<...>` (its `<` and `>` raw or percent-encoded)
/// replaced by its [`stand_in`], and the placeholders as they read
/// decoded, in order. `None` when a `<...>` spans the URL's separators
/// (`:`, `@`, `/`, `?`, `#`): it is no part's placeholder, and standing in
/// for it would move text between parts (a password into the user name,
/// which is shown).
fn stand_ins(text: &str) -> Option<(String, Vec<String>)> {
    fn find_any(text: &str, needles: &[&str]) -> Option<(usize, usize)> {
        needles
            .iter()
            .filter_map(|n| text.find(n).map(|at| (at, n.len())))
            .min()
    }
    const OPEN: [&str; 3] = ["<", "%3C", "%3c"];
    const CLOSE: [&str; 3] = [">", "%3E", "%3e"];
    let mut out = String::with_capacity(text.len());
    let mut found = Vec::new();
    let mut rest = text;
    while let Some((open, open_len)) = find_any(rest, &OPEN) {
        let after = open + open_len;
        let Some((close, close_len)) = find_any(&rest[after..], &CLOSE) else {
            break;
        };
        let end = after + close + close_len;
        if rest[after..after + close].contains([':', '@', '/', '?', '#']) {
            return None;
        }
        out += &rest[..open];
        out += &stand_in(found.len());
        let inner = percent_encoding::percent_decode_str(&rest[after..after + close])
            .decode_utf8_lossy()
            .into_owned();
        found.push(format!("<{inner}>"));
        rest = &rest[end..];
    }
    out += rest;
    Some((out, found))
}

/// `part` with the stand-ins of `placeholders` put back.
fn restored(mut part: String, placeholders: &[String]) -> String {
    for (n, placeholder) in placeholders.iter().enumerate() {
        part = part.replace(&stand_in(n), placeholder);
    }
    part
}

/// A user, password or database name as a part of a URL: everything but
/// RFC 3986's unreserved characters percent-encoded, `%` included.
fn fully_encoded(part: &str) -> String {
    const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(part, USERINFO).to_string()
}

/// A host on this machine: `localhost` or a loopback address. Decided from
/// the name alone, before any connection: nothing else is local.
pub fn is_local_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `*.proxy-*.rds.amazonaws.com`: an RDS Proxy endpoint.
pub fn is_rds_proxy_host(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host.ends_with(".rds.amazonaws.com") && host.contains(".proxy-")
}

fn decode(s: &str) -> std::result::Result<String, std::str::Utf8Error> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
}

/// Looks at a URL as typed (after `scheme://`) and tells whether its
/// password holds characters that only mean what the user meant when
/// percent-encoded. Prisma rejects such URLs (`ERR_INVALID_URL`) or sends a
/// different password (a raw `%`), so they are reported, never repaired.
fn password_has_raw_reserved_chars(after_scheme: &str) -> bool {
    let end = after_scheme
        .find(['/', '?', '#'])
        .unwrap_or(after_scheme.len());
    let (authority, tail) = after_scheme.split_at(end);
    if authority_cut_short(tail) {
        return true;
    }
    let Some(at) = authority.rfind('@') else {
        return false;
    };
    let Some((_, password)) = authority[..at].split_once(':') else {
        return false;
    };
    let bytes = password.as_bytes();
    bytes.iter().enumerate().any(|(i, b)| match b {
        b'@' | b'[' | b']' | b' ' => true,
        b'%' => {
            !(bytes.len() > i + 2
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit())
        }
        _ => false,
    })
}

/// Did a `/`, `?` or `#` inside the password end the authority early?
/// `tail` starts at that character. `user:pa/ss@host/db` leaves an `@` in
/// the path; `user:pa?ss@host/db` leaves `@host/db` in the query. An `@` in
/// a real query value (`application_name=a@b`) is not followed by a host and
/// a `/`.
fn authority_cut_short(tail: &str) -> bool {
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    if tail.starts_with('/') && tail[..path_end].contains('@') {
        return true;
    }
    let Some(at) = tail.rfind('@') else {
        return false;
    };
    let rest = &tail[at + 1..];
    match rest.find('/') {
        Some(slash) => {
            let host = &rest[..slash];
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-_:[]".contains(c))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ConnSpec> {
        ConnSpec::parse(s, "DATABASE_URL")
    }

    #[test]
    fn parses_a_prisma_url() {
        let spec = parse(
            "postgresql://impulse_app:s%40f%2Fe@db.example.com:6432/impulse?schema=app&sslmode=verify-full&sslrootcert=/ca.pem&connect_timeout=7&application_name=lambda&connection_limit=1&pgbouncer=true",
        )
        .unwrap();
        assert_eq!(spec.host, "db.example.com");
        assert_eq!(spec.port, 6432);
        assert_eq!(spec.user, "impulse_app");
        assert_eq!(spec.password.as_ref().unwrap().expose(), "s@f/e");
        assert_eq!(spec.dbname, "impulse");
        assert_eq!(spec.schema, "app");
        assert_eq!(spec.sslmode, SslMode::VerifyFull);
        assert_eq!(spec.sslrootcert, Some(PathBuf::from("/ca.pem")));
        assert_eq!(spec.connect_timeout, Some(Duration::from_secs(7)));
        assert_eq!(spec.application_name.as_deref(), Some("lambda"));
        assert!(spec.pgbouncer && spec.is_pooler());
        assert!(spec.unknown_params.is_empty());
    }

    /// A `<` in one part and a `>` in another make no placeholder: standing
    /// in for the span moved the password into the user name, which
    /// `migrate url` shows.
    #[test]
    fn a_placeholder_never_spans_parts() {
        for url in [
            "postgresql://app%3Cx:pa%3Ess@host/db",
            "postgresql://app<x:pa>ss@host/db",
            "postgresql://u:p%3Cw@host/d%3Eb",
        ] {
            let e = parse(url).unwrap_err();
            assert_eq!(e.code, Code::ConfigPlaceholder, "{url}");
            assert!(
                !e.to_string().contains("pa") && !e.to_string().contains("ss"),
                "{e}"
            );
        }
        let spec = parse("postgresql://<USER>:pw@<RDS_PROXY_ENDPOINT>:5432/<DB>").unwrap();
        assert_eq!(spec.user, "<USER>");
        assert_eq!(spec.host, "<RDS_PROXY_ENDPOINT>");
    }

    #[test]
    fn connect_timeout_has_a_range() {
        let timeout = |v: &str| parse(&format!("postgres://u@h/d?connect_timeout={v}"));
        assert_eq!(timeout("0").unwrap().connect_timeout, None);
        assert_eq!(
            timeout("3600").unwrap().connect_timeout,
            Some(Duration::from_secs(3600))
        );
        for bad in ["3601", "-1", "1.5", "9223372036854775808", "abc", ""] {
            let e = timeout(bad).unwrap_err();
            assert_eq!(e.code, Code::ConfigInvalidUrl, "{bad}");
            assert!(e.message.contains("from 0 to 3600"), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn defaults() {
        let spec = parse("postgres://u@h/d").unwrap();
        assert_eq!(
            (spec.port, spec.schema.as_str(), spec.sslmode),
            (5432, "public", SslMode::Prefer)
        );
        assert!(spec.password.is_none());
        assert!(!spec.is_pooler());
    }

    #[test]
    fn raw_reserved_characters_in_the_password_are_reported_not_guessed() {
        for url in [
            "postgresql://u:Qz7@Kv9@h/d",
            "postgresql://u:Qz7/Kv9@h/d",
            "postgresql://u:Qz7#Kv9@h/d",
            "postgresql://u:Qz7?Kv9@h/d",
            "postgresql://u:Qz7%Kv9@h/d",
            "postgresql://u:Qz7 Kv9@h/d",
            "postgresql://u:Qz7[Kv9@h/d",
            "postgresql://u:Qz7@Kv9/x@h:5432/d",
            "postgresql://u:Qz7?Kv9@h/d?schema=x",
            "postgresql://u:Qz7@ss:w/rd?#[]%&+ =!$'()*,;éKv9@127.0.0.1:5432/x",
        ] {
            let err = parse(url).unwrap_err();
            assert_eq!(err.code, Code::ConfigUnencodedPassword, "{url}");
            let all = format!("{} {}", err.message, err.hint);
            assert!(!all.contains("Qz7") && !all.contains("Kv9"), "{all}");
        }
        assert!(parse("postgresql://u:p%40ss%25@h/d").is_ok());
        // A colon after the first one is unambiguous, and an `@` in a query
        // parameter is not part of the password.
        assert_eq!(
            parse("postgresql://u:a:b@h/d")
                .unwrap()
                .password
                .unwrap()
                .expose(),
            "a:b"
        );
        assert!(parse("postgresql://u:pw@h:5432/d?application_name=a@b").is_ok());
    }

    #[test]
    fn display_redacts_and_round_trips() {
        let spec =
            parse("postgresql://u:p%40ss@h:5433/d?schema=My%20Schema&sslmode=require").unwrap();
        assert_eq!(
            spec.to_string(),
            "postgresql://u:****@h:5433/d?schema=My+Schema&sslmode=require"
        );
        assert!(!format!("{spec:?}").contains("p@ss"));
        let again = parse(&spec.to_url_with_password()).unwrap();
        assert_eq!(again, spec);
    }

    /// Found by the property tests and the fuzzer: a `%` in the password
    /// (`%25`) and an `@` in the database name (`%40`) came back raw.
    #[test]
    fn every_part_reads_back_as_itself() {
        for url in [
            "postgresql://u:Sx%25a0@h/d",
            "postgresql://u:p%75ss@db.example./imcp%40ssz",
            "postgresql://u%40x:p%2F%3F%23@h/d%40b%20c",
        ] {
            let spec = parse(url).unwrap();
            assert_eq!(parse(&spec.to_url_with_password()).unwrap(), spec, "{url}");
        }
    }

    #[test]
    fn unknown_parameters_are_collected() {
        let spec = parse("postgresql://u@h/d?foo=1&schema=x&bar").unwrap();
        assert_eq!(spec.unknown_params, vec!["foo", "bar"]);
    }

    #[test]
    fn rds_proxy_hosts() {
        assert!(is_rds_proxy_host(
            "impulse.proxy-abc123.us-east-1.rds.amazonaws.com"
        ));
        assert!(!is_rds_proxy_host(
            "impulse.cluster-abc123.us-east-1.rds.amazonaws.com"
        ));
    }

    #[test]
    fn sslaccept_follows_prisma() {
        let s = parse("postgresql://u@h/d?sslmode=require&sslaccept=strict").unwrap();
        assert_eq!(s.sslmode, SslMode::VerifyFull);
        let s = parse("postgresql://u@h/d?sslmode=require&sslaccept=accept_invalid_certs").unwrap();
        assert_eq!(s.sslmode, SslMode::Require);
    }

    #[test]
    fn invalid_urls() {
        for url in [
            "mysql://u@h/d",
            "postgresql://u@h/",
            "postgresql://h/d",
            "nope",
        ] {
            assert_eq!(
                parse(url).unwrap_err().code,
                Code::ConfigInvalidUrl,
                "{url}"
            );
        }
        assert_eq!(
            parse("postgresql://u@h/d?sslmode=on").unwrap_err().code,
            Code::ConfigInvalidUrl
        );
    }
}
