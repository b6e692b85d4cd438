//! Command-line types. The `///` comments are the `--help` text.
//!
//! No flag reads the environment through clap: resolution (`config`) does
//! that, so it can tell where each value came from and so `--help` can never
//! print a password from `DATABASE_URL`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::error::{Code, Error};

/// Owns the schema of the Impulse PostgreSQL database and its connection hygiene.
#[derive(Debug, Parser)]
#[command(name = "migrate", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
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

    /// Seconds to wait for a connection [default: the URL's connect_timeout, else 10].
    #[arg(long, global = true, value_name = "SECS")]
    pub connect_timeout: Option<u64>,

    /// Seconds to wait for the migration lock held by another run.
    #[arg(long, global = true, value_name = "SECS", default_value_t = 60)]
    pub lock_timeout: u64,
}

/// By hand: `--database-url` may hold a password.
impl std::fmt::Debug for GlobalArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalArgs")
            .field(
                "database_url",
                &self.database_url.as_deref().map(crate::config::redact_url),
            )
            .field("secret_id", &self.secret_id)
            .field("iam", &self.iam)
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
        !matches!(
            self,
            Command::Grant(_)
                | Command::Url
                | Command::IamToken
                | Command::New(_)
                | Command::ImportPrisma(_)
        )
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
    let rendered = e.render().to_string();
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
    Error::new(
        Code::UsageInvalid,
        crate::config::redact_urls_in(&first),
        format!("{usage}see `migrate --help` and `migrate <command> --help`"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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
