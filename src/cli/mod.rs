//! Command-line types. The `///` comments are the `--help` text.
//!
//! Each command flattens the flag groups it uses (`shared`), and no other:
//! its `--help` lists what it reads and a flag it would ignore is a usage
//! error. `usage` turns clap's rejections into the tool's errors.

mod shared;
mod usage;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[cfg(test)]
use shared::seconds;
pub use shared::{
    Confirm, ConnArgs, ConnectTimeout, Connection, Database, DdlArgs, EnvArgs, Format, GlobalArgs,
    LockTimeout, MAX_CONNECT_TIMEOUT,
};
pub use usage::{usage_error, wants_json};

/// Owns the schema of the Impulse PostgreSQL database and its connection hygiene.
#[derive(Parser)]
#[command(name = "migrate", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// By hand: a command's arguments (a migration's name, a flag given the
/// wrong value) could be a URL typed in the wrong place; its password is
/// shown as `****`.
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

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start (or create) the local PostgreSQL under .migrate/, migrate it, and write its URLs to .env.
    Dev(DevArgs),
    /// Apply pending migrations under the migration lock.
    Up(UpArgs),
    /// Roll back applied migrations under the migration lock.
    Down(DownArgs),
    /// Drop everything in the managed schema, then apply every migration again (destructive).
    Fresh(FreshArgs),
    /// Roll back every applied migration, newest first (destructive).
    Reset(ResetArgs),
    /// List applied and pending migrations (needs no DDL rights).
    Status(StatusArgs),
    /// Bring the app role to least privilege (or, with --check, show the difference).
    Grant(GrantArgs),
    /// Diagnose the app and migration connections: name the root cause.
    Doctor(DoctorArgs),
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
    Url(UrlArgs),
    /// Print a fresh RDS IAM auth token for the app connection (for PGPASSWORD).
    IamToken(IamTokenArgs),
}

/// What a command reads to connect: its flags, or the defaults for a
/// command that takes none of them.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub conn: ConnArgs,
    pub env: EnvArgs,
    pub connect: ConnectTimeout,
    pub lock: LockTimeout,
}

impl Command {
    /// Commands that work with the binary's migrations (and so refuse to
    /// run from a workspace whose `prisma/migrations` the binary lacks).
    pub fn uses_migrations(&self) -> bool {
        match self {
            Command::Lint(args) => args.files.is_empty(),
            Command::Grant(_)
            | Command::Url(_)
            | Command::IamToken(_)
            | Command::New(_)
            | Command::ImportPrisma(_) => false,
            _ => true,
        }
    }

    /// The connection settings of this command line; the defaults for the
    /// flags a command does not take.
    pub fn settings(&self) -> Settings {
        let database = |db: &Database| Settings {
            conn: db.connection.conn.clone(),
            env: db.connection.env.clone(),
            connect: db.connection.connect,
            lock: db.lock,
        };
        let connection = |c: &Connection| Settings {
            conn: c.conn.clone(),
            env: c.env.clone(),
            connect: c.connect,
            lock: LockTimeout::default(),
        };
        let local = |connect: ConnectTimeout, lock: LockTimeout| Settings {
            connect,
            lock,
            ..Settings::default()
        };
        match self {
            Command::Up(a) => database(&a.db),
            Command::Down(a) => database(&a.db),
            Command::Fresh(a) => database(&a.db),
            Command::Reset(a) => database(&a.db),
            Command::Status(a) => database(&a.db),
            Command::Grant(a) => database(&a.db),
            Command::Doctor(a) => database(&a.db),
            Command::Lint(a) => database(&a.db),
            Command::Resolve(a) => database(&a.db),
            Command::Baseline(a) => database(&a.db),
            Command::Url(a) => connection(&a.connection),
            Command::IamToken(a) => connection(&a.connection),
            Command::PrismaCheck(a) => Settings {
                conn: ConnArgs {
                    database_url: a.database_url.clone(),
                    ..ConnArgs::default()
                },
                connect: a.connect,
                lock: a.lock,
                ..Settings::default()
            },
            Command::Dev(a) => local(a.connect, a.lock),
            Command::Entities(a) => local(a.connect, LockTimeout::default()),
            Command::New(a) => local(a.connect, LockTimeout::default()),
            Command::ImportPrisma(_) => Settings::default(),
        }
    }

    /// The connection flags of this command line (none for a command that
    /// takes none).
    pub fn conn_flags(&self) -> crate::config::ConnFlags {
        self.settings().conn.conn_flags()
    }
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Stop the local cluster instead of starting it.
    #[arg(long)]
    pub stop: bool,

    /// The env file to write the URLs to, when it is absent or one `migrate dev` wrote [default: .env].
    #[arg(long, value_name = "PATH", conflicts_with = "stop")]
    pub env_file: Option<PathBuf>,

    /// Write no env file: only print the URLs.
    #[arg(long, conflicts_with_all = ["env_file", "stop"])]
    pub no_dotenv: bool,

    #[command(flatten)]
    pub connect: ConnectTimeout,

    #[command(flatten)]
    pub lock: LockTimeout,
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

    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Roll back this many applied migrations.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub steps: u32,

    /// Go on although an applied migration's migration.sql was edited since.
    #[arg(long)]
    pub allow_edited: bool,

    /// Required for a database on a host that is not this machine (loopback or localhost): what it drops is printed first.
    #[arg(long)]
    pub yes: bool,

    #[command(flatten)]
    pub ddl: DdlArgs,

    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
pub struct FreshArgs {
    #[command(flatten)]
    pub confirm: Confirm,

    /// Do not reconcile the app role's privileges afterwards.
    #[arg(long)]
    pub no_grants: bool,

    #[command(flatten)]
    pub ddl: DdlArgs,

    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    #[command(flatten)]
    pub confirm: Confirm,

    /// Go on although an applied migration's migration.sql was edited since.
    #[arg(long)]
    pub allow_edited: bool,

    #[command(flatten)]
    pub ddl: DdlArgs,

    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Exit with status 1 unless every migration is applied (pending, failed, edited or unknown ones fail it: a CI gate).
    #[arg(long)]
    pub check: bool,

    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Change nothing; print the difference and exit 1 if there is any.
    #[arg(long, conflicts_with = "sync_password")]
    pub check: bool,

    /// Also set the app role's password to the AWSCURRENT value of DB_SECRET_ARN.
    #[arg(long)]
    pub sync_password: bool,

    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Lint these files (a migration.sql, or the migration directory holding one) instead of the pending migrations.
    #[arg(value_name = "FILE", conflicts_with = "all")]
    pub files: Vec<PathBuf>,

    /// Lint every migration of the binary, applied or not (needs no database).
    #[arg(long)]
    pub all: bool,

    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("which").required(true).multiple(false).args(["applied", "rolled_back"])))]
pub struct ResolveArgs {
    /// Record migration NAME as applied (a failed run finished by hand, or a baseline).
    #[arg(long, value_name = "NAME")]
    pub applied: Option<String>,

    /// Mark the failed run of migration NAME rolled back, so that it runs again.
    #[arg(long, value_name = "NAME")]
    pub rolled_back: Option<String>,

    #[command(flatten)]
    pub db: Database,
}

#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Record the migrations up to and including NAME [default: all].
    #[arg(long, value_name = "NAME")]
    pub to: Option<String>,

    #[command(flatten)]
    pub db: Database,
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
pub struct EntitiesArgs {
    /// Change nothing; exit 1 with a diff when entity/src is out of date.
    #[arg(long)]
    pub check: bool,

    /// The entity crate's source directory.
    #[arg(long, value_name = "DIR", default_value = "entity/src")]
    pub dir: PathBuf,

    #[command(flatten)]
    pub connect: ConnectTimeout,
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
    #[arg(long, conflicts_with_all = ["schema", "no_entities", "entity_dir", "connect_timeout"])]
    pub empty: bool,

    /// Do not regenerate the entities after writing the migration.
    #[arg(long, conflicts_with = "entity_dir")]
    pub no_entities: bool,

    /// The entity crate's source directory, regenerated after the migration.
    #[arg(long, value_name = "DIR", default_value = "entity/src")]
    pub entity_dir: PathBuf,

    #[command(flatten)]
    pub connect: ConnectTimeout,
}

#[derive(Debug, Args)]
pub struct PrismaCheckArgs {
    /// The Prisma schema, as in Prisma's CLI.
    #[arg(long, value_name = "PATH", default_value = "prisma/schema.prisma")]
    pub schema: PathBuf,

    /// Compare with this database (as the migration connection) instead of a scratch database of the local cluster.
    #[arg(long, value_name = "URL", help_heading = "Connection")]
    pub database_url: Option<String>,

    #[command(flatten)]
    pub connect: ConnectTimeout,

    #[command(flatten)]
    pub lock: LockTimeout,
}

#[derive(Debug, Args)]
pub struct UrlArgs {
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct IamTokenArgs {
    #[command(flatten)]
    pub connection: Connection,
}

#[cfg(test)]
mod tests;
