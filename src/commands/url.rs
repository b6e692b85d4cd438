//! `migrate url`: both resolved connections, the password as `****`, and
//! where every part came from (flag, environment, `.env` line, secret ARN
//! and version, IAM). Fetches secrets and signs IAM tokens like any other
//! command, so what it shows is what a connection would use.

use serde_json::{Value, json};

use crate::commands::Ctx;
use crate::config::{self, Origin, Resolved, Which};
use crate::error::{Exit, Result};

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
        Err(e) if e.code == "config.missing" => Ok(None),
        Err(e) => Err(e),
    };
    let app = usable(app)?;
    let migration = usable(migration)?;
    if app.is_none() && migration.is_none() {
        ctx.connector.resolve(Which::Migration).await?;
    }
    ctx.ui.result(
        || {
            let mut out = String::new();
            for (which, r) in [(Which::App, &app), (Which::Migration, &migration)] {
                out += &text(which, r.as_ref());
            }
            out
        },
        || json!({ "app": app.as_ref().map(to_json), "migration": migration.as_ref().map(to_json) }),
    );
    Ok(Exit::Ok)
}

/// Each part's shown value and origin.
fn parts(r: &Resolved) -> Vec<(&'static str, String, Origin)> {
    let s = &r.spec;
    let o = &r.origins;
    let mut parts = vec![
        ("host", s.host.clone(), o.host.clone()),
        ("port", s.port.to_string(), o.port.clone()),
        ("user", s.user.clone(), o.user.clone()),
    ];
    if let (Some(_), Some(origin)) = (&s.password, &o.password) {
        parts.push(("password", "****".into(), origin.clone()));
    }
    parts.push(("database", s.dbname.clone(), o.dbname.clone()));
    parts.push(("schema", s.schema.clone(), o.schema.clone()));
    parts.push(("sslmode", s.sslmode.as_str().into(), o.sslmode.clone()));
    if let (Some(path), Some(origin)) = (&s.sslrootcert, &o.sslrootcert) {
        parts.push(("sslrootcert", path.display().to_string(), origin.clone()));
    }
    parts
}

fn text(which: Which, r: Option<&Resolved>) -> String {
    let Some(r) = r else {
        return format!("{} connection: not configured\n", which.label());
    };
    if r.same_as_app {
        return format!(
            "{} connection: the app connection (DIRECT_URL and MIGRATION_SECRET_ARN are unset)\n",
            which.label()
        );
    }
    let mut out = format!("{} connection\n  url          {}\n", which.label(), r.spec);
    for (name, value, origin) in parts(r) {
        out += &format!("  {name:<12} {value:<30} {origin}\n");
    }
    out
}

fn to_json(r: &Resolved) -> Value {
    let parts: serde_json::Map<String, Value> = parts(r)
        .into_iter()
        .map(|(name, value, origin)| {
            (
                name.to_string(),
                json!({"value": value, "from": origin.to_string()}),
            )
        })
        .collect();
    json!({
        "url": r.spec.redacted(),
        "same_as_app": r.same_as_app,
        "iam": r.iam.is_some(),
        "secret": r.secret.as_ref().map(|s| json!({
            "id": s.id, "arn": s.arn, "version_id": s.version_id, "stage": s.stage,
        })),
        "parts": parts,
    })
}
