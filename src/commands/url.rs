//! `migrate url`: both resolved connections, the password as `****`, and
//! where every part came from (flag, environment, `.env` line, secret ARN
//! and version, IAM). Fetches secrets and signs IAM tokens like any other
//! command, so what it shows is what a connection would use.
//!
//! It is the configuration's debugger, so a problem does not hide the
//! rest: every part that could be resolved is shown, and every problem of
//! both connections is reported at once (exit status of the first). When
//! the secret could not be read, its user and password are shown as the
//! secret's, unread. The parts' column fits the longest value, whatever
//! it is (a long `sslrootcert` path).

use std::collections::BTreeMap;

use crate::commands::Ctx;
use crate::config::{self, Resolved, SecretRef, Which};
use crate::connector::Attempt;
use crate::error::{Code, Error, Exit, Result};

/// What `migrate url` prints: each connection, or `null` when it is not
/// configured.
#[derive(Debug, serde::Serialize)]
pub struct UrlReport {
    pub app: Option<ConnectionView>,
    pub migration: Option<ConnectionView>,
    /// Each connection (app, migration) is configured but could not be
    /// put together: shown as such, not as "not configured".
    #[serde(skip)]
    unresolved: [bool; 2],
}

/// One resolved connection as `migrate url` shows it.
#[derive(Debug, serde::Serialize)]
pub struct ConnectionView {
    /// The URL with the password as `****`.
    pub url: String,
    pub same_as_app: bool,
    pub iam: bool,
    pub secret: Option<SecretRef>,
    /// Each part's shown value and where it came from, by name.
    pub parts: BTreeMap<&'static str, Part>,
    #[serde(skip)]
    which: Option<Which>,
    #[serde(skip)]
    order: Vec<&'static str>,
}

/// A part of a connection and its origin.
#[derive(Debug, serde::Serialize)]
pub struct Part {
    pub value: String,
    pub from: String,
}

pub async fn run(ctx: &Ctx) -> Result<Exit> {
    let app = ctx.connector.attempt(Which::App).await;
    let same_as_app =
        config::plan(ctx.connector.sources(), Which::Migration).is_ok_and(|p| p.same_as_app);
    let migration = if same_as_app {
        // The same connection: no second resolution (nor IAM signature).
        Attempt {
            resolved: app.resolved.clone().map(|mut r| {
                r.which = Which::Migration;
                r.same_as_app = true;
                r
            }),
            error: None,
            unread_secret: app.unread_secret,
        }
    } else {
        ctx.connector.attempt(Which::Migration).await
    };
    // Not configuring one connection is fine (a deploy job may set only
    // DIRECT_URL); neither configured is `config.missing`.
    let missing = |a: &Attempt| {
        a.error
            .as_ref()
            .is_some_and(|e| e.code == Code::ConfigMissing)
    };
    if missing(&app) && missing(&migration) {
        return Err(migration
            .error
            .unwrap_or_else(|| Error::of(Code::ConfigMissing, "")));
    }
    let unresolved =
        |a: &Attempt| a.resolved.is_none() && a.error.as_ref().is_some_and(|_| !missing(a));
    let report = UrlReport {
        app: ConnectionView::of_attempt(&app),
        migration: ConnectionView::of_attempt(&migration),
        // The same connection fails with the app's error, reported once.
        unresolved: [
            unresolved(&app),
            unresolved(if same_as_app { &app } else { &migration }),
        ],
    };
    let problems: Vec<Error> = [app.error, migration.error]
        .into_iter()
        .flatten()
        .filter(|e| e.code != Code::ConfigMissing)
        .flat_map(|e| {
            if e.problems.is_empty() {
                vec![e]
            } else {
                e.problems
            }
        })
        .collect();
    match Error::all("the configuration", problems) {
        Ok(()) => {
            ctx.ui.result(&report);
            Ok(Exit::Ok)
        }
        Err(e) => {
            ctx.ui.error_with(&e, &Some(report));
            Ok(e.exit())
        }
    }
}

impl ConnectionView {
    fn of_attempt(attempt: &Attempt) -> Option<Self> {
        attempt
            .resolved
            .as_ref()
            .map(|r| Self::of(r, attempt.unread_secret))
    }

    fn of(r: &Resolved, unread_secret: bool) -> Self {
        let mut parts: Vec<(&'static str, String, String)> = vec![
            ("host", r.host.value.clone(), r.host.origin.to_string()),
            ("port", r.port.value.to_string(), r.port.origin.to_string()),
            ("user", r.user.value.clone(), r.user.origin.to_string()),
        ];
        if let Some(password) = &r.password {
            parts.push(("password", "****".into(), password.origin.to_string()));
        }
        if unread_secret {
            // What the secret was to fill in, instead of the URL's
            // REPLACED_BY_SECRET.
            let plan_secret = "the secret (not read: see the error)".to_string();
            for (name, value, from) in parts.iter_mut() {
                if matches!(*name, "user" | "password") {
                    *value = "?".into();
                    *from = plan_secret.clone();
                }
            }
            if !parts.iter().any(|(name, _, _)| *name == "password") {
                parts.push(("password", "?".into(), plan_secret));
            }
        }
        parts.push((
            "database",
            r.dbname.value.clone(),
            r.dbname.origin.to_string(),
        ));
        parts.push((
            "schema",
            r.schema.value.clone(),
            r.schema.origin.to_string(),
        ));
        parts.push((
            "sslmode",
            r.sslmode.value.as_str().into(),
            r.sslmode.origin.to_string(),
        ));
        if let Some(cert) = &r.sslrootcert {
            parts.push((
                "sslrootcert",
                cert.value.display().to_string(),
                cert.origin.to_string(),
            ));
        }
        Self {
            url: r.redacted(),
            same_as_app: r.same_as_app,
            iam: r.iam.is_some(),
            secret: r.secret.clone(),
            order: parts.iter().map(|(name, _, _)| *name).collect(),
            parts: parts
                .into_iter()
                .map(|(name, value, from)| (name, Part { value, from }))
                .collect(),
            which: Some(r.which),
        }
    }

    /// The widest value, for the column.
    fn width(&self) -> usize {
        self.parts
            .values()
            .map(|p| p.value.chars().count())
            .max()
            .unwrap_or(0)
    }

    fn text(&self, which: Which, width: usize) -> String {
        if self.same_as_app {
            return format!(
                "{} connection: the app connection (DIRECT_URL and MIGRATION_SECRET_ARN are unset)\n",
                which.label()
            );
        }
        let mut out = format!(
            "{} connection\n  {:<12} {}\n",
            which.label(),
            "url",
            self.url
        );
        for name in &self.order {
            let part = &self.parts[name];
            out += &format!("  {name:<12} {:<width$}  {}\n", part.value, part.from);
        }
        out
    }
}

impl std::fmt::Display for UrlReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // One column for both connections.
        let width = [&self.app, &self.migration]
            .into_iter()
            .flatten()
            .map(ConnectionView::width)
            .max()
            .unwrap_or(0);
        let each = [(Which::App, &self.app), (Which::Migration, &self.migration)];
        for ((which, view), unresolved) in each.into_iter().zip(self.unresolved) {
            match view {
                Some(view) => f.write_str(&view.text(view.which.unwrap_or(which), width))?,
                None if unresolved => writeln!(
                    f,
                    "{} connection: cannot be put together (see the error)",
                    which.label()
                )?,
                None => writeln!(f, "{} connection: not configured", which.label())?,
            }
        }
        Ok(())
    }
}
