//! Which role is the app role: one rule, for `grant` and for the doctor.
//!
//! `DB_APP_USER` names it; else it is the app connection's user; else, when
//! there is no separate app connection, `impulse_app`. The two callers
//! differ in one case, which is a parameter: when the app connection logs
//! in as the migration role itself, `grant` manages `impulse_app` instead
//! (it must never revoke the owner's own rights), while the doctor keeps
//! that role so that it can report it (`privileges.excess`).

use crate::config::{Origin, Resolved, Which};
use crate::connector::Connector;
use crate::env_vars;
use crate::error::{Code, Error, Result};

/// The role `grant` manages when nothing else names one.
pub const DEFAULT_APP_ROLE: &str = "impulse_app";

/// What to do when the app connection logs in as the migration role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenAppIsOwner {
    /// Manage [`DEFAULT_APP_ROLE`] instead (`grant`, `up`).
    ManageDefault,
    /// Keep the owner as the answer, for the caller to report (`doctor`).
    Keep,
}

/// The app role and where its name came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChosenAppRole {
    pub name: String,
    pub origin: Origin,
}

/// Chooses the app role for migration connection `migration`. Fails only
/// when the app connection is configured but cannot be resolved (and
/// `DB_APP_USER` does not say).
pub async fn app_role(
    connector: &Connector,
    migration: &Resolved,
    when_owner: WhenAppIsOwner,
) -> Result<ChosenAppRole> {
    if let Some(named) = connector.sources().var(env_vars::DB_APP_USER) {
        crate::config::checks::identifier(
            &format!("the app role ({})", named.origin),
            &named.value,
        )?;
        return Ok(ChosenAppRole {
            name: named.value,
            origin: named.origin,
        });
    }
    let default = || ChosenAppRole {
        name: DEFAULT_APP_ROLE.to_string(),
        origin: Origin::Default(DEFAULT_APP_ROLE),
    };
    let app = if migration.same_as_app {
        migration.clone()
    } else {
        match connector.resolve(Which::App).await {
            Ok(app) => app,
            Err(e) if e.code == Code::ConfigMissing => return Ok(default()),
            Err(e) => {
                return Err(Error::new(
                    e.code,
                    format!(
                        "cannot tell the app role from the app connection: {}",
                        e.message
                    ),
                    format!("{}; or name the role with DB_APP_USER", e.hint),
                ));
            }
        }
    };
    if app.user.value == migration.user.value && when_owner == WhenAppIsOwner::ManageDefault {
        return Ok(default());
    }
    Ok(ChosenAppRole {
        name: app.user.value,
        origin: app.user.origin,
    })
}
