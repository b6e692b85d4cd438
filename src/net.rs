//! The network steps of reaching a database: DNS, then TCP.
//!
//! Both the session opener ([`crate::transport`]) and `migrate doctor` call
//! these, so the same failure has the same code and words wherever it shows
//! up. Each step has its own bound; the caller decides how much of its
//! budget a step gets (the doctor times each step and records it). The
//! stream [`tcp`] returns is the session's connection, with `TCP_NODELAY`
//! set: PostgreSQL's protocol is small writes that wait for an answer, the
//! worst case for Nagle's algorithm.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::error::{Code, Error, Result};

/// Resolves `host:port`, waiting at most `bound`.
pub async fn resolve(host: &str, port: u16, bound: Duration) -> Result<Vec<SocketAddr>> {
    tracing::debug!("resolving {host}:{port}");
    match tokio::time::timeout(bound, tokio::net::lookup_host((host, port))).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                return Err(unresolved(host, "no address"));
            }
            Ok(addrs)
        }
        Ok(Err(e)) => Err(unresolved(host, &e.to_string())),
        Err(_) => Err(unresolved(
            host,
            &format!("no answer within {}", seconds(bound)),
        )),
    }
}

fn unresolved(host: &str, detail: &str) -> Error {
    Error::new(
        Code::DnsUnresolved,
        format!("host {host} does not resolve: {detail}"),
        "check the host name in the URL; from a Lambda in a VPC, check that the VPC has DNS \
         resolution and DNS hostnames enabled and that the endpoint is in the same region and account",
    )
}

/// Connects to the first of `addrs` that accepts, waiting at most `bound`
/// in all, and sets `TCP_NODELAY`. `host` and `port` name the endpoint in
/// messages.
pub async fn tcp(
    host: &str,
    port: u16,
    addrs: &[SocketAddr],
    bound: Duration,
) -> Result<(SocketAddr, TcpStream)> {
    let deadline = tokio::time::Instant::now() + bound;
    let mut refused = None;
    for addr in addrs {
        match tokio::time::timeout_at(deadline, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                stream.set_nodelay(true).map_err(|e| {
                    Error::new(
                        Code::NetworkError,
                        format!("cannot set TCP_NODELAY on the connection to {host}:{port}: {e}"),
                        "check the network path to the database; run `migrate doctor` for a diagnosis",
                    )
                })?;
                return Ok((*addr, stream));
            }
            Ok(Err(e)) => refused = Some(e),
            Err(_) => return Err(timed_out(host, port, bound)),
        }
    }
    let detail = refused.map_or_else(|| "no address".to_string(), |e| e.to_string());
    Err(Error::new(
        Code::NetworkRefused,
        format!("{host}:{port} refused the connection ({detail})"),
        "nothing listens there: check the port, and that PostgreSQL is running (for the local \
         cluster, `migrate dev` starts it); on RDS, check the instance state and the port",
    ))
}

/// Whether something accepts TCP connections on `127.0.0.1:port` (this
/// machine's local cluster), asked within half a second.
pub async fn listens(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    matches!(
        tokio::time::timeout(Duration::from_millis(500), TcpStream::connect(addr)).await,
        Ok(Ok(_))
    )
}

/// The connection attempt to `host:port` ran out of its `bound`.
pub fn timed_out(host: &str, port: u16, bound: Duration) -> Error {
    Error::new(
        Code::NetworkTimeout,
        format!(
            "connecting to {host}:{port} timed out after {} (packets are dropped)",
            seconds(bound)
        ),
        "a security group, network ACL or firewall drops the traffic: allow inbound TCP on the \
         database port from this client (for a Lambda: its security group, and the Lambda must \
         run in the database's VPC); --connect-timeout sets the limit",
    )
}

/// `2s`, `0.5s`: a bound as a person reads it.
pub fn seconds(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{secs:.0}s")
    } else {
        format!("{secs:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_closed_port_is_refused_and_a_bad_name_unresolved() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let addrs = resolve("127.0.0.1", port, Duration::from_secs(2))
            .await
            .unwrap();
        let e = tcp("127.0.0.1", port, &addrs, Duration::from_secs(2))
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::NetworkRefused);
        let e = resolve("nothing.invalid", 5432, Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(e.code, Code::DnsUnresolved);
        assert!(e.message.contains("nothing.invalid"), "{}", e.message);
    }

    #[test]
    fn seconds_read_naturally() {
        assert_eq!(seconds(Duration::from_secs(2)), "2s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
    }
}
