//! Resolving and opening connections exactly as the Lambda does, for the
//! CLI and for any long-running Rust service (`impulse_db::Connector`).
//!
//! A [`Connector`] holds the layered sources and a per-process cache of
//! secrets: a secret is fetched once. Each [`Connector::connect`] resolves
//! again (an IAM token is signed fresh every time), and when the database
//! answers `28P01` to a password that came from a secret, the secret is
//! fetched again and the connection retried once: the password was rotated
//! after it was cached. The log says so; it never shows a value.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use crate::aws::{iam, secrets::Secrets};
use crate::config::{self, DbSecret, DotEnv, Resolved, Sources, Which};
use crate::error::{Code, Error, Result};
use crate::session::{First, FirstResults, Session};

/// How far resolving one connection got: the connection (when its parts
/// could be put together) and the problems that stop it from being used.
#[derive(Debug)]
pub struct Attempt {
    pub resolved: Option<Resolved>,
    pub error: Option<Error>,
    /// The secret configured could not be read: the user and password
    /// shown are the URL's, not the secret's.
    pub unread_secret: bool,
}

/// Used when neither `--connect-timeout` nor the URL's `connect_timeout` says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves connections from flags, environment, `.env`, Secrets Manager
/// and IAM, and opens them, following a rotated secret.
///
/// ```no_run
/// # async fn example() -> Result<(), impulse_db::Error> {
/// use impulse_db::{Connector, Which};
///
/// // DATABASE_URL, DB_SECRET_ARN, DB_IAM_AUTH ... from the environment and `.env`.
/// let connector = Connector::from_env(None)?;
/// let session = connector.connect(Which::App).await?;
/// // `session.db()` is a sea_orm::DatabaseConnection; `session.pool()` the sqlx pool.
/// let version = session.server_version;
/// session.close().await;
/// # let _ = version;
/// # Ok(()) }
/// ```
pub struct Connector {
    sources: Sources,
    connect_timeout: Option<Duration>,
    lock_timeout: Option<Duration>,
    aws: OnceCell<SdkConfig>,
    cache: Mutex<HashMap<(String, String), DbSecret>>,
    fetches: AtomicUsize,
}

impl Connector {
    /// A connector over `sources`; `connect_timeout` overrides the URL's.
    pub fn new(sources: Sources, connect_timeout: Option<Duration>) -> Self {
        Self {
            sources,
            connect_timeout,
            lock_timeout: None,
            aws: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
            fetches: AtomicUsize::new(0),
        }
    }

    /// A connector over the process environment and an env file (`.env`
    /// in the current directory when `None`; missing is fine).
    pub fn from_env(env_file: Option<&Path>) -> Result<Self> {
        let dotenv = match env_file {
            Some(path) => DotEnv::load(path, true)?,
            None => DotEnv::load(Path::new(".env"), false)?,
        };
        Ok(Self::new(
            Sources {
                env: Sources::process_env(),
                dotenv,
                ..Sources::default()
            },
            None,
        ))
    }

    /// Uses an AWS SDK configuration the caller already has (a service that
    /// set up the SDK itself, or a local endpoint in tests) instead of
    /// loading the default chain.
    pub fn with_aws_config(mut self, config: SdkConfig) -> Self {
        self.aws = OnceCell::from(config);
        self
    }

    /// Sessions this connector opens set `lock_timeout` to `timeout`, so
    /// that none of their statements waits longer than that for another
    /// session's lock (the CLI's `--lock-timeout`). Without it the server's
    /// own setting is left alone.
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = Some(timeout);
        self
    }

    /// The `lock_timeout` sessions get (see [`Connector::with_lock_timeout`]).
    pub fn lock_timeout(&self) -> Option<Duration> {
        self.lock_timeout
    }

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// The same sources with IAM switched on (`migrate iam-token`).
    pub fn with_iam(&self) -> Self {
        let mut sources = self.sources.clone();
        sources.flags.iam = true;
        let mut iam = Self::new(sources, self.connect_timeout);
        iam.lock_timeout = self.lock_timeout;
        iam
    }

    /// How many times a secret was read from Secrets Manager.
    pub fn secret_fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// The time limit for connecting when no URL says otherwise.
    pub fn connect_timeout_default(&self) -> Duration {
        self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }

    /// The time limit for connecting with `spec`.
    pub fn connect_timeout(&self, spec: &config::ConnSpec) -> Duration {
        self.connect_timeout
            .or(spec.connect_timeout)
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }

    /// The AWS SDK's configuration, loaded on first use (with `region`
    /// when the first user knows one).
    async fn aws(&self, region: Option<&str>) -> &SdkConfig {
        let timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        self.aws
            .get_or_init(|| crate::aws::load_config(timeout, region))
            .await
    }

    /// Reads secret `id` at `stage`, from the cache unless `refresh`.
    pub async fn secret(
        &self,
        id: &str,
        stage: &str,
        region: Option<&str>,
        refresh: bool,
    ) -> Result<DbSecret> {
        let key = (id.to_string(), stage.to_string());
        if !refresh && let Some(hit) = self.lock_cache().get(&key) {
            return Ok(hit.clone());
        }
        let secrets = Secrets::new(self.aws(region).await, region);
        self.fetches.fetch_add(1, Ordering::SeqCst);
        let secret = secrets.fetch(id, stage).await?;
        tracing::debug!(
            "read secret {} version {} ({stage})",
            secret.arn,
            secret.version_id
        );
        self.lock_cache().insert(key, secret.clone());
        Ok(secret)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), DbSecret>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Resolves connection `which` completely: secret, IAM token, checks.
    pub async fn resolve(&self, which: Which) -> Result<Resolved> {
        self.resolve_with(which, false).await
    }

    async fn resolve_with(&self, which: Which, refresh: bool) -> Result<Resolved> {
        let attempt = self.attempt_with(which, refresh).await;
        match (attempt.resolved, attempt.error) {
            (_, Some(e)) => Err(e),
            (Some(resolved), None) => Ok(resolved),
            (None, None) => Err(Error::internal(
                "resolution gave neither a connection nor an error",
            )),
        }
    }

    /// Resolves connection `which` as far as it goes, for `migrate url`:
    /// the connection even when a check failed or the secret could not be
    /// read (its parts then as the URL has them), with every problem.
    pub async fn attempt(&self, which: Which) -> Attempt {
        self.attempt_with(which, false).await
    }

    async fn attempt_with(&self, which: Which, refresh: bool) -> Attempt {
        let failed = |e| Attempt {
            resolved: None,
            error: Some(e),
            unread_secret: false,
        };
        let plan = match config::plan(&self.sources, which) {
            Ok(plan) => plan,
            Err(e) => return failed(e),
        };
        let (secret, unread) = match &plan.secret_id {
            Some(id) => match self
                .secret(
                    &id.value,
                    &plan.secret_stage.value,
                    plan.region_name(),
                    refresh,
                )
                .await
            {
                Ok(secret) => (Some(secret), None),
                Err(e) => (None, Some(e)),
            },
            None => (None, None),
        };
        let mut resolved = match config::resolve(&plan, secret.as_ref()) {
            Ok(resolved) => resolved,
            Err(e) => return failed(unread.unwrap_or(e)),
        };
        let unread_secret = unread.is_some();
        // Before signing: every problem of the parts at once (a host or
        // user with a control character in it is the user's error, not a
        // signing failure).
        if let Err(e) = resolved.check_all(unread) {
            return Attempt {
                resolved: Some(resolved),
                error: Some(e),
                unread_secret,
            };
        }
        if resolved.iam.is_some()
            && let Err(e) = self.sign(&mut resolved).await
        {
            return Attempt {
                resolved: Some(resolved),
                error: Some(e),
                unread_secret,
            };
        }
        for param in resolved.unknown_params() {
            tracing::warn!(
                "{}: URL parameter `{param}` is not understood and is ignored",
                resolved.host.origin
            );
        }
        Attempt {
            resolved: Some(resolved),
            error: None,
            unread_secret,
        }
    }

    /// Replaces the password with a fresh IAM auth token.
    async fn sign(&self, resolved: &mut Resolved) -> Result<()> {
        let region = resolved.iam_region().ok_or_else(|| {
            Error::new(
                Code::ConfigRegionMissing,
                format!(
                    "no AWS region to sign an IAM auth token for host {}",
                    resolved.host.value
                ),
                "pass --region or set AWS_REGION (an *.rds.amazonaws.com host names its own region)",
            )
        })?;
        let credentials = iam::credentials(self.aws(Some(&region.value)).await).await?;
        let token = iam::auth_token(
            &resolved.host.value,
            resolved.port.value,
            &resolved.user.value,
            &region.value,
            &credentials,
            SystemTime::now(),
        )?;
        resolved.use_iam_token(token);
        Ok(())
    }

    /// Resolves and opens connection `which`, following a rotated secret.
    pub async fn connect(&self, which: Which) -> Result<Session> {
        let resolved = self.resolve(which).await?;
        self.connect_resolved(&resolved).await
    }

    /// Opens an already resolved connection, following a rotated secret.
    pub async fn connect_resolved(&self, resolved: &Resolved) -> Result<Session> {
        self.connect_resolved_with(resolved, &First::default())
            .await
            .map(|(session, _)| session)
    }

    /// [`Connector::connect_resolved`], with `first`'s statements in the
    /// session's first message ([`Session::open_with`]).
    pub async fn connect_resolved_with(
        &self,
        resolved: &Resolved,
        first: &First,
    ) -> Result<(Session, FirstResults)> {
        let spec = resolved.spec();
        let timeout = self.connect_timeout(&spec);
        let error = match Session::open_with(&spec, timeout, self.lock_timeout, first).await {
            Ok(opened) => return Ok(opened),
            Err(e) => e,
        };
        let Some(old) = resolved
            .secret
            .as_ref()
            .filter(|_| error.code == Code::AuthPasswordMismatch)
        else {
            return Err(error);
        };
        // The cached secret may be older than a rotation: read it again.
        let fresh = self.resolve_with(resolved.which, true).await?;
        let Some(new) = &fresh.secret else {
            return Err(error);
        };
        if new.version_id == old.version_id && fresh.password == resolved.password {
            tracing::debug!(
                "secret {} is unchanged (version {}): not retrying",
                new.arn,
                new.version_id
            );
            return Err(error);
        }
        tracing::warn!(
            "authentication failed with secret {} version {}; it has been rotated to version {}: \
             fetched it again and retrying once",
            old.arn,
            old.version_id,
            new.version_id
        );
        let (mut session, results) =
            Session::open_with(&fresh.spec(), timeout, self.lock_timeout, first).await?;
        session.credentials_refetched = true;
        Ok((session, results))
    }
}
