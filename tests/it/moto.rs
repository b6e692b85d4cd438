//! A real Secrets Manager API for the tests: `moto_server` (PyPI
//! `moto[server]`), started once per test process on a free port of
//! 127.0.0.1 and stopped when the process ends. Tests set secrets up
//! through the AWS SDK itself and point the binary at moto with the
//! standard AWS variables.

use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_sdk_secretsmanager::Client;

use crate::support::{reap_after_exit, wait_until};

pub const REGION: &str = "us-east-1";

pub struct Moto {
    pub port: u16,
    /// Kept so the server lives as long as this process; the reaper ends it.
    _server: std::sync::Mutex<std::process::Child>,
}

static MOTO: OnceLock<Moto> = OnceLock::new();
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The moto server of this test process, started on first use.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto_server ({e}); install it with: pip install 'moto[server]'"
                )
            });
        reap_after_exit(&format!("kill {}", child.id()));
        wait_until(Duration::from_secs(30), "moto_server to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Moto {
            port,
            _server: std::sync::Mutex::new(child),
        }
    })
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

impl Moto {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Points a command at moto with the standard AWS variables.
    pub fn env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("AWS_ENDPOINT_URL", self.endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
    }

    /// The same, as an SDK configuration for in-process use.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            // The binary's own HTTPS client (rustls with ring): the SDK is
            // built without a default one.
            .http_client(impulse_db::testing::aws_https_client())
            .region(Region::new(REGION))
            .endpoint_url(self.endpoint())
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                    "testing", "testing", None, None, "moto",
                )),
            )
            .build()
    }

    fn client(&self) -> Client {
        Client::new(&self.sdk_config())
    }

    /// Creates a secret with a unique name; returns its ARN.
    pub fn create_secret(&self, hint: &str, value: &str) -> String {
        let name = format!(
            "impulse-db-it/{}-{}-{hint}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        runtime().block_on(async {
            let out = self
                .client()
                .create_secret()
                .name(name)
                .secret_string(value)
                .send()
                .await
                .expect("create_secret in moto");
            out.arn().expect("an ARN").to_string()
        })
    }

    /// Writes a new version staged AWSPENDING only, as a rotation's
    /// createSecret step does; AWSCURRENT stays where it was.
    pub fn put_pending(&self, arn: &str, value: &str) -> String {
        runtime().block_on(async {
            self.client()
                .put_secret_value()
                .secret_id(arn)
                .secret_string(value)
                .version_stages("AWSPENDING")
                .send()
                .await
                .expect("put AWSPENDING")
                .version_id()
                .expect("a version")
                .to_string()
        })
    }

    /// Rotates as a rotation Lambda does: the new value becomes AWSPENDING,
    /// then AWSCURRENT moves to it (AWSPREVIOUS to the old one). Returns
    /// the new version id.
    pub fn rotate(&self, arn: &str, value: &str) -> String {
        let client = self.client();
        let old = runtime().block_on(async {
            client
                .get_secret_value()
                .secret_id(arn)
                .version_stage("AWSCURRENT")
                .send()
                .await
                .expect("get AWSCURRENT")
                .version_id()
                .expect("a version")
                .to_string()
        });
        let new = self.put_pending(arn, value);
        runtime().block_on(async {
            client
                .update_secret_version_stage()
                .secret_id(arn)
                .version_stage("AWSCURRENT")
                .move_to_version_id(&new)
                .remove_from_version_id(&old)
                .send()
                .await
                .expect("move AWSCURRENT");
        });
        new
    }
}
