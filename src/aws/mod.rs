//! The AWS side of credentials: Secrets Manager and RDS IAM auth tokens.
//!
//! Configuration comes from the AWS SDK's own default chain, so the
//! standard variables (`AWS_PROFILE`, `AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`,
//! web identity, ECS and instance credentials, `credential_process`) work as
//! in every AWS SDK. SSO profiles do not: the SSO crates are left out to keep
//! the build lean. The region is passed explicitly where resolution found
//! one, never defaulted.

pub mod iam;
pub mod secrets;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Loads the SDK configuration once per process; every AWS call is bounded
/// by `timeout`.
pub async fn load_config(timeout: Duration) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .operation_timeout(timeout)
                .build(),
        )
        .load()
        .await
}
