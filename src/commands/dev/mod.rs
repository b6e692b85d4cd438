//! `migrate dev`: the embedded default. Creates (the first time) and starts
//! a local PostgreSQL under `.migrate/`, creates the `impulse` database,
//! applies every migration under the lock, and prints the URL to use.
//! `migrate dev --stop` stops the server; the data stays.
//!
//! It also writes the two URLs to `.env` (`--env-file PATH`; none with
//! `--no-dotenv`) when that file is absent or one it wrote before, so that
//! `status`, `up`, `url` and `doctor` work right after it (`env_file`).
//! A second run changes nothing: the app role's password is set only when
//! the role does not log in with it, and the grants and `.env` only when
//! they differ. When another command cannot reach this machine's database,
//! [`explain_refused`] says how its port relates to the local cluster's.
//!
//! It prints two URLs, as Prisma names them: `DATABASE_URL` for the app role
//! `impulse_app` (least privilege, as in production) and `DIRECT_URL` for the
//! migration role (the local superuser). They hold generated passwords: they
//! are the command's result, for a throwaway cluster that only listens on
//! 127.0.0.1, and go to stdout only. Progress goes to stderr.

mod env_file;

use std::path::{Path, PathBuf};

use migration::prisma::PrismaMigrator;

use crate::cli::DevArgs;
use crate::commands::{Ctx, dev_dir};
use crate::config::Resolved;
use crate::config::url::is_local_host;
use crate::deploy::{self, Applied};
use crate::devdb::Cluster;
use crate::error::{Code, Error, Exit, Result};
use crate::grants::apply::Options;
use crate::grants::{self, DEFAULT_APP_ROLE};
use crate::runner::Step;
use crate::secret::Secret;
use crate::session::{self, Session};
use crate::sql::quote_ident;

/// What `migrate dev` prints: the two URLs, as `.env` lines. They hold
/// the local cluster's generated passwords, on purpose (stdout only).
#[derive(Debug, serde::Serialize)]
pub struct DevReport {
    pub ok: bool,
    #[serde(serialize_with = "crate::secret::serialize_exposed")]
    pub database_url: Secret,
    #[serde(serialize_with = "crate::secret::serialize_exposed")]
    pub direct_url: Secret,
    pub port: u16,
    pub data_dir: PathBuf,
    pub applied: Vec<Step>,
    pub pending: Vec<String>,
    /// The env file written (or not) with the URLs.
    pub env_file: env_file::EnvFile,
}

impl std::fmt::Display for DevReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DATABASE_URL=\"{}\"\nDIRECT_URL=\"{}\"",
            self.database_url.expose(),
            self.direct_url.expose()
        )
    }
}

/// What `migrate dev --stop` prints.
#[derive(Debug, serde::Serialize)]
pub struct StopReport {
    pub ok: bool,
    /// A server was running and is now stopped.
    pub stopped: bool,
    #[serde(skip)]
    pub message: String,
}

impl std::fmt::Display for StopReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The database `migrate dev` creates and migrates.
pub const DEV_DATABASE: &str = "impulse";

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &DevArgs) -> Result<Exit> {
    let root = dev_dir()?;
    if args.stop {
        return stop(ctx, &root);
    }
    let fresh = !root.join("data").join("PG_VERSION").exists();
    if fresh {
        ctx.ui.progress(format_args!(
            "creating a local PostgreSQL cluster in {}",
            root.display()
        ));
    }
    let mut cluster = Cluster::open_or_init(&root)?;
    if cluster.start()? {
        ctx.ui.progress(format_args!(
            "started PostgreSQL ({}) on 127.0.0.1:{}",
            cluster.bindir().display(),
            cluster.port()
        ));
    }

    ensure_database(ctx, &cluster).await?;
    let direct = cluster.superuser_spec(DEV_DATABASE);
    let app_password = app_password(&root)?;
    let app = cluster.spec(DEFAULT_APP_ROLE, &app_password, DEV_DATABASE);
    // The password is set only when the role does not log in with it (a
    // new cluster, a new role, a changed app.password): a second run
    // changes nothing.
    let timeout = ctx.connector.connect_timeout(&app);
    let logs_in = session::login_once(&app, timeout, timeout).await.is_ok();
    let grants = Options {
        app_role: DEFAULT_APP_ROLE.to_string(),
        iam: false,
        apply: true,
        sync_password: (!logs_in).then(|| {
            (
                app_password.clone(),
                grants::apply::LOCAL_PASSWORD.to_string(),
            )
        }),
        accept: Default::default(),
    };
    let session = Session::open(&direct, ctx.connector.connect_timeout(&direct)).await?;
    let applied = deploy::apply::<M>(
        ctx.ui,
        &session,
        ctx.lock_timeout,
        None,
        crate::runner::Options::default(),
        Some(&grants),
        None,
    )
    .await;
    session.close().await;
    let Applied {
        applied, pending, ..
    } = {
        let applied = applied?;
        ctx.ui.progress(&applied);
        applied
    };

    let database_url = Secret::new(app.to_url_with_password());
    let direct_url = Secret::new(direct.to_url_with_password());
    let env_file = if args.no_dotenv {
        env_file::EnvFile {
            path: PathBuf::new(),
            outcome: env_file::Outcome::Skipped,
            differs: Vec::new(),
        }
    } else {
        let path = args.env_file.as_deref().unwrap_or(Path::new(".env"));
        env_file::write(path, &database_url, &direct_url)?
    };
    match env_file.message() {
        Some((true, warning)) => ctx.ui.warning(warning),
        Some((false, line)) => ctx.ui.progress(line),
        None => {}
    }
    ctx.ui.result(&DevReport {
        ok: true,
        database_url,
        direct_url,
        port: cluster.port(),
        data_dir: cluster.data_dir(),
        applied,
        pending,
        env_file,
    });
    Ok(Exit::Ok)
}

/// `error`, from connecting to `resolved`, with a hint about this
/// checkout's local cluster when the connection was refused on this
/// machine: stopped, or on another port than the one configured.
pub async fn explain_refused(mut error: Error, resolved: &Resolved) -> Error {
    if error.code != Code::NetworkRefused || !is_local_host(&resolved.host.value) {
        return error;
    }
    let Ok(root) = dev_dir() else {
        return error;
    };
    let Some(port) = crate::devdb::recorded_port(&root) else {
        return error;
    };
    let configured = resolved.port.value;
    let origin = &resolved.port.origin;
    let running = crate::net::listens(port).await;
    error.hint = match (running, port == configured) {
        (true, false) => format!(
            "this checkout's local cluster runs on 127.0.0.1:{port}, but the port {configured} \
             comes from {origin}: run `migrate dev`, which updates the .env it wrote, or set \
             the port to {port} there"
        ),
        (false, true) => "this checkout's local cluster is stopped: `migrate dev` starts it".into(),
        (false, false) => format!(
            "this checkout's local cluster is stopped, and it runs on port {port}, not \
             {configured} (from {origin}): `migrate dev` starts it and updates the .env it wrote"
        ),
        // Listening again by now: a restart raced with this run.
        (true, true) => return error,
    };
    error
}

fn stop(ctx: &Ctx, root: &std::path::Path) -> Result<Exit> {
    if !root.join("cluster.json").exists() {
        ctx.ui.result(&StopReport {
            ok: true,
            stopped: false,
            message: format!("no local cluster in {}", root.display()),
        });
        return Ok(Exit::Ok);
    }
    let cluster = Cluster::open_or_init(root)?;
    let stopped = cluster.stop()?;
    ctx.ui.result(&StopReport {
        ok: true,
        stopped,
        message: if stopped {
            "stopped the local cluster".to_string()
        } else {
            "the local cluster was not running".to_string()
        },
    });
    Ok(Exit::Ok)
}

/// The app role's password in the local cluster, made on first use.
fn app_password(root: &std::path::Path) -> Result<Secret> {
    let path = root.join("app.password");
    match std::fs::read_to_string(&path) {
        Ok(existing) if !existing.trim().is_empty() => return Ok(Secret::new(existing.trim())),
        // Made below (an empty file too: an empty password would not do).
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // Unreadable: a new password would only hide the cause.
        Err(e) => {
            return Err(crate::error::Error::new(
                crate::error::Code::DevIo,
                format!("cannot read {}: {e}", path.display()),
                crate::error::Code::DevIo.hint(),
            ));
        }
    }
    let password = Secret::new(crate::devdb::random_token(32)?);
    crate::devdb::write_private(&path, password.expose())?;
    Ok(password)
}

/// Creates the dev database when it does not exist yet.
async fn ensure_database(ctx: &Ctx, cluster: &Cluster) -> Result<()> {
    let session = crate::commands::scratch::superuser_session(ctx, cluster).await?;
    let exists = sqlx::query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1")
        .bind(DEV_DATABASE)
        .fetch_optional(session.pool())
        .await
        .map_err(|e| session::query_error(&e, "look up the dev database"))?
        .is_some();
    if !exists {
        let created = sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {}",
            quote_ident(DEV_DATABASE)
        )))
        .execute(session.pool())
        .await;
        // Another `migrate dev` created it meanwhile: that is as good.
        let raced = created
            .as_ref()
            .err()
            .and_then(|e| e.as_database_error())
            .is_some_and(|db| {
                db.code().as_deref() == Some("42P04")
                    || db.constraint() == Some("pg_database_datname_index")
            });
        if !raced {
            created.map_err(|e| session::query_error(&e, "create the dev database"))?;
        }
        ctx.ui
            .progress(format_args!("created database \"{DEV_DATABASE}\""));
    }
    session.close().await;
    Ok(())
}
