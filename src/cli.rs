//! Command-line types. The `///` comments are the `--help` text.
//!
//! No flag reads the environment through clap: resolution (`config`) does
//! that, so it can tell where each value came from and so `--help` can never
//! print a password from `DATABASE_URL`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Code, Error};

/// Owns the schema of the Impulse PostgreSQL database and its connection hygiene.
#[derive(Parser)]
#[command(name = "migrate", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// By hand: a command's free-text arguments (a migration's name) could be
/// a URL typed in the wrong place; its password is shown as `****`.
impl std::fmt::Debug for Cli {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        struct Redacted(String);
        impl std::fmt::Debug for Redacted {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
        f.debug_struct("Cli")
            .field("global", &self.global)
            .field(
                "command",
                &Redacted(crate::config::redact_urls_in(&format!(
                    "{:?}",
                    self.command
                ))),
            )
            .finish()
    }
}

#[derive(Args)]
pub struct GlobalArgs {
    /// Database URL, above DIRECT_URL and DATABASE_URL (a template when a secret is set).
    #[arg(long, global = true, value_name = "URL", help_heading = "Connection")]
    pub database_url: Option<String>,

    /// Secrets Manager secret (ARN or name), above DB_SECRET_ARN and MIGRATION_SECRET_ARN.
    #[arg(long, global = true, value_name = "ID", help_heading = "Connection")]
    pub secret_id: Option<String>,

    /// Version stage of the secret to read.
    #[arg(long, global = true, value_name = "STAGE", help_heading = "Connection")]
    pub secret_stage: Option<String>,

    /// Use a fresh RDS IAM auth token as the password (like DB_IAM_AUTH=true).
    #[arg(long, global = true, help_heading = "Connection")]
    pub iam: bool,

    /// Host, above the URL and the secret.
    #[arg(long, global = true, value_name = "HOST", help_heading = "Connection")]
    pub host: Option<String>,

    /// Port, above the URL and the secret.
    #[arg(long, global = true, value_name = "PORT", help_heading = "Connection")]
    pub port: Option<u16>,

    /// User, above the URL and the secret.
    #[arg(long, global = true, value_name = "USER", help_heading = "Connection")]
    pub user: Option<String>,

    /// Database name, above the URL and the secret.
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub dbname: Option<String>,

    /// AWS region for the secret and IAM tokens [default: the ARN's, else AWS_REGION].
    #[arg(
        long,
        global = true,
        value_name = "REGION",
        help_heading = "Connection"
    )]
    pub region: Option<String>,

    /// Read variables from this file instead of `.env` [default: .env].
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,

    /// Do not read `.env`.
    #[arg(long, global = true, conflicts_with = "env_file")]
    pub no_dotenv: bool,

    /// Output format of the result on stdout.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Print only errors and results.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more about what happens (twice: include the database driver).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Seconds to wait for a connection, 1 to 3600 [default: the URL's connect_timeout, else 10].
    #[arg(long, global = true, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=MAX_CONNECT_TIMEOUT))]
    pub connect_timeout: Option<u64>,

    /// Seconds to wait for a lock another session holds, 0 to 86400: the migration lock, and each table lock a statement of the tool waits for.
    #[arg(long, global = true, value_name = "SECS", default_value_t = crate::session::DEFAULT_LOCK_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(0..=MAX_LOCK_TIMEOUT))]
    pub lock_timeout: u64,
}

impl GlobalArgs {
    /// The connection flags, for resolution.
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

/// The largest `--connect-timeout` (and URL `connect_timeout`): an hour.
pub const MAX_CONNECT_TIMEOUT: u64 = 3600;

/// The largest `--lock-timeout`, `--ddl-lock-timeout` and
/// `--statement-timeout`: a day (PostgreSQL's own limit is about 24.8 days).
pub const MAX_LOCK_TIMEOUT: u64 = 86_400;

/// How a migration's statements wait (`up`, `down`).
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

/// By hand: `--database-url` may hold a password.
impl std::fmt::Debug for GlobalArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalArgs")
            .field("connection", &self.conn_flags())
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start (or create) the local PostgreSQL under .migrate/ and migrate it.
    Dev(DevArgs),
    /// Apply pending migrations under the migration lock.
    Up(UpArgs),
    /// Roll back applied migrations under the migration lock.
    Down(DownArgs),
    /// List applied and pending migrations (needs no DDL rights).
    Status(StatusArgs),
    /// Bring the app role to least privilege (or, with --check, show the difference).
    Grant(GrantArgs),
    /// Diagnose the app and migration connections: name the root cause.
    Doctor,
    /// Check the SQL of pending migrations (or --all, or FILEs) for statements that would block or break a live database.
    Lint(LintArgs),
    /// Regenerate entity/src from the migrations (or, with --check, compare).
    Entities(EntitiesArgs),
    /// Generate the next migration from schema.prisma: its SQL (Prisma Migrate's), down.sql and its sea-orm migration.
    New(NewArgs),
    /// Repair the history, as Prisma's `migrate resolve` does.
    Resolve(ResolveArgs),
    /// Record migrations as applied on a schema that already matches them (compared first).
    Baseline(BaselineArgs),
    /// Turn an existing Prisma prisma/migrations history into the migration crate.
    ImportPrisma(ImportPrismaArgs),
    /// Compare the catalog Prisma Migrate would create for schema.prisma with the migrated database.
    PrismaCheck(PrismaCheckArgs),
    /// Show the resolved URLs (password as ****) and where each part came from.
    Url,
    /// Print a fresh RDS IAM auth token for the app connection (for PGPASSWORD).
    IamToken,
}

impl Command {
    /// Commands that work with the binary's migrations (and so refuse to
    /// run from a workspace whose `prisma/migrations` the binary lacks).
    pub fn uses_migrations(&self) -> bool {
        match self {
            Command::Lint(args) => args.files.is_empty(),
            Command::Grant(_)
            | Command::Url
            | Command::IamToken
            | Command::New(_)
            | Command::ImportPrisma(_) => false,
            _ => true,
        }
    }
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Stop the local cluster instead of starting it.
    #[arg(long)]
    pub stop: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Apply at most this many pending migrations [default: all].
    #[arg(long, value_name = "N")]
    pub steps: Option<u32>,

    /// Do not reconcile the app role's privileges afterwards.
    #[arg(long)]
    pub no_grants: bool,

    /// Go on although an applied migration's migration.sql was edited since.
    #[arg(long)]
    pub allow_edited: bool,

    /// Change nothing: print each pending migration's SQL, whether it runs in a transaction, and its lint findings (reads the history; takes no lock).
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub ddl: DdlArgs,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Lint these files (a migration.sql, or the migration directory holding one) instead of the pending migrations.
    #[arg(value_name = "FILE", conflicts_with = "all")]
    pub files: Vec<PathBuf>,

    /// Lint every migration of the binary, applied or not (needs no database).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Change nothing; print the difference and exit 1 if there is any.
    #[arg(long, conflicts_with = "sync_password")]
    pub check: bool,

    /// Also set the app role's password to the AWSCURRENT value of DB_SECRET_ARN.
    #[arg(long)]
    pub sync_password: bool,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Roll back this many applied migrations.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub steps: u32,

    /// Go on although an applied migration's migration.sql was edited since.
    #[arg(long)]
    pub allow_edited: bool,

    #[command(flatten)]
    pub ddl: DdlArgs,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ResolveArgs {
    /// Record migration NAME as applied (a failed run finished by hand, or a baseline).
    #[arg(long, value_name = "NAME")]
    pub applied: Option<String>,

    /// Mark the failed run of migration NAME rolled back, so that it runs again.
    #[arg(long, value_name = "NAME")]
    pub rolled_back: Option<String>,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Record the migrations up to and including NAME [default: all].
    #[arg(long, value_name = "NAME")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportPrismaArgs {
    /// The Prisma migrations folder to import.
    #[arg(long, value_name = "DIR", default_value = "prisma/migrations")]
    pub from: PathBuf,

    /// Also copy this schema.prisma to prisma/schema.prisma.
    #[arg(long, value_name = "PATH")]
    pub schema: Option<PathBuf>,

    /// The migration crate.
    #[arg(long, value_name = "DIR", default_value = "migration")]
    pub migration_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Exit with status 1 unless every migration is applied (pending, failed, edited or unknown ones fail it: a CI gate).
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct EntitiesArgs {
    /// Change nothing; exit 1 with a diff when entity/src is out of date.
    #[arg(long)]
    pub check: bool,

    /// The entity crate's source directory.
    #[arg(long, value_name = "DIR", default_value = "entity/src")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The migration's name, in snake_case (e.g. add_user_nickname).
    pub name: String,

    /// The migration crate.
    #[arg(long, value_name = "DIR", default_value = "migration")]
    pub migration_dir: PathBuf,

    /// The Prisma directory (holding migrations/).
    #[arg(long, value_name = "DIR", default_value = "prisma")]
    pub prisma_dir: PathBuf,

    /// The Prisma schema the new migration brings the migrations to.
    #[arg(long, value_name = "PATH", default_value = "prisma/schema.prisma")]
    pub schema: PathBuf,

    /// Write a blank migration for hand-written SQL instead of generating one.
    #[arg(long, conflicts_with_all = ["schema", "no_entities", "entity_dir"])]
    pub empty: bool,

    /// Do not regenerate the entities after writing the migration.
    #[arg(long, conflicts_with = "entity_dir")]
    pub no_entities: bool,

    /// The entity crate's source directory, regenerated after the migration.
    #[arg(long, value_name = "DIR", default_value = "entity/src")]
    pub entity_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct PrismaCheckArgs {
    /// The Prisma schema, as in Prisma's CLI.
    #[arg(long, value_name = "PATH", default_value = "prisma/schema.prisma")]
    pub schema: PathBuf,
}

/// Whether the raw command line asks for JSON output (`--format json` or
/// `--format=json`), for errors found before the line could be parsed.
pub fn wants_json(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--format=json"
            || (a == "--format" && args.get(i + 1).is_some_and(|next| next == "json"))
    })
}

/// clap's rejection of a command line as an [`Error`]: its first line as
/// the message (anything URL-shaped redacted: a URL given in the wrong
/// place may hold a password), its usage line in the hint.
pub fn usage_error(e: &clap::Error) -> Error {
    use clap::error::{ContextKind, ContextValue};
    let command = <Cli as clap::CommandFactory>::command();
    let known: Vec<&str> = command
        .get_subcommands()
        .flat_map(|c| std::iter::once(c.get_name()).chain(c.get_all_aliases()))
        .collect();
    // What was typed comes back only as the tool's own words: a URL or a
    // password given in the wrong place must not. clap renders the same
    // error again with every typed value replaced (before rendering: clap
    // drops control characters, so the rendered text is not what was typed).
    let flag =
        regex::Regex::new(r"^--?[A-Za-z0-9][A-Za-z0-9-]*( <[A-Z_]+>)?$").expect("static regex");
    let mut shown = clap::Error::new(e.kind()).with_cmd(&command);
    for (kind, value) in e.context() {
        let typed = matches!(
            kind,
            ContextKind::InvalidArg | ContextKind::InvalidValue | ContextKind::InvalidSubcommand
        );
        let value = match value {
            ContextValue::String(v) if typed && !v.is_empty() && !flag.is_match(v) => {
                ContextValue::String(crate::secret::echo(v, &known))
            }
            other => other.clone(),
        };
        let _ = shown.insert(kind, value);
    }
    let mut rendered = shown.render().to_string();
    // The value parser's own words (`99999 is not in 0..=65535`) come from
    // the tool's parsers, which quote numbers at most.
    if let Some(source) = std::error::Error::source(e) {
        let end = rendered.find('\n').unwrap_or(rendered.len());
        rendered.insert_str(end, &format!(": {source}"));
    }
    // clap's message is the paragraph before the usage line.
    let first = rendered
        .split("\n\n")
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let usage = rendered
        .lines()
        .find(|l| l.starts_with("Usage: "))
        .map(|u| format!("{}; ", u.trim()))
        .unwrap_or_default();
    // Anything else clap quotes ('...') that is not a flag is shown only
    // when it is one of the tool's words.
    let quoted = regex::Regex::new(r"'([^']*)'").expect("static regex");
    let message = quoted.replace_all(&first, |c: &regex::Captures| {
        if c[1].starts_with('-') || &c[1] == crate::secret::NOT_SHOWN {
            c[0].to_string()
        } else {
            format!("'{}'", crate::secret::echo(&c[1], &known))
        }
    });
    // clap's suggestion names one of the tool's own commands or flags.
    let suggestion = [ContextKind::SuggestedSubcommand, ContextKind::SuggestedArg]
        .into_iter()
        .find_map(|kind| match e.get(kind) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            Some(ContextValue::Strings(v)) if !v.is_empty() => Some(v.join("` or `")),
            _ => None,
        })
        .map(|s| format!("did you mean `{s}`? "))
        .unwrap_or_default();
    Error::new(
        Code::UsageInvalid,
        crate::config::redact_urls_in(&message),
        format!("{suggestion}{usage}see `migrate --help` and `migrate <command> --help`"),
    )
}

#[cfg(test)]
mod tests {
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
            &["migrate", "--lock-timeout", "86401", "status"][..],
            &["migrate", "--lock-timeout", "2147484", "status"],
            &["migrate", "--lock-timeout", "9223372036854775808", "status"],
            &["migrate", "--lock-timeout", "-1", "status"],
            &["migrate", "--connect-timeout", "0", "status"],
            &["migrate", "--connect-timeout", "3601", "status"],
            &[
                "migrate",
                "--connect-timeout",
                "18446744073709551615",
                "status",
            ],
            &["migrate", "up", "--ddl-lock-timeout", "1e9"],
            &["migrate", "up", "--statement-timeout", "-5"],
            &["migrate", "up", "--lock-retries", "101"],
            &["migrate", "down", "--ddl-lock-timeout", "86401"],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
        let cli = Cli::try_parse_from(["migrate", "--lock-timeout", "86400", "up"]).unwrap();
        assert_eq!(cli.global.lock_timeout, 86_400);
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
}
