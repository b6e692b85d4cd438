//! The flag groups several commands share. Each command flattens the
//! groups it uses, so that it accepts, and its `--help` lists, only those:
//! `migrate new x --iam` is a usage error, not a flag silently ignored.
//!
//! | group | flags | commands |
//! |---|---|---|
//! | [`GlobalArgs`] | `--format`, `-q`, `-v` | all (before or after the command) |
//! | [`ConnArgs`] | `--database-url`, `--secret-id`, ... `--region` | the ones that resolve a connection |
//! | [`EnvArgs`] | `--env-file`, `--no-dotenv` | the same |
//! | [`ConnectTimeout`] | `--connect-timeout` | every command that connects (the local cluster too) |
//! | [`LockTimeout`] | `--lock-timeout` | every command that waits for a lock or reads the history |
//!
//! No flag reads the environment through clap: resolution (`config`) does
//! that, so it can tell where each value came from and so `--help` can
//! never print a password from `DATABASE_URL`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

/// Flags every command takes, before or after its name.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Output format of the result on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Print only errors and results.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more about what happens, the AWS SDK's own log included (twice: the database driver too).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// The connection flags: above every other source of a connection's parts.
#[derive(Clone, Default, Args)]
pub struct ConnArgs {
    /// Database URL, above DIRECT_URL and DATABASE_URL (a template when a secret is set).
    #[arg(long, value_name = "URL", help_heading = "Connection")]
    pub database_url: Option<String>,

    /// Secrets Manager secret (ARN or name), above DB_SECRET_ARN and MIGRATION_SECRET_ARN.
    #[arg(long, value_name = "ID", help_heading = "Connection")]
    pub secret_id: Option<String>,

    /// Version stage of the secret to read [default: AWSCURRENT].
    #[arg(long, value_name = "STAGE", help_heading = "Connection")]
    pub secret_stage: Option<String>,

    /// Use a fresh RDS IAM auth token as the password (like DB_IAM_AUTH=true).
    #[arg(long, help_heading = "Connection")]
    pub iam: bool,

    /// Host, above the URL and the secret.
    #[arg(long, value_name = "HOST", help_heading = "Connection")]
    pub host: Option<String>,

    /// Port, above the URL and the secret.
    #[arg(long, value_name = "PORT", help_heading = "Connection")]
    pub port: Option<u16>,

    /// User, above the URL and the secret.
    #[arg(long, value_name = "USER", help_heading = "Connection")]
    pub user: Option<String>,

    /// Database name, above the URL and the secret.
    #[arg(long, value_name = "NAME", help_heading = "Connection")]
    pub dbname: Option<String>,

    /// AWS region for the secret and IAM tokens [default: the ARN's, else AWS_REGION].
    #[arg(long, value_name = "REGION", help_heading = "Connection")]
    pub region: Option<String>,
}

impl ConnArgs {
    /// The connection flags, for resolution: the one place they are read.
    pub fn conn_flags(&self) -> crate::config::ConnFlags {
        crate::config::ConnFlags {
            database_url: self.database_url.clone(),
            secret_id: self.secret_id.clone(),
            secret_stage: self.secret_stage.clone(),
            iam: self.iam,
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            dbname: self.dbname.clone(),
            region: self.region.clone(),
        }
    }
}

/// By hand: `--database-url` may hold a password.
impl std::fmt::Debug for ConnArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.conn_flags().fmt(f)
    }
}

/// Where the variables come from besides the process environment.
#[derive(Debug, Clone, Default, Args)]
pub struct EnvArgs {
    /// Read variables from this file instead of `.env` [default: .env].
    #[arg(long, value_name = "PATH", help_heading = "Configuration")]
    pub env_file: Option<PathBuf>,

    /// Do not read `.env`.
    #[arg(long, conflicts_with = "env_file", help_heading = "Configuration")]
    pub no_dotenv: bool,
}

/// How long connecting may take.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct ConnectTimeout {
    /// Seconds to wait for a connection, 1 to 3600 [default: the URL's connect_timeout, else 10].
    #[arg(long, value_name = "SECS", help_heading = "Time limits", value_parser = clap::value_parser!(u64).range(1..=MAX_CONNECT_TIMEOUT))]
    pub connect_timeout: Option<u64>,
}

/// How long a lock another session holds may be waited for.
#[derive(Debug, Clone, Copy, Args)]
pub struct LockTimeout {
    /// Seconds to wait for a lock another session holds, 0 to 86400: the migration lock, and each table lock a statement of the tool waits for.
    #[arg(long, value_name = "SECS", help_heading = "Time limits", default_value_t = crate::session::DEFAULT_LOCK_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(0..=MAX_LOCK_TIMEOUT))]
    pub lock_timeout: u64,
}

impl Default for LockTimeout {
    fn default() -> Self {
        Self {
            lock_timeout: crate::session::DEFAULT_LOCK_TIMEOUT.as_secs(),
        }
    }
}

/// A connection to resolve (but no lock to wait for): `url`, `iam-token`.
#[derive(Debug, Clone, Default, Args)]
pub struct Connection {
    #[command(flatten)]
    pub conn: ConnArgs,
    #[command(flatten)]
    pub env: EnvArgs,
    #[command(flatten)]
    pub connect: ConnectTimeout,
}

/// A connection to a database the command reads or changes under its
/// locks: `up`, `down`, `status`, `grant`, `doctor`, `lint`, ...
#[derive(Debug, Clone, Default, Args)]
pub struct Database {
    #[command(flatten)]
    pub connection: Connection,
    #[command(flatten)]
    pub lock: LockTimeout,
}

/// The largest `--connect-timeout` (and URL `connect_timeout`): an hour.
pub const MAX_CONNECT_TIMEOUT: u64 = 3600;

/// The largest `--lock-timeout`, `--ddl-lock-timeout` and
/// `--statement-timeout`: a day (PostgreSQL's own limit is about 24.8 days).
pub const MAX_LOCK_TIMEOUT: u64 = 86_400;

/// How a migration's statements wait (`up`, `down`, `fresh`, `reset`).
#[derive(Debug, Clone, Copy, Args)]
pub struct DdlArgs {
    /// Seconds each statement of a migration may wait for a table lock, 0 to 86400, decimals allowed; while it waits, the app's queries on that table queue behind it. 0: no short bound (it waits up to --lock-timeout, as Prisma would wait).
    #[arg(long, value_name = "SECS", default_value = "1", value_parser = seconds)]
    pub ddl_lock_timeout: Duration,

    /// Seconds each statement of a migration may run, 0 to 86400, decimals allowed [default: the server's statement_timeout]. 0: no limit.
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub statement_timeout: Option<Duration>,

    /// How many times a migration is tried again after its lock timeout ran out (rolled back first, then a pause doubling from 1 s to 1 min), 0 to 100.
    #[arg(long, value_name = "N", default_value_t = crate::runner::DEFAULT_LOCK_RETRIES, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub lock_retries: u32,
}

impl From<DdlArgs> for crate::runner::Ddl {
    /// 0 means "no bound of its own" for both timeouts.
    fn from(args: DdlArgs) -> Self {
        Self {
            lock_timeout: Some(args.ddl_lock_timeout).filter(|t| !t.is_zero()),
            statement_timeout: args.statement_timeout.filter(|t| !t.is_zero()),
            lock_retries: args.lock_retries,
        }
    }
}

/// A number of seconds from 0 to [`MAX_LOCK_TIMEOUT`], with up to three
/// decimals (`0.5`, `2`, `1.25`).
pub fn seconds(text: &str) -> Result<Duration, String> {
    let range = format!("a number of seconds from 0 to {MAX_LOCK_TIMEOUT}, like 2 or 0.5");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && fraction.is_empty()
        || !digits(whole)
        || !digits(fraction)
        || fraction.len() > 3
        || whole.len() > 6
    {
        return Err(range);
    }
    let secs: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| range.clone())?
    };
    let millis: u64 = format!("{fraction:0<3}")
        .parse()
        .map_err(|_| range.clone())?;
    if secs > MAX_LOCK_TIMEOUT || (secs == MAX_LOCK_TIMEOUT && millis > 0) {
        return Err(range);
    }
    Ok(Duration::from_secs(secs) + Duration::from_millis(millis))
}

/// What a destructive command must be told before it runs (`fresh`,
/// `reset`; `down` takes only `--yes`).
#[derive(Debug, Clone, Copy, Args)]
pub struct Confirm {
    /// Go ahead: this command drops data.
    #[arg(long)]
    pub yes: bool,

    /// Allow a database on a host that is not this machine (loopback or localhost): decided from the host name, before connecting.
    #[arg(long)]
    pub allow_remote: bool,
}
