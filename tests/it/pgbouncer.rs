//! A real PgBouncer (Debian package `pgbouncer`) in front of the test
//! cluster, in transaction mode, for the pooler cases. Started once per
//! test process on a free port; users are added per test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::support::{empty_dir, is_root, pg, reap_after_exit, wait_until};

pub struct Bouncer {
    pub port: u16,
    userlist: PathBuf,
    server: Mutex<Child>,
}

static BOUNCER: OnceLock<Bouncer> = OnceLock::new();

pub fn bouncer() -> &'static Bouncer {
    BOUNCER.get_or_init(|| {
        let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("PgBouncer is required: apt-get install -y pgbouncer");
        let dir = empty_dir();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let userlist = dir.join("userlist.txt");
        std::fs::write(&userlist, "").unwrap();
        let ini = dir.join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n* = host=127.0.0.1 port={}\n\n[pgbouncer]\n\
                 listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
                 auth_type = scram-sha-256\nauth_file = {}\npool_mode = transaction\n\
                 ignore_startup_parameters = extra_float_digits,options\n\
                 server_tls_sslmode = require\nclient_tls_sslmode = disable\n\
                 logfile =\npidfile =\n",
                pg().port(),
                userlist.display()
            ),
        )
        .unwrap();
        // PgBouncer refuses to run as root.
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", binary]);
            c
        } else {
            Command::new(binary)
        };
        let server = cmd
            .arg(&ini)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pgbouncer");
        reap_after_exit(&format!("pkill -f '{}'", ini.display()));
        wait_until(Duration::from_secs(20), "pgbouncer to listen", || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Bouncer {
            port,
            userlist,
            server: Mutex::new(server),
        }
    })
}

impl Bouncer {
    /// Lets `user` in (PgBouncer logs in to PostgreSQL with the same password).
    pub fn add_user(&self, user: &str, password: &str) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.userlist)
            .unwrap();
        writeln!(file, "\"{user}\" \"{password}\"").unwrap();
        // PgBouncer rereads the auth file on SIGHUP.
        let pid = self.server.lock().unwrap().id();
        let _ = Command::new("pkill")
            .args(["-HUP", "-P", &pid.to_string()])
            .status();
        let _ = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status();
        std::thread::sleep(Duration::from_millis(300));
    }
}
