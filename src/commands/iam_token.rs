//! `migrate iam-token`: a fresh RDS IAM auth token for the app connection,
//! for `PGPASSWORD="$(migrate iam-token)" psql ...`. The token is this
//! command's result, so it goes to stdout, and nowhere else.

use serde_json::json;

use crate::commands::Ctx;
use crate::config::Which;
use crate::error::{Error, Exit, Result};

pub async fn run(ctx: &Ctx) -> Result<Exit> {
    let resolved = ctx.connector.with_iam().resolve(Which::App).await?;
    let token = resolved
        .spec
        .password
        .as_ref()
        .ok_or_else(|| Error::internal("IAM resolution produced no token"))?;
    let region = resolved.iam_region().map(|(r, _)| r).unwrap_or_default();
    ctx.ui.progress(format_args!(
        "token for {}@{}:{} in {region}, valid for 15 minutes",
        resolved.spec.user, resolved.spec.host, resolved.spec.port
    ));
    ctx.ui.result(
        || token.expose().to_string(),
        || {
            json!({
                "token": token.expose(),
                "host": resolved.spec.host,
                "port": resolved.spec.port,
                "user": resolved.spec.user,
                "region": region,
                "expires_in": crate::aws::iam::TOKEN_LIFETIME.as_secs(),
            })
        },
    );
    Ok(Exit::Ok)
}
