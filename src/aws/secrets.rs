//! Reading a database secret from AWS Secrets Manager.
//!
//! The version stage is always passed explicitly (`AWSCURRENT` unless asked
//! otherwise): a get without one can return a stale version in some
//! implementations, and being explicit is correct against AWS too. Errors
//! become diagnosis codes with hints; no secret value ever reaches a message.

use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::Region;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use crate::config::DbSecret;
use crate::error::{Code, Error, Result};

/// A Secrets Manager client for one region (or the SDK's default region).
#[derive(Clone, Debug)]
pub struct Secrets {
    client: Client,
    /// The endpoint the shared configuration names, if any.
    endpoint_url: Option<String>,
}

impl Secrets {
    /// A client from the shared SDK configuration, in `region` when given.
    pub fn new(config: &SdkConfig, region: Option<&str>) -> Self {
        let mut builder = aws_sdk_secretsmanager::config::Builder::from(config);
        if let Some(region) = region {
            builder = builder.region(Region::new(region.to_string()));
        }
        Self {
            client: Client::from_conf(builder.build()),
            endpoint_url: config.endpoint_url().map(String::from),
        }
    }

    /// Wraps a client built elsewhere (tests use the SDK's replay client).
    #[cfg(test)]
    pub fn from_client(client: Client) -> Self {
        Self {
            client,
            endpoint_url: None,
        }
    }

    /// Where requests go, for messages: the configured endpoint
    /// (`AWS_ENDPOINT_URL`...), else the region's.
    fn endpoint(&self) -> String {
        match (&self.endpoint_url, self.client.config().region()) {
            (Some(url), _) => url.clone(),
            (None, Some(region)) => format!("secretsmanager.{region}.amazonaws.com"),
            (None, None) => "no region".to_string(),
        }
    }

    /// Reads `id` (an ARN or a name) at version stage `stage`.
    pub async fn fetch(&self, id: &str, stage: &str) -> Result<DbSecret> {
        if self.client.config().region().is_none() {
            return Err(Error::new(
                Code::ConfigRegionMissing,
                format!("no AWS region for secret {id}"),
                "use the secret's full ARN (it names the region), pass --region, or set AWS_REGION",
            ));
        }
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .version_stage(stage)
            .send()
            .await
            .map_err(|e| classify(&e, id, stage, &self.endpoint()))?;
        let arn = output.arn().unwrap_or(id);
        let version = output.version_id().unwrap_or("unknown");
        let text = output.secret_string().ok_or_else(|| {
            Error::new(
                Code::SecretMalformed,
                format!(
                    "secret {arn} (version {version}, {stage}) holds binary data, not a JSON string"
                ),
                "store the credentials as a JSON SecretString with \"username\" and \"password\"",
            )
        })?;
        DbSecret::parse(text, arn, version, stage)
    }
}

/// Maps a failed `GetSecretValue` to a diagnosis code, with its cause in
/// one line (`endpoint` names where the request went).
fn classify(e: &SdkError<GetSecretValueError>, id: &str, stage: &str, endpoint: &str) -> Error {
    match e {
        SdkError::ServiceError(service) => {
            let err = service.err();
            let code = err.code().unwrap_or("unknown");
            let aws_message = err.message().unwrap_or("");
            if err.is_resource_not_found_exception() {
                Error::new(
                    Code::SecretNotFound,
                    format!("Secrets Manager has no secret {id} at stage {stage}: {aws_message}"),
                    "check the ARN or name in DB_SECRET_ARN / MIGRATION_SECRET_ARN, the region \
                     (the ARN's region wins; else --region or AWS_REGION) and the account",
                )
            } else if code == "AccessDeniedException" || err.is_decryption_failure() {
                Error::new(
                    Code::SecretAccessDenied,
                    format!("reading secret {id} was denied ({code}): {aws_message}"),
                    "allow secretsmanager:GetSecretValue on this secret in the caller's IAM \
                     policy, and kms:Decrypt on the KMS key that encrypts it (for a \
                     customer-managed key, also in the key policy)",
                )
            } else if err.is_invalid_request_exception() {
                Error::new(
                    Code::SecretUnavailable,
                    format!("secret {id} cannot be read ({code}): {aws_message}"),
                    "the secret may be scheduled for deletion or lack a version at this stage; \
                     check it in the Secrets Manager console",
                )
            } else {
                Error::new(
                    Code::SecretError,
                    format!("reading secret {id} failed ({code}): {aws_message}"),
                    "retry; if it persists, check the Secrets Manager service health",
                )
            }
        }
        _ if crate::aws::credentials_problem(e).is_some() => {
            let problem = crate::aws::credentials_problem(e).unwrap_or_default();
            Error::new(
                Code::AwsNoCredentials,
                format!("cannot read secret {id}: {problem}"),
                Code::AwsNoCredentials.hint(),
            )
        }
        SdkError::TimeoutError(_) => Error::new(
            Code::SecretUnreachable,
            format!(
                "Secrets Manager ({endpoint}) did not answer within the time limit for secret {id}"
            ),
            "check the network path to Secrets Manager (inside a VPC: a VPC endpoint or a NAT \
             gateway) and AWS_ENDPOINT_URL if set; --connect-timeout sets the limit",
        ),
        SdkError::DispatchFailure(_) => Error::new(
            Code::SecretUnreachable,
            format!(
                "cannot reach Secrets Manager ({endpoint}) for secret {id}: {}",
                crate::aws::cause(e)
            ),
            "check network access to the Secrets Manager endpoint (inside a VPC: a VPC \
             endpoint or a NAT gateway) and AWS_ENDPOINT_URL if set",
        ),
        other => Error::new(
            Code::SecretError,
            format!("reading secret {id} failed: {}", crate::aws::cause(other)),
            "run with -v for the AWS SDK's own log",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;
    use aws_sdk_secretsmanager::config::BehaviorVersion;
    use aws_smithy_http_client::test_util::infallible_client_fn;

    /// A client whose every call gets `status` and the JSON error `body`,
    /// parsed by the SDK exactly as a real response would be.
    fn answering(status: u16, body: &'static str) -> Secrets {
        let conf = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
            .http_client(infallible_client_fn(move |_| {
                http::Response::builder()
                    .status(status)
                    .header("content-type", "application/x-amz-json-1.1")
                    .body(body)
                    .expect("static response")
            }))
            .build();
        Secrets::from_client(Client::from_conf(conf))
    }

    fn fetch_error(secrets: &Secrets) -> Error {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(secrets.fetch("arn:aws:secretsmanager:us-east-1:1:secret:db", "AWSCURRENT"))
            .unwrap_err()
    }

    #[test]
    fn access_denied_is_exit_3_with_the_permission_to_add() {
        let e = fetch_error(&answering(
            400,
            r#"{"__type":"AccessDeniedException","Message":"User: arn:aws:sts::1:assumed-role/lambda/fn is not authorized to perform: secretsmanager:GetSecretValue"}"#,
        ));
        assert_eq!(
            (e.code, e.exit()),
            (Code::SecretAccessDenied, crate::error::Exit::Connect)
        );
        assert!(e.message.contains("not authorized"), "{}", e.message);
        assert!(e.hint.contains("secretsmanager:GetSecretValue") && e.hint.contains("kms:Decrypt"));
    }

    #[test]
    fn kms_decryption_failure_is_access_denied() {
        let e = fetch_error(&answering(
            400,
            r#"{"__type":"DecryptionFailure","Message":"Access to KMS is not allowed"}"#,
        ));
        assert_eq!(e.code, Code::SecretAccessDenied);
    }

    #[test]
    fn not_found_is_a_configuration_error() {
        let e = fetch_error(&answering(
            400,
            r#"{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}"#,
        ));
        assert_eq!(
            (e.code, e.exit()),
            (Code::SecretNotFound, crate::error::Exit::Usage)
        );
        assert!(e.hint.contains("region"));
    }
}
