//! What the integration tests stand on: one real PostgreSQL cluster per test
//! process (started with the same code as `migrate dev`: scram-sha-256, TLS,
//! its own port and directory), a database and role of its own for every
//! test, and a way to run the built binary that checks every byte of its
//! output for the passwords in play.
//!
//! The cluster is shaped like RDS: `pg_hba.conf` has only `hostssl` rules
//! (`rds.force_ssl=1`); `rds_superuser` and `rds_iam` exist as plain roles
//! (`rds_superuser` in `pg_monitor` and `pg_signal_backend`, so that its
//! members see and may end every session, as on RDS); and each test's
//! migration role is like the RDS master user: not a superuser, `CREATEROLE
//! CREATEDB`, a member of `rds_superuser`, and the owner of the database
//! it created itself. The cluster's superuser stands in for `rdsadmin`,
//! which only AWS can log in as: tests use it to look and to set up what an
//! operator would, never to run the tool.
//!
//! Nothing here skips: a missing PostgreSQL fails the test with the
//! command that installs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use impulse_db::testing::Cluster;

/// The shared cluster and what tests need to reach it.
pub struct Pg {
    pub cluster: Cluster,
    superuser_password: String,
}

static PG: OnceLock<Pg> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// The variable that runs the tests' cluster on other server binaries
/// (another major version: `scripts/test-matrix`); the `migrate` binaries
/// the tests start get it as `MIGRATE_PG_BINDIR`.
pub const TEST_BINDIR_VAR: &str = "IMPULSE_TEST_PG_BINDIR";

/// `IMPULSE_TEST_PG_BINDIR`, when set.
pub fn test_bindir() -> Option<PathBuf> {
    std::env::var_os(TEST_BINDIR_VAR)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// The cluster of this test process, started on first use.
pub fn pg() -> &'static Pg {
    PG.get_or_init(|| {
        let cluster = start_cluster("impulse-db-it-");
        reject_in_hba(&cluster);
        let pg = Pg::from(cluster);
        pg.psql(
            "postgres",
            "CREATE ROLE rds_superuser NOLOGIN IN ROLE pg_monitor, pg_signal_backend; \
             CREATE ROLE rds_iam NOLOGIN",
        );
        pg
    })
}

/// A new cluster (the tests' server binaries) in a directory of its own,
/// started, and stopped and removed when this process ends.
pub fn start_cluster(prefix: &str) -> Cluster {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("create a temporary directory")
        .keep();
    make_traversable(&dir);
    let bindir = test_bindir();
    let mut cluster = Cluster::open_or_init_with(&dir.join("pg"), bindir.as_deref())
        .unwrap_or_else(|e| match &bindir {
            Some(b) => panic!(
                "cannot create the test cluster with {TEST_BINDIR_VAR}={} (install the \
                 pinned servers with `scripts/install-pg`, which prints their bin \
                 directories):\n{e}",
                b.display()
            ),
            None => panic!(
                "cannot create the test cluster (PostgreSQL server binaries are required; \
                 on Debian: apt-get install -y postgresql):\n{e}"
            ),
        });
    cluster
        .start()
        .unwrap_or_else(|e| panic!("cannot start the test cluster:\n{e}"));
    spawn_reaper(&cluster, &dir);
    cluster
}

/// The database name whose connections `pg_hba.conf` rejects, so that
/// `auth.no_hba_entry` can be tested.
pub const HBA_REJECTED_DB: &str = "hba_rejected";

fn reject_in_hba(cluster: &Cluster) {
    let hba = cluster.data_dir().join("pg_hba.conf");
    let text = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
    write_hba(
        cluster,
        &format!("hostssl {HBA_REJECTED_DB} all 127.0.0.1/32 reject\n{text}"),
    );
}

/// Replaces the cluster's `pg_hba.conf` and reloads the server.
pub fn write_hba(cluster: &Cluster, text: &str) {
    let hba = cluster.data_dir().join("pg_hba.conf");
    std::fs::write(&hba, text).expect("write pg_hba.conf");
    let pg_ctl = cluster.bindir().join("pg_ctl");
    let mut reload = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
        c
    } else {
        Command::new(&pg_ctl)
    };
    let status = reload
        .arg("-D")
        .arg(cluster.data_dir())
        .arg("reload")
        .stdout(Stdio::null())
        .status()
        .expect("pg_ctl reload");
    assert!(status.success(), "pg_ctl reload failed");
}

/// The server runs as the `postgres` OS user when tests run as root; it must
/// be able to traverse into the directory `tempfile` made private.
pub fn make_traversable(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .expect("chmod the test directory");
}

/// Stops the cluster and removes its directory once this process is gone,
/// however it ends.
fn spawn_reaper(cluster: &Cluster, dir: &Path) {
    let stop = cluster_stop_command(cluster);
    reap_after_exit(&format!(
        "{stop} >/dev/null 2>&1; rm -rf '{}'",
        dir.display()
    ));
}

fn cluster_stop_command(cluster: &Cluster) -> String {
    let pg_ctl = cluster.bindir().join("pg_ctl");
    let stop = format!(
        "{} -D '{}' -m immediate stop",
        pg_ctl.display(),
        cluster.data_dir().display()
    );
    if is_root() {
        format!("runuser -u postgres -- {stop}")
    } else {
        stop
    }
}

/// Runs the shell command `cleanup` once this test process has exited,
/// however it ends (a panic, a kill, a normal exit).
pub fn reap_after_exit(cleanup: &str) {
    // The inner subshell is detached (`&`) so it outlives this process; the
    // outer shell returns at once and is waited for.
    let script = format!(
        "(while kill -0 {pid} 2>/dev/null; do sleep 1; done; {cleanup}) >/dev/null 2>&1 &",
        pid = std::process::id(),
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start the cluster reaper");
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Pg {
    pub fn port(&self) -> u16 {
        self.cluster.port()
    }

    /// Runs SQL as the superuser on `db`; returns psql's unaligned output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        psql(self.port(), "postgres", &self.superuser_password, db, sql)
            .unwrap_or_else(|e| panic!("psql as superuser on {db} failed: {e}\nSQL: {sql}"))
    }

    /// A new database and the role that runs its migrations, shaped like
    /// the RDS master user (see the module's header): the role, with a
    /// random password, creates the database itself.
    pub fn new_db(&self, hint: &str) -> TestDb {
        let name = unique_name(hint);
        let role = format!("{name}_owner");
        let password = impulse_db::testing::random_token(24).expect("random password");
        self.psql(
            "postgres",
            &format!(
                "CREATE ROLE \"{role}\" LOGIN NOSUPERUSER CREATEROLE CREATEDB \
                 PASSWORD '{password}' IN ROLE rds_superuser"
            ),
        );
        psql(
            self.port(),
            &role,
            &password,
            "postgres",
            &format!("CREATE DATABASE \"{name}\""),
        )
        .unwrap_or_else(|e| panic!("the migration role creates its database: {e}"));
        self.test_db(name, role, password)
    }

    /// An existing database `name` and the role that runs migrations on it.
    pub fn test_db(&self, name: String, role: String, password: String) -> TestDb {
        TestDb {
            name,
            role,
            password,
            port: self.port(),
            ca: self.cluster.ca_cert(),
            superuser_password: self.superuser_password.clone(),
            old_passwords: Vec::new(),
        }
    }

    /// The server's major version (13, ..., 18).
    pub fn major(&self) -> u32 {
        let num: u32 = self
            .psql("postgres", "SHOW server_version_num")
            .parse()
            .expect("server_version_num is a number");
        num / 10000
    }
}

impl From<Cluster> for Pg {
    /// Another started cluster of this process (see [`start_cluster`]).
    fn from(cluster: Cluster) -> Pg {
        let superuser_password = cluster.superuser_password().expose().to_string();
        Pg {
            cluster,
            superuser_password,
        }
    }
}

/// A database (and role) name no other test of any process uses.
pub fn unique_name(hint: &str) -> String {
    let n = NEXT_DB.fetch_add(1, Ordering::SeqCst);
    format!("t{}_{}_{hint}", std::process::id(), n)
}

/// A database of one test, and the role that owns it.
pub struct TestDb {
    pub name: String,
    pub role: String,
    pub password: String,
    pub port: u16,
    pub ca: PathBuf,
    superuser_password: String,
    /// Passwords the role had before: no output may show them either.
    old_passwords: Vec<String>,
}

impl TestDb {
    /// The owner's URL, verifying the server's certificate.
    pub fn url(&self) -> String {
        self.url_with("")
    }

    /// The owner's URL with extra query parameters (`&schema=app`).
    pub fn url_with(&self, extra: &str) -> String {
        format!(
            "postgresql://{}:{}@127.0.0.1:{}/{}?sslmode=verify-full&sslrootcert={}{extra}",
            self.role,
            self.password,
            self.port,
            self.name,
            self.ca.display()
        )
    }

    /// The `migrate` binary, configured for this database through
    /// `DATABASE_URL`, in an empty directory (no `.env` to pick up).
    pub fn migrate(&self) -> Command {
        let mut cmd = bin(env!("CARGO_BIN_EXE_migrate"));
        cmd.env("DATABASE_URL", self.url());
        cmd
    }

    /// The fixture runner (project migrations plus failing and slow ones).
    pub fn fixtures(&self) -> Command {
        let mut cmd = bin(fixtures_binary());
        cmd.env("DATABASE_URL", self.url());
        cmd
    }

    /// Runs `cmd`, checking its output for every password in play.
    pub fn run(&self, cmd: &mut Command) -> Out {
        Out::capture(cmd, &self.secrets())
    }

    pub fn secrets(&self) -> Vec<String> {
        let mut all = vec![self.password.clone(), self.superuser_password.clone()];
        all.extend(self.old_passwords.iter().cloned());
        all
    }

    /// Changes the owner role's password in the database.
    pub fn set_password(&mut self, password: &str) {
        self.psql(&format!(
            "ALTER ROLE \"{}\" PASSWORD '{}'",
            self.role,
            password.replace('\'', "''")
        ));
        let old = std::mem::replace(&mut self.password, password.to_string());
        self.old_passwords.push(old);
    }

    /// The rotation-template JSON of a secret for the owner role.
    pub fn secret_json(&self) -> String {
        serde_json::json!({
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": self.port.to_string(),
            "dbname": self.name,
            "username": self.role,
            "password": self.password,
        })
        .to_string()
    }

    /// SQL as the superuser in this database.
    pub fn psql(&self, sql: &str) -> String {
        psql(
            self.port,
            "postgres",
            &self.superuser_password,
            &self.name,
            sql,
        )
        .unwrap_or_else(|e| panic!("psql on {} failed: {e}\nSQL: {sql}", self.name))
    }

    /// SQL as `role` with `password` in this database; the error text (with
    /// its SQLSTATE) on failure.
    pub fn psql_as(&self, role: &str, password: &str, sql: &str) -> Result<String, String> {
        psql(self.port, role, password, &self.name, sql)
    }

    /// SQL as the owner role, returning the error text on failure.
    pub fn psql_as_owner(&self, sql: &str) -> Result<String, String> {
        psql(self.port, &self.role, &self.password, &self.name, sql)
    }

    /// Another session holding the migration lock of schema `public`, as a
    /// second deploy job would, under `application_name`. Waits until it is
    /// held; end it with `pg_terminate_backend`.
    pub fn hold_lock(&self, application_name: &str) -> std::process::Child {
        let key_sql = impulse_db::testing::KEY_SQL.replace("$1", "'public'");
        let holder = Command::new("psql")
            .arg(format!(
                "host=127.0.0.1 port={} user={} dbname={} sslmode=require",
                self.port,
                conninfo_value(&self.role),
                conninfo_value(&self.name)
            ))
            .args([
                "-X",
                "-q",
                "-c",
                &format!("SELECT pg_advisory_lock({key_sql})"),
            ])
            .args(["-c", "SELECT pg_sleep(60)"])
            .env("PGPASSWORD", &self.password)
            .env("PGAPPNAME", application_name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn psql");
        // pg_locks is cluster-wide: count only this database's locks (a
        // killed run elsewhere may still hold its own, e.g. on PostgreSQL 13).
        wait_until(Duration::from_secs(10), "the lock to be held", || {
            self.psql(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            ) == "1"
        });
        holder
    }

    /// The migrations recorded in the history table, oldest first.
    pub fn history(&self, schema: &str) -> Vec<String> {
        let out = self.psql(&format!(
            "SELECT migration_name FROM \"{schema}\"._prisma_migrations \
             WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name"
        ));
        out.lines().map(String::from).collect()
    }

    /// Before PostgreSQL 15, one of the fixes the finding `create-on-schema`
    /// names, run as the owner of `public` (here the cluster's superuser,
    /// the bootstrap superuser as on RDS): CREATE for the migration role,
    /// which until then created its tables through PUBLIC's, then none for
    /// PUBLIC. The schema stays someone else's, so the tool still cannot
    /// grant there. From 15 on nothing: PUBLIC has no CREATE there, and the
    /// database owner owns `public` (through `pg_database_owner`). For the
    /// tests whose subject is not that finding (`rds` has it).
    pub fn revoke_public_create_before_15(&self) {
        if self.major() < 15 {
            self.psql(&format!(
                "GRANT CREATE ON SCHEMA public TO \"{}\"; REVOKE CREATE ON SCHEMA public FROM PUBLIC",
                self.role
            ));
        }
    }

    /// Before PostgreSQL 15, the other fix the finding names: the owner of
    /// `public` hands it to the migration role, which is what 15 does for
    /// a new database (`pg_database_owner`); from then on the tool manages
    /// it like on 15+. Nothing from 15 on.
    pub fn own_public_before_15(&self) {
        if self.major() < 15 {
            self.psql(&format!("ALTER SCHEMA public OWNER TO \"{}\"", self.role));
        }
    }

    /// The server's major version (13, ..., 18).
    pub fn major(&self) -> u32 {
        let num: u32 = self
            .psql("SHOW server_version_num")
            .parse()
            .expect("server_version_num is a number");
        num / 10000
    }

    pub fn table_exists(&self, schema: &str, table: &str) -> bool {
        self.psql(&format!(
            "SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}' AND tablename = '{table}'"
        )) == "1"
    }
}

/// A command for `path` with no connection settings inherited from the
/// environment of the test run, started in a fresh empty directory.
pub fn bin(path: impl AsRef<Path>) -> Command {
    let mut cmd = Command::new(path.as_ref());
    // `migrate dev` and the scratch commands use the tests' server too.
    if let Some(dir) = test_bindir() {
        cmd.env("MIGRATE_PG_BINDIR", dir);
    }
    for (var, _) in std::env::vars() {
        let inherited_setting = var.starts_with("AWS_")
            || var.starts_with("PG")
            || var.starts_with("DB_")
            || [
                "DATABASE_URL",
                "DIRECT_URL",
                "MIGRATION_SECRET_ARN",
                "RUST_LOG",
            ]
            .contains(&var.as_str());
        if inherited_setting {
            cmd.env_remove(var);
        }
    }
    cmd.current_dir(empty_dir());
    cmd
}

/// An empty directory that lives until the process ends.
pub fn empty_dir() -> PathBuf {
    let dir = tempfile::Builder::new()
        .prefix("cwd-")
        .tempdir_in(work_root())
        .expect("create a temporary directory")
        .keep();
    make_traversable(&dir);
    dir
}

static WORK_ROOT: OnceLock<PathBuf> = OnceLock::new();

/// The parent of this test process's working directories ([`empty_dir`]).
/// Once the process is gone it is removed, after every local cluster that a
/// command started in it (`migrate dev`, the scratch database of
/// `prisma-check`, `new` and `entities`) is stopped: left running, each
/// run of the suite would leave servers of every version behind.
fn work_root() -> &'static Path {
    WORK_ROOT.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("impulse-db-cwd-")
            .tempdir()
            .expect("create a temporary directory")
            .keep();
        make_traversable(&dir);
        reap_after_exit(&stop_clusters_and_remove(&dir));
        dir
    })
}

/// A shell command that stops every local cluster a command started under
/// `dir` (a `postmaster.pid` anywhere below it), then removes `dir`.
/// SIGQUIT to a postmaster is an immediate shutdown, whatever its version;
/// each wait is bounded (10 s).
pub fn stop_clusters_and_remove(dir: &Path) -> String {
    format!(
        "for f in $(find '{dir}' -name postmaster.pid 2>/dev/null); do \
           p=$(head -n 1 \"$f\"); kill -QUIT \"$p\"; i=0; \
           while kill -0 \"$p\" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done; \
         done; rm -rf '{dir}'",
        dir = dir.display()
    )
}

/// The fixture runner, built by `cargo test` from `examples/migrate_fixtures.rs`.
pub fn fixtures_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/it-<hash> -> target/<profile>/examples/
    let path = exe
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("examples").join("migrate_fixtures"))
        .expect("the test binary lives under target/<profile>/deps");
    assert!(
        path.is_file(),
        "{} is missing: run the tests with `cargo test` (which builds examples) or `cargo build --examples` first",
        path.display()
    );
    path
}

/// What a run of the binary printed, and how it exited.
#[derive(Debug, Clone)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Out {
    pub fn capture(cmd: &mut Command, secrets: &[String]) -> Out {
        let started = Instant::now();
        let output = cmd.output().expect("run the binary");
        Self::from_output(output, started.elapsed(), secrets)
    }

    pub fn from_output(output: Output, elapsed: Duration, secrets: &[String]) -> Out {
        let out = Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed,
        };
        out.assert_no_secrets(secrets);
        out
    }

    /// No password, raw or percent-encoded, in anything printed.
    pub fn assert_no_secrets(&self, secrets: &[String]) {
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            let encoded =
                percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
                    .to_string();
            for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
                assert!(
                    !text.contains(secret.as_str()) && !text.contains(&encoded),
                    "a password leaked into {name}"
                );
            }
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{self}"))
    }

    /// Expects exit `status` and the JSON error `code`; returns the error.
    #[track_caller]
    pub fn error(&self, status: i32, code: &str) -> serde_json::Value {
        self.expect(status);
        let error = self.json()["error"].clone();
        assert_eq!(error["code"], code, "{self}");
        error
    }

    /// The error's hint (after [`Out::error`]).
    pub fn hint(error: &serde_json::Value) -> &str {
        error["hint"].as_str().unwrap_or_default()
    }

    #[track_caller]
    pub fn expect(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit status\n{self}");
        self
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// psql with `sql`, unaligned and tuples-only, stopping on the first error.
pub fn psql(port: u16, user: &str, password: &str, db: &str, sql: &str) -> Result<String, String> {
    let output = Command::new("psql")
        .arg(format!(
            "host=127.0.0.1 port={port} user={} dbname={} sslmode=require",
            conninfo_value(user),
            conninfo_value(db)
        ))
        .args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            "VERBOSITY=verbose",
        ])
        .args(["-c", sql])
        .env("PGPASSWORD", password)
        .env("PGCONNECT_TIMEOUT", "10")
        .output()
        .expect("psql is required (Debian: apt-get install -y postgresql-client)");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
    }
}

/// A value for a libpq connection string: single-quoted, with `\` and `'`
/// escaped.
fn conninfo_value(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Polls `check` every 50 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
