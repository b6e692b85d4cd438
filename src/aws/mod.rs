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
/// by `timeout`. With `region` (the secret ARN's, `--region`, ...) the
/// SDK's own region chain is not consulted: on a machine that is not in
/// AWS, its last step (instance metadata) only times out and warns.
pub async fn load_config(timeout: Duration, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .operation_timeout(timeout)
                .build(),
        );
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_string()));
    }
    loader.load().await
}

/// The cause of an AWS SDK error in one line: the innermost error of its
/// chain (`Connection refused (os error 111)`, `dns error: ...`), where
/// the outer ones only say "dispatch failure" or "io error". Never the
/// `Debug` dump `DisplayErrorContext` ends with.
pub fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = e.to_string();
    let mut source = e.source();
    while let Some(next) = source {
        let text = next.to_string();
        if !text.trim().is_empty() {
            innermost = text;
        }
        source = next.source();
    }
    one_line(&innermost)
}

/// A credentials failure somewhere in `e`'s chain, in words: `None` when
/// the failure is not about credentials.
pub fn credentials_problem(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    use aws_credential_types::provider::error::CredentialsError;
    let mut source = Some(e);
    while let Some(err) = source {
        if let Some(creds) = err.downcast_ref::<CredentialsError>() {
            return Some(match creds {
                CredentialsError::CredentialsNotLoaded(_) => {
                    "no AWS credentials were found (the SDK's default chain: environment, \
                     profile, web identity, ECS, instance metadata)"
                        .to_string()
                }
                CredentialsError::ProviderTimedOut(d) => format!(
                    "loading AWS credentials timed out after {}s",
                    d.timeout_duration().as_secs()
                ),
                other => format!("AWS credentials could not be loaded: {}", cause(other)),
            });
        }
        source = err.source();
    }
    None
}

/// One line of at most 200 characters.
fn one_line(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 200 {
        return flat;
    }
    flat.chars().take(197).collect::<String>() + "..."
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
