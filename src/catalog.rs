//! What a live schema looks like, in the same model `schema.prisma` is
//! derived into, and the differences between two such catalogs.
//!
//! Shared by `migrate doctor` (the live schema against what the migrations
//! define) and `migrate prisma-check` (the live schema against what Prisma
//! Migrate would create). Introspection runs through sea-orm's
//! `ConnectionTrait`, so it works on a plain session and inside a
//! transaction alike. Types are read with `format_type` and defaults with
//! `pg_get_expr`, the forms the derivation produces.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement};

use crate::prisma::{
    Catalog, Column, ColumnType, Constraint, ForeignKey, Index, IndexColumn, IndexMethod, PgType,
    SortOrder, Table,
};

/// Reads every table (but `exclude`), column, key, index, foreign key and
/// enum of `schema`, and names what the model cannot represent
/// ([`Catalog::unsupported`]).
pub async fn introspect<C: ConnectionTrait>(
    conn: &C,
    schema: &str,
    exclude: &[&str],
) -> Result<Catalog, DbErr> {
    let rows = |sql: &str| {
        conn.query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [schema.into()],
        ))
    };
    let excluded = |table: &str| exclude.contains(&table);
    let mut catalog = Catalog::default();
    let mut unsupported = BTreeSet::new();

    for row in rows(ENUMS_SQL).await? {
        let name: String = row.try_get("", "name")?;
        let label: String = row.try_get("", "label")?;
        catalog.enums.entry(name).or_default().push(label);
    }

    for row in rows(RELATIONS_SQL).await? {
        let name: String = row.try_get("", "name")?;
        let kind: String = row.try_get("", "kind")?;
        let owner: Option<String> = row.try_get("", "owner")?;
        if excluded(&name) || owner.as_deref().is_some_and(excluded) {
            continue;
        }
        let flag = |column: &str| row.try_get::<bool>("", column);
        match kind.as_str() {
            "r" => {
                for (column, what) in [
                    ("is_partition", "is a partition"),
                    ("inherits", "inherits from another table"),
                    ("has_children", "has child tables"),
                    ("rls", "has row level security"),
                    ("unlogged", "is unlogged"),
                ] {
                    if flag(column)? {
                        unsupported.insert(format!("table \"{name}\" {what}"));
                    }
                }
            }
            // A sequence a column owns is part of that column (`SERIAL`).
            "S" if owner.is_some() => {}
            _ => {
                unsupported.insert(format!("{} \"{name}\"", relation_kind(&kind)));
            }
        }
    }

    for row in rows(COLUMNS_SQL).await? {
        let table: String = row.try_get("", "tbl")?;
        if excluded(&table) {
            continue;
        }
        let name: String = row.try_get("", "col")?;
        let default: Option<String> = row.try_get("", "def")?;
        let owned_sequence: Option<String> = row.try_get("", "owned_seq")?;
        let serial_default: Option<String> = row.try_get("", "serial_def")?;
        let serial = owned_sequence.filter(|_| default.is_some() && default == serial_default);
        let place = format!("column \"{table}\".\"{name}\"");
        if serial.is_none() && row.try_get::<bool>("", "default_uses_sequence")? {
            unsupported.insert(format!(
                "{place}: its default draws from a sequence it does not own"
            ));
        }
        for (column, what) in [
            ("is_identity", "is an identity column"),
            ("is_generated", "is a generated column"),
            ("custom_collation", "has a collation of its own"),
        ] {
            if row.try_get::<bool>("", column)? {
                unsupported.insert(format!("{place} {what}"));
            }
        }
        let column = Column {
            name,
            field: None,
            data_type: row.try_get("", "ty")?,
            column_type: column_type(&row, schema)?,
            nullable: !row.try_get::<bool>("", "notnull")?,
            default,
            serial,
            prisma_default: None,
        };
        table_mut(&mut catalog.tables, table).columns.push(column);
    }

    // Primary keys, unique and plain indexes: one row per key column.
    let mut indexes: BTreeMap<(String, String), (IndexFacts, Vec<IndexColumn>)> = BTreeMap::new();
    for row in rows(INDEXES_SQL).await? {
        let table: String = row.try_get("", "tbl")?;
        if excluded(&table) {
            continue;
        }
        let name: String = row.try_get("", "idx")?;
        let place = format!("index \"{name}\" on \"{table}\"");
        let column: Option<String> = row.try_get("", "col")?;
        let Some(column) = column else {
            unsupported.insert(format!("{place} indexes an expression"));
            continue;
        };
        if !row.try_get::<bool>("", "opc_default")? {
            unsupported.insert(format!("{place} has an operator class on \"{column}\""));
        }
        let descending = row.try_get::<bool>("", "descending")?;
        if row.try_get::<bool>("", "nulls_first")? != descending {
            unsupported.insert(format!("{place} orders NULLs of \"{column}\" unusually"));
        }
        let key = (table, name);
        if !indexes.contains_key(&key) {
            let mut problems = Vec::new();
            for (flag, what) in [
                ("partial", "is partial (WHERE ...)"),
                ("includes", "has INCLUDE columns"),
                ("invalid", "is invalid (a failed concurrent build)"),
                ("deferrable", "is deferrable"),
                ("nulls_not_distinct", "treats NULLs as not distinct"),
            ] {
                if row.try_get::<bool>("", flag)? {
                    problems.push(format!("{place} {what}"));
                }
            }
            let contype: Option<String> = row.try_get("", "contype")?;
            if contype.as_deref() == Some("u") {
                problems.push(format!(
                    "{place} is a UNIQUE constraint (Prisma creates unique indexes)"
                ));
            }
            let amname: String = row.try_get("", "method")?;
            let method = IndexMethod::from_amname(&amname).unwrap_or_else(|| {
                problems.push(format!("{place} uses the access method {amname}"));
                IndexMethod::BTree
            });
            let facts = IndexFacts {
                place,
                primary: row.try_get("", "is_pk")?,
                unique: row.try_get("", "is_unique")?,
                exclusion: contype.as_deref() == Some("x"),
                method,
                problems,
            };
            indexes.insert(key.clone(), (facts, Vec::new()));
        }
        if let Some((_, columns)) = indexes.get_mut(&key) {
            columns.push(IndexColumn {
                name: column,
                sort: Some(if descending {
                    SortOrder::Desc
                } else {
                    SortOrder::Asc
                }),
            });
        }
    }
    for ((table, name), (facts, columns)) in indexes {
        unsupported.extend(facts.problems);
        if facts.exclusion {
            continue; // reported as an exclusion constraint
        }
        let t = table_mut(&mut catalog.tables, table);
        if facts.primary {
            if facts.method != IndexMethod::BTree || columns.iter().any(IndexColumn::descending) {
                unsupported.insert(format!("{}: an unusual primary key index", facts.place));
            }
            t.primary_key = Some(Constraint {
                name,
                columns: columns.into_iter().map(|c| c.name).collect(),
            });
        } else {
            t.indexes.push(Index {
                name,
                columns,
                unique: facts.unique,
                method: facts.method,
            });
        }
    }

    let mut fks: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for row in rows(FOREIGN_KEYS_SQL).await? {
        let table: String = row.try_get("", "tbl")?;
        if excluded(&table) {
            continue;
        }
        let name: String = row.try_get("", "name")?;
        let place = format!("foreign key \"{name}\" on \"{table}\"");
        for (column, what) in [
            ("deferrable", "is deferrable"),
            ("not_valid", "is NOT VALID"),
            ("match_full", "uses MATCH FULL"),
            ("other_schema", "references a table of another schema"),
        ] {
            if row.try_get::<bool>("", column)? {
                unsupported.insert(format!("{place} {what}"));
            }
        }
        let fk = fks
            .entry((table, name.clone()))
            .or_insert_with(|| ForeignKey {
                name,
                columns: Vec::new(),
                referenced_table: String::new(),
                referenced_columns: Vec::new(),
                on_delete: String::new(),
                on_update: String::new(),
            });
        fk.referenced_table = row.try_get("", "ref")?;
        fk.columns.push(row.try_get("", "col")?);
        fk.referenced_columns.push(row.try_get("", "refcol")?);
        fk.on_delete = action(&row.try_get::<String>("", "del")?);
        fk.on_update = action(&row.try_get::<String>("", "upd")?);
    }
    for ((table, _), fk) in fks {
        table_mut(&mut catalog.tables, table).foreign_keys.push(fk);
    }

    for row in rows(OTHER_CONSTRAINTS_SQL).await? {
        let table: String = row.try_get("", "tbl")?;
        if excluded(&table) {
            continue;
        }
        let name: String = row.try_get("", "name")?;
        let kind: String = row.try_get("", "kind")?;
        let what = match kind.as_str() {
            "c" => "check constraint",
            "x" => "exclusion constraint",
            "t" => "constraint trigger",
            _ => "constraint",
        };
        unsupported.insert(format!("{what} \"{name}\" on \"{table}\""));
    }
    catalog.unsupported = unsupported.into_iter().collect();
    Ok(catalog)
}

/// What one index is, from the first of its rows.
struct IndexFacts {
    /// `index "x" on "T"`, for messages.
    place: String,
    primary: bool,
    unique: bool,
    /// The index of an exclusion constraint.
    exclusion: bool,
    method: IndexMethod,
    /// What makes it unsupported, if anything.
    problems: Vec<String>,
}

const ENUMS_SQL: &str = "SELECT t.typname::text AS name, e.enumlabel::text AS label \
     FROM pg_catalog.pg_type t JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
     WHERE n.nspname = $1 ORDER BY t.typname, e.enumsortorder";

/// Every relation of the schema, with the table a sequence belongs to.
const RELATIONS_SQL: &str = "SELECT c.relname::text AS name, c.relkind::text AS kind, \
        (SELECT t.relname::text FROM pg_catalog.pg_depend d \
         JOIN pg_catalog.pg_class t ON t.oid = d.refobjid \
         WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid \
           AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjsubid > 0 \
           AND d.deptype IN ('a', 'i') LIMIT 1) AS owner, \
        c.relispartition AS is_partition, \
        EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) AS inherits, \
        EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid) AS has_children, \
        c.relrowsecurity AS rls, c.relpersistence = 'u' AS unlogged \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY c.relname";

/// Columns with their type as `format_type` prints it and as parts (the
/// element type of an array, its typmod), their default, and the sequence
/// a `SERIAL` default would call (`serial_def`, spelled the way
/// `pg_get_expr` spells it).
const COLUMNS_SQL: &str = "SELECT c.relname::text AS tbl, a.attname::text AS col, \
        format_type(a.atttypid, a.atttypmod) AS ty, a.attnotnull AS notnull, \
        pg_get_expr(d.adbin, d.adrelid) AS def, a.atttypmod::int4 AS typmod, \
        (t.typelem <> 0 AND t.typlen = -1) AS is_array, \
        e.typname::text AS elem, e.typtype::text AS elem_kind, en.nspname::text AS elem_schema, \
        format_type(e.oid, a.atttypmod) AS elem_ty, \
        a.attidentity <> '' AS is_identity, a.attgenerated <> '' AS is_generated, \
        (a.attcollation <> 0 AND a.attcollation <> e.typcollation) AS custom_collation, \
        s.relname::text AS owned_seq, \
        CASE WHEN s.oid IS NOT NULL THEN format('nextval(%L::regclass)', s.oid::regclass::text) END AS serial_def, \
        EXISTS (SELECT 1 FROM pg_catalog.pg_depend dd JOIN pg_catalog.pg_class sq ON sq.oid = dd.refobjid \
                WHERE dd.classid = 'pg_catalog.pg_attrdef'::regclass AND dd.objid = d.oid \
                  AND dd.refclassid = 'pg_catalog.pg_class'::regclass AND sq.relkind = 'S') AS default_uses_sequence \
     FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
     JOIN pg_catalog.pg_type t ON t.oid = a.atttypid \
     JOIN pg_catalog.pg_type e ON e.oid = CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN t.typelem ELSE t.oid END \
     JOIN pg_catalog.pg_namespace en ON en.oid = e.typnamespace \
     LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
     LEFT JOIN LATERAL (SELECT sq.oid, sq.relname FROM pg_catalog.pg_depend od \
                        JOIN pg_catalog.pg_class sq ON sq.oid = od.objid AND sq.relkind = 'S' \
                        WHERE od.classid = 'pg_catalog.pg_class'::regclass \
                          AND od.refclassid = 'pg_catalog.pg_class'::regclass \
                          AND od.refobjid = c.oid AND od.refobjsubid = a.attnum AND od.deptype = 'a' \
                        LIMIT 1) s ON true \
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname, a.attnum";

/// One row per key column of every index, with the index's own facts.
const INDEXES_SQL: &str = "SELECT t.relname::text AS tbl, i.relname::text AS idx, \
        x.indisprimary AS is_pk, x.indisunique AS is_unique, am.amname::text AS method, \
        x.indpred IS NOT NULL AS partial, x.indnatts > x.indnkeyatts AS includes, \
        NOT x.indisvalid AS invalid, coalesce(con.condeferrable, false) AS deferrable, \
        coalesce((to_jsonb(x) ->> 'indnullsnotdistinct')::boolean, false) AS nulls_not_distinct, \
        con.contype::text AS contype, k.ord, a.attname::text AS col, \
        (x.indoption[k.ord - 1] & 1) = 1 AS descending, (x.indoption[k.ord - 1] & 2) = 2 AS nulls_first, \
        coalesce(oc.opcdefault, true) AS opc_default \
     FROM pg_catalog.pg_index x \
     JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
     JOIN pg_catalog.pg_class t ON t.oid = x.indrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
     JOIN pg_catalog.pg_am am ON am.oid = i.relam \
     LEFT JOIN pg_catalog.pg_constraint con ON con.conindid = x.indexrelid AND con.conrelid = t.oid \
          AND con.contype IN ('p', 'u', 'x') \
     CROSS JOIN LATERAL generate_series(1, x.indnkeyatts::int4) AS k(ord) \
     LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[k.ord - 1] \
          AND x.indkey[k.ord - 1] <> 0 \
     LEFT JOIN pg_catalog.pg_opclass oc ON oc.oid = x.indclass[k.ord - 1] \
     WHERE n.nspname = $1 ORDER BY t.relname, i.relname, k.ord";

const FOREIGN_KEYS_SQL: &str = "SELECT t.relname::text AS tbl, c.conname::text AS name, r.relname::text AS ref, \
        a.attname::text AS col, ra.attname::text AS refcol, \
        c.confdeltype::text AS del, c.confupdtype::text AS upd, \
        c.condeferrable AS deferrable, NOT c.convalidated AS not_valid, \
        c.confmatchtype = 'f' AS match_full, r.relnamespace <> t.relnamespace AS other_schema \
     FROM pg_catalog.pg_constraint c \
     JOIN pg_catalog.pg_class t ON t.oid = c.conrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
     JOIN pg_catalog.pg_class r ON r.oid = c.confrelid \
     CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, refcol, ord) \
     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col \
     JOIN pg_catalog.pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refcol \
     WHERE n.nspname = $1 AND c.contype = 'f' ORDER BY t.relname, c.conname, k.ord";

/// Check, exclusion and trigger constraints: nothing Prisma creates.
const OTHER_CONSTRAINTS_SQL: &str = "SELECT t.relname::text AS tbl, c.conname::text AS name, \
        c.contype::text AS kind \
     FROM pg_catalog.pg_constraint c \
     JOIN pg_catalog.pg_class t ON t.oid = c.conrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
     WHERE n.nspname = $1 AND c.contype IN ('c', 'x', 't') ORDER BY t.relname, c.conname";

fn relation_kind(relkind: &str) -> &'static str {
    match relkind {
        "p" => "partitioned table",
        "v" => "view",
        "m" => "materialized view",
        "f" => "foreign table",
        "S" => "sequence (not owned by a column)",
        _ => "relation",
    }
}

/// A column's type as a value, from its element type's name and kind and
/// the column's typmod (decoded the way PostgreSQL encodes it).
fn column_type(row: &QueryResult, schema: &str) -> Result<ColumnType, DbErr> {
    let list: bool = row.try_get("", "is_array")?;
    let elem: String = row.try_get("", "elem")?;
    let kind: String = row.try_get("", "elem_kind")?;
    let elem_schema: String = row.try_get("", "elem_schema")?;
    let typmod: i32 = row.try_get("", "typmod")?;
    let spelled: String = row.try_get("", "elem_ty")?;
    // varchar and bpchar keep the 4-byte varlena header in their typmod.
    let length = (typmod >= 4).then(|| (typmod - 4) as u32);
    let precision = (typmod >= 0).then_some(typmod as u32);
    let builtin = elem_schema == "pg_catalog";
    let base = match (elem.as_str(), builtin) {
        ("int2", true) => PgType::SmallInt,
        ("int4", true) => PgType::Integer,
        ("int8", true) => PgType::BigInt,
        ("oid", true) => PgType::Oid,
        ("float4", true) => PgType::Real,
        ("float8", true) => PgType::DoublePrecision,
        ("numeric", true) => match numeric_typmod(typmod) {
            Some(Ok(ps)) => PgType::Numeric(Some(ps)),
            None => PgType::Numeric(None),
            Some(Err(())) => PgType::Unsupported(spelled),
        },
        ("money", true) => PgType::Money,
        ("bool", true) => PgType::Boolean,
        ("text", true) => PgType::Text,
        ("varchar", true) => PgType::VarChar(length),
        ("bpchar", true) => PgType::Char(length),
        ("uuid", true) => PgType::Uuid,
        ("xml", true) => PgType::Xml,
        ("inet", true) => PgType::Inet,
        ("bit", true) => PgType::Bit(precision),
        ("varbit", true) => PgType::VarBit(precision),
        ("bytea", true) => PgType::Bytea,
        ("date", true) => PgType::Date,
        ("time", true) => PgType::Time(precision),
        ("timetz", true) => PgType::Timetz(precision),
        ("timestamp", true) => PgType::Timestamp(precision),
        ("timestamptz", true) => PgType::Timestamptz(precision),
        ("json", true) => PgType::Json,
        ("jsonb", true) => PgType::Jsonb,
        ("citext", false) if kind == "b" => PgType::Citext,
        (_, false) if kind == "e" && elem_schema == schema => PgType::Enum(elem),
        _ => PgType::Unsupported(spelled),
    };
    Ok(ColumnType { base, list })
}

/// `numeric(p,s)` from its typmod: None without one, an error for a
/// negative scale (PostgreSQL 15+), which Prisma cannot express.
fn numeric_typmod(typmod: i32) -> Option<Result<(u32, u32), ()>> {
    if typmod < 4 {
        return None;
    }
    let packed = typmod - 4;
    let precision = ((packed >> 16) & 0xffff) as u32;
    let scale = ((packed & 0x7ff) ^ 1024) - 1024;
    Some(u32::try_from(scale).map(|s| (precision, s)).map_err(|_| ()))
}

fn table_mut(tables: &mut BTreeMap<String, Table>, name: String) -> &mut Table {
    tables.entry(name.clone()).or_insert_with(|| Table {
        name,
        ..Table::default()
    })
}

/// `pg_constraint.confdeltype` / `confupdtype` in SQL's words.
fn action(code: &str) -> String {
    match code {
        "a" => "NO ACTION",
        "r" => "RESTRICT",
        "c" => "CASCADE",
        "n" => "SET NULL",
        "d" => "SET DEFAULT",
        other => other,
    }
    .to_string()
}

/// One difference between an expected and an actual catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// `User.nickname`, `User`, `enum Role`: in the expected side's terms
    /// (Prisma's model and field names when it has them).
    pub path: String,
    pub message: String,
}

/// Everything in which `actual` differs from `expected`. `expected_label`
/// and `actual_label` name the sides in messages ("schema.prisma",
/// "the database").
pub fn diff(
    expected: &Catalog,
    actual: &Catalog,
    expected_label: &str,
    actual_label: &str,
) -> Vec<Difference> {
    let mut out = Vec::new();
    let mut push = |path: String, message: String| out.push(Difference { path, message });
    let only_in = |label: &str, other: &str| format!("in {label}, missing in {other}");

    for (name, labels) in &expected.enums {
        match actual.enums.get(name) {
            None => push(
                format!("enum {name}"),
                only_in(expected_label, actual_label),
            ),
            Some(found) if found != labels => push(
                format!("enum {name}"),
                format!(
                    "values {} in {expected_label}, {} in {actual_label}",
                    labels.join(", "),
                    found.join(", ")
                ),
            ),
            Some(_) => {}
        }
    }
    for name in actual
        .enums
        .keys()
        .filter(|n| !expected.enums.contains_key(*n))
    {
        push(
            format!("enum {name}"),
            only_in(actual_label, expected_label),
        );
    }

    for (name, want) in &expected.tables {
        let model = want.model.clone().unwrap_or_else(|| name.clone());
        let Some(have) = actual.tables.get(name) else {
            push(
                model,
                format!("table \"{name}\" {}", only_in(expected_label, actual_label)),
            );
            continue;
        };
        for column in &want.columns {
            let path = format!(
                "{model}.{}",
                column.field.as_deref().unwrap_or(&column.name)
            );
            let Some(found) = have.columns.iter().find(|c| c.name == column.name) else {
                push(path, only_in(expected_label, actual_label));
                continue;
            };
            if found.data_type != column.data_type {
                push(
                    path.clone(),
                    format!(
                        "type {} in {expected_label}, {} in {actual_label}",
                        column.data_type, found.data_type
                    ),
                );
            }
            if found.nullable != column.nullable {
                let word = |nullable: bool| if nullable { "nullable" } else { "NOT NULL" };
                push(
                    path.clone(),
                    format!(
                        "{} in {expected_label}, {} in {actual_label}",
                        word(column.nullable),
                        word(found.nullable)
                    ),
                );
            }
            if found.default != column.default {
                let show = |d: &Option<String>| {
                    d.as_ref()
                        .map_or_else(|| "no default".to_string(), |v| format!("default {v}"))
                };
                push(
                    path,
                    format!(
                        "{} in {expected_label}, {} in {actual_label}",
                        show(&column.default),
                        show(&found.default)
                    ),
                );
            }
        }
        for column in have
            .columns
            .iter()
            .filter(|c| !want.columns.iter().any(|w| w.name == c.name))
        {
            push(
                format!("{model}.{}", column.name),
                only_in(actual_label, expected_label),
            );
        }
        if want.primary_key != have.primary_key {
            let show = |pk: &Option<Constraint>| {
                pk.as_ref().map_or_else(
                    || "none".to_string(),
                    |c| format!("{} ({})", c.name, c.columns.join(", ")),
                )
            };
            push(
                model.clone(),
                format!(
                    "primary key {} in {expected_label}, {} in {actual_label}",
                    show(&want.primary_key),
                    show(&have.primary_key)
                ),
            );
        }
        let describe = |i: &Index| {
            let columns: Vec<String> = i
                .columns
                .iter()
                .map(|c| {
                    if c.descending() {
                        format!("{} DESC", c.name)
                    } else {
                        c.name.clone()
                    }
                })
                .collect();
            format!(
                "{}index {} ({}){}",
                if i.unique { "unique " } else { "" },
                i.name,
                columns.join(", "),
                match i.method {
                    IndexMethod::BTree => String::new(),
                    other => format!(" USING {}", other.amname()),
                }
            )
        };
        for index in &want.indexes {
            match have.indexes.iter().find(|i| i.name == index.name) {
                Some(found) if found.same_definition(index) => {}
                Some(found) => push(
                    model.clone(),
                    format!(
                        "{} in {expected_label}, {} in {actual_label}",
                        describe(index),
                        describe(found)
                    ),
                ),
                None => push(
                    model.clone(),
                    format!(
                        "{} {}",
                        describe(index),
                        only_in(expected_label, actual_label)
                    ),
                ),
            }
        }
        for index in have
            .indexes
            .iter()
            .filter(|i| !want.indexes.iter().any(|w| w.name == i.name))
        {
            push(
                model.clone(),
                format!(
                    "{} {}",
                    describe(index),
                    only_in(actual_label, expected_label)
                ),
            );
        }
        let describe_fk = |f: &ForeignKey| {
            format!(
                "foreign key {} ({}) -> {}({}) ON DELETE {} ON UPDATE {}",
                f.name,
                f.columns.join(", "),
                f.referenced_table,
                f.referenced_columns.join(", "),
                f.on_delete,
                f.on_update
            )
        };
        for fk in &want.foreign_keys {
            match have.foreign_keys.iter().find(|f| f.name == fk.name) {
                Some(found) if found == fk => {}
                Some(found) => push(
                    model.clone(),
                    format!(
                        "{} in {expected_label}, {} in {actual_label}",
                        describe_fk(fk),
                        describe_fk(found)
                    ),
                ),
                None => push(
                    model.clone(),
                    format!(
                        "{} {}",
                        describe_fk(fk),
                        only_in(expected_label, actual_label)
                    ),
                ),
            }
        }
        for fk in have
            .foreign_keys
            .iter()
            .filter(|f| !want.foreign_keys.iter().any(|w| w.name == f.name))
        {
            push(
                model.clone(),
                format!(
                    "{} {}",
                    describe_fk(fk),
                    only_in(actual_label, expected_label)
                ),
            );
        }
    }
    for name in actual
        .tables
        .keys()
        .filter(|n| !expected.tables.contains_key(*n))
    {
        push(
            name.clone(),
            format!("table \"{name}\" {}", only_in(actual_label, expected_label)),
        );
    }
    for (side, other, label, other_label) in [
        (expected, actual, expected_label, actual_label),
        (actual, expected, actual_label, expected_label),
    ] {
        for item in side
            .unsupported
            .iter()
            .filter(|u| !other.unsupported.contains(u))
        {
            push(item.clone(), only_in(label, other_label));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(
        name: &str,
        field: &str,
        data_type: &str,
        base: PgType,
        default: Option<&str>,
    ) -> Column {
        Column {
            name: name.into(),
            field: Some(field.into()),
            data_type: data_type.into(),
            column_type: ColumnType { base, list: false },
            nullable: default.is_none(),
            default: default.map(String::from),
            serial: None,
            prisma_default: None,
        }
    }

    fn user() -> Table {
        Table {
            name: "User".into(),
            model: Some("User".into()),
            columns: vec![
                Column {
                    serial: Some("User_id_seq".into()),
                    ..column(
                        "id",
                        "id",
                        "integer",
                        PgType::Integer,
                        Some("nextval('\"User_id_seq\"'::regclass)"),
                    )
                },
                column("name", "name", "text", PgType::Text, None),
            ],
            primary_key: Some(Constraint {
                name: "User_pkey".into(),
                columns: vec!["id".into()],
            }),
            indexes: vec![],
            foreign_keys: vec![],
        }
    }

    fn catalog(table: Table) -> Catalog {
        Catalog {
            tables: [(table.name.clone(), table)].into(),
            ..Catalog::default()
        }
    }

    #[test]
    fn identical_catalogs_have_no_difference() {
        assert!(diff(&catalog(user()), &catalog(user()), "a", "b").is_empty());
    }

    #[test]
    fn differences_speak_in_the_expected_sides_terms() {
        let mut want = user();
        want.columns
            .push(column("nick_name", "nickname", "text", PgType::Text, None));
        let mut have = user();
        have.columns[1].data_type = "character varying(10)".into();
        have.columns[1].nullable = false;
        have.indexes.push(Index {
            name: "User_name_idx".into(),
            columns: vec![IndexColumn {
                name: "name".into(),
                sort: Some(SortOrder::Asc),
            }],
            unique: false,
            method: IndexMethod::BTree,
        });
        let found = diff(
            &catalog(want),
            &catalog(have),
            "schema.prisma",
            "the database",
        );
        let lines: Vec<String> = found
            .iter()
            .map(|d| format!("{}: {}", d.path, d.message))
            .collect();
        assert_eq!(
            lines,
            [
                "User.name: type text in schema.prisma, character varying(10) in the database",
                "User.name: nullable in schema.prisma, NOT NULL in the database",
                "User.nickname: in schema.prisma, missing in the database",
                "User: index User_name_idx (name) in the database, missing in schema.prisma",
            ]
        );
    }
}
