//! The grant plan, checked statement by statement without a database.

use super::*;
use crate::error::Code;

fn acl(app: &[&str], public: &[&str]) -> Acl {
    Acl {
        app: set(app),
        public: set(public),
    }
}

fn relation(name: &str, app: &[&str]) -> Relation {
    Relation {
        name: name.into(),
        acl: acl(app, &[]),
    }
}

/// A database right after the first migration: no grants yet, PostgreSQL's
/// defaults for PUBLIC (CONNECT and TEMPORARY on the database, USAGE on the
/// public schema), an app role that exists with nothing.
fn fresh() -> State {
    State {
        database: "impulse".into(),
        schema: "public".into(),
        history_tables: vec!["_prisma_migrations".into(), "seaql_migrations".into()],
        migration_role: "migrator".into(),
        app_role: "impulse_app".into(),
        app: Some(AppRole {
            login: true,
            ..AppRole::default()
        }),
        can_create_roles: true,
        can_alter_app: true,
        can_grant_rds_iam: true,
        owns_database: true,
        owns_schema: true,
        rds_iam_exists: false,
        iam: false,
        database_acl: acl(&[], &["CONNECT", "TEMPORARY"]),
        schema_acl: acl(&[], &["USAGE"]),
        tables: vec![relation("User", &[]), relation("seaql_migrations", &[])],
        sequences: vec![relation("User_id_seq", &[])],
        default_tables: BTreeSet::new(),
        default_sequences: BTreeSet::new(),
    }
}

fn correct() -> State {
    State {
        database_acl: acl(&["CONNECT"], &["CONNECT"]),
        schema_acl: acl(&["USAGE"], &["USAGE"]),
        tables: vec![
            relation("User", &TABLE_PRIVILEGES),
            relation("seaql_migrations", &[]),
        ],
        sequences: vec![relation("User_id_seq", &SEQUENCE_PRIVILEGES)],
        default_tables: set(&TABLE_PRIVILEGES),
        default_sequences: set(&SEQUENCE_PRIVILEGES),
        ..fresh()
    }
}

fn sql(plan: &Plan) -> Vec<&str> {
    plan.changes.iter().map(|c| c.sql.as_str()).collect()
}

#[test]
fn fresh_database() {
    let plan = plan(&fresh());
    assert_eq!(
        sql(&plan),
        [
            r#"GRANT CONNECT ON DATABASE "impulse" TO "impulse_app""#,
            r#"REVOKE TEMPORARY ON DATABASE "impulse" FROM PUBLIC"#,
            r#"GRANT USAGE ON SCHEMA "public" TO "impulse_app""#,
            r#"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "public"."User" TO "impulse_app""#,
            r#"GRANT USAGE, SELECT ON SEQUENCE "public"."User_id_seq" TO "impulse_app""#,
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "migrator" IN SCHEMA "public" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "impulse_app""#,
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "migrator" IN SCHEMA "public" GRANT USAGE, SELECT ON SEQUENCES TO "impulse_app""#,
        ]
    );
    assert!(plan.findings.is_empty());
    assert_eq!(plan.changes[0].what, r#"CONNECT on database "impulse""#);
    assert_eq!(plan.changes[1].kind, Kind::Excess);
}

#[test]
fn already_correct_database_needs_nothing() {
    let plan = plan(&correct());
    assert!(plan.is_clean(), "{plan:?}");
}

#[test]
fn excess_privileges_are_revoked() {
    let mut state = correct();
    state.tables[0]
        .acl
        .app
        .extend(set(&["TRUNCATE", "REFERENCES", "TRIGGER"]));
    state.tables[1] = relation("seaql_migrations", &["SELECT", "INSERT"]);
    state.tables[1].acl.public = set(&["SELECT"]);
    state.schema_acl.app.insert("CREATE".into());
    state.schema_acl.public.insert("CREATE".into());
    state.database_acl.app.insert("TEMPORARY".into());
    state.sequences[0].acl.app.insert("UPDATE".into());
    state.default_tables.insert("TRUNCATE".into());
    let plan = plan(&state);
    assert_eq!(
        sql(&plan),
        [
            r#"REVOKE TEMPORARY ON DATABASE "impulse" FROM "impulse_app""#,
            r#"REVOKE CREATE ON SCHEMA "public" FROM "impulse_app""#,
            r#"REVOKE CREATE ON SCHEMA "public" FROM PUBLIC"#,
            r#"REVOKE TRUNCATE, REFERENCES, TRIGGER ON TABLE "public"."User" FROM "impulse_app""#,
            r#"REVOKE SELECT, INSERT ON TABLE "public"."seaql_migrations" FROM "impulse_app""#,
            r#"REVOKE SELECT ON TABLE "public"."seaql_migrations" FROM PUBLIC"#,
            r#"REVOKE UPDATE ON SEQUENCE "public"."User_id_seq" FROM "impulse_app""#,
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "migrator" IN SCHEMA "public" REVOKE TRUNCATE ON TABLES FROM "impulse_app""#,
        ]
    );
    assert!(plan.changes.iter().all(|c| c.kind == Kind::Excess));
}

#[test]
fn what_cannot_be_fixed_is_a_finding() {
    let mut state = correct();
    state.owns_schema = false;
    state.schema_acl.public.insert("CREATE".into());
    state.app = Some(AppRole {
        login: true,
        createdb: true,
        superuser: true,
        member_of: vec!["rds_superuser".into(), "rds_iam".into()],
        owns: vec![r#"table "Legacy""#.into()],
        ..AppRole::default()
    });
    let plan = plan(&state);
    assert!(plan.changes.is_empty(), "{plan:?}");
    let messages: Vec<&str> = plan.findings.iter().map(|f| f.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            r#"every role, impulse_app included, has CREATE on schema "public" through PUBLIC"#,
            r#"the app role "impulse_app" has SUPERUSER"#,
            r#"the app role "impulse_app" has CREATEDB"#,
            r#"the app role "impulse_app" is a member of "rds_superuser" and holds its privileges"#,
            r#"the app role "impulse_app" owns table "Legacy": an owner can alter and drop it"#,
        ]
    );
    assert!(
        plan.findings
            .iter()
            .all(|f| f.code == Code::PrivilegesExcess)
    );
}

#[test]
fn missing_role_is_created_first() {
    let mut state = fresh();
    state.app = None;
    state.iam = true;
    state.rds_iam_exists = true;
    let plan = plan(&state);
    assert_eq!(
        sql(&plan)[..3],
        [
            r#"CREATE ROLE "impulse_app" LOGIN"#,
            r#"GRANT "rds_iam" TO "impulse_app""#,
            r#"GRANT CONNECT ON DATABASE "impulse" TO "impulse_app""#,
        ]
    );
    assert_eq!(plan.changes.len(), fresh_len() + 2);

    state.can_create_roles = false;
    let plan = super::plan(&state);
    assert!(plan.changes.is_empty());
    assert_eq!(plan.findings[0].code, Code::PrivilegesMissing);
    assert!(
        plan.findings[0]
            .hint
            .contains("CREATE ROLE \"impulse_app\" LOGIN")
    );
}

fn fresh_len() -> usize {
    plan(&fresh()).changes.len()
}

#[test]
fn identifiers_are_always_quoted() {
    let mut state = fresh();
    state.app_role = "Impulse \"App\"".into();
    state.migration_role = "Deploy Bot".into();
    state.schema = "App Data".into();
    state.database = "my db".into();
    state.tables = vec![relation("Weird \"Name\"", &[])];
    state.sequences.clear();
    let plan = plan(&state);
    assert_eq!(
        sql(&plan),
        [
            r#"GRANT CONNECT ON DATABASE "my db" TO "Impulse ""App""""#,
            r#"REVOKE TEMPORARY ON DATABASE "my db" FROM PUBLIC"#,
            r#"GRANT USAGE ON SCHEMA "App Data" TO "Impulse ""App""""#,
            r#"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "App Data"."Weird ""Name""" TO "Impulse ""App""""#,
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "Deploy Bot" IN SCHEMA "App Data" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "Impulse ""App""""#,
            r#"ALTER DEFAULT PRIVILEGES FOR ROLE "Deploy Bot" IN SCHEMA "App Data" GRANT USAGE, SELECT ON SEQUENCES TO "Impulse ""App""""#,
        ]
    );
}

#[test]
fn nologin_role_gets_login() {
    let mut state = correct();
    state.app = Some(AppRole::default());
    assert_eq!(sql(&plan(&state)), [r#"ALTER ROLE "impulse_app" LOGIN"#]);
}

/// Before PostgreSQL 15 `public` belongs to the bootstrap superuser (and
/// PUBLIC may create there); a database can be someone else's too. GRANT
/// and REVOKE by a non-owner change nothing (PostgreSQL only warns), so
/// they are findings with the owner's statement, never planned.
#[test]
fn grants_on_objects_the_migration_role_does_not_own_are_findings() {
    let mut state = fresh();
    state.owns_schema = false;
    state.owns_database = false;
    state.schema_acl = acl(&["CREATE"], &["USAGE", "CREATE"]);
    let plan = plan(&state);
    let planned = sql(&plan);
    assert!(
        planned
            .iter()
            .all(|s| !s.contains(" ON SCHEMA ") && !s.contains(" ON DATABASE ")),
        "{planned:#?}"
    );
    assert_eq!(planned.len(), 4, "tables, sequences, default privileges");
    let found: Vec<(Code, &str)> = plan
        .findings
        .iter()
        .map(|f| (f.code, f.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                Code::PrivilegesMissing,
                r#"the app role "impulse_app" lacks CONNECT on database "impulse", and the migration role "migrator" cannot grant it: it does not own database "impulse""#
            ),
            (
                Code::PrivilegesExcess,
                r#"every role, impulse_app included, has TEMPORARY on database "impulse" through PUBLIC"#
            ),
            (
                Code::PrivilegesMissing,
                r#"the app role "impulse_app" lacks USAGE on schema "public", and the migration role "migrator" cannot grant it: it does not own schema "public""#
            ),
            (
                Code::PrivilegesExcess,
                r#"the app role "impulse_app" has CREATE on schema "public", and the migration role "migrator" cannot revoke it: it does not own schema "public""#
            ),
            (
                Code::PrivilegesExcess,
                r#"every role, impulse_app included, has CREATE on schema "public" through PUBLIC"#
            ),
        ]
    );
    assert_eq!(
        plan.findings[2].hint,
        r#"as the owner of schema "public" (or a superuser): GRANT USAGE ON SCHEMA "public" TO "impulse_app"; or make the migration role its owner, then `migrate grant` keeps it right: ALTER SCHEMA "public" OWNER TO "migrator""#
    );
    assert!(
        plan.findings[3]
            .hint
            .contains(r#"REVOKE CREATE ON SCHEMA "public" FROM "impulse_app""#)
    );
    assert!(
        plan.findings[0]
            .hint
            .contains(r#"ALTER DATABASE "impulse" OWNER TO "migrator""#)
    );
}

/// From PostgreSQL 16 on, CREATEROLE alters and grants only roles it has the
/// ADMIN option on: the ones it created.
#[test]
fn role_changes_without_the_admin_option_are_findings() {
    let mut state = correct();
    state.app = Some(AppRole::default()); // NOLOGIN, made by someone else
    state.can_alter_app = false;
    state.iam = true;
    state.rds_iam_exists = true;
    state.can_grant_rds_iam = false;
    let plan = plan(&state);
    assert!(plan.changes.is_empty(), "{plan:?}");
    let hints: Vec<&str> = plan.findings.iter().map(|f| f.hint.as_str()).collect();
    assert_eq!(
        hints,
        [
            r#"as a superuser or a role with the ADMIN option on "impulse_app" (from PostgreSQL 16, CREATEROLE alone is not enough; to let the migration role do it, the membership PostgreSQL gives a role's creator: GRANT "impulse_app" TO "migrator" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE): ALTER ROLE "impulse_app" LOGIN"#,
            r#"as a superuser or a role with the ADMIN option on "rds_iam" (from PostgreSQL 16, CREATEROLE alone is not enough; to let the migration role do it, the membership PostgreSQL gives a role's creator: GRANT "rds_iam" TO "migrator" WITH ADMIN OPTION, INHERIT FALSE, SET FALSE): GRANT "rds_iam" TO "impulse_app""#,
        ]
    );
    assert!(
        plan.findings
            .iter()
            .all(|f| f.code == Code::PrivilegesMissing)
    );

    // A role it creates is its own: only rds_iam stays a finding.
    state.app = None;
    let plan = super::plan(&state);
    assert_eq!(sql(&plan)[0], r#"CREATE ROLE "impulse_app" LOGIN"#);
    assert!(!sql(&plan).iter().any(|s| s.contains("rds_iam")));
    assert_eq!(plan.findings.len(), 1);
    assert!(plan.findings[0].message.contains("may not grant rds_iam"));
}
