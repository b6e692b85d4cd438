//! Resolving and opening connections exactly as the Lambda does, for the
//! CLI and for any long-running Rust service (`impulse_db::Connector`).
//!
//! A [`Connector`] holds the layered sources and a per-process cache of
//! secrets: a secret is fetched once. Each [`Connector::connect`] resolves
//! again (an IAM token is signed fresh every time), and when the database
//! answers `28P01` to a password that came from a secret, the secret is
//! fetched again and the connection retried once: the password was rotated
//! after it was cached. The log says so; it never shows a value.
//!
//! ```no_run
//! # async fn example() -> Result<(), impulse_db::error::Error> {
//! use impulse_db::{Connector, Which};
//! let connector = Connector::from_env(None)?;
//! let session = connector.connect(Which::App).await?;
//! // session.db is a sea_orm::DatabaseConnection
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use tokio::sync::OnceCell;

use crate::aws::{iam, secrets::Secrets};
use crate::config::{self, DbSecret, DotEnv, Resolved, Sources, Which};
use crate::connect::{self, Session};
use crate::error::{Error, Result};

/// Used when neither `--connect-timeout` nor the URL's `connect_timeout` says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Resolves connections from flags, environment, `.env`, Secrets Manager
/// and IAM, and opens them.
pub struct Connector {
    sources: Sources,
    connect_timeout: Option<Duration>,
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
                env: std::env::vars().collect(),
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

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// The same sources with IAM switched on (`migrate iam-token`).
    pub fn with_iam(&self) -> Self {
        let mut sources = self.sources.clone();
        sources.flags.iam = true;
        Self::new(sources, self.connect_timeout)
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

    async fn aws(&self) -> &SdkConfig {
        let timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        self.aws
            .get_or_init(|| crate::aws::load_config(timeout))
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
        let secrets = Secrets::new(self.aws().await, region);
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
        let plan = config::plan(&self.sources, which)?;
        let secret = match &plan.secret_id {
            Some((id, _)) => Some(
                self.secret(
                    id,
                    &plan.secret_stage.0,
                    plan.region.as_ref().map(|(r, _)| r.as_str()),
                    refresh,
                )
                .await?,
            ),
            None => None,
        };
        let mut resolved = config::resolve(&plan, secret.as_ref())?;
        if resolved.iam.is_some() {
            let (region, _) = resolved.iam_region().ok_or_else(|| {
                Error::config(
                    "config.region_missing",
                    format!(
                        "no AWS region to sign an IAM auth token for host {}",
                        resolved.spec.host
                    ),
                    "pass --region or set AWS_REGION (an *.rds.amazonaws.com host names its own region)",
                )
            })?;
            let credentials = iam::credentials(self.aws().await).await?;
            let token = iam::auth_token(
                &resolved.spec.host,
                resolved.spec.port,
                &resolved.spec.user,
                &region,
                &credentials,
                SystemTime::now(),
            )?;
            resolved.use_iam_token(token);
        }
        resolved.check_placeholders()?;
        for param in &resolved.spec.unknown_params {
            tracing::warn!(
                "{}: URL parameter `{param}` is not understood and is ignored",
                resolved.origins.host
            );
        }
        Ok(resolved)
    }

    /// Resolves and opens connection `which`, following a rotated secret.
    pub async fn connect(&self, which: Which) -> Result<Session> {
        let resolved = self.resolve(which).await?;
        self.open(resolved).await
    }

    /// Opens an already resolved connection, following a rotated secret.
    pub async fn open(&self, resolved: Resolved) -> Result<Session> {
        let timeout = self.connect_timeout(&resolved.spec);
        let first = connect::connect(&resolved.spec, timeout).await;
        let error = match first {
            Ok(session) => return Ok(session),
            Err(e) => e,
        };
        if resolved.iam.is_some() {
            return Err(iam_rejected(error));
        }
        let Some(old) = resolved
            .secret
            .as_ref()
            .filter(|_| error.code == "auth.password_mismatch")
        else {
            return Err(error);
        };
        // The cached secret may be older than a rotation: read it again.
        let fresh = self.resolve_with(resolved.which, true).await?;
        let Some(new) = &fresh.secret else {
            return Err(error);
        };
        if new.version_id == old.version_id && fresh.spec.password == resolved.spec.password {
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
        let mut session = connect::connect(&fresh.spec, timeout).await?;
        session.credentials_refetched = true;
        Ok(session)
    }
}

/// With IAM, a refused password is a refused token: say what to check.
pub(crate) fn iam_rejected(e: Error) -> Error {
    let rejected = e.code == "auth.password_mismatch"
        || (e.code == "auth.no_hba_entry" && e.message.contains("PAM"));
    if !rejected {
        return e;
    }
    Error::connect(
        "auth.iam_token_rejected",
        format!("the database refused the IAM auth token: {}", e.message),
        "check that the token's region is the database's (--region), that this machine's clock \
         is right, that the caller's IAM policy allows rds-db:connect on \
         arn:aws:rds-db:REGION:ACCOUNT:dbuser:RESOURCE_ID/USER, and that the role is granted rds_iam",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_token_is_named_with_what_to_check() {
        for refused in [
            Error::connect(
                "auth.password_mismatch",
                "password authentication failed for user \"app\"",
                "",
            ),
            Error::connect(
                "auth.no_hba_entry",
                "PAM authentication failed for user \"app\"",
                "",
            ),
        ] {
            let e = iam_rejected(refused);
            assert_eq!(e.code, "auth.iam_token_rejected");
            for what in ["region", "clock", "rds-db:connect", "rds_iam"] {
                assert!(e.hint.contains(what), "{what}: {}", e.hint);
            }
        }
        let other = iam_rejected(Error::connect("network.refused", "refused", ""));
        assert_eq!(other.code, "network.refused");
    }
}
