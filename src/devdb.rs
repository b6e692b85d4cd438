//! A local PostgreSQL cluster that needs no setup: the database of
//! `migrate dev`, the scratch space of later commands, and the server the
//! tests start for themselves (through this same code).
//!
//! It is built from the machine's own PostgreSQL server binaries (see
//! [`find_bindir`]; `MIGRATE_PG_BINDIR` names other ones, e.g. another major
//! version), with scram-sha-256 authentication and TLS (a CA and server
//! certificate made here), on a free port of 127.0.0.1, with no Unix socket.
//! The same settings work on PostgreSQL 13 to 18. Everything lives in one
//! directory (`.migrate/` for `migrate dev`):
//!
//! ```text
//! cluster.json          port, server binaries
//! superuser.password    the `postgres` role's password (mode 0600)
//! ca.crt                the CA clients verify the server with
//! postgres.log          the server's log
//! data/                 PGDATA (server.crt and server.key inside)
//! ```
//!
//! A data directory only works with the major version that made it
//! (`data/PG_VERSION`): opening it with other binaries is refused with both
//! versions named, before any server program runs.
//!
//! `initdb` refuses to run as root, so as root every server program runs as
//! the `postgres` OS user (`runuser`), which then owns `data/`.
//! Durability is traded for speed (`fsync = off`): this cluster holds
//! nothing that cannot be rebuilt by running the migrations again.

use std::ffi::OsString;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::config::{ConnSpec, SslMode};
use crate::error::{Code, Error, Result};
use crate::secret::Secret;

/// The superuser the cluster is created with.
pub const SUPERUSER: &str = "postgres";

/// The variable naming the server binaries to use (a directory with
/// `initdb`, `pg_ctl` and `postgres`) instead of the machine's own.
pub const BINDIR_VAR: &str = crate::env_vars::MIGRATE_PG_BINDIR;

/// How long a run waits for another one creating or starting the cluster.
const SETUP_WAIT: Duration = Duration::from_secs(120);

/// Held while a run creates or starts the cluster in `root`.
struct SetupLock {
    _held: std::fs::File,
}

/// Takes the cluster's setup lock (a file lock on `root/.setup.lock`),
/// waiting at most [`SETUP_WAIT`] for another run.
fn setup_lock(root: &Path) -> Result<SetupLock> {
    std::fs::create_dir_all(root).map_err(|e| io_error("create the cluster directory", e))?;
    let path = root.join(".setup.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io_error("open .setup.lock", e))?;
    let deadline = std::time::Instant::now() + SETUP_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(SetupLock { _held: file }),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::new(
                    Code::DevBrokenState,
                    format!(
                        "another run has held {} for {}s",
                        path.display(),
                        SETUP_WAIT.as_secs()
                    ),
                    "wait for the other `migrate dev` (or prisma-check, entities) to finish, \
                     or end it",
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_error("lock .setup.lock", e)),
        }
    }
}

/// The programs a bin directory must hold.
const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// What `cluster.json` remembers between runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct State {
    port: u16,
    bindir: PathBuf,
}

/// The port the cluster in `root` was last started on, from its
/// `cluster.json` (no lock taken, nothing started): `None` when there is
/// no cluster there.
pub fn recorded_port(root: &Path) -> Option<u16> {
    read_json::<State>(&root.join("cluster.json"))
        .ok()
        .map(|s| s.port)
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
    /// Opens the cluster in `root`, creating it first when there is none,
    /// with the server binaries [`find_bindir`] chooses.
    pub fn open_or_init(root: &Path) -> Result<Self> {
        Self::open_or_init_with(root, None)
    }

    /// [`Cluster::open_or_init`] with the server binaries in `bindir` when
    /// given (checked like `MIGRATE_PG_BINDIR`).
    pub fn open_or_init_with(root: &Path, bindir: Option<&Path>) -> Result<Self> {
        let root = std::path::absolute(root)
            .map_err(|e| io_error(&format!("resolve {}", root.display()), e))?;
        // Checked before anything is made: a bad MIGRATE_PG_BINDIR leaves
        // no directory behind.
        let chosen = match bindir {
            Some(dir) => Some(checked_bindir(dir)?),
            None => bindir_from_env().transpose()?,
        };
        // Parallel runs (several `migrate dev`, `prisma-check`) would each
        // make a cluster with its own password: one at a time.
        let _lock = setup_lock(&root)?;
        if root.join("data").join("PG_VERSION").exists() && root.join("cluster.json").exists() {
            Self::open(&root, chosen)
        } else {
            Self::init(&root, chosen)
        }
    }

    /// Opens an existing cluster. Its binaries are `bindir`, else
    /// `MIGRATE_PG_BINDIR`, else the ones it was made with (or, when those
    /// are gone, the machine's own); they must be of the data directory's
    /// major version.
    fn open(root: &Path, bindir: Option<PathBuf>) -> Result<Self> {
        let mut state: State = read_json(&root.join("cluster.json"))?;
        let password = std::fs::read_to_string(root.join("superuser.password"))
            .map_err(|e| io_error("read superuser.password", e))?;
        let as_postgres = is_root();
        let bindir = match bindir.map(Ok::<_, Error>).or_else(bindir_from_env) {
            Some(dir) => dir?,
            None if has_server(&state.bindir) => state.bindir.clone(),
            None => find_bindir()?,
        };
        let data_version = data_version(&root.join("data"))?;
        let server = server_version(&bindir, as_postgres)?;
        if major_of(&server) != data_version {
            return Err(version_mismatch(root, &data_version, &bindir, &server));
        }
        if bindir != state.bindir {
            state.bindir = bindir;
            write_json(&root.join("cluster.json"), &state)?;
        }
        Ok(Self {
            root: root.to_path_buf(),
            state,
            password: Secret::new(password.trim()),
            as_postgres,
        })
    }

    fn init(root: &Path, bindir: Option<PathBuf>) -> Result<Self> {
        let bindir = match bindir {
            Some(dir) => dir,
            None => find_bindir()?,
        };
        let as_postgres = is_root();
        // Fails clearly when the postgres OS user cannot run them, or they
        // are not a PostgreSQL server.
        server_version(&bindir, as_postgres)?;
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
        let _lock = setup_lock(&self.root)?;
        // Another run may have started it, or moved it to another port,
        // while this one waited for the lock.
        if let Ok(state) = read_json::<State>(&self.root.join("cluster.json")) {
            self.state.port = state.port;
        }
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
     or put its bin directory (with initdb, pg_ctl and postgres) on PATH, \
     or name it with MIGRATE_PG_BINDIR"
}

/// Finds the server binaries: `MIGRATE_PG_BINDIR` when set (it must hold
/// `initdb`, `pg_ctl` and `postgres`), else a directory holding them on
/// PATH, then `pg_config --bindir`, then the newest `/usr/lib/postgresql/*/bin`.
pub fn find_bindir() -> Result<PathBuf> {
    let chosen = std::env::var_os(BINDIR_VAR).filter(|v| !v.is_empty());
    let pg_config = || {
        Command::new("pg_config")
            .arg("--bindir")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    };
    find_bindir_in(
        chosen.as_deref().map(Path::new),
        std::env::var_os("PATH").as_deref(),
        if chosen.is_some() { None } else { pg_config() }.as_deref(),
        Path::new("/usr/lib/postgresql"),
    )
}

/// [`find_bindir`] over explicit places, so the search can be tested:
/// `chosen` is the value of `MIGRATE_PG_BINDIR`, which wins when given.
pub fn find_bindir_in(
    chosen: Option<&Path>,
    path_var: Option<&std::ffi::OsStr>,
    pg_config_bindir: Option<&Path>,
    versions_root: &Path,
) -> Result<PathBuf> {
    if let Some(dir) = chosen {
        return checked_bindir(dir);
    }
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
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) were found on PATH, \
             through pg_config, or under /usr/lib/postgresql",
            install_hint(),
        )
    })
}

/// Whether `dir` holds every server program.
fn has_server(dir: &Path) -> bool {
    SERVER_PROGRAMS.iter().all(|p| dir.join(p).is_file())
}

/// `MIGRATE_PG_BINDIR`, checked, when it is set.
fn bindir_from_env() -> Option<Result<PathBuf>> {
    std::env::var_os(BINDIR_VAR)
        .filter(|v| !v.is_empty())
        .map(|dir| checked_bindir(Path::new(&dir)))
}

/// A bin directory named by the user: absolute, holding every server
/// program, or an error that lists what is missing.
fn checked_bindir(dir: &Path) -> Result<PathBuf> {
    let missing: Vec<&str> = SERVER_PROGRAMS
        .iter()
        .copied()
        .filter(|p| !dir.join(p).is_file())
        .collect();
    if !missing.is_empty() {
        let what = if dir.is_dir() {
            format!("has no {}", missing.join(", "))
        } else {
            "is not a directory".to_string()
        };
        return Err(Error::new(
            Code::DevBadBindir,
            format!(
                "{BINDIR_VAR}={} {what}: it must be the bin directory of a PostgreSQL \
                 server (with initdb, pg_ctl and postgres)",
                dir.display()
            ),
            format!(
                "point {BINDIR_VAR} at such a directory (`pg_config --bindir` of that \
                 installation; Debian: /usr/lib/postgresql/<major>/bin), or unset it to use \
                 the machine's own server"
            ),
        ));
    }
    std::fs::canonicalize(dir).map_err(|e| io_error(&format!("resolve {}", dir.display()), e))
}

/// The data directory's major version (`PG_VERSION`: `15`, `9.6`).
fn data_version(data: &Path) -> Result<String> {
    std::fs::read_to_string(data.join("PG_VERSION"))
        .map(|v| v.trim().to_string())
        .map_err(|e| io_error("read data/PG_VERSION", e))
}

/// The version the server binaries report (`17.10`, `15.18`, `18beta1`),
/// as the OS user that runs them.
fn server_version(bindir: &Path, as_postgres: bool) -> Result<String> {
    let postgres = bindir.join("postgres");
    let mut command = if as_postgres {
        let reachable = Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-x"])
            .arg(&postgres)
            .current_dir("/")
            .status()
            .is_ok_and(|s| s.success());
        if !reachable {
            return Err(Error::new(
                Code::DevUnreachableBindir,
                format!(
                    "the server runs as the postgres OS user (we are root), and that user \
                     cannot run {}",
                    postgres.display()
                ),
                "install the server binaries where every user can read them (chmod o+rx on \
                 the directory and each parent; scripts/install-pg uses /var/cache as root), \
                 or run as a normal user",
            ));
        }
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&postgres);
        c
    } else {
        Command::new(&postgres)
    };
    let output = command
        .arg("--version")
        .current_dir("/")
        .output()
        .map_err(|e| {
            Error::new(
                Code::DevNoPostgres,
                format!("cannot run {}: {e}", postgres.display()),
                install_hint(),
            )
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    parse_server_version(&text)
        .filter(|_| output.status.success())
        .ok_or_else(|| {
            Error::new(
                Code::DevBadBindir,
                format!(
                    "{} --version did not report a PostgreSQL version ({}): {}{}",
                    postgres.display(),
                    output.status,
                    text.trim(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
                format!(
                    "point {BINDIR_VAR} at the bin directory of a working PostgreSQL server, \
                     or unset it"
                ),
            )
        })
}

/// `postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` -> `15.18`.
fn parse_server_version(text: &str) -> Option<String> {
    let version = text.trim().strip_prefix("postgres (PostgreSQL) ")?;
    let version = version.split_whitespace().next()?;
    version
        .starts_with(|c: char| c.is_ascii_digit())
        .then(|| version.to_string())
}

/// The major version of a server version, as `PG_VERSION` spells it:
/// `17.10` -> `17`, `18beta1` -> `18`, `9.6.24` -> `9.6`.
fn major_of(version: &str) -> String {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty());
    let first = parts.next().unwrap_or_default();
    match first.parse::<u32>() {
        Ok(n) if n < 10 => format!("{first}.{}", parts.next().unwrap_or("0")),
        _ => first.to_string(),
    }
}

fn version_mismatch(root: &Path, data_version: &str, bindir: &Path, server: &str) -> Error {
    Error::new(
        Code::DevVersionMismatch,
        format!(
            "the cluster in {} was made by PostgreSQL {data_version} (data/PG_VERSION), \
             but the server binaries in {} are PostgreSQL {server}: a data directory only \
             works with the major version that made it",
            root.display(),
            bindir.display()
        ),
        format!(
            "keep PostgreSQL {data_version}: point {BINDIR_VAR} at its bin directory, or \
             unset it (the cluster remembers the binaries that made it); or start over on \
             PostgreSQL {server}: with {data_version}'s binaries run `migrate dev --stop`, \
             remove {}, then run `migrate dev` with the new ones (it rebuilds the cluster \
             and applies the migrations again; local data is lost)",
            root.display()
        ),
    )
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
            None,
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
            fake_server(&root.path().join(version).join("bin"), version);
        }
        // A directory without postgres is not a server.
        let partial = root.path().join("17").join("bin");
        fake_server(&partial, "17");
        std::fs::remove_file(partial.join("postgres")).unwrap();
        let found = find_bindir_in(None, None, None, root.path()).unwrap();
        assert_eq!(found, root.path().join("16").join("bin"));
    }

    /// A bin directory whose programs are shell scripts; `postgres
    /// --version` reports `major`.1. Everyone can run them (as root, the
    /// cluster runs them as the postgres OS user).
    fn fake_server(bin: &Path, major: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(bin).unwrap();
        for program in SERVER_PROGRAMS {
            let path = bin.join(program);
            std::fs::write(
                &path,
                format!("#!/bin/sh\necho '{program} (PostgreSQL) {major}.1'\n"),
            )
            .unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        for dir in bin.ancestors().take(3) {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    #[test]
    fn migrate_pg_bindir_wins_and_must_hold_a_server() {
        let root = tempfile::tempdir().unwrap();
        let machine = root.path().join("machine");
        let chosen = root.path().join("other");
        fake_server(&machine, "15");
        fake_server(&chosen, "17");
        let path = std::env::join_paths([&machine]).unwrap();

        let found = find_bindir_in(Some(&chosen), Some(&path), Some(&machine), root.path());
        assert_eq!(found.unwrap(), std::fs::canonicalize(&chosen).unwrap());
        // Without it, the machine's own server.
        let found = find_bindir_in(None, Some(&path), None, root.path()).unwrap();
        assert_eq!(found, machine);

        std::fs::remove_file(chosen.join("postgres")).unwrap();
        std::fs::remove_file(chosen.join("pg_ctl")).unwrap();
        let err = find_bindir_in(Some(&chosen), Some(&path), None, root.path()).unwrap_err();
        assert_eq!(
            (err.code, err.exit()),
            (Code::DevBadBindir, crate::error::Exit::Usage)
        );
        assert!(
            err.message.contains("MIGRATE_PG_BINDIR=")
                && err.message.contains("has no pg_ctl, postgres"),
            "{}",
            err.message
        );
        assert!(err.hint.contains("unset it"), "{}", err.hint);

        let err = find_bindir_in(Some(&root.path().join("nowhere")), None, None, root.path())
            .unwrap_err();
        assert_eq!(err.code, Code::DevBadBindir);
        assert!(
            err.message.contains("is not a directory"),
            "{}",
            err.message
        );
    }

    #[test]
    fn server_versions_and_their_majors() {
        for (text, version, major) in [
            ("postgres (PostgreSQL) 17.10\n", "17.10", "17"),
            (
                "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n",
                "15.18",
                "15",
            ),
            ("postgres (PostgreSQL) 18beta1\n", "18beta1", "18"),
            ("postgres (PostgreSQL) 13.23\n", "13.23", "13"),
            ("postgres (PostgreSQL) 9.6.24\n", "9.6.24", "9.6"),
        ] {
            let parsed = parse_server_version(text).unwrap();
            assert_eq!(parsed, version);
            assert_eq!(major_of(&parsed), major, "{text}");
        }
        assert_eq!(parse_server_version("pg_ctl (PostgreSQL) 17.1"), None);
        assert_eq!(parse_server_version("bash: postgres: not found"), None);
    }

    #[test]
    fn a_cluster_of_another_major_version_is_refused_by_name() {
        let root = tempfile::tempdir().unwrap();
        let cluster = root.path().join("cluster");
        std::fs::create_dir_all(cluster.join("data")).unwrap();
        std::fs::write(cluster.join("data").join("PG_VERSION"), "15\n").unwrap();
        std::fs::write(cluster.join("superuser.password"), "x").unwrap();
        let made_with = root.path().join("pg15");
        fake_server(&made_with, "15");
        write_json(
            &cluster.join("cluster.json"),
            &State {
                port: 5999,
                bindir: made_with.clone(),
            },
        )
        .unwrap();
        let other = root.path().join("pg17");
        fake_server(&other, "17");

        let err = Cluster::open_or_init_with(&cluster, Some(&other)).unwrap_err();
        assert_eq!(
            (err.code, err.exit()),
            (Code::DevVersionMismatch, crate::error::Exit::Usage)
        );
        assert!(
            err.message
                .contains("made by PostgreSQL 15 (data/PG_VERSION)")
                && err.message.contains("are PostgreSQL 17.1"),
            "{}",
            err.message
        );
        assert!(err.hint.contains("migrate dev --stop"), "{}", err.hint);

        // The binaries it was made with open it, and so do others of that major.
        let opened = Cluster::open_or_init_with(&cluster, None).unwrap();
        assert_eq!(opened.bindir(), made_with);
        let same_major = root.path().join("pg15-newer");
        fake_server(&same_major, "15");
        let opened = Cluster::open_or_init_with(&cluster, Some(&same_major)).unwrap();
        assert_eq!(opened.bindir(), std::fs::canonicalize(&same_major).unwrap());
        let state: State = read_json(&cluster.join("cluster.json")).unwrap();
        assert_eq!(state.bindir, opened.bindir(), "remembered");
    }

    #[test]
    fn certificates_are_pem() {
        let (ca, cert, key) = make_certificates().unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(key.contains("PRIVATE KEY"));
    }
}
