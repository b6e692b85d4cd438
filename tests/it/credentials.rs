//! Credentials as the Lambda resolves them: Secrets Manager (moto), URL
//! templates, percent-encoding, rotation, IAM tokens (against boto3), TLS
//! and provenance. Every run's output is searched for every password.

use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::moto::{REGION, moto, runtime};
use crate::support::{Out, TestDb, bin, empty_dir, pg};

const SPECIAL: &str = "p@ss:w/rd?#[]%&+ =!$'()*,;é";

fn migrate() -> Command {
    bin(env!("CARGO_BIN_EXE_migrate"))
}

/// `migrate` pointed at moto, with TLS settings for the test cluster and no URL.
fn with_secret(db: &TestDb, arn: &str) -> Command {
    let mut cmd = migrate();
    moto().env(&mut cmd);
    cmd.env("DB_SECRET_ARN", arn)
        .env("DB_SSLMODE", "verify-full")
        .env("DB_SSLROOTCERT", &db.ca);
    cmd
}

#[test]
fn up_with_only_a_secret_arn() {
    let db = pg().new_db("secretonly");
    let arn = moto().create_secret("template", &db.secret_json());
    let out = db.run(with_secret(&db, &arn).arg("up"));
    out.expect(0);
    assert!(db.table_exists("public", "User"));

    let url = db.run(with_secret(&db, &arn).args(["url", "--format", "json"]));
    url.expect(0);
    let json = url.json();
    assert_eq!(json["migration"]["same_as_app"], true);
    let app = &json["app"];
    assert_eq!(app["secret"]["arn"], arn.as_str());
    let version = app["secret"]["version_id"].as_str().unwrap();
    let from_secret = format!("secret {arn} version {version} (AWSCURRENT)");
    for part in ["host", "port", "user", "password", "database"] {
        assert_eq!(app["parts"][part]["from"], from_secret.as_str(), "{part}");
    }
    assert_eq!(app["parts"]["port"]["value"], db.port.to_string());
    assert_eq!(app["parts"]["password"]["value"], "****");
    assert_eq!(app["parts"]["sslmode"]["from"], "DB_SSLMODE (environment)");
    assert!(app["url"].as_str().unwrap().contains(":****@127.0.0.1:"));
}

#[test]
fn rds_managed_secret_with_a_url_template() {
    let db = pg().new_db("template");
    let managed = serde_json::json!({"username": db.role, "password": db.password}).to_string();
    let arn = moto().create_secret("managed", &managed);
    let template = format!(
        "postgresql://REPLACED_BY_SECRET:REPLACED_BY_SECRET@127.0.0.1:{}/{}?sslmode=verify-full&sslrootcert={}",
        db.port,
        db.name,
        db.ca.display()
    );
    let mut cmd = with_secret(&db, &arn);
    cmd.env("DATABASE_URL", &template);
    db.run(cmd.arg("up")).expect(0);
    assert!(db.table_exists("public", "User"));

    // The same secret without any URL: nothing says where the database is.
    let out = db.run(with_secret(&db, &arn).args(["up", "--format", "json"]));
    out.expect(2);
    assert_eq!(out.json()["error"]["code"], "config.missing_host");
    assert!(
        out.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no host"),
        "{out}"
    );
}

#[test]
fn any_password_works_through_a_secret_and_an_encoded_url() {
    let mut db = pg().new_db("special");
    db.set_password(SPECIAL);
    let arn = moto().create_secret("special", &db.secret_json());
    db.run(with_secret(&db, &arn).arg("up")).expect(0);
    db.run(with_secret(&db, &arn).args(["status", "--check"]))
        .expect(0);

    // Percent-encoded in a URL it works too; raw, it is reported, not guessed at.
    let encoded =
        percent_encoding::utf8_percent_encode(SPECIAL, percent_encoding::NON_ALPHANUMERIC);
    let url = db
        .url()
        .replace(&format!(":{SPECIAL}@"), &format!(":{encoded}@"));
    let out = db.run(
        migrate()
            .args(["status", "--check"])
            .env("DATABASE_URL", &url),
    );
    out.expect(0);
    let out = db.run(
        migrate()
            .args(["status", "--format", "json"])
            .env("DATABASE_URL", db.url()),
    );
    out.expect(2);
    assert_eq!(out.json()["error"]["code"], "config.unencoded_password");
}

#[test]
fn secret_errors_have_codes_and_statuses() {
    let db = pg().new_db("secreterrors");
    let cases = [
        (
            format!("arn:aws:secretsmanager:{REGION}:123456789012:secret:nope-AbCdEf"),
            "secret.not_found",
            2,
        ),
        (
            moto().create_secret("notjson", "SuperSecretNotJson{"),
            "secret.malformed",
            2,
        ),
        (
            moto().create_secret("nopassword", r#"{"username":"u","host":"127.0.0.1"}"#),
            "secret.malformed",
            2,
        ),
    ];
    for (arn, code, status) in cases {
        let out = db.run(with_secret(&db, &arn).args(["up", "--format", "json"]));
        out.expect(status);
        assert_eq!(out.json()["error"]["code"], code, "{out}");
        assert!(
            !out.stdout.contains("SuperSecretNotJson")
                && !out.stderr.contains("SuperSecretNotJson")
        );
        assert!(out.stderr.contains("hint: "), "{out}");
    }
}

#[test]
fn a_rotated_secret_is_fetched_again_once() {
    let mut db = pg().new_db("rotation");
    let arn = moto().create_secret("rotation", &db.secret_json());
    let sources = impulse_db::Sources {
        env: [
            ("DB_SECRET_ARN", arn.as_str()),
            ("DB_SSLMODE", "verify-full"),
            ("DB_SSLROOTCERT", db.ca.to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..Default::default()
    };
    let connector = impulse_db::Connector::new(sources, None).with_aws_config(moto().sdk_config());

    // Capture what the library logs while it works.
    let log = LogBuffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let rt = runtime();

    let first = rt
        .block_on(connector.connect(impulse_db::Which::App))
        .expect("first connect");
    assert!(!first.credentials_refetched);
    rt.block_on(first.close());
    assert_eq!(connector.secret_fetches(), 1);

    // The rotation Lambda sets a new password and moves AWSCURRENT; the
    // connector still holds the old value.
    db.set_password("RotatedPassw0rdValue");
    let new_version = moto().rotate(&arn, &db.secret_json());

    let second = rt
        .block_on(connector.connect(impulse_db::Which::App))
        .expect("connect after rotation");
    assert!(second.credentials_refetched);
    rt.block_on(second.close());
    assert_eq!(connector.secret_fetches(), 2, "exactly one refetch");

    let text = log.text();
    assert!(
        text.contains("rotated") && text.contains(&new_version),
        "{text}"
    );
    for secret in db.secrets() {
        assert!(!text.contains(&secret), "a password reached the log");
    }

    // With a wrong password and an unchanged secret there is no retry loop.
    db.set_password("NotInTheSecretEither1");
    let err = rt
        .block_on(connector.connect(impulse_db::Which::App))
        .unwrap_err();
    assert_eq!(err.code, impulse_db::Code::AuthPasswordMismatch);
    assert_eq!(connector.secret_fetches(), 3, "one refetch, then give up");
}

#[derive(Clone, Default)]
struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuffer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Tokens from `impulse_db::testing::auth_token` equal boto3's
/// `generate_db_auth_token` for the same inputs, credentials and frozen time.
#[test]
fn iam_tokens_are_byte_identical_to_boto3() {
    let cases = [
        (
            "db.abc123.us-east-1.rds.amazonaws.com",
            5432,
            "impulse_app",
            "us-east-1",
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            None,
            1_795_953_600u64,
        ),
        (
            "impulse.proxy-xyz.eu-west-1.rds.amazonaws.com",
            5432,
            "app+x",
            "eu-west-1",
            "AKIA1",
            "s3cr3t/+=",
            Some("FQoGZXIvYXdzE//token+x="),
            1_700_000_000,
        ),
        (
            "10.0.0.5",
            6543,
            "user with spaces",
            "ap-southeast-2",
            "AKIA2",
            "k",
            None,
            1_800_000_123,
        ),
        (
            "db.internal",
            15432,
            "u@d.example",
            "us-west-2",
            "AKIA3",
            "k2",
            Some("tok"),
            1_650_000_000,
        ),
        (
            "db.internal",
            5432,
            "é_ünïcode",
            "sa-east-1",
            "AKIA4",
            "k3",
            None,
            1_790_000_000,
        ),
        (
            "db.internal",
            5432,
            "Impulse_App",
            "us-east-1",
            "AKIA5",
            "k4",
            None,
            1_795_953_601,
        ),
    ];
    let script = r#"
import datetime, json, sys
import botocore.auth, botocore.session
out = []
for c in json.load(sys.stdin):
    t = datetime.datetime.fromtimestamp(c["time"], tz=datetime.timezone.utc)
    botocore.auth.get_current_datetime = lambda *a, **k: t
    client = botocore.session.get_session().create_client(
        "rds", region_name=c["region"], aws_access_key_id=c["key"],
        aws_secret_access_key=c["secret"], aws_session_token=c["token"])
    out.append(client.generate_db_auth_token(c["host"], c["port"], c["user"], c["region"]))
print(json.dumps(out))
"#;
    let input = serde_json::to_string(
        &cases
            .iter()
            .map(|(host, port, user, region, key, secret, token, time)| {
                serde_json::json!({"host": host, "port": port, "user": user, "region": region,
                    "key": key, "secret": secret, "token": token, "time": time})
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 is required");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "boto3 is required (pip install 'moto[server]' brings it): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected: Vec<String> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(expected.len(), cases.len());
    for ((host, port, user, region, key, secret, token, time), boto) in cases.iter().zip(&expected)
    {
        let creds = aws_credential_types::Credentials::new(
            *key,
            *secret,
            token.map(String::from),
            None,
            "test",
        );
        let ours = impulse_db::testing::auth_token(
            host,
            *port,
            user,
            region,
            &creds,
            SystemTime::UNIX_EPOCH + Duration::from_secs(*time),
        )
        .unwrap();
        assert_eq!(ours.expose(), boto, "user {user:?}");
    }
}

#[test]
fn iam_token_command_prints_a_token_for_the_hosts_region() {
    let out_dir = empty_dir();
    let mut cmd = migrate();
    moto()
        .env(&mut cmd)
        .env_remove("AWS_REGION")
        .current_dir(&out_dir);
    cmd.args([
        "iam-token",
        "--host",
        "db.abc.eu-west-1.rds.amazonaws.com",
        "--user",
        "impulse_app",
        "--dbname",
        "impulse",
    ]);
    let out = Out::capture(&mut cmd, &[]);
    out.expect(0);
    let token = out.stdout.trim();
    assert!(
        token.starts_with(
            "db.abc.eu-west-1.rds.amazonaws.com:5432/?Action=connect&DBUser=impulse_app&"
        ),
        "{out}"
    );
    assert!(
        token.contains("%2Feu-west-1%2Frds-db%2Faws4_request"),
        "{out}"
    );
    assert!(!out.stderr.contains(token), "the token goes to stdout only");

    // No region anywhere and a host that is not RDS's: an error, not us-east-1.
    let mut cmd = migrate();
    moto().env(&mut cmd).env_remove("AWS_REGION");
    let out = Out::capture(
        cmd.args([
            "iam-token",
            "--host",
            "db.internal",
            "--user",
            "impulse_app",
            "--format",
            "json",
        ]),
        &[],
    );
    out.expect(2);
    assert_eq!(out.json()["error"]["code"], "config.region_missing");
}

#[test]
fn iam_with_a_url_placeholder_uses_a_token_and_requires_tls() {
    let mut cmd = migrate();
    moto().env(&mut cmd).env(
        "DATABASE_URL",
        "postgresql://impulse_app:AWS_IAM_TOKEN@db.abc.us-west-2.rds.amazonaws.com:5432/impulse",
    );
    cmd.env("DB_IAM_AUTH", "true");
    let out = Out::capture(cmd.args(["url", "--format", "json"]), &[]);
    out.expect(0);
    let app = &out.json()["app"];
    assert_eq!(app["iam"], true);
    assert_eq!(app["parts"]["password"]["from"], "IAM (fresh auth token)");
    assert_eq!(app["parts"]["sslmode"]["value"], "require");
    assert!(
        !out.stdout.contains("X-Amz-Signature"),
        "the token never shows in `url`"
    );

    // Without DB_IAM_AUTH the placeholder is reported.
    let mut cmd = migrate();
    cmd.env(
        "DATABASE_URL",
        "postgresql://impulse_app:AWS_IAM_TOKEN@db.abc.us-west-2.rds.amazonaws.com:5432/impulse",
    );
    let out = Out::capture(cmd.args(["up", "--format", "json"]), &[]);
    let error = out.error(2, "config.placeholder");
    assert!(Out::hint(&error).contains("DB_IAM_AUTH=true"));
}

#[test]
fn placeholders_from_the_guides_env_name_their_variable() {
    let mut cmd = migrate();
    cmd.env(
        "DATABASE_URL",
        "postgresql://REPLACED_BY_SECRET:REPLACED_BY_SECRET@impulse.proxy-abc.us-east-1.rds.amazonaws.com:5432/impulse",
    );
    let out = Out::capture(cmd.args(["url", "--format", "json"]), &[]);
    let error = out.error(2, "config.placeholder");
    assert!(Out::hint(&error).contains("DB_SECRET_ARN"));
}

#[test]
fn tls_verification_and_required_tls() {
    let db = pg().new_db("tls");
    // verify-full against the cluster's CA: the default of every test.
    db.run(db.migrate().arg("up")).expect(0);

    // Another CA: the server's certificate is not trusted.
    let dir = empty_dir();
    let other_ca = dir.join("other-ca.crt");
    let (ca_pem, _, _) = impulse_db::testing::make_certificates().unwrap();
    std::fs::write(&other_ca, ca_pem).unwrap();
    let url = db
        .url()
        .replace(db.ca.to_str().unwrap(), other_ca.to_str().unwrap());
    let out = db.run(
        db.migrate()
            .args(["status", "--format", "json"])
            .env("DATABASE_URL", url),
    );
    let error = out.error(3, "tls.verify_failed");
    assert!(Out::hint(&error).contains("sslrootcert"));

    // The server accepts only TLS: sslmode=disable (in the URL or DB_SSLMODE).
    let plain = format!(
        "postgresql://{}:{}@127.0.0.1:{}/{}",
        db.role, db.password, db.port, db.name
    );
    let out = db.run(
        db.migrate()
            .args(["status", "--format", "json"])
            .env("DATABASE_URL", format!("{plain}?sslmode=disable")),
    );
    let error = out.error(3, "tls.required");
    assert!(Out::hint(&error).contains("sslmode=require"));
    let out = db.run(
        db.migrate()
            .args(["status", "--format", "json"])
            .env("DATABASE_URL", &plain)
            .env("DB_SSLMODE", "disable"),
    );
    out.expect(3);
    assert_eq!(out.json()["error"]["code"], "tls.required");
}

#[test]
fn url_shows_both_connections_with_provenance() {
    let db = pg().new_db("provenance");
    let dir = empty_dir();
    let pooled = format!(
        "postgresql://{}:{}@127.0.0.1:{}/{}?pgbouncer=true&connection_limit=1",
        db.role, db.password, db.port, db.name
    );
    std::fs::write(
        dir.join(".env"),
        format!(
            "# app\n\nDATABASE_URL=\"{pooled}\"\nDIRECT_URL=\"{}\"\n",
            db.url()
        ),
    )
    .unwrap();
    let out = db.run(migrate().arg("url").current_dir(&dir));
    out.expect(0);
    assert!(out.stdout.contains("app connection\n"), "{out}");
    assert!(out.stdout.contains("DATABASE_URL (.env line 3)"), "{out}");
    assert!(out.stdout.contains("migration connection\n"), "{out}");
    assert!(out.stdout.contains("DIRECT_URL (.env line 4)"), "{out}");
    assert!(out.stdout.contains("****"), "{out}");

    // Migrations take DIRECT_URL, so the pooled DATABASE_URL does not stop them.
    db.run(migrate().arg("up").current_dir(&dir)).expect(0);
    // ... and the environment beats the file.
    let out = db.run(
        migrate()
            .args(["url", "--format", "json"])
            .current_dir(&dir)
            .env("DIRECT_URL", db.url_with("&schema=other")),
    );
    assert_eq!(
        out.json()["migration"]["parts"]["schema"]["from"],
        "DIRECT_URL (environment)"
    );
}
