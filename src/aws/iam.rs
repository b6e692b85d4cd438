//! RDS IAM authentication tokens, signed locally with the AWS SDK's SigV4
//! signer (`aws-sigv4`), byte for byte what boto3's
//! `generate_db_auth_token` produces for the same inputs and time.
//!
//! A token is a presigned `GET https://HOST:PORT/?Action=connect&DBUser=USER`
//! for service `rds-db`, valid 900 s, with only `host` signed, written
//! without the scheme. Unlike aws-sdk-rds 1.159's `AuthTokenGenerator`, the
//! user name is percent-encoded before signing (that one signs `app+x` as
//! `app x` and panics on a space), the region is required (no silent
//! `us-east-1`), and the token is a [`Secret`], so it cannot reach a log
//! through `Debug`.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings};
use aws_sigv4::sign::v4;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{Code, Error, Result};
use crate::secret::Secret;

/// How long a token is valid: the most RDS accepts.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(900);

/// RFC 3986 unreserved characters stay; everything else is encoded, as in
/// SigV4 canonical query strings and in boto3's presigned URLs.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The order boto3 writes the presigned query in.
const ORDER: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Security-Token",
    "X-Amz-Signature",
];

/// Credentials from the SDK's default chain.
pub async fn credentials(config: &SdkConfig) -> Result<Credentials> {
    let no_credentials = |detail: String| {
        Error::new(
            Code::AwsNoCredentials,
            format!("cannot sign an RDS IAM auth token{detail}"),
            "provide credentials the AWS way: an IAM role (Lambda, ECS, EC2), AWS_PROFILE, \
             or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
        )
    };
    let provider = config
        .credentials_provider()
        .ok_or_else(|| no_credentials(": no AWS credentials provider is configured".into()))?;
    provider.provide_credentials().await.map_err(|e| {
        let problem = crate::aws::credentials_problem(&e).unwrap_or_else(|| crate::aws::cause(&e));
        no_credentials(format!(": {problem}"))
    })
}

/// Signs a token for `user` at `host:port` in `region`, as of `time`.
pub fn auth_token(
    host: &str,
    port: u16,
    user: &str,
    region: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<Secret> {
    let signing_error = |e: &dyn std::fmt::Display| {
        Error::internal(format!("cannot sign an RDS IAM auth token: {e}"))
    };
    let query = format!(
        "Action=connect&DBUser={}",
        utf8_percent_encode(user, QUERY_VALUE)
    );
    let url = format!("https://{host}:{port}/?{query}");
    let request = SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(&[]))
        .map_err(|e| signing_error(&e))?;

    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("rds-db")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| signing_error(&e))?
        .into();
    let (instructions, _signature) = aws_sigv4::http_request::sign(request, &params)
        .map_err(|e| signing_error(&e))?
        .into_parts();

    let mut token = format!("{host}:{port}/?{query}");
    for name in ORDER {
        if let Some((_, value)) = instructions.params().iter().find(|(n, _)| *n == name) {
            token.push('&');
            token.push_str(name);
            token.push('=');
            token.extend(utf8_percent_encode(value, QUERY_VALUE));
        }
    }
    Ok(Secret::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
    }

    /// boto3 1.43's `generate_db_auth_token` for the same inputs, frozen at
    /// 2026-11-29T12:00:00Z (the integration tests compare many more cases
    /// against boto3 itself).
    #[test]
    fn matches_boto3() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let token = auth_token(
            "db.abc.eu-west-1.rds.amazonaws.com",
            5432,
            "impulse_app",
            "eu-west-1",
            &creds,
            at(1_795_953_600),
        )
        .unwrap();
        assert_eq!(
            token.expose(),
            "db.abc.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=impulse_app\
             &X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIDEXAMPLE%2F20261129%2Feu-west-1%2Frds-db%2Faws4_request\
             &X-Amz-Date=20261129T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=fbc3dd055bfff8bd7c43f3e691545784c15fe8a8cf73699e4eb6be4fd124b52b"
        );
        assert_eq!(format!("{token:?}"), "Secret(****)");
    }
}
