//! What a live schema looks like, in the same model `schema.prisma` is
//! derived into, and the differences between two such catalogs.
//!
//! Shared by `migrate doctor` (the live schema against what the migrations
//! define) and `migrate prisma-check` (the live schema against what Prisma
//! Migrate would create). Introspection runs through sea-orm's
//! `ConnectionTrait`, so it works on a plain session and inside a
//! transaction alike. Types are read with `format_type` and defaults with
//! `pg_get_expr`, the forms the derivation produces.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use crate::prisma::{Catalog, Column, Constraint, ForeignKey, Index, Table};

/// Reads every table (but `exclude`), column, key, index, foreign key and
/// enum of `schema`.
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
    let mut catalog = Catalog::default();

    for row in rows(
        "SELECT t.typname::text AS name, e.enumlabel::text AS label \
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_enum e ON e.enumtypid = t.oid \
         JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname = $1 ORDER BY t.typname, e.enumsortorder",
    )
    .await?
    {
        let name: String = row.try_get("", "name")?;
        let label: String = row.try_get("", "label")?;
        catalog.enums.entry(name).or_default().push(label);
    }

    for row in rows(
        "SELECT c.relname::text AS tbl, a.attname::text AS col, \
                format_type(a.atttypid, a.atttypmod) AS ty, a.attnotnull AS notnull, \
                pg_get_expr(d.adbin, d.adrelid) AS def \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
         LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum \
         WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname, a.attnum",
    )
    .await?
    {
        let table: String = row.try_get("", "tbl")?;
        if exclude.contains(&table.as_str()) {
            continue;
        }
        let column = Column {
            name: row.try_get("", "col")?,
            field: None,
            data_type: row.try_get("", "ty")?,
            nullable: !row.try_get::<bool>("", "notnull")?,
            default: row.try_get("", "def")?,
        };
        table_mut(&mut catalog.tables, table).columns.push(column);
    }

    // Primary keys, unique and plain indexes: one row per indexed column.
    let mut indexes: BTreeMap<(String, String), (bool, bool, Vec<String>)> = BTreeMap::new();
    for row in rows(
        "SELECT t.relname::text AS tbl, i.relname::text AS idx, x.indisprimary AS is_pk, \
                x.indisunique AS is_unique, coalesce(a.attname::text, '(expression)') AS col, k.ord \
         FROM pg_catalog.pg_index x \
         JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid \
         JOIN pg_catalog.pg_class t ON t.oid = x.indrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
         CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
         LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
         WHERE n.nspname = $1 ORDER BY t.relname, i.relname, k.ord",
    )
    .await?
    {
        let table: String = row.try_get("", "tbl")?;
        if exclude.contains(&table.as_str()) {
            continue;
        }
        let entry = indexes
            .entry((table, row.try_get("", "idx")?))
            .or_insert((row.try_get("", "is_pk")?, row.try_get("", "is_unique")?, Vec::new()));
        entry.2.push(row.try_get("", "col")?);
    }
    for ((table, name), (primary, unique, columns)) in indexes {
        let t = table_mut(&mut catalog.tables, table);
        if primary {
            t.primary_key = Some(Constraint { name, columns });
        } else {
            t.indexes.push(Index {
                name,
                columns,
                unique,
            });
        }
    }

    let mut fks: BTreeMap<(String, String), ForeignKey> = BTreeMap::new();
    for row in rows(
        "SELECT t.relname::text AS tbl, c.conname::text AS name, r.relname::text AS ref, \
                a.attname::text AS col, ra.attname::text AS refcol, \
                c.confdeltype::text AS del, c.confupdtype::text AS upd \
         FROM pg_catalog.pg_constraint c \
         JOIN pg_catalog.pg_class t ON t.oid = c.conrelid \
         JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace \
         JOIN pg_catalog.pg_class r ON r.oid = c.confrelid \
         CROSS JOIN LATERAL unnest(c.conkey, c.confkey) WITH ORDINALITY AS k(col, refcol, ord) \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.col \
         JOIN pg_catalog.pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = k.refcol \
         WHERE n.nspname = $1 AND c.contype = 'f' ORDER BY t.relname, c.conname, k.ord",
    )
    .await?
    {
        let table: String = row.try_get("", "tbl")?;
        if exclude.contains(&table.as_str()) {
            continue;
        }
        let name: String = row.try_get("", "name")?;
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
    Ok(catalog)
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
            format!(
                "{}index {} ({})",
                if i.unique { "unique " } else { "" },
                i.name,
                i.columns.join(", ")
            )
        };
        for index in &want.indexes {
            match have.indexes.iter().find(|i| i.name == index.name) {
                Some(found) if found == index => {}
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Table {
        Table {
            name: "User".into(),
            model: Some("User".into()),
            columns: vec![
                Column {
                    name: "id".into(),
                    field: Some("id".into()),
                    data_type: "integer".into(),
                    nullable: false,
                    default: Some("nextval('\"User_id_seq\"'::regclass)".into()),
                },
                Column {
                    name: "name".into(),
                    field: Some("name".into()),
                    data_type: "text".into(),
                    nullable: true,
                    default: None,
                },
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
        want.columns.push(Column {
            name: "nick_name".into(),
            field: Some("nickname".into()),
            data_type: "text".into(),
            nullable: true,
            default: None,
        });
        let mut have = user();
        have.columns[1].data_type = "character varying(10)".into();
        have.columns[1].nullable = false;
        have.indexes.push(Index {
            name: "User_name_idx".into(),
            columns: vec!["name".into()],
            unique: false,
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
