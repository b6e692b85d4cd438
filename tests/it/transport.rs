//! The runner's own transport (`src/transport.rs`) against the test
//! cluster: a TLS connection no longer stalls on Nagle's algorithm, and
//! every `sslmode` and `sslrootcert` behaves exactly as the driver's own TLS
//! (sqlx 0.9.0, which the runner used until it owned the transport) does.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use impulse_db::testing::{ConnSpec, classify_connect_error};
use impulse_db::{Code, Error, Session, SslMode};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgSslMode};

use crate::support::{empty_dir, pg, unique_name, write_hba};

const BOUND: Duration = Duration::from_secs(10);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The runner's way in: DNS, TCP (`TCP_NODELAY`), TLS, then the driver
/// through the bridge, and the session's first query.
async fn ours(spec: &ConnSpec) -> Result<(), Error> {
    Session::open(spec, BOUND).await?.close().await;
    Ok(())
}

/// What the runner did before (a765b54): the driver's own TCP connection
/// and TLS, with the same settings, classified the same way.
async fn drivers(spec: &ConnSpec) -> Result<(), Error> {
    let mut options = PgConnectOptions::new_without_pgpass()
        .host(&spec.host)
        .port(spec.port)
        .username(&spec.user)
        .database(&spec.dbname)
        .ssl_mode(match spec.sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow => PgSslMode::Allow,
            SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require => PgSslMode::Require,
            SslMode::VerifyCa => PgSslMode::VerifyCa,
            SslMode::VerifyFull => PgSslMode::VerifyFull,
        });
    if let Some(password) = &spec.password {
        options = options.password(password.expose());
    }
    if let Some(cert) = &spec.sslrootcert {
        options = options.ssl_root_cert(cert);
    }
    match tokio::time::timeout(BOUND, sqlx::PgConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(classify_connect_error(&e, spec, BOUND)),
        Err(_) => panic!("the driver's own connect hung"),
    }
}

async fn fastest<F, Fut>(runs: usize, spec: &ConnSpec, connect: F) -> Duration
where
    F: Fn(ConnSpec) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let started = Instant::now();
        connect(spec.clone()).await.expect("the connection works");
        best = best.min(started.elapsed());
    }
    best
}

/// A database of its own that the cluster lets in over TLS without a
/// password: a connection's time is then the transport's and the server's,
/// not SCRAM's (slow in a debug build).
fn trusted_database() -> String {
    let name = unique_name("nodelay");
    let cluster = &pg().cluster;
    pg().psql("postgres", &format!("CREATE DATABASE \"{name}\""));
    let hba = cluster.data_dir().join("pg_hba.conf");
    let text = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
    write_hba(
        cluster,
        &format!("hostssl {name} postgres 127.0.0.1/32 trust\n{text}"),
    );
    name
}

#[test]
fn a_tls_connection_does_not_stall_on_nagle() {
    // Nagle's algorithm holds a small write until the previous one is
    // acknowledged, and Linux delays that ACK by at least 40 ms: any stall
    // costs that much. a765b54's TLS connect stalled twice (~85 ms). The
    // fastest of a few connects, so that a loaded machine cannot fail it.
    const STALL: Duration = Duration::from_millis(40);
    let mut spec = pg().cluster.superuser_spec(&trusted_database());
    spec.password = None;
    assert_eq!(spec.sslmode, SslMode::VerifyFull);
    let (ours, drivers) = runtime().block_on(async {
        ours(&spec).await.expect("a session over TLS");
        (
            fastest(5, &spec, |s| async move { ours(&s).await }).await,
            fastest(2, &spec, |s| async move { drivers(&s).await }).await,
        )
    });
    eprintln!(
        "TLS connect, fastest: {:.1} ms through the runner's transport (with the session's \
         first query), {:.1} ms with the driver's own TCP and TLS (a765b54's path)",
        ours.as_secs_f64() * 1e3,
        drivers.as_secs_f64() * 1e3
    );
    assert!(
        ours < STALL,
        "a TLS connection took {ours:?} at best: Nagle's algorithm is back (TCP_NODELAY?)"
    );
}

/// A server certificate for another host name, signed by a CA of the
/// test's own, served by a TLS server that then hangs up: what
/// `verify-full` must refuse and `verify-ca` accept.
fn other_name_server(ca: &std::path::Path) -> u16 {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(ca, ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["db.other.invalid".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = runtime();
        rt.block_on(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            listener.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((mut tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 8];
                    if tcp.read_exact(&mut request).await.is_err() {
                        return;
                    }
                    let _ = tcp.write_all(b"S").await;
                    if let Ok(mut tls) = acceptor.accept(tcp).await {
                        let mut startup = [0u8; 512];
                        let _ = tls.read(&mut startup).await;
                    }
                });
            }
        });
    });
    port
}

#[test]
fn every_sslmode_and_sslrootcert_behaves_as_the_drivers_own_tls() {
    let cluster = &pg().cluster;
    let dir = empty_dir();
    let other_ca = dir.join("other-ca.crt");
    std::fs::write(
        &other_ca,
        impulse_db::testing::make_certificates().unwrap().0,
    )
    .unwrap();
    let not_pem = dir.join("not-pem.crt");
    std::fs::write(&not_pem, "this is not a certificate\n").unwrap();
    let bad_pem = dir.join("bad-pem.crt");
    std::fs::write(
        &bad_pem,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let roots: [Option<PathBuf>; 6] = [
        None,
        Some(cluster.ca_cert()),
        Some(other_ca),
        Some(dir.join("missing.crt")),
        Some(not_pem),
        Some(bad_pem),
    ];
    let modes = [
        SslMode::Disable,
        SslMode::Allow,
        SslMode::Prefer,
        SslMode::Require,
        SslMode::VerifyCa,
        SslMode::VerifyFull,
    ];
    let other_name_ca = dir.join("other-name-ca.crt");
    let other_name_port = other_name_server(&other_name_ca);

    let mut specs = Vec::new();
    for host in ["127.0.0.1", "localhost"] {
        for mode in modes {
            for root in &roots {
                let mut spec = cluster.superuser_spec("postgres");
                spec.host = host.into();
                spec.sslmode = mode;
                spec.sslrootcert = root.clone();
                specs.push(spec);
            }
        }
    }
    // A certificate naming another host: verify-full refuses it, verify-ca
    // and require get through TLS to a server that hangs up.
    for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
        let mut spec = cluster.superuser_spec("postgres");
        spec.port = other_name_port;
        spec.sslmode = mode;
        spec.sslrootcert = Some(other_name_ca.clone());
        specs.push(spec);
    }

    let mut differences = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    runtime().block_on(async {
        for spec in &specs {
            let ours = ours(spec).await.map_err(|e| (e.code, e.message));
            let drivers = drivers(spec).await.map_err(|e| (e.code, e.message));
            let case = format!(
                "host={} port={} sslmode={} sslrootcert={:?}",
                spec.host,
                spec.port,
                spec.sslmode.as_str(),
                spec.sslrootcert.as_ref().and_then(|p| p.file_name())
            );
            let shown = match &ours {
                Ok(()) => "ok".to_string(),
                Err((code, _)) => code.to_string(),
            };
            *outcomes.entry(shown).or_default() += 1;
            // The one deliberate difference: a missing sslrootcert where
            // it is read is a configuration error, not a network one.
            let missing_root = matches!(spec.sslmode, SslMode::VerifyCa | SslMode::VerifyFull)
                && spec.sslrootcert.as_ref().is_some_and(|p| !p.exists());
            if missing_root {
                let expected = matches!(&ours, Err((Code::ConfigInvalid, m)) if m.contains("cannot be read"))
                    && matches!(&drivers, Err((Code::NetworkError, _)));
                if !expected {
                    differences.push(format!("{case}\n  ours:    {ours:?}\n  drivers: {drivers:?}"));
                }
            } else if ours != drivers {
                differences.push(format!(
                    "{case}\n  ours:    {ours:?}\n  drivers: {drivers:?}"
                ));
            }
        }
    });
    eprintln!("outcomes of {} cases: {outcomes:?}", specs.len());
    assert!(
        differences.is_empty(),
        "{} of {} cases differ from the driver's own TLS:\n{}",
        differences.len(),
        specs.len(),
        differences.join("\n")
    );
    // Each kind of outcome is covered.
    for code in ["ok", "tls.required", "tls.verify_failed", "network.error"] {
        assert!(outcomes.contains_key(code), "{code}: {outcomes:?}");
    }
}
