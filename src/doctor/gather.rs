//! The I/O half of the doctor: ask the configuration, Secrets Manager, the
//! network, the server and the catalog, and write down what they answered.
//!
//! Each connection is walked step by step (`config`, `url`, `secret`,
//! `dns`, `tcp`, `tls`, then one login for `auth` and `database`, split at
//! the server's `AuthenticationOk`) on one connection: the TCP connection the `tcp` step opens is the one the TLS
//! step negotiates and the driver logs in on. Each network step has its own
//! bound and the whole run has a deadline. A failed step
//! ends the walk of its connection. Nothing is concluded here, and nothing
//! is ever changed: other secret versions are only tried, the role is
//! looked up in `pg_roles`, and the schema the migrations define is built
//! in a temporary schema inside a transaction that is rolled back.

use std::time::{Duration, Instant};

use migration::prisma::PrismaMigrator;
use sea_orm::{ConnectionTrait, TransactionTrait};
use sqlx::Row;

use super::facts::*;
use crate::config::{self, ConnSpec, Resolved, Which};
use crate::connector::Connector;
use crate::error::Code;
use crate::grants::{self, Kind, WhenAppIsOwner};
use crate::migrations::{self, Known};
use crate::session::{self, Session};
use crate::sql::quote_ident;
use crate::{catalog, history, lock, net, runner, transport};

/// A connection walked, and the session kept open when the catalog checks
/// need it.
pub(crate) struct Walked {
    pub facts: ConnectionFacts,
    pub resolved: Option<Resolved>,
    pub session: Option<Session>,
}

/// What every step of a walk shares: the connector, the run's deadline and
/// the bound of one network step.
pub(crate) struct Walk<'a> {
    pub connector: &'a Connector,
    pub deadline: Instant,
    pub step: Duration,
}

/// The longest one read of the doctor waits for another session's lock
/// (less when `--lock-timeout` or the time left is shorter): a read that
/// waits is itself the finding, and three of them must fit in the budget.
pub const LOCK_WAIT: Duration = Duration::from_secs(1);

impl Walk<'_> {
    fn remaining(&self) -> Duration {
        self.left().min(self.step)
    }

    /// What is left of the whole run's budget.
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// How long a read may wait for a lock now.
    fn lock_wait(&self) -> Duration {
        let configured = self
            .connector
            .lock_timeout()
            .unwrap_or(crate::session::DEFAULT_LOCK_TIMEOUT);
        LOCK_WAIT.min(configured).min(self.left())
    }

    /// Bounds the admin session's next statements by the time left: each
    /// lock wait by [`Walk::lock_wait`], each statement by the budget.
    async fn bound(&self, session: &Session) -> Result<(), crate::error::Error> {
        session
            .set_timeouts(self.lock_wait(), Some(self.left()))
            .await
    }

    /// Walks connection `which`; with `need_session`, a working connection
    /// is kept open for the checks that read the catalog.
    pub async fn connection(&self, which: Which, need_session: bool) -> Walked {
        let mut facts = ConnectionFacts {
            which,
            config: Timed::new(Ok(Vec::new()), Duration::ZERO),
            url: None,
            secret: None,
            dns: None,
            tcp: None,
            tls: None,
            login: None,
            authenticated_after: None,
            target: None,
        };
        let walked = |facts| Walked {
            facts,
            resolved: None,
            session: None,
        };

        // config: is there anything to connect with?
        let t = Instant::now();
        let plan = match config::plan(self.connector.sources(), which) {
            Ok(plan) => plan,
            Err(e) => {
                facts.config = Timed::new(Err(e), t.elapsed());
                return walked(facts);
            }
        };
        let mut sources = Vec::new();
        if let Some(url) = &plan.url {
            sources.push(format!("URL from {}", url.origin));
        }
        if let Some(id) = &plan.secret_id {
            sources.push(format!("secret from {}", id.origin));
        }
        if let Some(origin) = &plan.iam {
            sources.push(format!("IAM from {origin}"));
        }
        if plan.same_as_app {
            sources.push("the app connection's".into());
        }
        facts.config = Timed::new(Ok(sources), t.elapsed());

        // url: what was typed, before any secret fills it in.
        if let Some(url) = &plan.url {
            let t = Instant::now();
            let parsed = ConnSpec::parse(&url.value, &url.origin.to_string()).and_then(|spec| {
                plan.check_typed_placeholders()?;
                Ok(spec)
            });
            let fact = match parsed {
                Ok(spec) if which == Which::Migration && spec.is_pooler() => {
                    match config::refuse_pooler(&spec, &url.origin) {
                        Err(e) => UrlFact::Pooler(e),
                        Ok(()) => UrlFact::Usable {
                            redacted: spec.redacted(),
                        },
                    }
                }
                Ok(spec) => UrlFact::Usable {
                    redacted: spec.redacted(),
                },
                Err(e) => UrlFact::Unusable(e),
            };
            let stop = matches!(fact, UrlFact::Unusable(_));
            facts.url = Some(Timed::new(fact, t.elapsed()));
            if stop {
                return walked(facts);
            }
        }

        // secret: fetched once; the resolution then fills in the URL.
        let t = Instant::now();
        if let Some(id) = &plan.secret_id
            && let Err(e) = self
                .connector
                .secret(
                    &id.value,
                    &plan.secret_stage.value,
                    plan.region_name(),
                    false,
                )
                .await
        {
            facts.secret = Some(Timed::new(SecretStep::FetchFailed(e), t.elapsed()));
            return walked(facts);
        }
        let resolved = match self.connector.resolve(which).await {
            Ok(resolved) => resolved,
            Err(e) => {
                facts.secret = Some(Timed::new(SecretStep::ResolveFailed(e), t.elapsed()));
                return walked(facts);
            }
        };
        let secret = resolved.secret.clone().map(|secret| SecretFact {
            secret,
            user: resolved.user.value.clone(),
        });
        facts.secret = Some(Timed::new(SecretStep::Resolved(secret), t.elapsed()));
        let spec = resolved.spec();
        facts.target = Some(Target {
            host: spec.host.clone(),
            user: spec.user.clone(),
            dbname: spec.dbname.clone(),
            sslmode: spec.sslmode,
        });

        // dns, tcp: the same steps a session opener takes.
        let t = Instant::now();
        let addrs = net::resolve(&spec.host, spec.port, self.remaining()).await;
        facts.dns = Some(Timed::new(addrs.clone(), t.elapsed()));
        let Ok(addrs) = addrs else {
            return walked(facts);
        };
        let t = Instant::now();
        let tcp = net::tcp(&spec.host, spec.port, &addrs, self.remaining()).await;
        let (addr, stream) = match tcp {
            Ok(connected) => connected,
            Err(e) => {
                facts.tcp = Some(Timed::new(Err(e), t.elapsed()));
                return walked(facts);
            }
        };
        facts.tcp = Some(Timed::new(Ok(addr), t.elapsed()));

        // tls: what sslmode asks for, on that connection.
        let t = Instant::now();
        let negotiated = transport::negotiate(stream, &spec, self.remaining(), self.step).await;
        let leg = match negotiated {
            Ok(leg) => {
                facts.tls = Some(Timed::new(Ok(leg.tls()), t.elapsed()));
                leg
            }
            Err(e) => {
                facts.tls = Some(Timed::new(Err(e), t.elapsed()));
                return walked(facts);
            }
        };

        // auth, database: the driver's login on it, timed apart at the
        // server's AuthenticationOk. A session is kept only where the
        // catalog checks need one.
        let startup = leg.startup();
        let t = Instant::now();
        let (login, session) = if need_session {
            match Session::open_on(
                &spec,
                leg,
                self.remaining(),
                self.step,
                Some(self.lock_wait()),
                &session::First::default(),
            )
            .await
            {
                Ok((session, _)) => (Ok(()), Some(session)),
                Err(e) => (Err(e), None),
            }
        } else {
            (
                session::login_on(&spec, leg, self.remaining(), self.step).await,
                None,
            )
        };
        facts.login = Some(Timed::new(login, t.elapsed()));
        facts.authenticated_after = startup
            .moments()
            .authenticated
            .map(|at| at.saturating_duration_since(t));
        Walked {
            facts,
            resolved: Some(resolved),
            session,
        }
    }

    /// Asks what `28P01` cannot answer: does the database accept another
    /// stage of the secret, and what does `pg_roles` say about the user?
    pub async fn auth(&self, app: &Walked, admin: Option<&Session>) -> Option<AuthFacts> {
        let refusal = match &app.facts.login.as_ref()?.outcome {
            Err(e) if e.code == Code::AuthPasswordMismatch => e.clone(),
            _ => return None,
        };
        let resolved = app.resolved.as_ref()?;
        let mut facts = AuthFacts {
            user: resolved.user.value.clone(),
            refusal,
            secret: resolved.secret.clone(),
            accepted: None,
            role: RoleLookup::NotAsked,
        };
        if let Some(current) = &resolved.secret {
            facts.accepted = self.other_stage_accepted(resolved, current).await;
            if facts.accepted.is_some() {
                return Some(facts);
            }
        }
        if let Some(session) = admin {
            facts.role = lookup_role(session, &facts.user).await;
        }
        Some(facts)
    }

    async fn other_stage_accepted(
        &self,
        resolved: &Resolved,
        current: &crate::config::SecretRef,
    ) -> Option<AcceptedStage> {
        for stage in ["AWSPENDING", "AWSPREVIOUS"] {
            let Ok(other) = self
                .connector
                .secret(
                    &current.id,
                    stage,
                    resolved.region.as_ref().map(|r| r.value.as_str()),
                    false,
                )
                .await
            else {
                continue; // no version has that stage
            };
            if other.version_id == current.version_id {
                continue;
            }
            let mut spec = resolved.spec();
            spec.user = other.username.clone();
            spec.password = Some(other.password.clone());
            let left = self.deadline.saturating_duration_since(Instant::now());
            if session::login_once(&spec, left, left).await.is_ok() {
                return Some(AcceptedStage {
                    stage,
                    version_id: other.version_id,
                });
            }
        }
        None
    }

    /// `privileges`, `migrations` and `schema`, through the admin session.
    /// `auth` is what the auth explanation found out about the app user:
    /// when it was typed in the wrong case, the role it meant is checked.
    pub async fn database<M: PrismaMigrator>(
        &self,
        admin: &Session,
        admin_resolved: &Resolved,
        auth: Option<&AuthFacts>,
    ) -> DatabaseFacts {
        let t = Instant::now();
        let privileges = match self.bound(admin).await {
            Ok(()) => self.privileges(admin, admin_resolved, auth).await,
            Err(e) => PrivilegeFacts::Unreadable(e),
        };
        let privileges = Timed::new(privileges, t.elapsed());

        let t = Instant::now();
        let known = migrations::known::<M>();
        let status = match (&known, self.bound(admin).await) {
            (Ok(known), Ok(())) => runner::read_status(admin, known).await,
            (Err(e), _) => Err(e.clone()),
            (_, Err(e)) => Err(e),
        };
        let migrations = Timed::new(
            status.as_ref().map(migration_facts).map_err(Clone::clone),
            t.elapsed(),
        );
        let (Ok(status), Ok(known)) = (status, known) else {
            return DatabaseFacts {
                privileges,
                migrations,
                schema: None,
            };
        };

        let t = Instant::now();
        let applied: Vec<&str> = status.applied().map(|e| e.name.as_str()).collect();
        let schema = match self.bound(admin).await {
            Ok(()) => lock::reading(admin, schema_facts(admin, &known, &applied)).await,
            Err(e) => Err(e),
        };
        DatabaseFacts {
            privileges,
            migrations,
            schema: Some(Timed::new(schema, t.elapsed())),
        }
    }

    async fn privileges(
        &self,
        admin: &Session,
        admin_resolved: &Resolved,
        auth: Option<&AuthFacts>,
    ) -> PrivilegeFacts {
        let role =
            match grants::app_role(self.connector, admin_resolved, WhenAppIsOwner::Keep).await {
                Ok(role) => role.name,
                Err(e) => return PrivilegeFacts::UnknownRole(e),
            };
        if role == admin_resolved.user.value {
            return PrivilegeFacts::AppIsMigrationRole { role };
        }
        // A user typed in the wrong case logs in as nobody; the role it
        // meant is the one whose privileges matter.
        let role = match auth.map(|a| &a.role) {
            Some(RoleLookup::Found(found))
                if !found.exact && found.name.to_lowercase() == role.to_lowercase() =>
            {
                found.name.clone()
            }
            _ => role,
        };
        let iam = config::plan(self.connector.sources(), Which::App).is_ok_and(|p| p.iam.is_some());
        let accept = match grants::accept::from_sources(self.connector.sources()) {
            Ok(accept) => accept,
            Err(e) => return PrivilegeFacts::Unreadable(e),
        };
        match lock::reading(admin, grants::introspect::read(admin, &role, iam)).await {
            Ok(mut state) => {
                // What the operator accepted (DB_GRANT_ACCEPT) is no problem.
                state.accept = accept;
                let plan = grants::plan(&state);
                let of = |kind| {
                    plan.changes
                        .iter()
                        .filter(|c| c.kind == kind)
                        .map(|c| c.what.clone())
                        .collect::<Vec<_>>()
                };
                // Findings (what the migration role may not fix) count
                // where their code puts them.
                let findings = |code| {
                    plan.findings
                        .iter()
                        .filter(move |f| f.code == code)
                        .map(|f| f.message.clone())
                };
                let mut missing = of(Kind::Missing);
                missing.extend(findings(Code::PrivilegesMissing));
                let mut excess = of(Kind::Excess);
                excess.extend(findings(Code::PrivilegesExcess));
                PrivilegeFacts::Plan {
                    role,
                    missing,
                    excess,
                }
            }
            Err(e) => PrivilegeFacts::Unreadable(e),
        }
    }
}

/// What `pg_roles` says about `user`: the exact role, or one differing only
/// in case.
async fn lookup_role(session: &Session, user: &str) -> RoleLookup {
    let lookup = sqlx::query(
        "SELECT r.rolname::text, r.rolname = $1, \
                CASE WHEN r.rolvaliduntil < now() \
                     THEN to_char(r.rolvaliduntil AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC' END, \
                EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m \
                        JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
                        WHERE m.member = r.oid AND g.rolname = 'rds_iam') \
         FROM pg_catalog.pg_roles r WHERE lower(r.rolname) = lower($1) \
         ORDER BY r.rolname = $1 DESC LIMIT 1",
    )
    .bind(user)
    .fetch_optional(session.pool())
    .await;
    match lookup {
        Ok(Some(row)) => RoleLookup::Found(RoleFact {
            name: row.get(0),
            exact: row.get(1),
            expired_at: row.get(2),
            iam: row.get(3),
        }),
        Ok(None) => RoleLookup::Missing,
        Err(e) => RoleLookup::Failed(session::query_error(&e, "look up the role")),
    }
}

/// The migrations check's facts from the status.
fn migration_facts(s: &runner::Status) -> MigrationFacts {
    MigrationFacts {
        applied: s.applied().count(),
        pending: s.pending().map(|e| e.name.clone()).collect(),
        unknown: s.unknown.iter().map(|u| u.name.clone()).collect(),
        failed: s
            .entries
            .iter()
            .filter_map(|e| match &e.state {
                runner::State::Failed { started_at, .. } => {
                    Some((e.name.clone(), started_at.clone()))
                }
                _ => None,
            })
            .collect(),
        edited: s
            .edited()
            .map(|(e, edited)| {
                (
                    e.name.clone(),
                    edited.recorded_checksum.clone(),
                    edited.file_checksum.clone(),
                )
            })
            .collect(),
        not_baselined: s.unbaselined_tables.clone(),
        legacy: s.legacy,
    }
}

/// The live schema against what the applied migrations define, and against
/// what all of them define.
async fn schema_facts(
    session: &Session,
    known: &[Known],
    applied: &[&str],
) -> Result<SchemaFacts, crate::error::Error> {
    let unreadable = |e: sea_orm::DbErr| {
        if let Some(blocked) = session::db_lock_blocked(&e, "read the catalog") {
            return blocked;
        }
        crate::error::Error::new(
            Code::QueryFailed,
            format!(
                "cannot build the expected schema: {}",
                session::describe_db_error(&e)
            ),
            "the migration role needs CREATE on the database for this check (it uses a \
             temporary schema, rolled back)",
        )
    };
    let all: Vec<&str> = known.iter().map(|k| k.name).collect();
    let expected_applied = expected_catalog(session, known, applied)
        .await
        .map_err(unreadable)?;
    // A pending migration that fails to replay explains nothing.
    let expected_all = if all.len() == applied.len() {
        Some(expected_applied.clone())
    } else {
        expected_catalog(session, known, &all).await.ok()
    };
    let actual = catalog::introspect(session.db(), &session.schema, &history::TABLES)
        .await
        .map_err(unreadable)?;
    Ok(SchemaFacts {
        tables: actual.tables.len(),
        against_applied: catalog::diff(
            &expected_applied,
            &actual,
            "the migrations",
            "the database",
        ),
        against_all: expected_all
            .map(|all| catalog::diff(&all, &actual, "the migrations", "the database")),
    })
}

/// What the migrations named in `which` create, built in a temporary schema
/// inside a transaction that is rolled back: nothing persists.
async fn expected_catalog(
    session: &Session,
    known: &[Known],
    which: &[&str],
) -> Result<crate::prisma::Catalog, sea_orm::DbErr> {
    let scratch = format!("impulse_db_doctor_{}", std::process::id());
    let txn = session.db().begin().await?;
    let built = async {
        txn.execute_unprepared(&format!(
            "CREATE SCHEMA {0}; SET LOCAL search_path TO {0}",
            quote_ident(&scratch)
        ))
        .await?;
        for k in known.iter().filter(|k| which.contains(&k.name)) {
            runner::replay_in_transaction(&sea_orm_migration::SchemaManager::new(&txn), k).await?;
        }
        catalog::introspect(&txn, &scratch, &[]).await
    }
    .await;
    // Rolled back explicitly on every path, before the session is used again.
    txn.rollback().await?;
    built
}
