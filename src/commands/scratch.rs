//! A scratch database on the local cluster, migrated to head: the reference
//! that `migrate entities` generates from, `migrate prisma-check` compares
//! with and `migrate new` writes the next migration against (replaying the
//! directories on disk, then trying the new one up and down). Needs no
//! configuration; dropped when done. A cluster the command had to start
//! is stopped again when it is done with it (unless another client is
//! connected by then): `entities --check` after `dev --stop` leaves it
//! stopped.

use migration::prisma::PrismaMigrator;

use crate::commands::{Ctx, dev_dir};
use crate::devdb::Cluster;
use crate::error::Result;
use crate::migrations::{self, Known};
use crate::session::{self, Session};
use crate::sql::quote_ident;
use crate::{history, runner};

/// A migrated scratch database and its session.
pub struct Scratch {
    cluster: Cluster,
    name: String,
    pub session: Session,
    /// This command started the cluster: it stops it when done.
    started: bool,
}

impl Scratch {
    /// Starts the local cluster if needed, creates a fresh database and
    /// applies the migrations of `M` (up to and including `through`, all
    /// when `None`).
    pub async fn migrated<M: PrismaMigrator>(ctx: &Ctx, through: Option<&str>) -> Result<Self> {
        let known = migrations::known::<M>()?;
        let steps = match through {
            None => None,
            Some(name) => Some(
                known
                    .iter()
                    .position(|k| k.name == name)
                    .map(|i| i as u32 + 1)
                    .ok_or_else(|| unknown_migration(name))?,
            ),
        };
        Self::replayed(ctx, &known, steps).await
    }

    /// Starts the local cluster if needed, creates a fresh database and
    /// applies the first `steps` of `known` (all when `None`) with the
    /// runner, exactly as `migrate up` applies them: each `migration.sql`
    /// sent whole in its own transaction (or outside one when its
    /// migration says so), its Rust steps, its history row.
    pub async fn replayed(ctx: &Ctx, known: &[Known], steps: Option<u32>) -> Result<Self> {
        let root = dev_dir()?;
        let mut cluster = Cluster::open_or_init(&root)?;
        let started = cluster.start()?;
        if started {
            ctx.ui.progress(format_args!(
                "started the local PostgreSQL on 127.0.0.1:{}",
                cluster.port()
            ));
        }
        let name = format!("impulse_scratch_{}", std::process::id());
        let admin = match superuser_session(ctx, &cluster).await {
            Ok(admin) => admin,
            Err(e) => {
                if started {
                    stop_quietly(ctx, &cluster);
                }
                return Err(e);
            }
        };
        let fresh = async {
            let drop = format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&name)
            );
            execute(&admin, &drop).await?;
            execute(&admin, &format!("CREATE DATABASE {}", quote_ident(&name))).await
        }
        .await;
        admin.close().await;
        let session = match fresh {
            Ok(()) => {
                let spec = cluster.superuser_spec(&name);
                Session::open(&spec, ctx.connector.connect_timeout(&spec)).await
            }
            Err(e) => Err(e),
        };
        let session = match session {
            Ok(session) => session,
            Err(e) => {
                if started {
                    stop_quietly(ctx, &cluster);
                }
                return Err(e);
            }
        };
        let scratch = Self {
            cluster,
            name,
            session,
            started,
        };
        if let Err(e) = scratch.up(known, steps).await {
            scratch.drop_database(ctx).await;
            return Err(e);
        }
        Ok(scratch)
    }

    /// Applies the first `steps` pending migrations of `known` (all when
    /// `None`), as `migrate up` does.
    pub async fn up(&self, known: &[Known], steps: Option<u32>) -> Result<()> {
        let status = runner::read_status(&self.session, known).await?;
        runner::up(
            &self.session,
            known,
            &status,
            steps,
            runner::Options::default(),
            &mut |_| {},
        )
        .await
        .map(|_| ())
    }

    /// Rolls back the `steps` most recent migrations of `known`, as
    /// `migrate down` does (with their `down.sql`).
    pub async fn down(&self, known: &[Known], steps: u32) -> Result<()> {
        let status = runner::read_status(&self.session, known).await?;
        runner::down(
            &self.session,
            known,
            &status,
            steps,
            runner::Options::default(),
            &mut |_| {},
        )
        .await
        .map(|_| ())
    }

    /// The scratch database's catalog, as `prisma-check` and `migrate new`
    /// read it (the history table left out).
    pub async fn catalog(&self) -> Result<crate::prisma::Catalog> {
        crate::catalog::introspect(self.session.db(), &self.session.schema, &history::TABLES)
            .await
            .map_err(|e| {
                crate::error::Error::new(
                    crate::error::Code::QueryFailed,
                    format!(
                        "cannot read the scratch database's catalog: {}",
                        session::describe_db_error(&e)
                    ),
                    "run with -v for details",
                )
            })
    }

    /// Closes the session and drops the database (best effort: a leftover
    /// scratch database is dropped by the next run anyway).
    pub async fn drop_database(self, ctx: &Ctx) {
        self.session.close().await;
        let sql = format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(&self.name)
        );
        let mut others = 0;
        let dropped = match superuser_session(ctx, &self.cluster).await {
            Ok(admin) => {
                let result = execute(&admin, &sql).await;
                if self.started {
                    others = other_clients(&admin).await;
                }
                admin.close().await;
                result
            }
            Err(e) => Err(e),
        };
        if let Err(e) = dropped {
            tracing::warn!(
                "could not drop the scratch database {}: {}",
                self.name,
                e.message
            );
        }
        if self.started && others == 0 {
            stop_quietly(ctx, &self.cluster);
        } else if self.started {
            ctx.ui.progress(format_args!(
                "left the local PostgreSQL running: {others} other client(s) connected meanwhile"
            ));
        }
    }
}

/// Stops a cluster this command started, and says so (a failure to stop
/// it is a warning: the command's own work is done).
fn stop_quietly(ctx: &Ctx, cluster: &Cluster) {
    match cluster.stop() {
        Ok(_) => ctx
            .ui
            .progress("stopped the local PostgreSQL again (this command started it)"),
        Err(e) => tracing::warn!("could not stop the local PostgreSQL: {}", e.message),
    }
}

/// How many other clients are connected to the cluster (someone started
/// using it meanwhile: it is then left running). Unknown counts as one.
async fn other_clients(admin: &Session) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_catalog.pg_stat_activity \
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    )
    .fetch_one(admin.pool())
    .await
    .unwrap_or(1)
}

/// `name` is not a migration of this binary.
pub fn unknown_migration(name: &str) -> crate::error::Error {
    crate::error::Error::new(
        crate::error::Code::ResolveRefused,
        format!("there is no migration {name}"),
        "use a directory name of prisma/migrations, as `migrate status` lists them",
    )
}

/// A session as the local cluster's superuser on its `postgres` database,
/// for statements that create and drop databases.
pub async fn superuser_session(ctx: &Ctx, cluster: &Cluster) -> Result<Session> {
    let spec = cluster.superuser_spec("postgres");
    Session::open(&spec, ctx.connector.connect_timeout(&spec)).await
}

async fn execute(session: &Session, sql: &str) -> Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(session.pool())
        .await
        .map(|_| ())
        .map_err(|e| session::query_error(&e, "prepare the scratch database"))
}
