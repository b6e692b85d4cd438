//! The AWS side of credentials: Secrets Manager and RDS IAM auth tokens.
//!
//! Configuration comes from the AWS SDK's own default chain, so the
//! standard variables (`AWS_PROFILE`, `AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`,
//! web identity, ECS and instance credentials, `credential_process`) work as
//! in every AWS SDK. SSO profiles do not: the SSO crates are left out to keep
//! the build lean. The region is passed explicitly where resolution found
//! one, never defaulted.
//!
//! The HTTPS client is the SDK's own default one (hyper 1.x on rustls,
//! proxies from `HTTPS_PROXY`/`NO_PROXY`), built here with ring instead of
//! aws-lc: ring is the crypto provider of the whole binary (the database's
//! TLS in [`crate::transport`], rcgen), and aws-lc-sys is a C library that
//! would double the crypto code and dominate a cold build.

pub mod iam;
pub mod secrets;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig};

/// Loads the SDK configuration once per process; every AWS call is bounded
/// by `timeout`.
pub async fn load_config(timeout: Duration) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .operation_timeout(timeout)
                .build(),
        )
        .load()
        .await
}

/// What `aws-smithy-runtime`'s `default-https-client` builds for the latest
/// behavior version, with ring as the crypto provider: every connector gets
/// the SDK's connect and read timeouts and its sleep implementation, and
/// honours `HTTPS_PROXY` / `NO_PROXY`. The credential providers (web
/// identity's STS call, ECS, IMDS) and Secrets Manager all use it.
pub fn https_client() -> aws_sdk_secretsmanager::config::SharedHttpClient {
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}
