//! Reading the grant [`State`](super::State) from the catalog, on the
//! migration connection.
//!
//! ACLs are read with `aclexplode`, falling back to `acldefault` where an
//! object's ACL is NULL (PostgreSQL's implicit defaults, e.g. `PUBLIC`'s
//! `CONNECT` and `TEMPORARY` on a database), so implicit grants count too.

use std::collections::BTreeSet;

use sqlx::Row;
use sqlx::postgres::PgRow;

use super::{Acl, AppRole, Relation, State};
use crate::error::Result;
use crate::session::{Batch, Session, query_error};
use crate::sql::with_values;

/// Reads the state for app role `app_role`, in one round trip.
pub async fn read(session: &Session, app_role: &str, iam: bool) -> Result<State> {
    let fail = |e: sqlx::Error| query_error(&e, "read the privileges from the catalog");
    let mut batch = Batch::new();
    let [me, app, acls] = queries(&session.schema, app_role).map(|q| batch.push(q));
    let mut results = session.batch(&batch).await;
    if let Some(e) = results.take_error() {
        return Err(fail(e));
    }
    let rows = |slot| results.rows(slot).unwrap_or_default();
    state_from(session, app_role, iam, [rows(me), rows(app), rows(acls)]).map_err(fail)
}

/// The three statements [`state_from`] reads the state from: the
/// migration role, the app role, and the ACLs. Simple queries, to send
/// together with [`Session::batch`] (or with other statements).
pub fn queries(schema: &str, app_role: &str) -> [String; 3] {
    // Before PostgreSQL 16, CREATEROLE may alter and grant any role but a
    // superuser; from 16 on, only roles it holds the ADMIN option on.
    let me = with_values(
        "WITH v AS (SELECT current_setting('server_version_num')::int < 160000 AS old) \
         SELECT current_user::text, r.rolsuper OR r.rolcreaterole, \
                pg_has_role(current_user, d.datdba, 'USAGE'), \
                coalesce(pg_has_role(current_user, n.nspowner, 'USAGE'), false), \
                EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'rds_iam'), \
                r.rolsuper OR (r.rolcreaterole AND (v.old OR coalesce(pg_has_role(current_user, \
                  (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $2), \
                  'USAGE WITH ADMIN OPTION'), false))), \
                r.rolsuper OR (r.rolcreaterole AND v.old) OR coalesce(pg_has_role(current_user, \
                  (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = 'rds_iam'), \
                  'USAGE WITH ADMIN OPTION'), false), \
                pg_catalog.pg_get_userbyid(d.datdba)::text, \
                pg_catalog.pg_get_userbyid(n.nspowner)::text, \
                current_setting('server_version_num')::int / 10000 \
         FROM pg_catalog.pg_roles r \
         CROSS JOIN v \
         JOIN pg_catalog.pg_database d ON d.datname = current_database() \
         LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1 \
         WHERE r.rolname = current_user",
        &[schema, app_role],
    );

    let app = with_values(
        "SELECT r.rolcanlogin, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls, \
                r.rolreplication, \
                ARRAY(SELECT g.rolname::text FROM pg_catalog.pg_auth_members m \
                      JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
                      WHERE m.member = r.oid ORDER BY 1), \
                ARRAY( \
                  SELECT CASE c.relkind WHEN 'S' THEN 'sequence ' WHEN 'v' THEN 'view ' ELSE 'table ' END \
                         || quote_ident(c.relname) \
                  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                  WHERE n.nspname = $2 AND c.relowner = r.oid AND c.relkind IN ('r', 'p', 'S', 'v', 'm') \
                  UNION ALL SELECT 'schema ' || quote_ident(nspname) FROM pg_catalog.pg_namespace \
                  WHERE nspname = $2 AND nspowner = r.oid \
                  UNION ALL SELECT 'database ' || quote_ident(datname) FROM pg_catalog.pg_database \
                  WHERE datname = current_database() AND datdba = r.oid \
                  ORDER BY 1) \
         FROM pg_catalog.pg_roles r WHERE r.rolname = $1",
        &[app_role, schema],
    );

    // (kind, object, grantee: 'app' or 'public', privilege)
    let acls = with_values(
        "WITH app AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $2), \
              me AS (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user), \
              ns AS (SELECT oid, nspname, nspacl, nspowner FROM pg_catalog.pg_namespace WHERE nspname = $1), \
              objects AS ( \
                SELECT 'database' AS kind, datname::text AS name, \
                       coalesce(datacl, acldefault('d', datdba)) AS acl \
                FROM pg_catalog.pg_database WHERE datname = current_database() \
                UNION ALL \
                SELECT 'schema', nspname::text, coalesce(nspacl, acldefault('n', nspowner)) FROM ns \
                UNION ALL \
                SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, c.relname::text, \
                       coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::\"char\", c.relowner)) \
                FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace \
                WHERE c.relkind IN ('r', 'p', 'S') \
                  AND pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE') \
                UNION ALL \
                SELECT CASE d.defaclobjtype WHEN 'r' THEN 'default tables' ELSE 'default sequences' END, \
                       '', d.defaclacl \
                FROM pg_catalog.pg_default_acl d JOIN ns ON ns.oid = d.defaclnamespace \
                WHERE d.defaclrole = (SELECT oid FROM me) AND d.defaclobjtype IN ('r', 'S')) \
         SELECT o.kind, o.name, \
                CASE WHEN a.grantee = 0 THEN 'public' WHEN a.grantee = (SELECT oid FROM app) THEN 'app' END, \
                a.privilege_type \
         FROM objects o LEFT JOIN LATERAL aclexplode(o.acl) a ON true \
         ORDER BY 1, 2, 3, 4",
        &[schema, app_role],
    );
    [me, app, acls]
}

/// The state for `app_role` from the rows of [`queries`] (`me`, `app`,
/// `acls`, in that order), read on `session`.
pub fn state_from(
    session: &Session,
    app_role: &str,
    iam: bool,
    [me, app, acls]: [&[PgRow]; 3],
) -> sqlx::Result<State> {
    let me = me.first().ok_or(sqlx::Error::RowNotFound)?;
    let app = match app.first() {
        Some(row) => Some(AppRole {
            login: row.try_get(0)?,
            superuser: row.try_get(1)?,
            createdb: row.try_get(2)?,
            createrole: row.try_get(3)?,
            bypassrls: row.try_get(4)?,
            replication: row.try_get(5)?,
            member_of: row.try_get(6)?,
            owns: row.try_get(7)?,
        }),
        None => None,
    };
    let mut state = State {
        database: session.database.clone(),
        schema: session.schema.clone(),
        history_tables: crate::history::TABLES.map(String::from).to_vec(),
        migration_role: me.try_get(0)?,
        app_role: app_role.to_string(),
        app,
        can_create_roles: me.try_get(1)?,
        owns_database: me.try_get(2)?,
        owns_schema: me.try_get(3)?,
        rds_iam_exists: me.try_get(4)?,
        can_alter_app: me.try_get(5)?,
        can_grant_rds_iam: me.try_get(6)?,
        database_owner: me.try_get(7)?,
        schema_owner: me.try_get(8)?,
        server_major: u32::try_from(me.try_get::<i32, _>(9)?).unwrap_or(0),
        iam,
        ..State::default()
    };
    for row in acls {
        let kind: String = row.try_get(0)?;
        let name: String = row.try_get(1)?;
        let grantee: Option<String> = row.try_get(2)?;
        let privilege: Option<String> = row.try_get(3)?;
        let acl: &mut Acl = match kind.as_str() {
            "database" => &mut state.database_acl,
            "schema" => &mut state.schema_acl,
            "table" => relation(&mut state.tables, name),
            "sequence" => relation(&mut state.sequences, name),
            "default tables" | "default sequences" => {
                if let (Some("app"), Some(p)) = (grantee.as_deref(), privilege) {
                    let target: &mut BTreeSet<String> = if kind == "default tables" {
                        &mut state.default_tables
                    } else {
                        &mut state.default_sequences
                    };
                    target.insert(p);
                }
                continue;
            }
            _ => continue,
        };
        match (grantee.as_deref(), privilege) {
            (Some("app"), Some(p)) => {
                acl.app.insert(p);
            }
            (Some("public"), Some(p)) => {
                acl.public.insert(p);
            }
            _ => {}
        }
    }
    Ok(state)
}

/// The entry for relation `name`, created on first sight (rows are sorted).
fn relation(list: &mut Vec<Relation>, name: String) -> &mut Acl {
    if list.last().is_none_or(|r| r.name != name) {
        list.push(Relation {
            name,
            acl: Acl::default(),
        });
    }
    let last = list.len() - 1;
    &mut list[last].acl
}
