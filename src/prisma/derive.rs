//! The PostgreSQL catalog Prisma Migrate would create for a parsed
//! `schema.prisma`: what `prisma migrate dev` against an empty database
//! leaves behind, in the normalized form PostgreSQL's catalog shows (see
//! `super::model`), so that `prisma-check` can compare it with a live
//! database by plain equality.
//!
//! The mapping follows Prisma Migrate 7's PostgreSQL connector (its SQL
//! schema calculator and renderer) and was checked against the SQL it
//! generates (`tests/fixtures/prisma/`) and against what PostgreSQL 15
//! reports for that SQL. In short:
//!
//! - a `model` is a table (`@@map` renames it); a scalar field is a column
//!   (`@map` renames it); relation fields are not columns; `view` and `type`
//!   blocks create nothing;
//! - column types come from the field's scalar type or its `@db.*` native
//!   type; `?` and lists are nullable;
//! - defaults: `autoincrement()` is a `SERIAL` sequence, `now()` is
//!   `CURRENT_TIMESTAMP`, `dbgenerated("...")` is the expression as written
//!   (best effort: PostgreSQL may reformat it), constants are printed as
//!   `pg_get_expr` prints them, and `uuid()`, `cuid()`, `nanoid()`, `ulid()`
//!   and `@updatedAt` live in Prisma Client, not in the database;
//! - constraint and index names are Prisma's defaults (`{table}_pkey`,
//!   `{table}_{columns}_key`, `_idx`, `_fkey`, truncated to 63 bytes the way
//!   Prisma truncates them) unless `map:` names them;
//! - foreign keys sit on the side with `fields:`, with `onDelete` defaulting
//!   to `RESTRICT` (required relation) or `SET NULL` (optional) and
//!   `onUpdate` to `CASCADE`; none with `relationMode = "prisma"`;
//! - an implicit many-to-many relation is a join table `_{relation}` with
//!   columns `A` and `B`, primary key `_{relation}_AB_pkey`, index
//!   `_{relation}_B_index` and two cascading foreign keys.
//!
//! Refused rather than modelled (a [`DeriveError`]): `@@schema` (several
//! schemas), `@@fulltext`, index arguments such as `length:`, `ops:` or
//! `clustered:`. Words Prisma does not know at all are parse errors
//! (`super::vocabulary`); Prisma's own validation beyond that is not
//! repeated.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

use super::model::{
    Catalog, Column, ColumnType, Constraint, Declared, ForeignKey, Index, IndexColumn, IndexMethod,
    PrismaDefault, PrismaValue, SortOrder, Table,
};
use super::parse::{
    Arity, Attribute, BaseType, ConfigBlock, Enum, Expr, Field, Model, ModelKind, Schema,
};
use super::pg::{self, PgType, Value};

/// `@@schema`: Prisma's multi-schema support, which this derivation does
/// not model.
const MULTI_SCHEMA: &str = "@@schema (objects in several PostgreSQL schemas) is not supported: \
     every table and enum is created in the connection's schema";

/// Why a schema has no catalog: a type, field, value or relation that
/// Prisma would reject (or that this derivation cannot map). The message
/// names the model and field and the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeriveError {
    /// What is wrong, starting with where (`model User, field role (line
    /// 12): ...`).
    pub message: String,
}

impl fmt::Display for DeriveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeriveError {}

/// The catalog Prisma Migrate would create for `schema` on PostgreSQL.
pub fn derive(schema: &Schema) -> Result<Catalog, DeriveError> {
    let datasource = schema.datasource();
    if let Some(ds) = datasource {
        check_provider(ds)?;
    }
    let ctx = Context {
        schema,
        shortened: RefCell::new(Vec::new()),
        enums: schema.enums.iter().map(|e| (e.name.as_str(), e)).collect(),
        foreign_keys: !datasource.is_some_and(emulates_relations),
    };

    let mut catalog = Catalog::default();
    let mut declared = Declared::default();
    for e in &schema.enums {
        if e.attribute("schema").is_some() {
            return Err(DeriveError {
                message: format!("enum {} (line {}): {MULTI_SCHEMA}", e.name, e.position.line),
            });
        }
        let name = ctx.db_name(mapped_name(e.attribute("map"), &e.name, || {
            format!("enum {} (line {})", e.name, e.position.line)
        })?);
        let labels = e
            .values
            .iter()
            .map(|v| {
                mapped_name(v.attribute("map"), &v.name, || {
                    format!(
                        "enum {}, value {} (line {})",
                        e.name, v.name, v.position.line
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if catalog.enums.insert(name.clone(), labels).is_some() {
            return Err(DeriveError {
                message: format!(
                    "enum {} (line {}): another enum is also named `{name}` in the database",
                    e.name, e.position.line
                ),
            });
        }
        declared.enums.push(name);
    }

    // Tables first (foreign keys and join tables need every table's
    // columns), keyed by model name.
    let mut tables: BTreeMap<&str, Table> = BTreeMap::new();
    for model in schema.models.iter().filter(|m| m.kind == ModelKind::Model) {
        let table = ctx.table(model)?;
        declared.tables.push(table.name.clone());
        if tables.insert(model.name.as_str(), table).is_some() {
            return Err(ctx.model_error(model, "another model has the same name"));
        }
    }

    // Relations in the order Prisma infers them: models and their fields
    // in schema order, a relation counted at its side with `fields:` (an
    // implicit many-to-many one at the side whose model sorts first).
    let mut extra_tables = Vec::new();
    let mut join_foreign_keys = Vec::new();
    for model in schema.models.iter().filter(|m| m.kind == ModelKind::Model) {
        for field in &model.fields {
            let Some(target) = ctx.related_model(field) else {
                continue;
            };
            if target.kind != ModelKind::Model {
                continue; // relations to views create nothing
            }
            let relation = field.attribute("relation");
            if relation.and_then(|r| r.named("fields")).is_some() {
                if ctx.foreign_keys {
                    let fk = ctx.foreign_key(model, field, target, &tables)?;
                    if let Some(table) = tables.get_mut(model.name.as_str()) {
                        declared
                            .foreign_keys
                            .push((table.name.clone(), fk.name.clone()));
                        table.foreign_keys.push(fk);
                    }
                }
            } else if field.field_type.arity == Arity::List
                && let Some(join) = ctx.join_table(model, field, target, &tables)?
            {
                declared.tables.push(join.name.clone());
                join_foreign_keys.extend(
                    join.foreign_keys
                        .iter()
                        .map(|fk| (join.name.clone(), fk.name.clone())),
                );
                extra_tables.push(join);
            }
        }
    }
    declared.foreign_keys.extend(join_foreign_keys);
    declared.shortened = ctx.shortened.take();
    declared.shortened.sort();
    declared.shortened.dedup();

    for table in tables.into_values().chain(extra_tables) {
        let mut table = table;
        table.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
        let name = table.name.clone();
        let model = table.model.clone();
        if catalog.tables.insert(name.clone(), table).is_some() {
            return Err(DeriveError {
                message: format!(
                    "{}: another model or relation table is also named `{name}` in the database",
                    model.map_or_else(|| format!("table {name}"), |m| format!("model {m}"))
                ),
            });
        }
    }
    catalog.declared = Some(declared);
    Ok(catalog)
}

fn check_provider(ds: &ConfigBlock) -> Result<(), DeriveError> {
    match ds.property("provider").and_then(Expr::as_str) {
        None | Some("postgresql" | "postgres") => Ok(()),
        Some(other) => Err(DeriveError {
            message: format!(
                "datasource {} (line {}): provider `{other}` is not PostgreSQL",
                ds.name, ds.position.line
            ),
        }),
    }
}

/// `relationMode = "prisma"` (formerly `referentialIntegrity`): relations
/// are emulated and no foreign keys are created.
fn emulates_relations(ds: &ConfigBlock) -> bool {
    ["relationMode", "referentialIntegrity"]
        .iter()
        .any(|key| ds.property(key).and_then(Expr::as_str) == Some("prisma"))
}

/// The database name given by `@map("x")` / `@@map("x")` (or its `name:`
/// form), else `default`.
fn mapped_name(
    attribute: Option<&Attribute>,
    default: &str,
    place: impl Fn() -> String,
) -> Result<String, DeriveError> {
    let Some(attribute) = attribute else {
        return Ok(default.to_string());
    };
    match attribute.main_argument("name").and_then(Expr::as_str) {
        Some(name) if !name.is_empty() => Ok(name.to_string()),
        _ => Err(DeriveError {
            message: format!("{}: @map needs a non-empty string", place()),
        }),
    }
}

/// Prisma's built-in scalar types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scalar {
    String,
    Boolean,
    Int,
    BigInt,
    Float,
    Decimal,
    DateTime,
    Json,
    Bytes,
}

impl Scalar {
    fn from_name(name: &str) -> Option<Scalar> {
        Some(match name {
            "String" => Scalar::String,
            "Boolean" => Scalar::Boolean,
            "Int" => Scalar::Int,
            "BigInt" => Scalar::BigInt,
            "Float" => Scalar::Float,
            "Decimal" => Scalar::Decimal,
            "DateTime" => Scalar::DateTime,
            "Json" => Scalar::Json,
            "Bytes" => Scalar::Bytes,
            _ => return None,
        })
    }

    /// The column type without a native type attribute.
    fn default_type(self) -> PgType {
        match self {
            Scalar::String => PgType::Text,
            Scalar::Boolean => PgType::Boolean,
            Scalar::Int => PgType::Integer,
            Scalar::BigInt => PgType::BigInt,
            Scalar::Float => PgType::DoublePrecision,
            Scalar::Decimal => PgType::Numeric(Some((65, 30))),
            Scalar::DateTime => PgType::Timestamp(Some(3)),
            Scalar::Json => PgType::Jsonb,
            Scalar::Bytes => PgType::Bytea,
        }
    }
}

/// What a scalar field's type resolved to.
#[derive(Debug, Clone, Copy)]
enum FieldKind<'a> {
    Scalar(Scalar),
    Enum(&'a Enum),
    Unsupported(&'a str),
}

struct Context<'a> {
    schema: &'a Schema,
    /// Names longer than PostgreSQL keeps (see [`Declared::shortened`]).
    shortened: RefCell<Vec<String>>,
    enums: HashMap<&'a str, &'a Enum>,
    /// False under `relationMode = "prisma"`.
    foreign_keys: bool,
}

impl<'a> Context<'a> {
    fn model_error(&self, model: &Model, message: &str) -> DeriveError {
        DeriveError {
            message: format!(
                "model {} (line {}): {message}",
                model.name, model.position.line
            ),
        }
    }

    fn field_error(&self, model: &Model, field: &Field, message: &str) -> DeriveError {
        DeriveError {
            message: format!(
                "model {}, field {} (line {}): {message}",
                model.name, field.name, field.position.line
            ),
        }
    }

    /// A name as PostgreSQL keeps it: cut to 63 bytes, and recorded when
    /// it had to be cut (Prisma would write the long one).
    fn db_name(&self, name: String) -> String {
        let kept = pg::identifier(&name);
        if kept != name {
            self.shortened.borrow_mut().push(name);
        }
        kept
    }

    fn table_name(&self, model: &Model) -> Result<String, DeriveError> {
        mapped_name(model.attribute("map"), &model.name, || {
            format!("model {} (line {})", model.name, model.position.line)
        })
        .map(|n| self.db_name(n))
    }

    fn column_name(&self, model: &Model, field: &Field) -> Result<String, DeriveError> {
        mapped_name(field.attribute("map"), &field.name, || {
            format!(
                "model {}, field {} (line {})",
                model.name, field.name, field.position.line
            )
        })
        .map(|n| self.db_name(n))
    }

    /// The model (or view) a relation field points to; None for scalars.
    fn related_model(&self, field: &Field) -> Option<&'a Model> {
        match &field.field_type.base {
            BaseType::Named(name) => self
                .schema
                .models
                .iter()
                .find(|m| m.name == *name && m.kind != ModelKind::Type),
            BaseType::Unsupported(_) => None,
        }
    }

    /// The field's scalar kind; None for relation fields.
    fn field_kind(
        &self,
        model: &Model,
        field: &'a Field,
    ) -> Result<Option<FieldKind<'a>>, DeriveError> {
        let name = match &field.field_type.base {
            BaseType::Unsupported(spelling) => return Ok(Some(FieldKind::Unsupported(spelling))),
            BaseType::Named(name) => name.as_str(),
        };
        if let Some(scalar) = Scalar::from_name(name) {
            return Ok(Some(FieldKind::Scalar(scalar)));
        }
        if let Some(e) = self.enums.get(name) {
            return Ok(Some(FieldKind::Enum(e)));
        }
        match self.schema.model(name) {
            Some(m) if m.kind == ModelKind::Type => Err(self.field_error(
                model,
                field,
                &format!("composite type `{name}` is only supported on MongoDB"),
            )),
            Some(_) => Ok(None),
            None => Err(self.field_error(model, field, &format!("unknown type `{name}`"))),
        }
    }

    fn table(&self, model: &'a Model) -> Result<Table, DeriveError> {
        let name = self.table_name(model)?;
        let mut table = Table {
            name: name.clone(),
            model: Some(model.name.clone()),
            ..Table::default()
        };
        // Prisma's order: field-level `@unique`s, then `@@index`es, then
        // `@@unique`s, each in schema order.
        let mut uniques = Vec::new();
        for field in &model.fields {
            let Some(kind) = self.field_kind(model, field)? else {
                continue;
            };
            let column_name = self.column_name(model, field)?;
            let ty = self.column_type(model, field, kind)?;
            let list = field.field_type.arity == Arity::List;
            let (default, prisma_default) =
                self.default(model, field, kind, &ty, &name, &column_name)?;
            let serial = (prisma_default == Some(PrismaDefault::Autoincrement)
                && default.is_some())
            .then(|| pg::serial_sequence_name(&name, &column_name));
            let mut data_type = ty.format();
            if list {
                data_type.push_str("[]");
            }
            table.columns.push(Column {
                name: column_name.clone(),
                field: Some(field.name.clone()),
                data_type,
                column_type: ColumnType { base: ty, list },
                nullable: field.field_type.arity != Arity::Required,
                default,
                serial,
                prisma_default,
            });

            if let Some(id) = field.attribute("id") {
                if table.primary_key.is_some() {
                    return Err(self.field_error(model, field, "a second @id"));
                }
                self.check_index_arguments(model, id, &["map"])?;
                table.primary_key = Some(Constraint {
                    name: self.constraint_name(model, id, || primary_key_name(&name))?,
                    columns: vec![column_name.clone()],
                });
            }
            if let Some(unique) = field.attribute("unique") {
                self.check_index_arguments(model, unique, &["map", "sort"])?;
                let sort = self.sort_order(model, unique.named("sort"))?;
                let columns = vec![column_name.clone()];
                table.indexes.push(Index {
                    name: self
                        .constraint_name(model, unique, || index_name(&name, &columns, "_key"))?,
                    columns: vec![IndexColumn {
                        name: column_name.clone(),
                        sort,
                    }],
                    unique: true,
                    method: IndexMethod::BTree,
                });
            }
        }

        for attribute in &model.attributes {
            match attribute.name.as_str() {
                "id" => {
                    if table.primary_key.is_some() {
                        return Err(self.model_error(model, "@@id on a model that has an @id"));
                    }
                    self.check_index_arguments(model, attribute, &["fields", "map", "name"])?;
                    let columns = self.index_columns(model, attribute)?;
                    if columns.iter().any(|c| c.sort.is_some()) {
                        return Err(self.model_error(
                            model,
                            "@@id: `sort:` on a primary key is not supported on PostgreSQL",
                        ));
                    }
                    table.primary_key = Some(Constraint {
                        name: self.constraint_name(model, attribute, || primary_key_name(&name))?,
                        columns: columns.into_iter().map(|c| c.name).collect(),
                    });
                }
                "unique" | "index" => {
                    let unique = attribute.name == "unique";
                    let allowed: &[&str] = if unique {
                        &["fields", "map", "name"]
                    } else {
                        &["fields", "map", "name", "type"]
                    };
                    self.check_index_arguments(model, attribute, allowed)?;
                    let columns = self.index_columns(model, attribute)?;
                    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
                    let suffix = if unique { "_key" } else { "_idx" };
                    let index = Index {
                        name: self.constraint_name(model, attribute, || {
                            index_name(&name, &names, suffix)
                        })?,
                        columns,
                        unique,
                        method: self.index_method(model, attribute)?,
                    };
                    if unique {
                        uniques.push(index);
                    } else {
                        table.indexes.push(index);
                    }
                }
                "fulltext" => {
                    return Err(
                        self.model_error(model, "@@fulltext is not supported on PostgreSQL")
                    );
                }
                "schema" => return Err(self.model_error(model, MULTI_SCHEMA)),
                // `@@map` named the table; `@@ignore` hides the model from
                // Prisma Client only. Unknown names never get here
                // (`super::vocabulary`).
                _ => {}
            }
        }
        // Field-level `@unique`s were pushed first; `@@index`es follow them.
        let field_uniques = table.indexes.iter().take_while(|i| i.unique).count();
        let mut ordered: Vec<Index> = table.indexes.drain(..field_uniques).collect();
        ordered.append(&mut table.indexes);
        ordered.append(&mut uniques);
        table.indexes = ordered;
        Ok(table)
    }

    /// Refuses index arguments this derivation does not model (`length:`,
    /// `ops:`, `where:`, `clustered:`, ...): they change the index Prisma
    /// creates.
    fn check_index_arguments(
        &self,
        model: &Model,
        attribute: &Attribute,
        allowed: &[&str],
    ) -> Result<(), DeriveError> {
        for argument in &attribute.arguments {
            if let Some(name) = &argument.name
                && !allowed.contains(&name.as_str())
            {
                return Err(self.model_error(
                    model,
                    &format!("@{}: `{name}:` is not supported", attribute.name),
                ));
            }
        }
        Ok(())
    }

    /// The `type:` of an `@@index` (`BTree` when absent).
    fn index_method(
        &self,
        model: &Model,
        attribute: &Attribute,
    ) -> Result<IndexMethod, DeriveError> {
        let Some(value) = attribute.named("type") else {
            return Ok(IndexMethod::BTree);
        };
        Ok(match value.as_constant() {
            Some("BTree") => IndexMethod::BTree,
            Some("Hash") => IndexMethod::Hash,
            Some("Gist") => IndexMethod::Gist,
            Some("Gin") => IndexMethod::Gin,
            Some("SpGist") => IndexMethod::SpGist,
            Some("Brin") => IndexMethod::Brin,
            _ => {
                return Err(self.model_error(
                    model,
                    &format!(
                        "@@{}: `{}` is not an index type",
                        attribute.name,
                        show(value)
                    ),
                ));
            }
        })
    }

    /// A `sort: Asc|Desc` argument.
    fn sort_order(
        &self,
        model: &Model,
        value: Option<&Expr>,
    ) -> Result<Option<SortOrder>, DeriveError> {
        match value.map(|v| (v, v.as_constant())) {
            None => Ok(None),
            Some((_, Some("Asc"))) => Ok(Some(SortOrder::Asc)),
            Some((_, Some("Desc"))) => Ok(Some(SortOrder::Desc)),
            Some((v, _)) => {
                Err(self.model_error(model, &format!("`{}` is not a sort order", show(v))))
            }
        }
    }

    /// `map: "name"` on an `@id` / `@unique` / `@@id` / `@@unique` /
    /// `@@index` / `@relation`, else Prisma's default name.
    fn constraint_name(
        &self,
        model: &Model,
        attribute: &Attribute,
        default: impl FnOnce() -> String,
    ) -> Result<String, DeriveError> {
        match attribute.named("map") {
            None => Ok(default()),
            Some(Expr::String(name)) if !name.is_empty() => Ok(self.db_name(name.clone())),
            Some(_) => Err(self.model_error(
                model,
                &format!("`map:` of @{} needs a non-empty string", attribute.name),
            )),
        }
    }

    /// The columns of a `[a, b(sort: Desc)]` list in an `@@id`,
    /// `@@unique` or `@@index`.
    fn index_columns(
        &self,
        model: &Model,
        attribute: &Attribute,
    ) -> Result<Vec<IndexColumn>, DeriveError> {
        let what = format!("@@{}", attribute.name);
        let Some(Expr::Array(items)) = attribute.main_argument("fields") else {
            return Err(self.model_error(model, &format!("{what} needs a list of fields")));
        };
        if items.is_empty() {
            return Err(self.model_error(model, &format!("{what} needs at least one field")));
        }
        items
            .iter()
            .map(|item| {
                let (field_name, sort) = match item {
                    Expr::Constant(name) => (name.as_str(), None),
                    Expr::Function { name, arguments } => {
                        let mut sort = None;
                        for argument in arguments {
                            match argument.name.as_deref() {
                                Some("sort") => {
                                    sort = self.sort_order(model, Some(&argument.value))?;
                                }
                                other => {
                                    return Err(self.model_error(
                                        model,
                                        &format!(
                                            "{what}: `{}` on field `{name}` is not supported",
                                            other.map_or_else(
                                                || show(&argument.value),
                                                |n| format!("{n}:")
                                            )
                                        ),
                                    ));
                                }
                            }
                        }
                        (name.as_str(), sort)
                    }
                    _ => {
                        return Err(
                            self.model_error(model, &format!("{what}: expected field names"))
                        );
                    }
                };
                let name = self
                    .scalar_column(model, field_name)
                    .map_err(|m| self.model_error(model, &format!("{what}: {m}")))?;
                Ok(IndexColumn { name, sort })
            })
            .collect()
    }

    /// The column of scalar field `field_name` of `model`.
    fn scalar_column(&self, model: &Model, field_name: &str) -> Result<String, String> {
        let field = model
            .field(field_name)
            .ok_or_else(|| format!("no field `{field_name}` in model {}", model.name))?;
        match self.field_kind(model, field) {
            Ok(Some(_)) => self.column_name(model, field).map_err(|e| e.message),
            Ok(None) => Err(format!("`{field_name}` is a relation field, not a scalar")),
            Err(e) => Err(e.message),
        }
    }

    fn column_type(
        &self,
        model: &Model,
        field: &Field,
        kind: FieldKind<'_>,
    ) -> Result<PgType, DeriveError> {
        let native = field.attributes.iter().find(|a| a.name.starts_with("db."));
        let scalar = match kind {
            FieldKind::Enum(e) => {
                if native.is_some() {
                    return Err(self.field_error(model, field, "an enum field takes no @db type"));
                }
                let name = mapped_name(e.attribute("map"), &e.name, || e.name.clone())?;
                return Ok(PgType::Enum(pg::identifier(&name)));
            }
            FieldKind::Unsupported(spelling) => {
                return Ok(PgType::Unsupported(spelling.to_string()));
            }
            FieldKind::Scalar(scalar) => scalar,
        };
        let Some(native) = native else {
            return Ok(scalar.default_type());
        };
        let native_name = native.name.trim_start_matches("db.");
        let args = native
            .arguments
            .iter()
            .map(|a| match &a.value {
                Expr::Number(n) if a.name.is_none() => n.parse::<u32>().ok(),
                _ => None,
            })
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| {
                self.field_error(
                    model,
                    field,
                    &format!("@{}: arguments must be whole numbers", native.name),
                )
            })?;
        native_type(scalar, native_name, &args).map_err(|message| {
            self.field_error(model, field, &format!("@{}: {message}", native.name))
        })
    }

    /// `pg_get_expr` of the column default (None without one), and what
    /// the `@default` says in Prisma's terms.
    fn default(
        &self,
        model: &Model,
        field: &Field,
        kind: FieldKind<'_>,
        ty: &PgType,
        table: &str,
        column: &str,
    ) -> Result<(Option<String>, Option<PrismaDefault>), DeriveError> {
        let Some(attribute) = field.attribute("default") else {
            return Ok((None, None));
        };
        let error = |message: &str| self.field_error(model, field, &format!("@default: {message}"));
        let Some(value) = attribute.main_argument("value") else {
            return Err(error("needs a value"));
        };
        if attribute.named("map").is_some() {
            return Err(error("`map:` is not supported on PostgreSQL"));
        }
        let list = field.field_type.arity == Arity::List;
        match value {
            Expr::Function { name, arguments } => match name.as_str() {
                "autoincrement" => Ok((
                    match ty {
                        PgType::SmallInt | PgType::Integer | PgType::BigInt if !list => {
                            let sequence =
                                pg::as_printed_ident(&pg::serial_sequence_name(table, column));
                            Some(format!(
                                "nextval({}::regclass)",
                                crate::sql::quote_literal(&sequence)
                            ))
                        }
                        _ => None,
                    },
                    Some(PrismaDefault::Autoincrement),
                )),
                "now" => Ok((
                    Some("CURRENT_TIMESTAMP".to_string()),
                    Some(PrismaDefault::Now),
                )),
                "dbgenerated" => match arguments.first().map(|a| &a.value) {
                    // Best effort: PostgreSQL prints the expression its own
                    // way (casts, spacing), which may differ.
                    Some(Expr::String(sql)) => Ok((
                        Some(sql.clone()),
                        Some(PrismaDefault::DbGenerated(Some(sql.clone()))),
                    )),
                    // `dbgenerated()`: a default Prisma does not know.
                    None => Ok((None, Some(PrismaDefault::DbGenerated(None)))),
                    Some(_) => Err(error("dbgenerated() takes a string")),
                },
                // Generated by Prisma Client, not by the database.
                "uuid" | "cuid" | "nanoid" | "ulid" | "auto" | "sequence" => {
                    Ok((None, Some(PrismaDefault::Client(name.clone()))))
                }
                other => Err(error(&format!("unknown function `{other}()`"))),
            },
            Expr::Array(items) => {
                if !list {
                    return Err(error("a list default on a field that is not a list"));
                }
                let values = items
                    .iter()
                    .map(|item| self.constant(kind, ty, item))
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(|m| error(&m))?;
                let prisma = items
                    .iter()
                    .map(|item| self.prisma_value(kind, item))
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(|m| error(&m))?;
                let text =
                    pg::list_default(&values, ty).ok_or_else(|| error("not a valid value"))?;
                Ok((
                    Some(text),
                    Some(PrismaDefault::Value(PrismaValue::List(prisma))),
                ))
            }
            constant => {
                if list {
                    return Err(error("a list field needs a list default (`[...]`)"));
                }
                let value = self.constant(kind, ty, constant).map_err(|m| error(&m))?;
                let prisma = self.prisma_value(kind, constant).map_err(|m| error(&m))?;
                let text =
                    pg::scalar_default(&value, ty).ok_or_else(|| error("not a valid value"))?;
                Ok((Some(text), Some(PrismaDefault::Value(prisma))))
            }
        }
    }

    /// A constant default as Prisma's schema engine holds it (the value as
    /// written, before PostgreSQL normalizes it).
    fn prisma_value(&self, kind: FieldKind<'_>, value: &Expr) -> Result<PrismaValue, String> {
        let mismatch = || format!("`{}` is not a valid default for this field", show(value));
        match (kind, value) {
            (FieldKind::Enum(e), Expr::Constant(name)) => {
                let v = e
                    .values
                    .iter()
                    .find(|v| v.name == *name)
                    .ok_or_else(|| format!("enum {} has no value `{name}`", e.name))?;
                let label = mapped_name(v.attribute("map"), &v.name, || e.name.clone())
                    .map_err(|err| err.message)?;
                Ok(PrismaValue::Enum(label))
            }
            (FieldKind::Scalar(Scalar::Boolean), Expr::Boolean(b)) => Ok(PrismaValue::Boolean(*b)),
            (FieldKind::Scalar(Scalar::Int | Scalar::BigInt), Expr::Number(n)) => n
                .parse::<i64>()
                .map(PrismaValue::Int)
                .map_err(|_| mismatch()),
            (FieldKind::Scalar(Scalar::Float | Scalar::Decimal), Expr::Number(n))
            | (FieldKind::Scalar(Scalar::Decimal), Expr::String(n)) => {
                pg::prisma_decimal_literal(n)
                    .map(PrismaValue::Decimal)
                    .ok_or_else(mismatch)
            }
            (FieldKind::Scalar(Scalar::String), Expr::String(s)) => {
                Ok(PrismaValue::String(s.clone()))
            }
            (FieldKind::Scalar(Scalar::DateTime), Expr::String(s)) => pg::prisma_datetime(s)
                .map(PrismaValue::DateTime)
                .ok_or_else(|| format!("`{s}` is not an RFC 3339 date-time")),
            (FieldKind::Scalar(Scalar::Json), Expr::String(s)) => Ok(PrismaValue::Json(s.clone())),
            (FieldKind::Scalar(Scalar::Bytes), Expr::String(s)) => pg::decode_base64(s)
                .map(PrismaValue::Bytes)
                .ok_or_else(|| format!("`{s}` is not base64")),
            _ => Err(mismatch()),
        }
    }

    /// A constant default as the value PostgreSQL stores.
    fn constant(&self, kind: FieldKind<'_>, ty: &PgType, value: &Expr) -> Result<Value, String> {
        let mismatch = || format!("`{}` is not a valid default for this field", show(value));
        match (kind, value) {
            (FieldKind::Enum(e), Expr::Constant(name)) => {
                let v = e
                    .values
                    .iter()
                    .find(|v| v.name == *name)
                    .ok_or_else(|| format!("enum {} has no value `{name}`", e.name))?;
                let label = mapped_name(v.attribute("map"), &v.name, || e.name.clone())
                    .map_err(|err| err.message)?;
                Ok(Value::Text(label))
            }
            (FieldKind::Scalar(Scalar::Boolean), Expr::Boolean(b)) => Ok(Value::Boolean(*b)),
            (FieldKind::Scalar(Scalar::Int | Scalar::BigInt), Expr::Number(n)) => n
                .parse::<i64>()
                .map(|v| Value::Number(v.to_string()))
                .map_err(|_| mismatch()),
            (FieldKind::Scalar(Scalar::Float | Scalar::Decimal), Expr::Number(n))
            | (FieldKind::Scalar(Scalar::Decimal), Expr::String(n)) => {
                pg::prisma_decimal_literal(n)
                    .map(Value::Number)
                    .ok_or_else(mismatch)
            }
            (FieldKind::Scalar(Scalar::String), Expr::String(s)) => Ok(Value::Text(match ty {
                PgType::Uuid => pg::uuid_text(s),
                PgType::Inet => pg::inet_text(s),
                _ => s.clone(),
            })),
            (FieldKind::Scalar(Scalar::DateTime), Expr::String(s)) => pg::datetime_text(s, ty)
                .map(Value::Text)
                .ok_or_else(|| format!("`{s}` is not an RFC 3339 date-time")),
            (FieldKind::Scalar(Scalar::Json), Expr::String(s)) => match ty {
                PgType::Jsonb => pg::jsonb_text(s)
                    .map(Value::Text)
                    .ok_or_else(|| format!("`{s}` is not JSON")),
                _ => Ok(Value::Text(s.clone())),
            },
            (FieldKind::Scalar(Scalar::Bytes), Expr::String(s)) => pg::bytea_text(s)
                .map(Value::Text)
                .ok_or_else(|| format!("`{s}` is not base64")),
            _ => Err(mismatch()),
        }
    }

    /// The foreign key of a relation field with `fields:` / `references:`.
    fn foreign_key(
        &self,
        model: &Model,
        field: &Field,
        target: &Model,
        tables: &BTreeMap<&str, Table>,
    ) -> Result<ForeignKey, DeriveError> {
        let error =
            |message: &str| self.field_error(model, field, &format!("@relation: {message}"));
        let Some(relation) = field.attribute("relation") else {
            return Err(error("missing"));
        };
        let field_names = |argument: &str| -> Result<Vec<&str>, DeriveError> {
            match relation.named(argument) {
                Some(Expr::Array(items)) if !items.is_empty() => items
                    .iter()
                    .map(|i| {
                        i.as_constant()
                            .ok_or_else(|| error(&format!("`{argument}:` must list field names")))
                    })
                    .collect(),
                _ => Err(error(&format!("`{argument}:` must list field names"))),
            }
        };
        let fields = field_names("fields")?;
        let references = field_names("references")?;
        if fields.len() != references.len() {
            return Err(error("`fields:` and `references:` differ in length"));
        }
        let columns = fields
            .iter()
            .map(|f| self.scalar_column(model, f).map_err(|m| error(&m)))
            .collect::<Result<Vec<_>, _>>()?;
        let referenced_columns = references
            .iter()
            .map(|f| self.scalar_column(target, f).map_err(|m| error(&m)))
            .collect::<Result<Vec<_>, _>>()?;
        let table = tables
            .get(model.name.as_str())
            .map(|t| t.name.clone())
            .ok_or_else(|| error("no table"))?;
        let referenced_table = tables
            .get(target.name.as_str())
            .map(|t| t.name.clone())
            .ok_or_else(|| error("no table for the related model"))?;

        // Prisma's "referential arity": required if any referencing field
        // is, else the relation field's own arity.
        let any_required = fields.iter().any(|f| {
            model
                .field(f)
                .is_some_and(|f| f.field_type.arity == Arity::Required)
        });
        let default_on_delete = if any_required || field.field_type.arity == Arity::Required {
            "RESTRICT"
        } else {
            "SET NULL"
        };
        let action = |argument: &str, default: &str| -> Result<String, DeriveError> {
            match relation.named(argument) {
                None => Ok(default.to_string()),
                Some(value) => referential_action(value)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        error(&format!("`{}` is not a referential action", show(value)))
                    }),
            }
        };
        Ok(ForeignKey {
            name: self.constraint_name(model, relation, || foreign_key_name(&table, &columns))?,
            columns,
            referenced_table,
            referenced_columns,
            on_delete: action("onDelete", default_on_delete)?,
            on_update: action("onUpdate", "CASCADE")?,
        })
    }

    /// The join table of an implicit many-to-many relation, built once: from
    /// the side whose model name (for a self-relation, field name) sorts
    /// first. None when `field` is not such a relation or is the other side.
    fn join_table(
        &self,
        model: &Model,
        field: &Field,
        target: &Model,
        tables: &BTreeMap<&str, Table>,
    ) -> Result<Option<Table>, DeriveError> {
        let name_of_relation = relation_name(field);
        let self_relation = model.name == target.name;
        let opposite = target.fields.iter().find(|f| {
            self.related_model(f).is_some_and(|m| m.name == model.name)
                && (!self_relation || f.name != field.name)
                && relation_name(f) == name_of_relation
        });
        let Some(opposite) = opposite else {
            return Ok(None);
        };
        if opposite.field_type.arity != Arity::List
            || opposite
                .attribute("relation")
                .and_then(|r| r.named("fields"))
                .is_some()
        {
            return Ok(None);
        }
        if model.name > target.name || (self_relation && field.name > opposite.name) {
            return Ok(None);
        }
        let name = match name_of_relation {
            Some(explicit) => format!("_{explicit}"),
            None => format!("_{}To{}", model.name, target.name),
        };
        let name: String = name.chars().take(pg::MAX_IDENTIFIER_BYTES).collect();
        let name = pg::identifier(&name);

        let id_column = |m: &Model| -> Result<(String, String, Column), DeriveError> {
            let table = tables
                .get(m.name.as_str())
                .ok_or_else(|| self.field_error(model, field, "no table for the related model"))?;
            let column = table
                .primary_key
                .as_ref()
                .and_then(|pk| pk.columns.first())
                .and_then(|c| table.columns.iter().find(|col| col.name == *c))
                .ok_or_else(|| {
                    self.field_error(
                        model,
                        field,
                        &format!("model {} needs an @id for a many-to-many relation", m.name),
                    )
                })?;
            Ok((table.name.clone(), column.name.clone(), column.clone()))
        };
        let (table_a, id_a, type_a) = id_column(model)?;
        let (table_b, id_b, type_b) = id_column(target)?;

        // The key column's type, without its default or sequence.
        let column = |name: &str, key: Column| Column {
            name: name.to_string(),
            field: None,
            data_type: key.data_type,
            column_type: key.column_type,
            nullable: false,
            default: None,
            serial: None,
            prisma_default: None,
        };
        let prefix = |suffix: &str| -> String {
            let keep = pg::MAX_IDENTIFIER_BYTES - suffix.len();
            format!("{}{suffix}", pg::truncate_bytes(&name, keep))
        };
        let mut foreign_keys = Vec::new();
        if self.foreign_keys {
            for (column_name, table, id) in [("A", table_a, id_a), ("B", table_b, id_b)] {
                foreign_keys.push(ForeignKey {
                    name: prefix(&format!("_{column_name}_fkey")),
                    columns: vec![column_name.to_string()],
                    referenced_table: table,
                    referenced_columns: vec![id],
                    on_delete: "CASCADE".to_string(),
                    on_update: "CASCADE".to_string(),
                });
            }
        }
        Ok(Some(Table {
            name: name.clone(),
            model: None,
            columns: vec![column("A", type_a), column("B", type_b)],
            primary_key: Some(Constraint {
                name: prefix("_AB_pkey"),
                columns: vec!["A".to_string(), "B".to_string()],
            }),
            indexes: vec![Index {
                name: prefix("_B_index"),
                columns: vec![IndexColumn {
                    name: "B".to_string(),
                    sort: None,
                }],
                unique: false,
                method: IndexMethod::BTree,
            }],
            foreign_keys,
        }))
    }
}

/// The relation's explicit name: `@relation("name")` or
/// `@relation(name: "name")`.
fn relation_name(field: &Field) -> Option<&str> {
    field
        .attribute("relation")
        .and_then(|r| r.main_argument("name"))
        .and_then(Expr::as_str)
}

fn referential_action(value: &Expr) -> Option<&'static str> {
    Some(match value.as_constant()? {
        "Cascade" => "CASCADE",
        "Restrict" => "RESTRICT",
        "NoAction" => "NO ACTION",
        "SetNull" => "SET NULL",
        "SetDefault" => "SET DEFAULT",
        _ => return None,
    })
}

/// A short rendering of a value, for messages.
fn show(value: &Expr) -> String {
    match value {
        Expr::String(s) => format!("{s:?}"),
        Expr::Number(n) => n.clone(),
        Expr::Boolean(b) => b.to_string(),
        Expr::Constant(c) => c.clone(),
        Expr::Function { name, .. } => format!("{name}(...)"),
        Expr::Array(_) => "[...]".to_string(),
    }
}

/// The column type of native type `@db.<name>(args)` on a field of type
/// `scalar`.
fn native_type(scalar: Scalar, name: &str, args: &[u32]) -> Result<PgType, String> {
    use Scalar as S;
    let allowed: &[Scalar] = match name {
        "Text" | "VarChar" | "Char" | "Citext" | "Uuid" | "Xml" | "Inet" | "VarBit" => &[S::String],
        "Bit" => &[S::String, S::Boolean],
        "SmallInt" | "Integer" | "Oid" => &[S::Int],
        "BigInt" => &[S::BigInt],
        "Real" | "DoublePrecision" => &[S::Float],
        "Decimal" => &[S::Decimal, S::Float],
        "Money" => &[S::Decimal],
        "Boolean" => &[S::Boolean],
        "Date" | "Time" | "Timetz" | "Timestamp" | "Timestamptz" => &[S::DateTime],
        "Json" | "JsonB" => &[S::Json],
        "ByteA" => &[S::Bytes],
        _ => return Err("unknown PostgreSQL native type".to_string()),
    };
    if !allowed.contains(&scalar) {
        return Err(format!("not valid on a {scalar:?} field"));
    }
    let optional = |max_args: usize| -> Result<Option<u32>, String> {
        match args {
            [] => Ok(None),
            [n] if max_args >= 1 => Ok(Some(*n)),
            _ => Err(format!("takes at most {max_args} argument(s)")),
        }
    };
    let none = || -> Result<(), String> {
        if args.is_empty() {
            Ok(())
        } else {
            Err("takes no arguments".to_string())
        }
    };
    Ok(match name {
        "Text" => none().map(|()| PgType::Text)?,
        "VarChar" => PgType::VarChar(optional(1)?),
        "Char" => PgType::Char(optional(1)?),
        "Citext" => none().map(|()| PgType::Citext)?,
        "Uuid" => none().map(|()| PgType::Uuid)?,
        "Xml" => none().map(|()| PgType::Xml)?,
        "Inet" => none().map(|()| PgType::Inet)?,
        "Bit" => PgType::Bit(optional(1)?),
        "VarBit" => PgType::VarBit(optional(1)?),
        "SmallInt" => none().map(|()| PgType::SmallInt)?,
        "Integer" => none().map(|()| PgType::Integer)?,
        "Oid" => none().map(|()| PgType::Oid)?,
        "BigInt" => none().map(|()| PgType::BigInt)?,
        "Real" => none().map(|()| PgType::Real)?,
        "DoublePrecision" => none().map(|()| PgType::DoublePrecision)?,
        "Decimal" => match args {
            [] => PgType::Numeric(None),
            [p] => PgType::Numeric(Some((*p, 0))),
            [p, s] => PgType::Numeric(Some((*p, *s))),
            _ => return Err("takes at most 2 arguments".to_string()),
        },
        "Money" => none().map(|()| PgType::Money)?,
        "Boolean" => none().map(|()| PgType::Boolean)?,
        "Date" => none().map(|()| PgType::Date)?,
        "Time" => PgType::Time(optional(1)?),
        "Timetz" => PgType::Timetz(optional(1)?),
        "Timestamp" => PgType::Timestamp(optional(1)?),
        "Timestamptz" => PgType::Timestamptz(optional(1)?),
        "Json" => none().map(|()| PgType::Json)?,
        "JsonB" => none().map(|()| PgType::Jsonb)?,
        _ => none().map(|()| PgType::Bytea)?,
    })
}

// Prisma's default constraint names (psl `ConstraintNames`): the parts
// joined with `_`, cut so that name and suffix fit in 63 bytes.

fn primary_key_name(table: &str) -> String {
    let suffix = "_pkey";
    let keep = pg::MAX_IDENTIFIER_BYTES - suffix.len();
    format!("{}{suffix}", pg::truncate_bytes(table, keep))
}

fn index_name(table: &str, columns: &[String], suffix: &str) -> String {
    let joined = format!("{table}_{}", columns.join("_"));
    let keep = pg::MAX_IDENTIFIER_BYTES - suffix.len();
    format!("{}{suffix}", pg::truncate_bytes(&joined, keep))
}

fn foreign_key_name(table: &str, columns: &[String]) -> String {
    index_name(table, columns, "_fkey")
}
