//! Least privilege for the app role, as a plan computed from the catalog.
//!
//! The app role must have exactly: `CONNECT` on the database, `USAGE` on the
//! schema, `SELECT, INSERT, UPDATE, DELETE` on every table of the schema but
//! the migration history, `USAGE, SELECT` on the sequences, and default
//! privileges so that objects the migration role creates later are covered.
//! Anything more on those objects is revoked: `TRUNCATE`, `REFERENCES`,
//! `TRIGGER`, `CREATE`, `TEMPORARY`, any access to the history table, and
//! such grants to `PUBLIC` where the migration role can revoke them
//! (`PUBLIC`'s `CONNECT` on the database and `USAGE` on the schema stay:
//! they give the app role nothing beyond least privilege). What cannot be
//! fixed safely (ownership, `SUPERUSER`, `CREATEDB`, memberships) is a
//! finding with a hint, and so is what the migration role has no right to
//! change: grants on a database or schema it does not own (PostgreSQL would
//! only warn "no privileges were granted"; before 15 the `public` schema
//! belongs to the bootstrap superuser), and, from PostgreSQL 16 on, roles it
//! holds no ADMIN option on (`CREATEROLE` alone no longer suffices: a role
//! gets that option only on the roles it creates, so not on `rds_iam` nor on
//! an app role someone else made).
//!
//! [`plan`] is pure: [`State`] in, [`Plan`] out, so unit tests can check
//! every case without a database; `introspect` reads the state and `apply`
//! runs the statements in one transaction under the migration lock.

pub mod apply;
pub mod introspect;
pub mod role;

pub use role::{DEFAULT_APP_ROLE, WhenAppIsOwner, app_role};

use std::collections::BTreeSet;

use crate::error::Code;
use crate::sql::quote_ident;

/// Privileges the app role needs on each kind of object.
pub const TABLE_PRIVILEGES: [&str; 4] = ["SELECT", "INSERT", "UPDATE", "DELETE"];
pub const SEQUENCE_PRIVILEGES: [&str; 2] = ["USAGE", "SELECT"];
pub const SCHEMA_PRIVILEGES: [&str; 1] = ["USAGE"];
pub const DATABASE_PRIVILEGES: [&str; 1] = ["CONNECT"];

/// Roles whose membership is expected, never a finding.
const EXPECTED_MEMBERSHIPS: [&str; 1] = ["rds_iam"];

/// The app role's and `PUBLIC`'s privileges on one object (as
/// `aclexplode` names them: `SELECT`, `TEMPORARY`, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    pub app: BTreeSet<String>,
    pub public: BTreeSet<String>,
}

/// A table or sequence of the managed schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    pub acl: Acl,
}

/// The app role as it exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppRole {
    pub login: bool,
    pub superuser: bool,
    pub createdb: bool,
    pub createrole: bool,
    pub bypassrls: bool,
    pub replication: bool,
    /// Roles it is a member of.
    pub member_of: Vec<String>,
    /// Objects it owns: `table "x"`, `schema "public"`, `database "impulse"`.
    pub owns: Vec<String>,
}

/// Everything the plan needs to know, read from the catalog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    pub database: String,
    pub schema: String,
    /// The history tables, which the app role may not touch.
    pub history_tables: Vec<String>,
    /// `current_user` of the migration connection.
    pub migration_role: String,
    pub app_role: String,
    /// `None`: the role does not exist.
    pub app: Option<AppRole>,
    /// The migration role may create roles (`SUPERUSER` or `CREATEROLE`).
    pub can_create_roles: bool,
    /// The migration role may alter the existing app role (`LOGIN`, its
    /// password): `SUPERUSER`, or `CREATEROLE` and, from PostgreSQL 16 on,
    /// the ADMIN option on it.
    pub can_alter_app: bool,
    /// The migration role may grant `rds_iam`: `SUPERUSER`, `CREATEROLE`
    /// before PostgreSQL 16, else the ADMIN option on `rds_iam`.
    pub can_grant_rds_iam: bool,
    /// The migration role owns (or is superuser over) the database / schema,
    /// so it can revoke what `PUBLIC` holds there.
    pub owns_database: bool,
    pub owns_schema: bool,
    pub rds_iam_exists: bool,
    /// The app connection uses IAM auth tokens.
    pub iam: bool,
    pub database_acl: Acl,
    pub schema_acl: Acl,
    pub tables: Vec<Relation>,
    pub sequences: Vec<Relation>,
    /// Default privileges of the migration role in the schema, for the app role.
    pub default_tables: BTreeSet<String>,
    pub default_sequences: BTreeSet<String>,
}

/// Whether a change adds what is missing or removes what is too much.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Missing,
    Excess,
}

/// One statement of the plan and what it fixes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub kind: Kind,
    /// In words: `SELECT, INSERT on table "User"`.
    pub what: String,
    pub sql: String,
}

/// Something wrong that the plan does not fix.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub code: Code,
    pub message: String,
    pub hint: String,
}

/// The statements that bring the app role to least privilege, and findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub findings: Vec<Finding>,
}

impl Plan {
    pub fn is_clean(&self) -> bool {
        self.changes.is_empty() && self.findings.is_empty()
    }
}

fn list(privileges: &BTreeSet<String>) -> String {
    // Keep PostgreSQL's usual order for the familiar ones.
    const ORDER: [&str; 11] = [
        "USAGE",
        "SELECT",
        "INSERT",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "REFERENCES",
        "TRIGGER",
        "MAINTAIN",
        "CREATE",
        "CONNECT",
    ];
    let mut sorted: Vec<&str> = privileges.iter().map(String::as_str).collect();
    sorted.sort_by_key(|p| ORDER.iter().position(|o| o == p).unwrap_or(ORDER.len()));
    sorted.join(", ")
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// What `current` lacks of `required`, and what it holds beyond it, each as
/// a privilege list (`SELECT, INSERT`), `None` when empty.
fn privilege_diff(
    required: &[&str],
    current: &BTreeSet<String>,
) -> (Option<String>, Option<String>) {
    let required = set(required);
    let listed = |s: BTreeSet<String>| (!s.is_empty()).then(|| list(&s));
    (
        listed(required.difference(current).cloned().collect()),
        listed(current.difference(&required).cloned().collect()),
    )
}

/// One object to reconcile, and what is required and tolerated on it.
struct Target<'a> {
    /// `database`, `schema`, `table`, `sequence`.
    kind: &'a str,
    /// How GRANT names it: `TABLE "public"."User"`.
    sql: String,
    /// How messages name it: `"User"`.
    shown: String,
    acl: &'a Acl,
    required: &'a [&'a str],
    /// What PUBLIC may keep.
    public_ok: &'a [&'a str],
    can_revoke_public: bool,
    /// The migration role may grant and revoke on it (owns it): GRANT and
    /// REVOKE by anyone else change nothing, with a mere warning.
    can_grant: bool,
    /// `ALTER DATABASE "x"`: how to make the migration role its owner.
    alter: &'a str,
}

struct Builder<'a> {
    state: &'a State,
    app: String,
    plan: Plan,
}

impl Builder<'_> {
    fn change(&mut self, kind: Kind, what: String, sql: String) {
        self.plan.changes.push(Change { kind, what, sql });
    }

    /// A change to the role itself: planned when the migration role may
    /// make it (`allowed`), else a finding whose hint is the statement and
    /// how to get that right. Returns whether it was planned.
    fn role_change(
        &mut self,
        allowed: bool,
        what: String,
        sql: String,
        problem: String,
        how: String,
    ) -> bool {
        if allowed {
            self.change(Kind::Missing, what, sql);
            return true;
        }
        self.plan.findings.push(Finding {
            code: Code::PrivilegesMissing,
            message: problem,
            hint: format!("{how}: {sql}"),
        });
        false
    }

    /// Grants what `required` lacks, revokes what exceeds it, from the app
    /// role and (where the target allows) from PUBLIC.
    fn reconcile(&mut self, t: Target) {
        let Target {
            kind,
            sql,
            shown,
            acl,
            ..
        } = &t;
        let (missing, excess) = privilege_diff(t.required, &acl.app);
        let changes = [
            missing.map(|p| {
                (
                    Kind::Missing,
                    p.clone(),
                    format!("GRANT {p} ON {sql} TO {}", self.app),
                )
            }),
            excess.map(|p| {
                (
                    Kind::Excess,
                    p.clone(),
                    format!("REVOKE {p} ON {sql} FROM {}", self.app),
                )
            }),
        ];
        for (kind_of_change, privileges, statement) in changes.into_iter().flatten() {
            if t.can_grant {
                self.change(
                    kind_of_change,
                    format!("{privileges} on {kind} {shown}"),
                    statement,
                );
                continue;
            }
            let (code, state, verb) = match kind_of_change {
                Kind::Missing => (Code::PrivilegesMissing, "lacks", "grant"),
                Kind::Excess => (Code::PrivilegesExcess, "has", "revoke"),
            };
            let migration_role = quote_ident(&self.state.migration_role);
            self.plan.findings.push(Finding {
                code,
                message: format!(
                    "the app role \"{}\" {state} {privileges} on {kind} {shown}, and the migration \
                     role {migration_role} cannot {verb} it: it does not own {kind} {shown}",
                    self.state.app_role
                ),
                hint: format!(
                    "as the owner of {kind} {shown} (or a superuser): {statement}; or make the \
                     migration role its owner, then `migrate grant` keeps it right: \
                     {} OWNER TO {migration_role}",
                    t.alter
                ),
            });
        }
        let Some(privileges) = privilege_diff(t.public_ok, &acl.public).1 else {
            return;
        };
        if t.can_revoke_public {
            self.change(
                Kind::Excess,
                format!("{privileges} on {kind} {shown} through PUBLIC"),
                format!("REVOKE {privileges} ON {sql} FROM PUBLIC"),
            );
        } else {
            self.plan.findings.push(Finding {
                code: Code::PrivilegesExcess,
                message: format!(
                    "every role, {} included, has {privileges} on {kind} {shown} through PUBLIC",
                    self.state.app_role
                ),
                hint: format!(
                    "as the owner of {kind} {shown}: REVOKE {privileges} ON {sql} FROM PUBLIC"
                ),
            });
        }
    }
}

/// Computes the plan. Pure.
pub fn plan(state: &State) -> Plan {
    let app = quote_ident(&state.app_role);
    let mut b = Builder {
        state,
        app: app.clone(),
        plan: Plan::default(),
    };
    let empty = AppRole {
        login: true,
        ..AppRole::default()
    };
    let role = match &state.app {
        Some(role) => role,
        None => {
            let planned = b.role_change(
                state.can_create_roles,
                format!("role \"{}\" (LOGIN, no password)", state.app_role),
                format!("CREATE ROLE {app} LOGIN"),
                format!(
                    "the app role \"{}\" does not exist, and the migration role \"{}\" cannot \
                     create roles (DB_APP_USER names another app role)",
                    state.app_role, state.migration_role
                ),
                "as a role with CREATEROLE (or after giving the migration role CREATEROLE)".into(),
            );
            if !planned {
                return b.plan;
            }
            &empty
        }
    };
    // A role the migration role creates is its own to alter (PostgreSQL 16+
    // gives the creator the ADMIN option).
    let can_alter_app = state.app.is_none() || state.can_alter_app;
    let admin_option = |role: &str| {
        format!(
            "as a superuser or a role with the ADMIN option on \"{role}\" (from PostgreSQL 16, \
             CREATEROLE alone is not enough; to let the migration role do it, the membership \
             PostgreSQL gives a role's creator: GRANT {} TO {} WITH ADMIN OPTION, INHERIT FALSE, \
             SET FALSE)",
            quote_ident(role),
            quote_ident(&state.migration_role)
        )
    };
    if !role.login {
        b.role_change(
            can_alter_app,
            format!("LOGIN for role \"{}\"", state.app_role),
            format!("ALTER ROLE {app} LOGIN"),
            format!(
                "the app role \"{}\" cannot log in (NOLOGIN), and the migration role \"{}\" \
                 may not alter it",
                state.app_role, state.migration_role
            ),
            admin_option(&state.app_role),
        );
    }
    if state.iam && state.rds_iam_exists && !role.member_of.iter().any(|r| r == "rds_iam") {
        b.role_change(
            state.can_grant_rds_iam,
            format!(
                "membership in rds_iam (IAM authentication) for \"{}\"",
                state.app_role
            ),
            format!("GRANT \"rds_iam\" TO {app}"),
            format!(
                "the app role \"{}\" is not in rds_iam (IAM authentication), and the \
                 migration role \"{}\" may not grant rds_iam",
                state.app_role, state.migration_role
            ),
            admin_option("rds_iam"),
        );
    }

    let database = quote_ident(&state.database);
    b.reconcile(Target {
        kind: "database",
        sql: format!("DATABASE {database}"),
        shown: database.clone(),
        acl: &state.database_acl,
        required: &DATABASE_PRIVILEGES,
        public_ok: &["CONNECT"],
        can_revoke_public: state.owns_database,
        can_grant: state.owns_database,
        alter: &format!("ALTER DATABASE {database}"),
    });
    let schema = quote_ident(&state.schema);
    b.reconcile(Target {
        kind: "schema",
        sql: format!("SCHEMA {schema}"),
        shown: schema.clone(),
        acl: &state.schema_acl,
        required: &SCHEMA_PRIVILEGES,
        public_ok: &["USAGE"],
        can_revoke_public: state.owns_schema,
        can_grant: state.owns_schema,
        alter: &format!("ALTER SCHEMA {schema}"),
    });
    for table in &state.tables {
        let name = quote_ident(&table.name);
        let required: &[&str] = if state.history_tables.contains(&table.name) {
            &[]
        } else {
            &TABLE_PRIVILEGES
        };
        b.reconcile(Target {
            kind: "table",
            sql: format!("TABLE {schema}.{name}"),
            shown: name,
            acl: &table.acl,
            required,
            public_ok: &[],
            can_revoke_public: true,
            can_grant: true,
            alter: "",
        });
    }
    for sequence in &state.sequences {
        let name = quote_ident(&sequence.name);
        b.reconcile(Target {
            kind: "sequence",
            sql: format!("SEQUENCE {schema}.{name}"),
            shown: name,
            acl: &sequence.acl,
            required: &SEQUENCE_PRIVILEGES,
            public_ok: &[],
            can_revoke_public: true,
            can_grant: true,
            alter: "",
        });
    }

    let for_role = format!(
        "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {schema}",
        quote_ident(&state.migration_role)
    );
    for (objects, current, required) in [
        ("TABLES", &state.default_tables, &TABLE_PRIVILEGES[..]),
        (
            "SEQUENCES",
            &state.default_sequences,
            &SEQUENCE_PRIVILEGES[..],
        ),
    ] {
        let (missing, excess) = privilege_diff(required, current);
        let lower = objects.to_lowercase();
        let later = format!("{lower} created later by \"{}\"", state.migration_role);
        if let Some(privileges) = missing {
            b.change(
                Kind::Missing,
                format!("{privileges} on {later}"),
                format!("{for_role} GRANT {privileges} ON {objects} TO {app}"),
            );
        }
        if let Some(privileges) = excess {
            b.change(
                Kind::Excess,
                format!("{privileges} on {later}"),
                format!("{for_role} REVOKE {privileges} ON {objects} FROM {app}"),
            );
        }
    }

    findings_about_the_role(state, role, &mut b.plan);
    b.plan
}

fn findings_about_the_role(state: &State, role: &AppRole, plan: &mut Plan) {
    let app = &state.app_role;
    let quoted = quote_ident(app);
    for (on, attribute) in [
        (role.superuser, "SUPERUSER"),
        (role.createdb, "CREATEDB"),
        (role.createrole, "CREATEROLE"),
        (role.bypassrls, "BYPASSRLS"),
        (role.replication, "REPLICATION"),
    ] {
        if on {
            plan.findings.push(Finding {
                code: Code::PrivilegesExcess,
                message: format!("the app role \"{app}\" has {attribute}"),
                hint: format!(
                    "as a superuser (on RDS, the master user): ALTER ROLE {quoted} NO{attribute}"
                ),
            });
        }
    }
    for member_of in &role.member_of {
        if EXPECTED_MEMBERSHIPS.contains(&member_of.as_str()) {
            continue;
        }
        plan.findings.push(Finding {
            code: Code::PrivilegesExcess,
            message: format!(
                "the app role \"{app}\" is a member of \"{member_of}\" and holds its privileges"
            ),
            hint: format!("REVOKE {} FROM {quoted}", quote_ident(member_of)),
        });
    }
    for object in &role.owns {
        plan.findings.push(Finding {
            code: Code::PrivilegesExcess,
            message: format!(
                "the app role \"{app}\" owns {object}: an owner can alter and drop it"
            ),
            hint: format!(
                "make the migration role the owner: ALTER ... OWNER TO {}",
                quote_ident(&state.migration_role)
            ),
        });
    }
}

#[cfg(test)]
mod tests;
