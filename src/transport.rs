//! The TCP and TLS leg of every database connection, owned here rather
//! than by the driver.
//!
//! Why this exists: sqlx 0.9.0 opens its TCP connection itself and never
//! sets `TCP_NODELAY` (launchbadge/sqlx#4335, fixed upstream, not in a
//! release). During a TLS handshake the client writes twice in a row (the
//! ChangeCipherSpec and the retried ClientHello, later its Finished and the
//! startup message); Nagle's algorithm holds the second write until the
//! first is acknowledged, and the server delays that ACK by 40 ms. Every TLS
//! connection sat idle for about 85 ms. sqlx has no hook to set the option
//! (`sqlx_core::net::connect_tcp` calls `TcpStream::connect` directly) and
//! cannot be handed a connected stream; its one other way in is a Unix
//! socket directory (`PgConnectOptions::socket`).
//!
//! So the transport is done here, and the driver gets a plaintext stream:
//!
//! 1. [`crate::net`] resolves the host and connects (with `TCP_NODELAY`):
//!    the same step functions the doctor times. That TCP connection is the
//!    session's connection; there is no separate probe.
//! 2. [`negotiate`] does what sqlx-postgres 0.9's `MaybeUpgradeTls` does for
//!    each `sslmode` (see there): PostgreSQL's SSLRequest, then a rustls
//!    handshake with the certificate checks sqlx 0.9 applies.
//! 3. [`Bridge`] listens on a Unix socket in a fresh 0700 directory; sqlx
//!    connects there with `sslmode=disable`, and each accepted connection is
//!    relayed, both ways, to its leg. Startup, SCRAM authentication and the
//!    session are the driver's own, untouched.
//!
//! Failures are built as the `sqlx::Error` the driver would have returned
//! for the same event and classified by [`crate::session::classify`], so a
//! failure keeps its code and its words. The relay copies bytes without
//! looking at them (but for the head of each server message: its length,
//! bounded in [`frames`], and until the startup is over its type, shown
//! to a [`Watch`] for the doctor's timings) and never logs them (they
//! carry the password exchange and statements); it ends when either side
//! closes. Every wait is bounded
//! by the caller's deadline.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixListener, UnixStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub(crate) mod frames;

use crate::config::{ConnSpec, SslMode};
use crate::error::{Code, Error, Result};
use crate::net;
use crate::session::classify;
use crate::socket_dir;
use crate::startup::Watch;

/// How the connection to the server is protected, as negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tls {
    /// Not asked for: `sslmode=disable`, and `allow`, which sqlx 0.9 treats
    /// as `disable` (it never tries TLS).
    NotRequested,
    /// Asked for (`sslmode=prefer`) and declined by the server: the session
    /// runs in clear text.
    Declined,
    /// Encrypted; `protocol` is `TLS 1.3` or `TLS 1.2`.
    Encrypted { protocol: &'static str },
}

/// A connected, negotiated leg to the server: plain TCP or TLS over it.
pub(crate) struct Leg {
    stream: Stream,
    tls: Tls,
    /// When the server answered the startup the relay carries.
    startup: Watch,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Leg {
    /// What the TLS step negotiated.
    pub fn tls(&self) -> Tls {
        self.tls
    }

    /// What the relay will see of the startup on this leg (the doctor
    /// times `auth` and `database` with it).
    pub fn startup(&self) -> Watch {
        self.startup.clone()
    }
}

/// DNS, TCP and TLS to `spec`'s endpoint within `bound`; `configured` is the
/// timeout to name in messages.
pub(crate) async fn connect(spec: &ConnSpec, bound: Duration, configured: Duration) -> Result<Leg> {
    let deadline = Instant::now() + bound;
    let addrs = net::resolve(&spec.host, spec.port, bound).await?;
    let (_, stream) = net::tcp(&spec.host, spec.port, &addrs, left(deadline)).await?;
    negotiate(stream, spec, left(deadline), configured).await
}

fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

/// The TLS step on a connected stream, within `bound`, as sqlx-postgres
/// 0.9 (`connection/tls.rs`, with sqlx-core's rustls code) does it:
///
/// | `sslmode` | SSLRequest | server says `N` | certificate checked |
/// |---|---|---|---|
/// | `disable`, `allow` | not sent | - | - |
/// | `prefer` | sent | clear text | no |
/// | `require` | sent | `tls.unavailable` | no (`sslrootcert` is not even read) |
/// | `verify-ca` | sent | `tls.unavailable` | chain, not the host name |
/// | `verify-full` | sent | `tls.unavailable` | chain and host name (or IP) |
///
/// The trusted roots are webpki-roots (Mozilla's list, which has Amazon
/// Root CA 1-4: RDS Proxy) plus every certificate in `sslrootcert` (the
/// RDS CA bundle), or, without one, in `PGSSLROOTCERT` as sqlx read it
/// (a path, or PEM text). `PGSSLCERT` and `PGSSLKEY`, together, are a
/// client certificate, as in sqlx. The handshake's signatures are always
/// verified; TLS 1.2 and 1.3 with ring's suites; SNI for host names. One
/// difference, invisible to the checks: the first key share is P-256,
/// which every TLS 1.3 server must support and PostgreSQL before 18
/// selects by default (`ssl_ecdh_curve`), so the handshake needs no
/// HelloRetryRequest round trip.
pub(crate) async fn negotiate(
    stream: TcpStream,
    spec: &ConnSpec,
    bound: Duration,
    configured: Duration,
) -> Result<Leg> {
    check_root_cert(spec)?;
    match tokio::time::timeout(bound, upgrade(stream, spec)).await {
        Ok(Ok(leg)) => Ok(leg),
        Ok(Err(e)) => Err(classify::connect_error(&e, spec, configured)),
        Err(_) => Err(net::timed_out(&spec.host, spec.port, configured)),
    }
}

/// `sslrootcert`, where it is read (`verify-ca`, `verify-full`), must be a
/// regular file: the driver would read a FIFO (or a device) forever. A
/// missing one is said as what it is, where the driver's own TLS says only
/// "No such file or directory" as a network error (the one deliberate
/// difference the transport test allows).
fn check_root_cert(spec: &ConnSpec) -> Result<()> {
    let Some(path) = &spec.sslrootcert else {
        return Ok(());
    };
    if !matches!(spec.sslmode, SslMode::VerifyCa | SslMode::VerifyFull) {
        return Ok(());
    }
    let problem = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => return Ok(()),
        Ok(_) => "is not a regular file".to_string(),
        Err(e) => format!("cannot be read ({e})"),
    };
    Err(Error::new(
        Code::ConfigInvalid,
        format!("sslrootcert {} {problem}", path.display()),
        "point sslrootcert (or DB_SSLROOTCERT) at the CA bundle's PEM file, e.g. the RDS \
         global-bundle.pem",
    ))
}

/// What the server's certificate is checked for.
#[derive(Clone, Copy)]
enum Check {
    Nothing,
    Chain,
    ChainAndHost,
}

async fn upgrade(mut stream: TcpStream, spec: &ConnSpec) -> std::result::Result<Leg, sqlx::Error> {
    let check = match spec.sslmode {
        SslMode::Disable | SslMode::Allow => {
            return Ok(Leg {
                stream: Stream::Plain(stream),
                tls: Tls::NotRequested,
                startup: Watch::default(),
            });
        }
        SslMode::Prefer => {
            if !ssl_request(&mut stream).await? {
                return Ok(Leg {
                    stream: Stream::Plain(stream),
                    tls: Tls::Declined,
                    startup: Watch::default(),
                });
            }
            Check::Nothing
        }
        SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
            if !ssl_request(&mut stream).await? {
                // The words classify recognises as `tls.unavailable`.
                return Err(sqlx::Error::Tls("server does not support TLS".into()));
            }
            match spec.sslmode {
                SslMode::VerifyCa => Check::Chain,
                SslMode::VerifyFull => Check::ChainAndHost,
                _ => Check::Nothing,
            }
        }
    };
    let config = client_config(check, spec.sslrootcert.as_deref())?;
    let name = ServerName::try_from(spec.host.clone()).map_err(|e| sqlx::Error::Tls(e.into()))?;
    let tls = TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(sqlx::Error::Io)?;
    let protocol = match tls.get_ref().1.protocol_version() {
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
        _ => "TLS 1.3",
    };
    Ok(Leg {
        stream: Stream::Tls(Box::new(tls)),
        tls: Tls::Encrypted { protocol },
        startup: Watch::default(),
    })
}

/// PostgreSQL's SSLRequest (length 8, code 80877103); the server answers
/// one byte, `S` or `N`. Like sqlx, a closed connection reads as `0x00`.
async fn ssl_request(stream: &mut TcpStream) -> std::result::Result<bool, sqlx::Error> {
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    stream.write_all(&SSL_REQUEST).await?;
    let mut answer = [0u8; 1];
    let _ = stream.read(&mut answer).await?;
    match answer[0] {
        b'S' => Ok(true),
        b'N' => Ok(false),
        other => Err(sqlx::Error::Protocol(format!(
            "unexpected response from SSLRequest: 0x{other:02x}"
        ))),
    }
}

/// ring, with P-256 as the first (key-share) group; otherwise ring's
/// defaults, as sqlx uses them.
fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            use rustls::crypto::ring::{self, kx_group};
            let mut provider = ring::default_provider();
            provider.kx_groups = vec![kx_group::SECP256R1, kx_group::X25519, kx_group::SECP384R1];
            Arc::new(provider)
        })
        .clone()
}

/// A certificate source: `sslrootcert` is a path; a `PG*` variable may hold
/// the PEM text itself (sqlx's `CertificateInput`).
enum Pem {
    File(PathBuf),
    Inline(Vec<u8>),
}

impl Pem {
    fn from_env(var: &str) -> Option<Pem> {
        let value = std::env::var(var).ok()?;
        let trimmed = value.trim();
        Some(
            if trimmed.starts_with("-----BEGIN") && trimmed.ends_with("-----") {
                Pem::Inline(value.into_bytes())
            } else {
                Pem::File(PathBuf::from(value))
            },
        )
    }

    /// The PEM bytes. A local file of a few kB is read in place: handing
    /// it to a blocking thread would cost a thread for nothing.
    fn data(&self) -> io::Result<Vec<u8>> {
        match self {
            // Only a regular file: a FIFO (or a device) would never end.
            Pem::File(path) if !std::fs::metadata(path)?.is_file() => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            )),
            Pem::File(path) => std::fs::read(path),
            Pem::Inline(bytes) => Ok(bytes.clone()),
        }
    }

    /// As sqlx names it in messages; inline PEM is not repeated.
    fn describe(&self) -> String {
        match self {
            Pem::File(path) => format!("file: {}", path.display()),
            Pem::Inline(_) => "(inline PEM)".to_string(),
        }
    }
}

fn tls_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> sqlx::Error {
    sqlx::Error::Tls(e.into())
}

fn client_config(
    check: Check,
    sslrootcert: Option<&Path>,
) -> std::result::Result<ClientConfig, sqlx::Error> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?;
    let client_auth = client_certificate()?;
    let builder = match check {
        Check::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider })),
        Check::Chain => {
            let roots = roots(sslrootcert)?;
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(tls_error)?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyHostName { verifier }))
        }
        Check::ChainAndHost => builder.with_root_certificates(roots(sslrootcert)?),
    };
    match client_auth {
        Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(tls_error),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// webpki-roots plus the certificates of `sslrootcert` (else of
/// `PGSSLROOTCERT`).
fn roots(sslrootcert: Option<&Path>) -> std::result::Result<RootCertStore, sqlx::Error> {
    let mut roots = RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let source = match sslrootcert {
        Some(path) => Some(Pem::File(path.to_path_buf())),
        None => Pem::from_env("PGSSLROOTCERT"),
    };
    if let Some(source) = source {
        let data = source.data()?;
        for cert in CertificateDer::pem_slice_iter(&data) {
            let cert =
                cert.map_err(|_| tls_error(format!("Invalid certificate {}", source.describe())))?;
            roots.add(cert).map_err(tls_error)?;
        }
    }
    Ok(roots)
}

type ClientAuth = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// `PGSSLCERT` and `PGSSLKEY`, which sqlx 0.9 reads from the environment:
/// both or neither.
fn client_certificate() -> std::result::Result<Option<ClientAuth>, sqlx::Error> {
    match (Pem::from_env("PGSSLCERT"), Pem::from_env("PGSSLKEY")) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(&cert.data()?)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(tls_error)?;
            let key = match PrivateKeyDer::from_pem_slice(&key.data()?) {
                Ok(key) => key,
                Err(pem::Error::NoItemsFound) => {
                    return Err(sqlx::Error::Configuration("no keys found pem file".into()));
                }
                Err(e) => return Err(sqlx::Error::Configuration(e.to_string().into())),
            };
            Ok(Some((chain, key)))
        }
        _ => Err(sqlx::Error::Configuration(
            "user auth key and certs must be given together".into(),
        )),
    }
}

/// `prefer` and `require`: any certificate, but the handshake's signatures
/// must still verify against it.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `verify-ca`: the chain must verify; a certificate for another name is
/// accepted.
#[derive(Debug)]
struct AnyHostName {
    verifier: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let verified = self.verifier.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verified {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.verifier.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.verifier.supported_verify_schemes()
    }
}

/// A private Unix socket where the driver connects, in place of the
/// server. The first connection accepted is relayed to the leg it was
/// started with; a later one (the pool retrying what it deems transient,
/// such as "too many connections") to a fresh leg, until the deadline.
/// Once the session is open, [`Bridge::stop_listening`] removes the socket;
/// the relays run on until their connection closes.
pub(crate) struct Bridge {
    dir: PathBuf,
    port: u16,
    accept: Option<JoinHandle<()>>,
    relays: Arc<Mutex<Vec<JoinHandle<()>>>>,
    failure: Arc<Mutex<Option<Error>>>,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Bridge {
    /// Listens in a new 0700 directory; `first` serves the first
    /// connection, and `spec` the later ones until `deadline`.
    pub fn start(
        spec: &ConnSpec,
        first: Leg,
        deadline: Instant,
        configured: Duration,
    ) -> Result<Bridge> {
        let dir = socket_dir::create()?;
        let path = dir.join(format!(".s.PGSQL.{}", spec.port));
        let listener = match UnixListener::bind(&path) {
            Ok(listener) => listener,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(socket_dir::socket_error(&path, &e));
            }
        };
        let relays = Arc::new(Mutex::new(Vec::new()));
        let failure = Arc::new(Mutex::new(None));
        let accept = tokio::spawn(accept_loop(
            listener,
            first,
            spec.clone(),
            deadline,
            configured,
            relays.clone(),
            failure.clone(),
        ));
        Ok(Bridge {
            dir,
            port: spec.port,
            accept: Some(accept),
            relays,
            failure,
        })
    }

    /// The driver's options pointed at the bridge: the Unix socket, in
    /// clear text (TLS, if any, is this module's).
    pub fn options(&self, options: PgConnectOptions) -> PgConnectOptions {
        options
            .socket(&self.dir)
            .port(self.port)
            .ssl_mode(PgSslMode::Disable)
    }

    /// Why the bridge could not serve a connection the driver opened (a
    /// fresh leg that failed), if it could not.
    pub fn take_failure(&self) -> Option<Error> {
        self.failure.lock().ok()?.take()
    }

    /// Stops accepting and removes the socket and its directory.
    pub fn stop_listening(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// Waits, at most `bound`, for the relays to end (after the driver
    /// closed its side: the server then gets the driver's last message and
    /// a clean close).
    pub async fn finish(mut self, bound: Duration) {
        self.stop_listening();
        let relays: Vec<JoinHandle<()>> = match self.relays.lock() {
            Ok(mut relays) => relays.drain(..).collect(),
            Err(_) => Vec::new(),
        };
        let all = async {
            for relay in relays {
                let _ = relay.await;
            }
        };
        let _ = tokio::time::timeout(bound, all).await;
    }
}

impl Drop for Bridge {
    fn drop(&mut self) {
        self.stop_listening();
    }
}

async fn accept_loop(
    listener: UnixListener,
    first: Leg,
    spec: ConnSpec,
    deadline: Instant,
    configured: Duration,
    relays: Arc<Mutex<Vec<JoinHandle<()>>>>,
    failure: Arc<Mutex<Option<Error>>>,
) {
    let mut first = Some(first);
    loop {
        let Ok(Ok((client, _))) = tokio::time::timeout_at(deadline, listener.accept()).await else {
            return;
        };
        // Only this process: the directory is private to its user, and
        // the peer must be us.
        let ours = client
            .peer_cred()
            .is_ok_and(|c| c.pid() == Some(std::process::id() as i32));
        if !ours {
            continue;
        }
        let leg = match first.take() {
            Some(leg) => leg,
            None => match connect(&spec, left(deadline), configured).await {
                Ok(leg) => leg,
                Err(e) => {
                    if let Ok(mut slot) = failure.lock() {
                        *slot = Some(e);
                    }
                    continue; // dropping `client` tells the driver
                }
            },
        };
        let relay = tokio::spawn(relay(
            client,
            leg,
            spec.clone(),
            configured,
            failure.clone(),
        ));
        if let Ok(mut relays) = relays.lock() {
            relays.retain(|r| !r.is_finished());
            relays.push(relay);
        }
    }
}

/// Copies both ways until either side closes, then closes the other. The
/// bytes are never looked at, but for the length of each message from the
/// server ([`frames`]). A failed read from the server (a TLS error,
/// a reset) is kept as the bridge's failure, as the driver would have
/// reported it: the driver itself only sees its socket close.
async fn relay(
    client: UnixStream,
    leg: Leg,
    spec: ConnSpec,
    configured: Duration,
    failure: Arc<Mutex<Option<Error>>>,
) {
    let lost = match leg.stream {
        Stream::Plain(server) => pump(client, server, &leg.startup).await,
        Stream::Tls(server) => pump(client, *server, &leg.startup).await,
    };
    if let Some(e) = lost
        && let Ok(mut slot) = failure.lock()
    {
        slot.get_or_insert_with(|| classify::connect_error(&sqlx::Error::Io(e), &spec, configured));
    }
}

/// The relay proper; returns the error that ended reading from the
/// server, if one did. Until the startup is over, what the server sends
/// is also shown to `startup` (frame headers only).
async fn pump<S: AsyncRead + AsyncWrite + Unpin>(
    client: UnixStream,
    server: S,
    startup: &Watch,
) -> Option<io::Error> {
    const CLOSE_BOUND: Duration = Duration::from_secs(1);
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = tokio::io::split(server);
    let up = async {
        let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
        // TLS close_notify and FIN; bounded, the server may be gone.
        let _ = tokio::time::timeout(CLOSE_BOUND, to_server.shutdown()).await;
        None
    };
    let down = async {
        let mut lost = None;
        // Read errors are the server's; write errors (the driver went
        // away) end the relay like an orderly close.
        let mut buf = vec![0u8; 16 * 1024];
        let mut frames = frames::Frames::default();
        loop {
            match from_server.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    // A message announced too long is never handed over.
                    let watching = startup.watching();
                    let seen = &mut |head| {
                        if watching {
                            startup.observe(head);
                        }
                    };
                    if let Err(e) = frames.follow(&buf[..n], seen) {
                        lost = Some(e);
                        break;
                    }
                    if to_client.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                Err(e) => {
                    lost = Some(e);
                    break;
                }
            }
        }
        let _ = tokio::time::timeout(CLOSE_BOUND, to_client.shutdown()).await;
        lost
    };
    tokio::select! {
        lost = up => lost,
        lost = down => lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that answers the SSLRequest with `answer` and closes.
    async fn answering(answer: &'static [u8]) -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let mut request = [0u8; 8];
                let _ = s.read_exact(&mut request).await;
                let _ = s.write_all(answer).await;
            }
        });
        port
    }

    fn spec(port: u16, sslmode: SslMode) -> ConnSpec {
        ConnSpec {
            host: "127.0.0.1".into(),
            port,
            user: "u".into(),
            dbname: "d".into(),
            sslmode,
            ..ConnSpec::empty()
        }
    }

    async fn outcome(port: u16, sslmode: SslMode) -> std::result::Result<Tls, crate::Code> {
        let spec = spec(port, sslmode);
        let b = Duration::from_secs(5);
        connect(&spec, b, b)
            .await
            .map(|leg| leg.tls())
            .map_err(|e| e.code)
    }

    #[tokio::test]
    async fn each_sslmode_asks_and_falls_back_as_sqlx_does() {
        use crate::Code;
        let declines = answering(b"N").await;
        assert_eq!(
            outcome(declines, SslMode::Disable).await,
            Ok(Tls::NotRequested)
        );
        assert_eq!(
            outcome(declines, SslMode::Allow).await,
            Ok(Tls::NotRequested)
        );
        assert_eq!(outcome(declines, SslMode::Prefer).await, Ok(Tls::Declined));
        for mode in [SslMode::Require, SslMode::VerifyCa, SslMode::VerifyFull] {
            assert_eq!(outcome(declines, mode).await, Err(Code::TlsUnavailable));
        }
        let garbled = answering(b"E").await;
        assert_eq!(
            outcome(garbled, SslMode::Prefer).await,
            Err(Code::ConnectFailed)
        );
        let closes = answering(b"").await;
        assert_eq!(
            outcome(closes, SslMode::Require).await,
            Err(Code::ConnectFailed)
        );
    }

    #[tokio::test]
    async fn a_silent_server_times_out_within_the_bound() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _held = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                held.push(s);
            }
        });
        let spec = spec(port, SslMode::Require);
        let started = std::time::Instant::now();
        let e = connect(&spec, Duration::from_millis(300), Duration::from_secs(3))
            .await
            .err()
            .unwrap();
        assert_eq!(e.code, crate::Code::NetworkTimeout);
        assert!(e.message.contains("3s"), "{}", e.message);
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn the_tcp_leg_has_nodelay_and_the_bridge_relays_and_cleans_up() {
        // An echo server stands in for PostgreSQL behind a declined SSLRequest.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 64];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        });
        let spec = spec(port, SslMode::Disable);
        let b = Duration::from_secs(5);
        let leg = connect(&spec, b, b).await.unwrap();
        let Stream::Plain(tcp) = &leg.stream else {
            panic!("plain expected")
        };
        assert!(tcp.nodelay().unwrap());
        let mut bridge = Bridge::start(&spec, leg, Instant::now() + b, b).unwrap();
        let dir = bridge.dir.clone();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        let mut client = UnixStream::connect(dir.join(format!(".s.PGSQL.{port}")))
            .await
            .unwrap();
        client.write_all(b"ping").await.unwrap();
        let mut echoed = [0u8; 4];
        client.read_exact(&mut echoed).await.unwrap();
        assert_eq!(&echoed, b"ping");
        bridge.stop_listening();
        assert!(!dir.exists());
        drop(client);
        // The relay ends once the client side closed.
        let relays: Vec<_> = bridge.relays.lock().unwrap().drain(..).collect();
        for relay in relays {
            tokio::time::timeout(Duration::from_secs(2), relay)
                .await
                .expect("the relay ends when the client closes")
                .unwrap();
        }
    }

    #[tokio::test]
    async fn the_relay_ends_when_the_server_closes() {
        // A server that says one thing after a declined SSLRequest, then
        // hangs up.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let _ = s.write_all(b"bye").await;
        });
        let spec = spec(port, SslMode::Disable);
        let b = Duration::from_secs(5);
        let leg = connect(&spec, b, b).await.unwrap();
        let bridge = Bridge::start(&spec, leg, Instant::now() + b, b).unwrap();
        let mut client = UnixStream::connect(bridge.dir.join(format!(".s.PGSQL.{port}")))
            .await
            .unwrap();
        let mut got = Vec::new();
        tokio::time::timeout(Duration::from_secs(2), client.read_to_end(&mut got))
            .await
            .expect("the client sees the server's close")
            .unwrap();
        assert_eq!(got, b"bye");
        tokio::time::timeout(
            Duration::from_secs(2),
            bridge.finish(Duration::from_secs(2)),
        )
        .await
        .unwrap();
        assert!(bridge_dir_gone(port));
    }

    fn bridge_dir_gone(port: u16) -> bool {
        let prefix = format!("impulse-db-{}-", std::process::id());
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return true;
        };
        !entries.flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with(&prefix)
                && e.path().join(format!(".s.PGSQL.{port}")).exists()
        })
    }
}
