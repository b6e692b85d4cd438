//! `migrate url`: both resolved connections, the password as `****`, and
//! where every part came from (flag, environment, `.env` line, secret ARN
//! and version, IAM). Fetches secrets and signs IAM tokens like any other
//! command, so what it shows is what a connection would use.

use std::collections::BTreeMap;

use crate::commands::Ctx;
use crate::config::{self, Resolved, SecretRef, Which};
use crate::error::{Code, Exit, Result};

/// What `migrate url` prints: each connection, or `null` when it is not
/// configured.
#[derive(Debug, serde::Serialize)]
pub struct UrlReport {
    pub app: Option<ConnectionView>,
    pub migration: Option<ConnectionView>,
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
    let app = ctx.connector.resolve(Which::App).await;
    let same_as_app =
        config::plan(ctx.connector.sources(), Which::Migration).is_ok_and(|p| p.same_as_app);
    let migration = if same_as_app {
        // The same connection: no second resolution (nor IAM signature).
        app.clone().map(|mut r| {
            r.which = Which::Migration;
            r.same_as_app = true;
            r
        })
    } else {
        ctx.connector.resolve(Which::Migration).await
    };
    // Not configuring one connection is fine (a deploy job may set only
    // DIRECT_URL); any other failure, or neither configured, is an error.
    let usable = |r: Result<Resolved>| match r {
        Ok(r) => Ok(Some(r)),
        Err(e) if e.code == Code::ConfigMissing => Ok(None),
        Err(e) => Err(e),
    };
    let app = usable(app)?;
    let migration = usable(migration)?;
    if app.is_none() && migration.is_none() {
        ctx.connector.resolve(Which::Migration).await?;
    }
    ctx.ui.result(&UrlReport {
        app: app.as_ref().map(ConnectionView::of),
        migration: migration.as_ref().map(ConnectionView::of),
    });
    Ok(Exit::Ok)
}

impl ConnectionView {
    fn of(r: &Resolved) -> Self {
        let mut parts: Vec<(&'static str, String, String)> = vec![
            ("host", r.host.value.clone(), r.host.origin.to_string()),
            ("port", r.port.value.to_string(), r.port.origin.to_string()),
            ("user", r.user.value.clone(), r.user.origin.to_string()),
        ];
        if let Some(password) = &r.password {
            parts.push(("password", "****".into(), password.origin.to_string()));
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

    fn text(&self, which: Which) -> String {
        if self.same_as_app {
            return format!(
                "{} connection: the app connection (DIRECT_URL and MIGRATION_SECRET_ARN are unset)\n",
                which.label()
            );
        }
        let mut out = format!(
            "{} connection\n  url          {}\n",
            which.label(),
            self.url
        );
        for name in &self.order {
            let part = &self.parts[name];
            out += &format!("  {name:<12} {:<30} {}\n", part.value, part.from);
        }
        out
    }
}

impl std::fmt::Display for UrlReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (which, view) in [(Which::App, &self.app), (Which::Migration, &self.migration)] {
            match view {
                Some(view) => f.write_str(&view.text(view.which.unwrap_or(which)))?,
                None => writeln!(f, "{} connection: not configured", which.label())?,
            }
        }
        Ok(())
    }
}
