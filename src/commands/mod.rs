//! One module per command; this one builds what they share and dispatches.

pub mod dev;
pub mod down;
pub mod status;
pub mod up;

use std::path::{Path, PathBuf};
use std::time::Duration;

use sea_orm_migration::MigratorTrait;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{self, DotEnv, Resolved, Sources};
use crate::connect::{self, Session};
use crate::error::{Error, Exit, Result};
use crate::output::Ui;

/// What every command gets: the user's output choices, the layered
/// sources, and the time limits.
pub struct Ctx {
    pub ui: Ui,
    pub sources: Sources,
    connect_timeout_flag: Option<Duration>,
    pub lock_timeout: Duration,
}

/// Used when neither `--connect-timeout` nor the URL's `connect_timeout` says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Ctx {
    fn new(global: &GlobalArgs, ui: Ui) -> Result<Self> {
        let dotenv = if global.no_dotenv {
            DotEnv::default()
        } else if let Some(path) = &global.env_file {
            DotEnv::load(path, true)?
        } else {
            DotEnv::load(Path::new(".env"), false)?
        };
        Ok(Self {
            ui,
            sources: Sources {
                database_url_flag: global.database_url.clone(),
                env: std::env::vars().collect(),
                dotenv,
            },
            connect_timeout_flag: global.connect_timeout.map(Duration::from_secs),
            lock_timeout: Duration::from_secs(global.lock_timeout),
        })
    }

    /// `--connect-timeout`, else the URL's `connect_timeout`, else 10 s.
    pub fn connect_timeout(&self, spec: &config::ConnSpec) -> Duration {
        self.connect_timeout_flag
            .or(spec.connect_timeout)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }

    /// Resolves and opens the migration connection, refusing poolers.
    pub async fn migration_session(&self) -> Result<(Resolved, Session)> {
        let resolved = config::resolve_migration(&self.sources)?;
        refuse_pooler(&resolved)?;
        tracing::debug!(
            "migration connection: {} (from {})",
            resolved.spec,
            resolved.origin
        );
        let session =
            connect::connect(&resolved.spec, self.connect_timeout(&resolved.spec)).await?;
        Ok((resolved, session))
    }
}

/// Migrations need a session of their own (the lock, `SET`s, DDL): through
/// PgBouncer in transaction mode or RDS Proxy they would silently lose it.
pub fn refuse_pooler(resolved: &Resolved) -> Result<()> {
    if !resolved.spec.is_pooler() {
        return Ok(());
    }
    let why = if resolved.spec.pgbouncer {
        "it has pgbouncer=true"
    } else {
        "its host is an RDS Proxy endpoint"
    };
    Err(Error::config(
        "pooler.migrations_through_proxy",
        format!(
            "the migration connection ({}) goes through a connection pooler: {why}",
            resolved.origin
        ),
        "set DIRECT_URL to the database's own endpoint (the RDS instance or cluster writer, \
         not the proxy), as Prisma's directUrl; migrations use it and the Lambda keeps DATABASE_URL",
    ))
}

/// Runs the parsed command.
pub async fn run<M: MigratorTrait>(cli: Cli, ui: Ui) -> Result<Exit> {
    let ctx = Ctx::new(&cli.global, ui)?;
    match cli.command {
        Command::Dev(args) => dev::run::<M>(&ctx, &args).await,
        Command::Up(args) => up::run::<M>(&ctx, &args).await,
        Command::Down(args) => down::run::<M>(&ctx, &args).await,
        Command::Status(args) => status::run::<M>(&ctx, &args).await,
    }
}

/// The directory `migrate dev` keeps its cluster in.
pub fn dev_dir() -> Result<PathBuf> {
    std::env::current_dir()
        .map(|d| d.join(".migrate"))
        .map_err(|e| Error::internal(format!("cannot read the current directory: {e}")))
}
