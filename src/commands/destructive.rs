//! What `down`, `fresh` and `reset` check before they drop anything,
//! what they say first, and the rollback `down` and `reset` share.
//!
//! Whether the database is on this machine is decided from the resolved
//! host's name, before any connection is made (a refused command sends
//! nothing to the database, not even a DNS query for its host): a
//! loopback address or `localhost` is local, anything else is remote
//! ([`is_local_host`]). A name that happens to resolve to this machine is
//! remote too: the name is what a deploy script or a copied `.env` carries
//! elsewhere.
//!
//! - `down` on a remote host needs `--yes`;
//! - `fresh` and `reset` always need `--yes`, and a remote host also
//!   `--allow-remote`.
//!
//! Once connected, `down` and `reset` roll back through [`roll_back`],
//! which prints each migration it will roll back with the statements of
//! its `down.sql`, before running any.

use crate::commands::Ctx;
use crate::config::Resolved;
use crate::config::url::is_local_host;
use crate::deploy;
use crate::error::{Code, Error, Result};
use crate::lock::{self, Scope};
use crate::migrations::{self, Known};
use crate::output::Ui;
use crate::runner::{self, Step};
use crate::session::Session;

/// Where a destructive command points, as resolution names it.
#[derive(Debug, Clone)]
pub struct Target {
    pub endpoint: String,
    pub database: String,
    pub schema: String,
    pub local: bool,
}

impl Target {
    pub fn of(resolved: &Resolved) -> Self {
        let host = &resolved.host.value;
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        Self {
            endpoint: format!("{host}:{}", resolved.port.value),
            database: resolved.dbname.value.clone(),
            schema: resolved.schema.value.clone(),
            local: is_local_host(&resolved.host.value),
        }
    }

    /// `schema "public" of database "impulse" on db.example.com:5432`.
    pub fn describe(&self) -> String {
        format!(
            "schema \"{}\" of database \"{}\" on {}{}",
            self.schema,
            self.database,
            self.endpoint,
            if self.local {
                ""
            } else {
                " (not this machine)"
            }
        )
    }
}

/// The checks of a destructive command. `does` says what it would do,
/// for the messages; `allow_remote` is `None` for `down`, which takes no
/// such flag (`--yes` is enough there).
pub fn confirm(
    command: &str,
    does: &str,
    target: &Target,
    yes: bool,
    allow_remote: Option<bool>,
) -> Result<()> {
    let place = target.describe();
    if !target.local && allow_remote == Some(false) {
        return Err(Error::new(
            Code::DestructiveRemote,
            format!(
                "refusing to run `migrate {command}` on {place}: it {does}, and the host is \
                 neither a loopback address nor localhost"
            ),
            format!(
                "`migrate url` shows where the migration connection points; if you mean that \
                 database, run `migrate {command} --allow-remote --yes`"
            ),
        ));
    }
    let needs_yes = allow_remote.is_some() || !target.local;
    if needs_yes && !yes {
        return Err(Error::new(
            Code::DestructiveUnconfirmed,
            format!("`migrate {command}` on {place} {does}; it was not confirmed"),
            format!(
                "check the target with `migrate url`, then run `migrate {command} ... --yes`{}",
                if allow_remote.is_none() {
                    " (it prints what it drops first)"
                } else {
                    ""
                }
            ),
        ));
    }
    Ok(())
}

/// Under the locks: rolls back the `steps` most recent migrations, after
/// saying which and what their `down.sql` runs. `down` and `reset`
/// share it.
pub async fn roll_back(
    ctx: &Ctx,
    session: &Session,
    target: &Target,
    known: &[migrations::Known],
    steps: u32,
    options: runner::Options,
) -> Result<Vec<Step>> {
    let lock = lock::acquire(session, ctx.lock_timeout, Scope::WithPrisma).await?;
    let ui = ctx.ui;
    let work = async {
        deploy::convert_legacy(ui, session, known).await?;
        let status = runner::read_status(session, known).await?;
        status.refuse(options.allow_edited)?;
        preview_rollback(ui, target, &runner::to_roll_back(known, &status, steps));
        runner::down(session, known, &status, steps, options, &mut |step| {
            ui.progress(format_args!(
                "rolled back {} ({:.1} ms)",
                step.name,
                step.elapsed.as_secs_f64() * 1e3
            ));
        })
        .await
    };
    lock.around(session, work).await
}

/// Prints, before anything runs, each migration about to be rolled back
/// and the statements of its `down.sql` (one line each, comments left out).
pub fn preview_rollback(ui: Ui, target: &Target, todo: &[&Known]) {
    // Without a down.sql for each, the runner refuses before anything runs.
    if todo.is_empty() || todo.iter().any(|k| k.directory.down_sql.is_none()) {
        return;
    }
    ui.progress(format_args!(
        "rolling back {} migration{} in {}:",
        todo.len(),
        if todo.len() == 1 { "" } else { "s" },
        target.describe()
    ));
    for k in todo {
        let sql = k.directory.down_sql.unwrap_or_default();
        let statements: Vec<String> = crate::sql::split(sql)
            .statements
            .iter()
            .map(|s| one_line(s.text))
            .collect();
        ui.progress(format_args!("  {}: {}", k.name, statements.join(" ")));
    }
}

/// A statement on one line, at most 120 characters.
fn one_line(text: &str) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= 120 {
        return flat;
    }
    let cut: String = flat.chars().take(117).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(host: &str) -> Target {
        Target {
            endpoint: format!("{host}:5432"),
            database: "impulse".into(),
            schema: "public".into(),
            local: is_local_host(host),
        }
    }

    #[test]
    fn remote_hosts_need_the_flags_local_ones_only_yes() {
        let does = "drops everything";
        let remote = target("db.example.invalid");
        let e = confirm("fresh", does, &remote, true, Some(false)).unwrap_err();
        assert_eq!(e.code, Code::DestructiveRemote);
        assert!(e.message.contains("(not this machine)"), "{}", e.message);
        let e = confirm("fresh", does, &remote, false, Some(true)).unwrap_err();
        assert_eq!(e.code, Code::DestructiveUnconfirmed);
        confirm("fresh", does, &remote, true, Some(true)).unwrap();

        let e = confirm("down", does, &remote, false, None).unwrap_err();
        assert_eq!(e.code, Code::DestructiveUnconfirmed);
        confirm("down", does, &remote, true, None).unwrap();

        for host in ["127.0.0.1", "localhost", "::1", "127.0.0.2"] {
            let local = target(host);
            confirm("down", does, &local, false, None).unwrap();
            let e = confirm("reset", does, &local, false, Some(false)).unwrap_err();
            assert_eq!(e.code, Code::DestructiveUnconfirmed, "{host}");
            confirm("reset", does, &local, true, Some(false)).unwrap();
        }
        // A name is remote even if it would resolve here.
        assert!(!target("my-laptop.local").local);
    }

    #[test]
    fn long_statements_are_cut() {
        assert_eq!(one_line("DROP TABLE\n  \"User\";"), "DROP TABLE \"User\";");
        let long = format!("DROP TABLE \"{}\";", "x".repeat(200));
        assert_eq!(one_line(&long).chars().count(), 120);
    }
}
