//! Round trips: over a link with latency a run's time is the number of
//! times it waits for the server, so a no-op `migrate up` must wait no more
//! often than `psql -c 'select 1'` does, on one connection. Counted by
//! `scripts/latency-relay.py` (the benchmark's relay, 5 ms each way), which
//! counts the client's turns: data from the client that follows data from
//! the server. Before the opening (`src/deploy/opening.rs`) a no-op `up`
//! waited 34 times, against psql's 8.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{bin, empty_dir, pg, wait_until};

/// The relay, stopped when dropped.
struct Relay {
    child: Child,
    port: u16,
    stats: PathBuf,
}

impl Relay {
    fn start(target: u16) -> Relay {
        let stats = empty_dir().join("relay.stats");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/latency-relay.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .arg(target.to_string())
            .arg("5")
            .arg(&stats)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start scripts/latency-relay.py");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("the relay's stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the relay prints its port");
        let port = line.trim().parse().expect("a port number");
        Relay { child, port, stats }
    }

    /// Runs `cmd` (which must succeed) through the relay: the client turns
    /// of each connection it made.
    fn turns(&self, what: &str, cmd: &mut Command) -> Vec<u32> {
        std::fs::write(&self.stats, "").expect("reset the relay's stats");
        let out = cmd.output().expect("run the client");
        assert!(
            out.status.success(),
            "{what} through the relay failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The relay writes a connection's line once both directions ended.
        let read = || std::fs::read_to_string(&self.stats).unwrap_or_default();
        wait_until(Duration::from_secs(10), "the relay's count", || {
            !read().is_empty()
        });
        std::thread::sleep(Duration::from_millis(300));
        read()
            .lines()
            .map(|line| {
                line.split_whitespace()
                    .find_map(|field| field.strip_prefix("flights="))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("a relay line: {line}"))
            })
            .collect()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_no_op_up_waits_no_more_often_than_psql_select_1() {
    let db = pg().new_db("roundtrips");
    let app = format!("{}_app", db.name);
    db.run(db.migrate().arg("up").env("DB_APP_USER", &app))
        .expect(0);
    let relay = Relay::start(db.port);
    let relayed = db.url().replace(
        &format!("@127.0.0.1:{}/", db.port),
        &format!("@127.0.0.1:{}/", relay.port),
    );

    let psql = relay.turns(
        "psql",
        bin("psql")
            .arg(&relayed)
            .args(["-X", "-q", "-c", "select 1"])
            .stdout(Stdio::null()),
    );
    let up = relay.turns(
        "migrate up",
        bin(env!("CARGO_BIN_EXE_migrate"))
            .args(["up", "-q"])
            .env("DATABASE_URL", &relayed)
            .env("DB_APP_USER", &app),
    );
    eprintln!("client turns per connection: psql select 1 {psql:?}, no-op migrate up {up:?}");
    assert_eq!(psql.len(), 1, "psql connects once");
    assert_eq!(up.len(), 1, "a no-op up connects once: {up:?}");
    assert!(
        up[0] <= psql[0],
        "a no-op up waited {} times for the server, psql's select 1 {}: round trips are back",
        up[0],
        psql[0]
    );
}
