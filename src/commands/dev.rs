//! `migrate dev`: the embedded default. Creates (the first time) and starts
//! a local PostgreSQL under `.migrate/`, creates the `impulse` database,
//! applies every migration under the lock, and prints the URL to use.
//! `migrate dev --stop` stops the server; the data stays.
//!
//! It prints two URLs, as Prisma names them: `DATABASE_URL` for the app role
//! `impulse_app` (least privilege, as in production) and `DIRECT_URL` for the
//! migration role (the local superuser). They hold generated passwords: they
//! are the command's result, for a throwaway cluster that only listens on
//! 127.0.0.1, and go to stdout only. Progress goes to stderr.

use sea_orm_migration::MigratorTrait;
use serde_json::json;

use crate::cli::DevArgs;
use crate::commands::grant::DEFAULT_APP_ROLE;
use crate::commands::{Ctx, dev_dir, up};
use crate::connect::{self, quote_ident};
use crate::devdb::Cluster;
use crate::error::{Exit, Result};
use crate::grants::apply::Options;
use crate::secret::Secret;

/// The database `migrate dev` creates and migrates.
pub const DEV_DATABASE: &str = "impulse";

pub async fn run<M: MigratorTrait>(ctx: &Ctx, args: &DevArgs) -> Result<Exit> {
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
    let grants = Options {
        app_role: DEFAULT_APP_ROLE.to_string(),
        iam: false,
        apply: true,
        sync_password: Some((app_password.clone(), "local".to_string())),
    };
    let session = connect::connect(&direct, ctx.connector.connect_timeout(&direct)).await?;
    let report = up::apply::<M>(ctx, &session, None, Some(&grants)).await;
    session.close().await;
    let report = report?;
    ctx.ui.progress(up::summary(&report));

    let app = cluster.spec(DEFAULT_APP_ROLE, &app_password, DEV_DATABASE);
    let (app_url, direct_url) = (app.to_url_with_password(), direct.to_url_with_password());
    ctx.ui.result(
        || format!("DATABASE_URL=\"{app_url}\"\nDIRECT_URL=\"{direct_url}\""),
        || {
            json!({
                "ok": true,
                "database_url": app_url,
                "direct_url": direct_url,
                "port": cluster.port(),
                "data_dir": cluster.data_dir(),
                "applied": report.applied,
                "pending": report.pending,
            })
        },
    );
    Ok(Exit::Ok)
}

fn stop(ctx: &Ctx, root: &std::path::Path) -> Result<Exit> {
    if !root.join("cluster.json").exists() {
        ctx.ui.result(
            || format!("no local cluster in {}", root.display()),
            || json!({"ok": true, "stopped": false}),
        );
        return Ok(Exit::Ok);
    }
    let cluster = Cluster::open_or_init(root)?;
    let stopped = cluster.stop()?;
    ctx.ui.result(
        || {
            if stopped {
                "stopped the local cluster".to_string()
            } else {
                "the local cluster was not running".to_string()
            }
        },
        || json!({"ok": true, "stopped": stopped}),
    );
    Ok(Exit::Ok)
}

/// The app role's password in the local cluster, made on first use.
fn app_password(root: &std::path::Path) -> Result<Secret> {
    let path = root.join("app.password");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        return Ok(Secret::new(existing.trim()));
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
        .fetch_optional(&session.pool)
        .await
        .map_err(|e| connect::query_error(&e, "look up the dev database"))?
        .is_some();
    if !exists {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {}",
            quote_ident(DEV_DATABASE)
        )))
        .execute(&session.pool)
        .await
        .map_err(|e| connect::query_error(&e, "create the dev database"))?;
        ctx.ui
            .progress(format_args!("created database \"{DEV_DATABASE}\""));
    }
    session.close().await;
    Ok(())
}
