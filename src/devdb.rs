//! A local PostgreSQL cluster that needs no setup: the database of
//! `migrate dev`, the scratch space of later commands, and the server the
//! tests start for themselves (through this same code).
//!
//! It is built from the machine's own PostgreSQL server binaries, with
//! scram-sha-256 authentication and TLS (a CA and server certificate made
//! here), on a free port of 127.0.0.1, with no Unix socket. Everything lives
//! in one directory (`.migrate/` for `migrate dev`):
//!
//! ```text
//! cluster.json          port, server binaries
//! superuser.password    the `postgres` role's password (mode 0600)
//! ca.crt                the CA clients verify the server with
//! postgres.log          the server's log
//! data/                 PGDATA (server.crt and server.key inside)
//! ```
//!
//! `initdb` refuses to run as root, so as root every server program runs as
//! the `postgres` OS user (`runuser`), which then owns `data/`.
//! Durability is traded for speed (`fsync = off`): this cluster holds
//! nothing that cannot be rebuilt by running the migrations again.

use std::ffi::OsString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::config::{ConnSpec, SslMode};
use crate::error::{Code, Error, Result};
use crate::secret::Secret;

/// The superuser the cluster is created with.
pub const SUPERUSER: &str = "postgres";

/// What `cluster.json` remembers between runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct State {
    port: u16,
    bindir: PathBuf,
}

/// A local cluster in a directory of its own.
#[derive(Debug)]
pub struct Cluster {
    root: PathBuf,
    state: State,
    password: Secret,
    /// Whether server programs run as the `postgres` OS user (we are root).
    as_postgres: bool,
}

impl Cluster {
    /// Opens the cluster in `root`, creating it first when there is none.
    pub fn open_or_init(root: &Path) -> Result<Self> {
        let root = std::path::absolute(root)
            .map_err(|e| io_error(&format!("resolve {}", root.display()), e))?;
        if root.join("data").join("PG_VERSION").exists() && root.join("cluster.json").exists() {
            Self::open(&root)
        } else {
            Self::init(&root)
        }
    }

    fn open(root: &Path) -> Result<Self> {
        let state: State = read_json(&root.join("cluster.json"))?;
        let password = std::fs::read_to_string(root.join("superuser.password"))
            .map_err(|e| io_error("read superuser.password", e))?;
        Ok(Self {
            root: root.to_path_buf(),
            state,
            password: Secret::new(password.trim()),
            as_postgres: is_root(),
        })
    }

    fn init(root: &Path) -> Result<Self> {
        let bindir = find_bindir()?;
        let as_postgres = is_root();
        let data = root.join("data");
        if data.exists() {
            // A half-made cluster from an interrupted run: start over.
            std::fs::remove_dir_all(&data).map_err(|e| io_error("remove a broken data/", e))?;
        }
        std::fs::create_dir_all(&data).map_err(|e| io_error("create the cluster directory", e))?;
        set_mode(&data, 0o700)?;
        let password = Secret::new(random_token(32)?);
        let pwfile = root.join(".initdb-password");
        write_private(&pwfile, password.expose())?;
        if as_postgres {
            let owner = postgres_owner()?;
            chown(&data, owner)?;
            chown(&pwfile, owner)?;
        }
        let cluster = Self {
            root: root.to_path_buf(),
            state: State {
                port: free_port()?,
                bindir,
            },
            password,
            as_postgres,
        };
        if as_postgres {
            cluster.check_postgres_can_reach(&data)?;
        }
        let mut initdb_args: Vec<OsString> = vec![
            "-D".into(),
            data.clone().into(),
            "-U".into(),
            SUPERUSER.into(),
            "--auth=scram-sha-256".into(),
            "--pwfile".into(),
            pwfile.clone().into(),
            "-E".into(),
            "UTF8".into(),
            "--locale=C".into(),
            "--no-sync".into(),
        ];
        let initdb = cluster.run_server_program("initdb", &mut initdb_args);
        let _ = std::fs::remove_file(&pwfile);
        initdb?;

        cluster.write_tls_files()?;
        cluster.write_config()?;
        write_private(&root.join("superuser.password"), cluster.password.expose())?;
        write_json(&root.join("cluster.json"), &cluster.state)?;
        Ok(cluster)
    }

    /// Starts the server unless it is running. Returns true when it started it.
    pub fn start(&mut self) -> Result<bool> {
        if self.is_running() {
            return Ok(false);
        }
        if !port_is_free(self.state.port) {
            self.state.port = free_port()?;
            write_json(&self.root.join("cluster.json"), &self.state)?;
        }
        let log = self.root.join("postgres.log");
        if !log.exists() {
            std::fs::write(&log, "").map_err(|e| io_error("create postgres.log", e))?;
        }
        if self.as_postgres {
            chown(&log, postgres_owner()?)?;
        }
        let mut args: Vec<OsString> = vec![
            "-D".into(),
            self.data_dir().into(),
            "-l".into(),
            log.clone().into(),
            "-w".into(),
            "-t".into(),
            "60".into(),
            "-o".into(),
            format!("-p {}", self.state.port).into(),
            "start".into(),
        ];
        if let Err(mut e) = self.run_server_program("pg_ctl", &mut args) {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            e.message = format!(
                "{}; the server log ends with:\n  {}",
                e.message,
                tail.join("\n  ")
            );
            return Err(e);
        }
        Ok(true)
    }

    /// Stops the server if it is running. Returns true when it stopped it.
    pub fn stop(&self) -> Result<bool> {
        if !self.is_running() {
            return Ok(false);
        }
        let mut args: Vec<OsString> = vec![
            "-D".into(),
            self.data_dir().into(),
            "-m".into(),
            "fast".into(),
            "-w".into(),
            "stop".into(),
        ];
        self.run_server_program("pg_ctl", &mut args)?;
        Ok(true)
    }

    /// Is a server running on this data directory?
    pub fn is_running(&self) -> bool {
        let mut args: Vec<OsString> = vec!["-D".into(), self.data_dir().into(), "status".into()];
        self.run_server_program("pg_ctl", &mut args).is_ok()
    }

    pub fn port(&self) -> u16 {
        self.state.port
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The CA certificate clients verify the server with.
    pub fn ca_cert(&self) -> PathBuf {
        self.root.join("ca.crt")
    }

    pub fn superuser_password(&self) -> &Secret {
        &self.password
    }

    /// The server binaries in use.
    pub fn bindir(&self) -> &Path {
        &self.state.bindir
    }

    /// A URL for `user` on `dbname`, verifying the server's certificate.
    pub fn spec(&self, user: &str, password: &Secret, dbname: &str) -> ConnSpec {
        ConnSpec {
            host: "127.0.0.1".into(),
            port: self.state.port,
            user: user.into(),
            password: Some(password.clone()),
            dbname: dbname.into(),
            sslmode: SslMode::VerifyFull,
            sslrootcert: Some(self.ca_cert()),
            ..ConnSpec::empty()
        }
    }

    /// The superuser's URL for `dbname`.
    pub fn superuser_spec(&self, dbname: &str) -> ConnSpec {
        self.spec(SUPERUSER, &self.password, dbname)
    }

    fn write_tls_files(&self) -> Result<()> {
        let (ca_pem, cert_pem, key_pem) = make_certificates()?;
        std::fs::write(self.ca_cert(), ca_pem).map_err(|e| io_error("write ca.crt", e))?;
        let data = self.data_dir();
        std::fs::write(data.join("server.crt"), cert_pem)
            .map_err(|e| io_error("write server.crt", e))?;
        write_private(&data.join("server.key"), &key_pem)?;
        if self.as_postgres {
            let owner = postgres_owner()?;
            chown(&data.join("server.crt"), owner)?;
            chown(&data.join("server.key"), owner)?;
        }
        Ok(())
    }

    fn write_config(&self) -> Result<()> {
        let data = self.data_dir();
        let hba = "# Written by impulse-db: TLS and scram-sha-256 only.\n\
                   local    all all              scram-sha-256\n\
                   hostssl  all all 127.0.0.1/32 scram-sha-256\n\
                   hostssl  all all ::1/128      scram-sha-256\n";
        std::fs::write(data.join("pg_hba.conf"), hba)
            .map_err(|e| io_error("write pg_hba.conf", e))?;
        let conf = "\n# Written by impulse-db (local development and tests).\n\
                    listen_addresses = '127.0.0.1'\n\
                    unix_socket_directories = ''\n\
                    ssl = on\n\
                    ssl_cert_file = 'server.crt'\n\
                    ssl_key_file = 'server.key'\n\
                    password_encryption = 'scram-sha-256'\n\
                    max_connections = 100\n\
                    fsync = off\n\
                    synchronous_commit = off\n\
                    full_page_writes = off\n";
        let path = data.join("postgresql.conf");
        let mut text =
            std::fs::read_to_string(&path).map_err(|e| io_error("read postgresql.conf", e))?;
        text.push_str(conf);
        std::fs::write(&path, text).map_err(|e| io_error("write postgresql.conf", e))
    }

    fn check_postgres_can_reach(&self, data: &Path) -> Result<()> {
        let ok = Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-w"])
            .arg(data)
            .current_dir("/")
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Ok(());
        }
        Err(Error::new(
            Code::DevUnreachableDir,
            format!(
                "the server runs as the postgres OS user (we are root), and that user cannot reach {}",
                data.display()
            ),
            "run from a directory every user can traverse (chmod o+x on its parents), or run as a normal user",
        ))
    }

    /// Runs a server program (`initdb`, `pg_ctl`) from the cluster's binaries,
    /// as the `postgres` OS user when we are root.
    fn run_server_program(&self, program: &str, args: &mut Vec<OsString>) -> Result<()> {
        let path = self.state.bindir.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        command.args(args.drain(..)).current_dir(&self.root);
        // The server must not inherit a client's idea of where to connect.
        for var in ["PGHOST", "PGPORT", "PGDATA", "PGUSER", "PGPASSWORD"] {
            command.env_remove(var);
        }
        let output = command.output().map_err(|e| {
            Error::new(
                Code::DevNoPostgres,
                format!("cannot run {}: {e}", path.display()),
                install_hint(),
            )
        })?;
        check_output(program, &output)
    }
}

fn check_output(program: &str, output: &Output) -> Result<()> {
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let text = if stderr.trim().is_empty() {
        stdout
    } else {
        stderr
    };
    Err(Error::new(
        Code::DevServerFailed,
        format!("{program} failed ({}): {}", output.status, text.trim()),
        "see .migrate/postgres.log; `migrate dev --stop` and removing .migrate/ starts over",
    ))
}

fn install_hint() -> &'static str {
    "install the PostgreSQL server: `apt-get install -y postgresql` (Debian, Ubuntu), \
     `dnf install postgresql-server` (Fedora), `brew install postgresql@16` (macOS); \
     or put its bin directory (with initdb and pg_ctl) on PATH"
}

/// Finds a directory holding `initdb` and `pg_ctl`: on PATH, then
/// `pg_config --bindir`, then the newest `/usr/lib/postgresql/*/bin`.
pub fn find_bindir() -> Result<PathBuf> {
    let pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    find_bindir_in(
        std::env::var_os("PATH").as_deref(),
        pg_config.as_deref(),
        Path::new("/usr/lib/postgresql"),
    )
}

/// [`find_bindir`] over explicit places, so the search can be tested.
pub fn find_bindir_in(
    path_var: Option<&std::ffi::OsStr>,
    pg_config_bindir: Option<&Path>,
    versions_root: &Path,
) -> Result<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    // Report where the binaries really are, not a symlink farm on PATH.
    let real = |dir: PathBuf| {
        std::fs::canonicalize(dir.join("initdb"))
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or(dir)
    };
    if let Some(path) = path_var
        && let Some(dir) = std::env::split_paths(path).find(|d| has_server(d))
    {
        return Ok(real(dir));
    }
    if let Some(dir) = pg_config_bindir.filter(|d| has_server(d)) {
        return Ok(real(dir.to_path_buf()));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(versions_root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_server(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir).ok_or_else(|| {
        Error::new(
            Code::DevNoPostgres,
            "no PostgreSQL server binaries (initdb, pg_ctl) were found on PATH, \
             through pg_config, or under /usr/lib/postgresql",
            install_hint(),
        )
    })
}

/// A CA, and a server certificate it signed for localhost, 127.0.0.1 and
/// ::1: (CA PEM, server certificate PEM, server key PEM).
pub fn make_certificates() -> Result<(String, String, String)> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, SanType,
    };
    let tls_error = |e: rcgen::Error| Error::internal(format!("cannot make a certificate: {e}"));
    let now = time_now();
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(tls_error)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "impulse-db local CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = now.0;
    ca.not_after = now.1;
    let ca_key = KeyPair::generate().map_err(tls_error)?;
    let ca_cert = ca.self_signed(&ca_key).map_err(tls_error)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut server = CertificateParams::new(vec!["localhost".to_string()]).map_err(tls_error)?;
    server
        .subject_alt_names
        .push(SanType::IpAddress([127, 0, 0, 1].into()));
    server
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()));
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    server.not_before = now.0;
    server.not_after = now.1;
    let server_key = KeyPair::generate().map_err(tls_error)?;
    let server_cert = server.signed_by(&server_key, &issuer).map_err(tls_error)?;
    Ok((ca_cert.pem(), server_cert.pem(), server_key.serialize_pem()))
}

/// Validity of the local certificates: from a day ago for ten years.
fn time_now() -> (time::OffsetDateTime, time::OffsetDateTime) {
    let from = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    (from, from + time::Duration::days(3650))
}

/// A random token of `len` characters from [A-Za-z0-9].
pub fn random_token(len: usize) -> Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).map_err(|e| Error::internal(format!("no randomness: {e}")))?;
        // 248 = 4 * 62: dropping larger bytes keeps every character equally likely.
        let missing = len - out.len();
        out.extend(
            buf.iter()
                .filter(|&&b| b < 248)
                .map(|&b| ALPHABET[usize::from(b % 62)] as char)
                .take(missing),
        );
    }
    Ok(out)
}

fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| io_error("find a free port", e))
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Whether this process runs as root (the server then runs as `postgres`).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// The uid and gid of the `postgres` OS user.
fn postgres_owner() -> Result<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    match (id("-u"), id("-g")) {
        (Some(uid), Some(gid)) => Ok((uid, gid)),
        _ => Err(Error::new(
            Code::DevNoPostgresUser,
            "running as root, but there is no `postgres` OS user to run the server as",
            "install the PostgreSQL server package (it creates the user), or run as a normal user",
        )),
    }
}

fn chown(path: &Path, (uid, gid): (u32, u32)) -> Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(|e| io_error(&format!("chown {}", path.display()), e))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| io_error(&format!("chmod {}", path.display()), e))
}

/// Writes a file only its owner can read.
pub fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| io_error(&format!("write {}", path.display()), e))?;
    file.write_all(contents.as_bytes())
        .map_err(|e| io_error(&format!("write {}", path.display()), e))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| io_error(&format!("read {}", path.display()), e))?;
    serde_json::from_str(&text).map_err(|e| {
        Error::new(
            Code::DevBrokenState,
            format!("{} is not valid: {e}", path.display()),
            "stop the cluster (`migrate dev --stop`) and remove the directory to start over",
        )
    })
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::internal(e.to_string()))?;
    std::fs::write(path, text + "\n").map_err(|e| io_error(&format!("write {}", path.display()), e))
}

fn io_error(doing: &str, e: std::io::Error) -> Error {
    Error::new(
        Code::DevIo,
        format!("cannot {doing}: {e}"),
        "check the permissions and free space of the directory",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_alphanumeric_and_distinct() {
        let a = random_token(40).unwrap();
        let b = random_token(40).unwrap();
        assert_eq!(a.len(), 40);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[test]
    fn finds_the_newest_server_or_says_how_to_install_one() {
        let root = tempfile::tempdir().unwrap();
        let err = find_bindir_in(
            Some(std::ffi::OsStr::new("/nonexistent")),
            None,
            root.path(),
        )
        .unwrap_err();
        assert_eq!(
            (err.code, err.exit()),
            (Code::DevNoPostgres, crate::error::Exit::Usage)
        );
        assert!(
            err.hint.contains("apt-get install -y postgresql"),
            "{}",
            err.hint
        );

        for version in ["9", "15", "16"] {
            let bin = root.path().join(version).join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            for program in ["initdb", "pg_ctl"] {
                std::fs::write(bin.join(program), "").unwrap();
            }
        }
        let found = find_bindir_in(None, None, root.path()).unwrap();
        assert_eq!(found, root.path().join("16").join("bin"));
    }

    #[test]
    fn certificates_are_pem() {
        let (ca, cert, key) = make_certificates().unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.contains("PRIVATE KEY"));
    }
}
