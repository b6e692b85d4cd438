//! One connection, walked step by step: `config`, `url`, `secret`, `dns`,
//! `tcp`, `tls`, `auth`, `database`. Each network step has its own bound;
//! a failure skips what depends on it.

use std::time::{Duration, Instant};

use super::{Recorder, Status};
use crate::config::{self, ConnSpec, Resolved, SslMode, Which};
use crate::connect::{self, Session};
use crate::connector::Connector;
use crate::error::Error;

/// What the walk found out about one connection.
pub(crate) struct Checked {
    pub resolved: Resolved,
    /// Open when every step passed.
    pub session: Option<Session>,
    /// Set when the server refused the credentials (`28P01`): the deeper
    /// questions are asked later, with the migration connection's help.
    pub auth_failure: Option<AuthFailure>,
}

#[derive(Clone)]
pub(crate) struct AuthFailure {
    pub resolved: Resolved,
    pub error: Error,
}

const AFTER_URL: [&str; 6] = ["secret", "dns", "tcp", "tls", "auth", "database"];

fn remaining(deadline: Instant, step: Duration) -> Duration {
    deadline.saturating_duration_since(Instant::now()).min(step)
}

/// Walks connection `which`; with `need_session`, a working connection is
/// kept open for the checks that read the catalog.
pub(crate) async fn check_connection(
    connector: &Connector,
    which: Which,
    need_session: bool,
    rec: &mut Recorder,
    deadline: Instant,
    step: Duration,
) -> Option<Checked> {
    let name = which.label();

    // config: is there anything to connect with?
    let t = rec.clock();
    let plan = match config::plan(connector.sources(), which) {
        Ok(plan) => plan,
        Err(e) => {
            rec.fail(name, "config", t, e);
            rec.skip(name, &["url"], "nothing to check");
            rec.skip(name, &AFTER_URL, "nothing to check");
            return None;
        }
    };
    let mut sources = Vec::new();
    if let Some((_, origin)) = &plan.url {
        sources.push(format!("URL from {origin}"));
    }
    if let Some((_, origin)) = &plan.secret_id {
        sources.push(format!("secret from {origin}"));
    }
    if let Some(origin) = &plan.iam {
        sources.push(format!("IAM from {origin}"));
    }
    if plan.same_as_app {
        sources.push("the app connection's".into());
    }
    rec.record(name, "config", t, Status::Pass, sources.join(", "), None);

    // url: what was typed, before any secret fills it in.
    let t = rec.clock();
    if let Some((raw, origin)) = &plan.url {
        let parsed = ConnSpec::parse(raw, &origin.to_string()).and_then(|spec| {
            plan.check_typed_placeholders()?;
            Ok(spec)
        });
        match parsed {
            Ok(spec) => {
                if which == Which::Migration && spec.is_pooler() {
                    if let Err(e) = crate::commands::refuse_pooler(&spec, origin) {
                        rec.fail(name, "url", t, e);
                    }
                } else {
                    rec.record(name, "url", t, Status::Pass, spec.redacted(), None);
                }
            }
            Err(e) => {
                rec.fail(name, "url", t, e);
                rec.skip(name, &AFTER_URL, "the URL is unusable");
                return None;
            }
        }
    } else {
        rec.record(
            name,
            "url",
            t,
            Status::Skip,
            "no URL: the secret names the endpoint",
            None,
        );
    }

    // secret: fetched once; the resolution then fills in the URL.
    let t = rec.clock();
    if let Some((id, _)) = &plan.secret_id {
        let region = plan.region.as_ref().map(|(r, _)| r.as_str());
        if let Err(e) = connector
            .secret(id, &plan.secret_stage.0, region, false)
            .await
        {
            rec.fail(name, "secret", t, e);
            rec.skip(name, &AFTER_URL[1..], "no credentials");
            return None;
        }
    }
    let resolved = match connector.resolve(which).await {
        Ok(resolved) => resolved,
        Err(e) => {
            rec.fail(name, "secret", t, e);
            rec.skip(name, &AFTER_URL[1..], "the connection cannot be resolved");
            return None;
        }
    };
    match &resolved.secret {
        Some(s) => rec.record(
            name,
            "secret",
            t,
            Status::Pass,
            format!(
                "{} version {} ({}), user \"{}\"",
                s.arn, s.version_id, s.stage, resolved.spec.user
            ),
            None,
        ),
        None => rec.record(
            name,
            "secret",
            t,
            Status::Skip,
            "no secret configured",
            None,
        ),
    }
    let spec = resolved.spec.clone();

    // dns
    let t = rec.clock();
    let lookup = tokio::time::timeout(
        remaining(deadline, step),
        tokio::net::lookup_host((spec.host.as_str(), spec.port)),
    )
    .await;
    let addrs: Vec<std::net::SocketAddr> = match lookup {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(e)) => {
            let e = Error::connect(
                "dns.unresolved",
                format!("host {} does not resolve: {e}", spec.host),
                "check the host name; from a Lambda in a VPC, check the VPC's DNS settings \
                 and that the endpoint is in the same region and account",
            );
            rec.fail(name, "dns", t, e);
            rec.skip(name, &AFTER_URL[2..], "no address");
            return None;
        }
        Err(_) => {
            let e = Error::connect(
                "dns.unresolved",
                format!("resolving {} timed out", spec.host),
                "check the resolver this machine uses",
            );
            rec.fail(name, "dns", t, e);
            rec.skip(name, &AFTER_URL[2..], "no address");
            return None;
        }
    };
    let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    rec.record(
        name,
        "dns",
        t,
        Status::Pass,
        format!("{} -> {}", spec.host, shown.join(", ")),
        None,
    );

    // tcp
    let t = rec.clock();
    let bound = remaining(deadline, step);
    let mut refused = None;
    let mut connected = None;
    for addr in &addrs {
        match tokio::time::timeout(bound, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {
                connected = Some(*addr);
                break;
            }
            Ok(Err(e)) => refused = Some(e),
            Err(_) => {
                let e = Error::connect(
                    "network.timeout",
                    format!(
                        "no answer from {addr} within {:.1}s (packets are dropped)",
                        bound.as_secs_f64()
                    ),
                    "a security group, network ACL or firewall drops the traffic: allow \
                     inbound TCP on the database port from this client (for a Lambda: its \
                     security group, and the Lambda must run in the database's VPC)",
                );
                rec.fail(name, "tcp", t, e);
                rec.skip(name, &AFTER_URL[3..], "no TCP connection");
                return None;
            }
        }
    }
    let Some(addr) = connected else {
        let e = Error::connect(
            "network.refused",
            format!(
                "{}:{} refused the connection ({})",
                spec.host,
                spec.port,
                refused.map_or_else(|| "no address".into(), |e| e.to_string())
            ),
            "nothing listens there: check the port, and that the instance (or `migrate dev`) \
             is running",
        );
        rec.fail(name, "tcp", t, e);
        rec.skip(name, &AFTER_URL[3..], "no TCP connection");
        return None;
    };
    rec.record(
        name,
        "tcp",
        t,
        Status::Pass,
        format!("connected to {addr}"),
        None,
    );

    // tls, auth, database: one driver connection, its outcome split by step.
    let t = rec.clock();
    // A session is kept only where the catalog checks need one; `open`
    // classifies failures as `login` does, so one connection serves both.
    let result = if need_session {
        connect::open(&spec, remaining(deadline, step), step)
            .await
            .map(Some)
    } else {
        connect::login(&spec, remaining(deadline, step), step)
            .await
            .map(|()| None)
    };
    let tls_note = match spec.sslmode {
        SslMode::VerifyFull => "TLS, certificate and host name verified",
        SslMode::VerifyCa => "TLS, certificate verified (not the host name)",
        SslMode::Require => "TLS, certificate not verified (sslmode=require)",
        SslMode::Prefer | SslMode::Allow => "TLS if the server offers it, not verified",
        SslMode::Disable => "no TLS (sslmode=disable)",
    };
    let tls_status = if spec.sslmode == SslMode::Disable {
        Status::Warn
    } else {
        Status::Pass
    };
    let tls_hint = (tls_status == Status::Warn)
        .then(|| "use sslmode=verify-full with the RDS CA bundle (sslrootcert)".to_string());
    match result {
        Ok(session) => {
            rec.record(name, "tls", t, tls_status, tls_note, tls_hint);
            rec.record(
                name,
                "auth",
                t,
                Status::Pass,
                format!("logged in as \"{}\"", spec.user),
                None,
            );
            rec.record(
                name,
                "database",
                t,
                Status::Pass,
                format!("database \"{}\"", spec.dbname),
                None,
            );
            Some(Checked {
                resolved,
                session,
                auth_failure: None,
            })
        }
        Err(e)
            if e.code.starts_with("tls.")
                || e.code == "network.timeout"
                || e.code.starts_with("network.") =>
        {
            rec.fail(name, "tls", t, e);
            rec.skip(name, &["auth", "database"], "no TLS session");
            None
        }
        Err(e) if e.code.starts_with("auth.") => {
            rec.record(name, "tls", t, tls_status, tls_note, tls_hint);
            let e = if resolved.iam.is_some() {
                crate::connector::iam_rejected(e)
            } else {
                e
            };
            if e.code != "auth.password_mismatch" {
                rec.fail(name, "auth", t, e);
                rec.skip(name, &["database"], "not logged in");
                return None;
            }
            // Explained later, with the secret's other versions and the catalog.
            rec.record(
                name,
                "auth",
                t,
                Status::Fail,
                e.message.clone(),
                Some(e.hint.clone()),
            );
            rec.skip(name, &["database"], "not logged in");
            Some(Checked {
                resolved: resolved.clone(),
                session: None,
                auth_failure: Some(AuthFailure { resolved, error: e }),
            })
        }
        Err(e) => {
            rec.record(name, "tls", t, tls_status, tls_note, tls_hint);
            rec.record(
                name,
                "auth",
                t,
                Status::Pass,
                format!("credentials accepted for \"{}\"", spec.user),
                None,
            );
            rec.fail(name, "database", t, e);
            None
        }
    }
}
