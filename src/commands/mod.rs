//! One module per command; this one builds what they share and dispatches.

pub mod baseline;
pub mod dev;
pub mod doctor;
pub mod down;
pub mod entities;
pub mod grant;
pub mod iam_token;
pub mod import_prisma;
pub mod lint;
pub mod new;
pub mod prisma_check;
pub mod resolve;
pub mod scratch;
pub mod status;
pub mod up;
pub mod url;

use std::path::{Path, PathBuf};
use std::time::Duration;

use migration::prisma::PrismaMigrator;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{DotEnv, Resolved, Sources, Which};
use crate::connector::Connector;
use crate::error::{Error, Exit, Result};
use crate::output::Ui;
use crate::session::Session;

/// What every command gets: the user's output choices, the connector over
/// the layered sources, and the lock's time limit.
pub struct Ctx {
    pub ui: Ui,
    pub connector: Connector,
    pub lock_timeout: Duration,
}

impl Ctx {
    fn new(global: &GlobalArgs, ui: Ui) -> Result<Self> {
        let dotenv = if global.no_dotenv {
            DotEnv::default()
        } else if let Some(path) = &global.env_file {
            DotEnv::load(path, true)?
        } else {
            DotEnv::load(Path::new(".env"), false)?
        };
        let sources = Sources {
            flags: global.conn_flags(),
            env: Sources::process_env(),
            dotenv,
        };
        Ok(Self {
            ui,
            connector: Connector::new(sources, global.connect_timeout.map(Duration::from_secs))
                .with_lock_timeout(Duration::from_secs(global.lock_timeout)),
            lock_timeout: Duration::from_secs(global.lock_timeout),
        })
    }

    /// Resolves and opens the migration connection, refusing poolers.
    pub async fn migration_session(&self) -> Result<(Resolved, Session)> {
        let resolved = self.migration_connection().await?;
        let session = self.connector.connect_resolved(&resolved).await?;
        Ok((resolved, session))
    }

    /// Resolves the migration connection, refusing poolers.
    pub async fn migration_connection(&self) -> Result<Resolved> {
        let resolved = self.connector.resolve(Which::Migration).await?;
        resolved.refuse_pooler()?;
        tracing::debug!("migration connection: {}", resolved.redacted());
        Ok(resolved)
    }
}

/// Runs the parsed command.
pub async fn run<M: PrismaMigrator>(cli: Cli, ui: Ui) -> Result<Exit> {
    let ctx = Ctx::new(&cli.global, ui)?;
    if cli.command.uses_migrations() {
        crate::workspace::check_current(&M::directories())?;
    }
    match cli.command {
        Command::Dev(args) => dev::run::<M>(&ctx, &args).await,
        Command::Up(args) => up::run::<M>(&ctx, &args).await,
        Command::Down(args) => down::run::<M>(&ctx, &args).await,
        Command::Status(args) => status::run::<M>(&ctx, &args).await,
        Command::Grant(args) => grant::run(&ctx, &args).await,
        Command::Doctor => doctor::run::<M>(&ctx).await,
        Command::Lint(args) => lint::run::<M>(&ctx, &args).await,
        Command::Entities(args) => entities::run::<M>(&ctx, &args).await,
        Command::New(args) => new::run::<M>(&ctx, &args).await,
        Command::Resolve(args) => resolve::run::<M>(&ctx, &args).await,
        Command::Baseline(args) => baseline::run::<M>(&ctx, &args).await,
        Command::ImportPrisma(args) => import_prisma::run(&ctx, &args),
        Command::PrismaCheck(args) => prisma_check::run::<M>(&ctx, &args).await,
        Command::Url => url::run(&ctx).await,
        Command::IamToken => iam_token::run(&ctx).await,
    }
}

/// The directory `migrate dev` keeps its cluster in: `.migrate/` here.
/// As root the server runs as the `postgres` OS user, which must reach
/// that directory; when a parent is private (a checkout under `/root`),
/// the cluster lives in a per-checkout directory under the temp dir instead.
pub fn dev_dir() -> Result<PathBuf> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::internal(format!("cannot read the current directory: {e}")))?;
    if !crate::devdb::is_root() || traversable_by_everyone(&cwd) {
        return Ok(cwd.join(".migrate"));
    }
    let name: String = cwd
        .to_string_lossy()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let dir = std::env::temp_dir().join(format!("impulse-db{name}"));
    tracing::info!(
        "the postgres OS user cannot reach {}: keeping the local cluster in {}",
        cwd.display(),
        dir.display()
    );
    Ok(dir)
}

/// Every directory from `/` down to `dir` lets others traverse it.
fn traversable_by_everyone(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    dir.ancestors()
        .all(|d| std::fs::metadata(d).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}
