//! `migrate iam-token`: a fresh RDS IAM auth token for the app connection,
//! for `PGPASSWORD="$(migrate iam-token)" psql ...`. The token is this
//! command's result, so it goes to stdout, and nowhere else.

use crate::commands::Ctx;
use crate::config::Which;
use crate::error::{Error, Exit, Result};
use crate::secret::Secret;

/// What `migrate iam-token` prints: the token itself, on purpose.
#[derive(Debug, serde::Serialize)]
pub struct TokenReport {
    #[serde(serialize_with = "crate::secret::serialize_exposed")]
    pub token: Secret,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub region: String,
    /// Seconds the token is valid for.
    pub expires_in: u64,
}

impl std::fmt::Display for TokenReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.token.expose())
    }
}

pub async fn run(ctx: &Ctx) -> Result<Exit> {
    let resolved = ctx.connector.with_iam().resolve(Which::App).await?;
    let token = resolved
        .password
        .as_ref()
        .ok_or_else(|| Error::internal("IAM resolution produced no token"))?;
    let region = resolved.iam_region().map(|r| r.value).unwrap_or_default();
    ctx.ui.progress(format_args!(
        "token for {}@{}:{} in {region}, valid for 15 minutes",
        resolved.user.value, resolved.host.value, resolved.port.value
    ));
    ctx.ui.result(&TokenReport {
        token: token.value.clone(),
        host: resolved.host.value.clone(),
        port: resolved.port.value,
        user: resolved.user.value.clone(),
        region,
        expires_in: crate::aws::iam::TOKEN_LIFETIME.as_secs(),
    });
    Ok(Exit::Ok)
}
