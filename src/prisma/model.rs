//! The database catalog as `prisma-check` compares it: tables, columns,
//! keys, indexes, foreign keys and enum types, every value in the normalized
//! form PostgreSQL's own catalog functions print (`format_type`,
//! `pg_get_expr`, constraint actions spelled as in `pg_get_constraintdef`).
//!
//! Two producers fill it in: the derivation from a `schema.prisma`
//! (`super::derive`) and live-database introspection. Because both speak the
//! same normalized form, comparing them is plain equality.

use std::collections::BTreeMap;

/// Everything a schema defines that Prisma Migrate manages: enum types and
/// tables, each keyed by its database name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalog {
    /// Enum type name -> labels, in declaration order.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Tables by name (the database name, after `@@map`).
    pub tables: BTreeMap<String, Table>,
}

/// One table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// The table's database name.
    pub name: String,
    /// The Prisma model name, for messages ("User"), or None when unknown
    /// (introspected).
    pub model: Option<String>,
    /// Columns in declaration order.
    pub columns: Vec<Column>,
    /// The primary key constraint, if any.
    pub primary_key: Option<Constraint>,
    /// Unique and non-unique indexes (not the primary key's index), sorted
    /// by name.
    pub indexes: Vec<Index>,
    /// Foreign keys, sorted by name.
    pub foreign_keys: Vec<ForeignKey>,
}

/// One column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// The column's database name (after `@map`).
    pub name: String,
    /// The Prisma field name, for messages, or None when unknown.
    pub field: Option<String>,
    /// The type exactly as `format_type(atttypid, atttypmod)` prints it.
    pub data_type: String,
    /// False when the column is `NOT NULL`.
    pub nullable: bool,
    /// The default exactly as `pg_get_expr(adbin, adrelid)` prints it, None
    /// when the column has no default.
    pub default: Option<String>,
}

/// A named constraint over columns (the primary key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// The constraint's name.
    pub name: String,
    /// Its columns, in key order.
    pub columns: Vec<String>,
}

/// An index (unique or not) other than the primary key's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// The index's name.
    pub name: String,
    /// Its columns, in key order.
    pub columns: Vec<String>,
    /// True for a unique index.
    pub unique: bool,
}

/// A foreign key constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    /// The constraint's name.
    pub name: String,
    /// The referencing columns, in key order.
    pub columns: Vec<String>,
    /// The referenced table's name.
    pub referenced_table: String,
    /// The referenced columns, paired with `columns`.
    pub referenced_columns: Vec<String>,
    /// One of "CASCADE", "RESTRICT", "NO ACTION", "SET NULL", "SET DEFAULT".
    pub on_delete: String,
    /// Same spellings as `on_delete`.
    pub on_update: String,
}
