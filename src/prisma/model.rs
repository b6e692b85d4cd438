//! The database catalog as `prisma-check` compares it and the SQL engine
//! (`super::migrate`) renders it: tables, columns, keys, indexes, foreign
//! keys and enum types, every value in the normalized form PostgreSQL's own
//! catalog functions print (`format_type`, `pg_get_expr`, constraint actions
//! spelled as in `pg_get_constraintdef`), plus the structured facts Prisma's
//! renderer needs (the type as a value, which default is a `SERIAL`
//! sequence, index methods and sort orders, what a schema's `@default`
//! says).
//!
//! Two producers fill it in: the derivation from a `schema.prisma`
//! (`super::derive`) and live-database introspection (`crate::catalog`).
//! Because both speak the same normalized form, comparing them is mostly
//! plain equality; [`Catalog::declared`] and [`Column::prisma_default`] are
//! what only a schema can say.

use std::collections::BTreeMap;

/// Everything a schema defines that Prisma Migrate manages: enum types and
/// tables, each keyed by its database name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Catalog {
    /// Enum type name -> labels, in declaration order.
    pub enums: BTreeMap<String, Vec<String>>,
    /// Tables by name (the database name, after `@@map`).
    pub tables: BTreeMap<String, Table>,
    /// Set when the catalog was derived from a `schema.prisma`: the order
    /// Prisma's schema engine numbers the objects in, which decides the
    /// order of its migration steps. None for an introspected database,
    /// whose objects Prisma numbers in name order.
    pub declared: Option<Declared>,
    /// What the database has that this model does not represent (a view, a
    /// check constraint, a partial index, an identity column, ...), one
    /// description each, sorted. Always empty for a derived catalog.
    pub unsupported: Vec<String>,
}

/// The declaration order of a derived catalog (see [`Catalog::declared`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Declared {
    /// Table names: models in schema order, then implicit many-to-many
    /// join tables in relation order.
    pub tables: Vec<String>,
    /// Enum names in schema order.
    pub enums: Vec<String>,
    /// `(table, constraint)` of every foreign key, in relation order (the
    /// join tables' last).
    pub foreign_keys: Vec<(String, String)>,
    /// Names the schema spells longer than the 63 bytes PostgreSQL keeps
    /// (the catalog has them cut; Prisma Migrate writes them whole), sorted.
    pub shortened: Vec<String>,
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
    /// Unique and non-unique indexes (not the primary key's index): sorted
    /// by name when introspected, in Prisma's order when derived (field
    /// `@unique`s, then `@@index`es, then `@@unique`s, each in schema
    /// order).
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
    /// The same type as a value.
    pub column_type: ColumnType,
    /// False when the column is `NOT NULL`.
    pub nullable: bool,
    /// The default exactly as `pg_get_expr(adbin, adrelid)` prints it, None
    /// when the column has no default.
    pub default: Option<String>,
    /// The sequence this column owns and draws its default from (what
    /// `SERIAL` creates), if any.
    pub serial: Option<String>,
    /// What the schema's `@default(...)` says, in Prisma's terms (derived
    /// catalogs only; None when introspected or without `@default`).
    pub prisma_default: Option<PrismaDefault>,
}

/// A column type: its base type and whether it is an array of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    /// The base (element) type.
    pub base: PgType,
    /// True for an array (`text[]`, a Prisma list).
    pub list: bool,
}

/// A PostgreSQL column type, as far as Prisma's mapping tells them apart.
/// A length or precision of None means the column has none (typmod -1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgType {
    SmallInt,
    Integer,
    BigInt,
    Oid,
    Real,
    DoublePrecision,
    /// `numeric(p,s)`, or plain `numeric`.
    Numeric(Option<(u32, u32)>),
    Money,
    Boolean,
    Text,
    VarChar(Option<u32>),
    /// `character(n)`; without a length it is `character(1)`.
    Char(Option<u32>),
    Citext,
    Uuid,
    Xml,
    Inet,
    /// `bit(n)`; without a length it is `bit(1)`.
    Bit(Option<u32>),
    VarBit(Option<u32>),
    Bytea,
    Date,
    Time(Option<u32>),
    Timetz(Option<u32>),
    Timestamp(Option<u32>),
    Timestamptz(Option<u32>),
    Json,
    Jsonb,
    /// An enum type of the same schema, by its database name.
    Enum(String),
    /// Anything else (`Unsupported("...")`, a domain, a type of another
    /// schema): the type as the schema spells it or `format_type` prints
    /// it.
    Unsupported(String),
}

/// A schema's `@default(...)`, as Prisma's schema engine understands it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrismaDefault {
    /// `autoincrement()`: a `SERIAL` column.
    Autoincrement,
    /// `now()`.
    Now,
    /// A constant.
    Value(PrismaValue),
    /// `dbgenerated("...")`, or `dbgenerated()` (None).
    DbGenerated(Option<String>),
    /// `uuid()`, `cuid()`, `nanoid()`, `ulid()`, ...: computed by Prisma
    /// Client, nothing in the database. The function's name.
    Client(String),
}

/// A constant default, the way Prisma's engine holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrismaValue {
    /// A `String` constant.
    String(String),
    /// An enum value, by its database name.
    Enum(String),
    /// An `Int` or `BigInt` constant.
    Int(i64),
    /// A `Float` or `Decimal` constant, in plain notation as Prisma writes
    /// it (`1.50`, `1000`).
    Decimal(String),
    /// A `Boolean` constant.
    Boolean(bool),
    /// A `Json` constant, as written in the schema.
    Json(String),
    /// A `Bytes` constant, decoded from its base64.
    Bytes(Vec<u8>),
    /// A `DateTime` constant as Prisma prints it (`2020-01-01 00:00:00
    /// +00:00`).
    DateTime(String),
    /// A list default.
    List(Vec<PrismaValue>),
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
    pub columns: Vec<IndexColumn>,
    /// True for a unique index.
    pub unique: bool,
    /// The access method (`USING ...`).
    pub method: IndexMethod,
}

impl Index {
    /// The names of the indexed columns, in key order.
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// Whether `other` indexes the same columns the same way (its name
    /// aside): an explicit `sort: Asc` is the default order.
    pub fn same_definition(&self, other: &Index) -> bool {
        self.unique == other.unique
            && self.method == other.method
            && self.columns.len() == other.columns.len()
            && self
                .columns
                .iter()
                .zip(&other.columns)
                .all(|(a, b)| a.name == b.name && a.descending() == b.descending())
    }
}

/// One column of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexColumn {
    /// The column's name.
    pub name: String,
    /// `ASC` / `DESC`. Introspection always knows it; a derived index has
    /// it only where the schema writes `sort:`.
    pub sort: Option<SortOrder>,
}

impl IndexColumn {
    /// True for a `DESC` column.
    pub fn descending(&self) -> bool {
        self.sort == Some(SortOrder::Desc)
    }
}

/// An index column's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortOrder {
    Asc,
    Desc,
}

/// An index access method, the ones Prisma supports on PostgreSQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexMethod {
    #[default]
    BTree,
    Hash,
    Gist,
    Gin,
    SpGist,
    Brin,
}

impl IndexMethod {
    /// The method as `pg_am.amname` spells it.
    pub fn amname(self) -> &'static str {
        match self {
            IndexMethod::BTree => "btree",
            IndexMethod::Hash => "hash",
            IndexMethod::Gist => "gist",
            IndexMethod::Gin => "gin",
            IndexMethod::SpGist => "spgist",
            IndexMethod::Brin => "brin",
        }
    }

    /// The method named `amname` (`pg_am.amname`), if Prisma knows it.
    pub fn from_amname(amname: &str) -> Option<IndexMethod> {
        Some(match amname {
            "btree" => IndexMethod::BTree,
            "hash" => IndexMethod::Hash,
            "gist" => IndexMethod::Gist,
            "gin" => IndexMethod::Gin,
            "spgist" => IndexMethod::SpGist,
            "brin" => IndexMethod::Brin,
            _ => return None,
        })
    }
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
