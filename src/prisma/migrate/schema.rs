//! The two catalogs of a migration as Prisma's schema engine holds them:
//! every table, index, foreign key and enum numbered the way Prisma numbers
//! it, because Prisma sorts its migration steps by those numbers.
//!
//! Prisma's describer (an introspected database) numbers objects in name
//! order: tables by name, a table's indexes by name, foreign keys by table
//! and constraint name, enums by name. Its schema calculator (a
//! `schema.prisma`) numbers them in declaration order, which a derived
//! catalog records in [`Catalog::declared`].
//!
//! Building a pair also checks what no migration can be rendered for: a
//! construct either catalog marks as unsupported, a name Prisma would not
//! quote correctly or PostgreSQL would shorten.

use std::collections::HashMap;

use crate::prisma::model::{Catalog, Column, ForeignKey, Index, PgType, PrismaDefault, Table};

use super::Refusal;

/// Prisma's own history table, which its differ never touches.
const PRISMA_MIGRATIONS: &str = "_prisma_migrations";

/// PostgreSQL's identifier length limit (NAMEDATALEN - 1).
const MAX_IDENTIFIER_BYTES: usize = 63;

/// A table's number in one catalog.
pub(super) type TableId = usize;

/// An index's number: its table's, then its place among the table's
/// indexes (Prisma's index ids grow the same way).
pub(super) type IndexId = (TableId, usize);

/// A foreign key's number in one catalog.
pub(super) type ForeignKeyId = usize;

/// An enum's number in one catalog.
pub(super) type EnumId = usize;

/// One catalog, numbered.
pub(super) struct Side<'a> {
    /// True for a catalog derived from a schema (Prisma's calculator), false
    /// for an introspected one (Prisma's describer).
    pub derived: bool,
    /// Tables in id order.
    pub tables: Vec<&'a Table>,
    table_ids: HashMap<&'a str, TableId>,
    /// Foreign keys in id order, with their table.
    pub foreign_keys: Vec<(TableId, &'a ForeignKey)>,
    foreign_key_ids: HashMap<(&'a str, &'a str), ForeignKeyId>,
    /// Enums in id order: name and labels.
    pub enums: Vec<(&'a str, &'a [String])>,
    enum_ids: HashMap<&'a str, EnumId>,
}

impl<'a> Side<'a> {
    fn new(catalog: &'a Catalog) -> Result<Side<'a>, Vec<Refusal>> {
        let mut refusals = Vec::new();
        let (table_order, enum_order, fk_order): (Vec<&str>, Vec<&str>, Vec<(&str, &str)>) =
            match &catalog.declared {
                Some(declared) => (
                    declared.tables.iter().map(String::as_str).collect(),
                    declared.enums.iter().map(String::as_str).collect(),
                    declared
                        .foreign_keys
                        .iter()
                        .map(|(t, f)| (t.as_str(), f.as_str()))
                        .collect(),
                ),
                None => (
                    catalog.tables.keys().map(String::as_str).collect(),
                    catalog.enums.keys().map(String::as_str).collect(),
                    catalog
                        .tables
                        .values()
                        .flat_map(|t| {
                            let mut names: Vec<&str> =
                                t.foreign_keys.iter().map(|f| f.name.as_str()).collect();
                            names.sort_unstable();
                            names.into_iter().map(move |f| (t.name.as_str(), f))
                        })
                        .collect(),
                ),
            };

        let mut tables = Vec::new();
        let mut table_ids = HashMap::new();
        for name in table_order {
            match catalog.tables.get(name) {
                Some(table) if !table_ids.contains_key(name) => {
                    table_ids.insert(table.name.as_str(), tables.len());
                    tables.push(table);
                }
                _ => refusals.push(inconsistent(&format!("table \"{name}\""))),
            }
        }
        if tables.len() != catalog.tables.len() {
            refusals.push(inconsistent("the tables"));
        }

        let mut foreign_keys = Vec::new();
        let mut foreign_key_ids = HashMap::new();
        for (table, name) in fk_order {
            let found = table_ids.get(table).and_then(|&tid| {
                tables[tid]
                    .foreign_keys
                    .iter()
                    .find(|f| f.name == name)
                    .map(|f| (tid, f))
            });
            match found {
                Some((tid, fk)) if !foreign_key_ids.contains_key(&(table, name)) => {
                    foreign_key_ids.insert(
                        (tables[tid].name.as_str(), fk.name.as_str()),
                        foreign_keys.len(),
                    );
                    foreign_keys.push((tid, fk));
                }
                _ => refusals.push(inconsistent(&format!("foreign key \"{name}\""))),
            }
        }
        let fk_count: usize = catalog.tables.values().map(|t| t.foreign_keys.len()).sum();
        if foreign_keys.len() != fk_count {
            refusals.push(inconsistent("the foreign keys"));
        }

        let mut enums = Vec::new();
        let mut enum_ids = HashMap::new();
        for name in enum_order {
            match catalog.enums.get_key_value(name) {
                Some((key, labels)) if !enum_ids.contains_key(name) => {
                    enum_ids.insert(key.as_str(), enums.len());
                    enums.push((key.as_str(), labels.as_slice()));
                }
                _ => refusals.push(inconsistent(&format!("enum \"{name}\""))),
            }
        }
        if enums.len() != catalog.enums.len() {
            refusals.push(inconsistent("the enums"));
        }

        if refusals.is_empty() {
            Ok(Side {
                derived: catalog.declared.is_some(),
                tables,
                table_ids,
                foreign_keys,
                foreign_key_ids,
                enums,
                enum_ids,
            })
        } else {
            Err(refusals)
        }
    }

    /// The id of the table named `name`.
    pub fn table_id(&self, name: &str) -> Option<TableId> {
        self.table_ids.get(name).copied()
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&'a Table> {
        self.table_id(name).map(|id| self.tables[id])
    }

    /// The id of foreign key `name` of `table`.
    pub fn foreign_key_id(&self, table: &str, name: &str) -> Option<ForeignKeyId> {
        self.foreign_key_ids.get(&(table, name)).copied()
    }

    /// The id of the enum named `name`.
    pub fn enum_id(&self, name: &str) -> Option<EnumId> {
        self.enum_ids.get(name).copied()
    }

    /// The index with id `id`.
    pub fn index(&self, id: IndexId) -> &'a Index {
        &self.tables[id.0].indexes[id.1]
    }

    /// Whether Prisma sees `column` as auto-incrementing: `autoincrement()`
    /// in a schema, a `nextval` default in a database.
    pub fn is_autoincrement(&self, column: &Column) -> bool {
        if self.derived {
            column.prisma_default == Some(PrismaDefault::Autoincrement)
        } else {
            column.serial.is_some()
        }
    }
}

fn inconsistent(what: &str) -> Refusal {
    Refusal {
        construct: what.to_string(),
        reason: "the catalog's declaration order does not match its contents".to_string(),
    }
}

/// The two catalogs of a migration: `from` (previous) and `to` (next).
pub(super) struct Pair<'a> {
    pub from: Side<'a>,
    pub to: Side<'a>,
}

impl<'a> Pair<'a> {
    /// Both catalogs numbered, or everything that keeps them from being
    /// migrated at all.
    pub fn new(from: &'a Catalog, to: &'a Catalog) -> Result<Pair<'a>, Vec<Refusal>> {
        let mut refusals = Vec::new();
        for (catalog, label) in [(from, "the previous schema"), (to, "the next schema")] {
            for item in &catalog.unsupported {
                refusals.push(Refusal {
                    construct: item.clone(),
                    reason: format!("in {label}: Prisma Migrate does not manage it"),
                });
            }
            check_names(catalog, label, &mut refusals);
        }
        let sides = (Side::new(from), Side::new(to));
        match sides {
            (Ok(from), Ok(to)) if refusals.is_empty() => Ok(Pair { from, to }),
            (a, b) => {
                refusals.extend(a.err().into_iter().flatten());
                refusals.extend(b.err().into_iter().flatten());
                Err(refusals)
            }
        }
    }
}

/// Names Prisma renders without escaping (it wraps identifiers in `"`
/// and enum labels in `'` as they are), names PostgreSQL would shorten,
/// and column types or defaults this engine does not reproduce.
fn check_names(catalog: &Catalog, label: &str, refusals: &mut Vec<Refusal>) {
    let mut check = NameCheck { label, refusals };
    for name in catalog.declared.iter().flat_map(|d| &d.shortened) {
        check.refuse(
            format!("name \"{name}\""),
            "longer than 63 bytes: PostgreSQL shortens it, and Prisma Migrate, which writes it whole, would see a different name every time",
        );
    }
    for (name, labels) in &catalog.enums {
        check.identifier(format!("enum {name}"), name);
        for value in labels.iter().filter(|v| v.contains('\'')) {
            check.refuse(
                format!("enum {name}, value {value}"),
                "Prisma writes enum values with `'` unescaped",
            );
        }
    }
    for table in catalog.tables.values() {
        if table.name == PRISMA_MIGRATIONS {
            check.refuse(
                format!("table \"{PRISMA_MIGRATIONS}\""),
                "Prisma Migrate's own history table: leave it out of the catalog",
            );
        }
        check.identifier(format!("table \"{}\"", table.name), &table.name);
        for column in &table.columns {
            let path = format!("{}.{}", table.name, column.name);
            check.identifier(path.clone(), &column.name);
            match &column.column_type.base {
                PgType::Unsupported(spelling) => {
                    check.refuse(path.clone(), &format!("type {spelling} is not one Prisma maps"))
                }
                PgType::Char(None) | PgType::Bit(None) if catalog.declared.is_some() => check.refuse(
                    path.clone(),
                    "a length-less @db.Char / @db.Bit: Prisma sees a type change on every migration (give the length)",
                ),
                PgType::Money if column.default.is_some() => {
                    check.refuse(path.clone(), "money defaults are not supported")
                }
                _ => {}
            }
            if let Some(PrismaDefault::DbGenerated(Some(_))) = &column.prisma_default {
                check.refuse(
                    path,
                    "dbgenerated(\"...\") defaults are not supported: Prisma compares them with PostgreSQL's reprint of the expression",
                );
            }
        }
        let constraints = table
            .primary_key
            .iter()
            .map(|pk| &pk.name)
            .chain(table.indexes.iter().map(|i| &i.name))
            .chain(table.foreign_keys.iter().map(|f| &f.name));
        for name in constraints {
            check.identifier(format!("constraint \"{name}\""), name);
        }
    }
}

/// Collects the refusals of [`check_names`].
struct NameCheck<'a> {
    label: &'a str,
    refusals: &'a mut Vec<Refusal>,
}

impl NameCheck<'_> {
    fn refuse(&mut self, construct: String, reason: &str) {
        self.refusals.push(Refusal {
            construct,
            reason: format!("in {}: {reason}", self.label),
        });
    }

    fn identifier(&mut self, construct: String, name: &str) {
        if name.contains('"') {
            self.refuse(construct, "Prisma writes names with `\"` unescaped");
        } else if name.len() > MAX_IDENTIFIER_BYTES {
            self.refuse(
                construct,
                "longer than 63 bytes: PostgreSQL shortens it, and Prisma would see a different name every time",
            );
        }
    }
}
