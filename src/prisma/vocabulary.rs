//! The words of the Prisma schema language a PostgreSQL schema may use:
//! every field and block attribute, the arguments each takes, the native
//! types (`@db.*`) and the `datasource` properties, as Prisma 7's schema
//! parser knows them.
//!
//! [`check`] runs after parsing: an attribute, argument or property Prisma
//! does not know (`@uniq`, `@@indx`, `@relation(onDelet: Cascade)`) is a
//! parse error at its line and column, as `prisma validate` reports it,
//! never a word the derivation silently skips (which would turn a typo
//! into a missing index). So are an attribute given twice where Prisma
//! allows it once, an argument given twice, and a positional argument
//! where the attribute takes none.
//!
//! Knowing a word is not modelling it: `@id(length: 10)` or
//! `@@index([a(ops: ...)])` pass here and are refused by the derivation
//! (`prisma.unsupported`), because Prisma accepts them but this project
//! does not map them.

use super::parse::{
    Argument, Attribute, ConfigKind, Expr, ModelKind, ParseError, Position, Schema,
};

/// The PostgreSQL native types Prisma knows (`@db.<name>`).
pub const NATIVE_TYPES: &[&str] = &[
    "Text",
    "VarChar",
    "Char",
    "Citext",
    "Uuid",
    "Xml",
    "Inet",
    "Bit",
    "VarBit",
    "SmallInt",
    "Integer",
    "Oid",
    "BigInt",
    "Real",
    "DoublePrecision",
    "Decimal",
    "Money",
    "Boolean",
    "Date",
    "Time",
    "Timetz",
    "Timestamp",
    "Timestamptz",
    "Json",
    "JsonB",
    "ByteA",
];

/// The properties of a PostgreSQL `datasource` block (Prisma 6's `url`
/// and `directUrl` included; `referentialIntegrity` is `relationMode`'s
/// former name).
const DATASOURCE_PROPERTIES: &[&str] = &[
    "provider",
    "url",
    "directUrl",
    "shadowDatabaseUrl",
    "relationMode",
    "referentialIntegrity",
    "extensions",
    "schemas",
];

/// What one attribute accepts.
struct Signature {
    /// The name without `@` / `@@`.
    name: &'static str,
    /// The argument an unnamed first argument stands for, if any.
    positional: Option<&'static str>,
    /// The named arguments (the positional one's name included).
    named: &'static [&'static str],
    /// May appear more than once on one field or block.
    repeatable: bool,
}

const fn sig(
    name: &'static str,
    positional: Option<&'static str>,
    named: &'static [&'static str],
    repeatable: bool,
) -> Signature {
    Signature {
        name,
        positional,
        named,
        repeatable,
    }
}

/// Attributes of a model's (or view's, or composite type's) fields.
const FIELD_ATTRIBUTES: &[Signature] = &[
    sig("id", None, &["map", "length", "sort", "clustered"], false),
    sig(
        "unique",
        None,
        &["map", "length", "sort", "clustered"],
        false,
    ),
    sig("default", Some("value"), &["value", "map"], false),
    sig(
        "relation",
        Some("name"),
        &[
            "name",
            "fields",
            "references",
            "onDelete",
            "onUpdate",
            "map",
        ],
        false,
    ),
    sig("map", Some("name"), &["name"], false),
    sig("updatedAt", None, &[], false),
    sig("ignore", None, &[], false),
];

/// Block attributes of a model or view.
const MODEL_ATTRIBUTES: &[Signature] = &[
    sig(
        "id",
        Some("fields"),
        &["fields", "name", "map", "clustered"],
        false,
    ),
    sig(
        "unique",
        Some("fields"),
        &["fields", "name", "map", "clustered", "where"],
        true,
    ),
    sig(
        "index",
        Some("fields"),
        &["fields", "name", "map", "type", "clustered", "where"],
        true,
    ),
    sig("fulltext", Some("fields"), &["fields", "map"], true),
    sig("map", Some("name"), &["name"], false),
    sig("ignore", None, &[], false),
    sig("schema", Some("name"), &["name"], false),
];

/// Block attributes of an enum.
const ENUM_ATTRIBUTES: &[Signature] = &[
    sig("map", Some("name"), &["name"], false),
    sig("schema", Some("name"), &["name"], false),
];

/// Attributes of an enum value.
const ENUM_VALUE_ATTRIBUTES: &[Signature] = &[sig("map", Some("name"), &["name"], false)];

/// Arguments of a field in an index's field list (`title(sort: Desc)`).
const INDEX_FIELD_ARGUMENTS: &[&str] = &["sort", "length", "ops"];

/// Checks every attribute, argument and datasource property of `schema`
/// against Prisma's vocabulary.
pub fn check(schema: &Schema) -> Result<(), ParseError> {
    for model in &schema.models {
        for field in &model.fields {
            check_attributes(&field.attributes, FIELD_ATTRIBUTES, "@", true)?;
        }
        // Composite types have no block attributes.
        let block: &[Signature] = match model.kind {
            ModelKind::Model | ModelKind::View => MODEL_ATTRIBUTES,
            ModelKind::Type => &[],
        };
        check_attributes(&model.attributes, block, "@@", false)?;
        for attribute in &model.attributes {
            if let Some(Expr::Array(items)) = attribute.main_argument("fields") {
                for item in items {
                    if let Expr::Function { arguments, .. } = item {
                        check_index_field(attribute, arguments)?;
                    }
                }
            }
        }
    }
    for e in &schema.enums {
        check_attributes(&e.attributes, ENUM_ATTRIBUTES, "@@", false)?;
        for value in &e.values {
            check_attributes(&value.attributes, ENUM_VALUE_ATTRIBUTES, "@", false)?;
        }
    }
    for block in schema
        .configs
        .iter()
        .filter(|c| c.kind == ConfigKind::Datasource)
    {
        for property in &block.properties {
            if !DATASOURCE_PROPERTIES.contains(&property.name.as_str()) {
                return Err(error(
                    property.position,
                    format!(
                        "unknown property `{}` in `datasource {}` (known: {})",
                        property.name,
                        block.name,
                        DATASOURCE_PROPERTIES.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn check_attributes(
    attributes: &[Attribute],
    known: &[Signature],
    sigil: &str,
    native_types: bool,
) -> Result<(), ParseError> {
    for (i, attribute) in attributes.iter().enumerate() {
        let name = attribute.name.as_str();
        if let Some(native) = name.strip_prefix("db.")
            && native_types
        {
            if !NATIVE_TYPES.contains(&native) {
                return Err(error(
                    attribute.position,
                    format!("unknown PostgreSQL native type `@{name}`"),
                ));
            }
            if let Some(earlier) = attributes[..i].iter().find(|a| a.name.starts_with("db.")) {
                return Err(error(
                    attribute.position,
                    format!(
                        "a second native type `@{name}` (the first, `@{}`, is at {})",
                        earlier.name, earlier.position
                    ),
                ));
            }
            if let Some(named) = attribute.arguments.iter().find(|a| a.name.is_some()) {
                return Err(error(
                    named.position,
                    format!("`@{name}` takes no named arguments"),
                ));
            }
            continue;
        }
        let Some(signature) = known.iter().find(|s| s.name == name) else {
            let names: Vec<String> = known.iter().map(|s| format!("{sigil}{}", s.name)).collect();
            let known_list = if names.is_empty() {
                "none here".to_string()
            } else {
                names.join(", ")
            };
            return Err(error(
                attribute.position,
                format!("unknown attribute `{sigil}{name}` (known: {known_list})"),
            ));
        };
        if !signature.repeatable
            && let Some(earlier) = attributes[..i].iter().find(|a| a.name == name)
        {
            return Err(error(
                attribute.position,
                format!(
                    "`{sigil}{name}` is given twice (first at {})",
                    earlier.position
                ),
            ));
        }
        check_arguments(attribute, signature, sigil)?;
    }
    Ok(())
}

fn check_arguments(
    attribute: &Attribute,
    signature: &Signature,
    sigil: &str,
) -> Result<(), ParseError> {
    let what = format!("{sigil}{}", attribute.name);
    let mut seen: Vec<&str> = Vec::new();
    let mut unnamed = 0;
    for argument in &attribute.arguments {
        if argument.name.is_none() {
            unnamed += 1;
        }
        let name = match (&argument.name, signature.positional) {
            (Some(name), _) => name.as_str(),
            (None, Some(positional)) if unnamed == 1 => positional,
            (None, _) => {
                return Err(error(
                    argument.position,
                    if signature.positional.is_some() {
                        format!("`{what}` takes one unnamed argument; name the others")
                    } else {
                        format!(
                            "`{what}` takes no unnamed argument{}",
                            named_list(signature.named)
                        )
                    },
                ));
            }
        };
        if !signature.named.contains(&name) {
            return Err(error(
                argument.position,
                format!(
                    "unknown argument `{name}:` of `{what}`{}",
                    named_list(signature.named)
                ),
            ));
        }
        if seen.contains(&name) {
            return Err(error(
                argument.position,
                format!("argument `{name}` of `{what}` is given twice"),
            ));
        }
        seen.push(name);
    }
    Ok(())
}

fn check_index_field(attribute: &Attribute, arguments: &[Argument]) -> Result<(), ParseError> {
    for argument in arguments {
        match argument.name.as_deref() {
            Some(name) if INDEX_FIELD_ARGUMENTS.contains(&name) => {}
            Some(name) => {
                return Err(error(
                    argument.position,
                    format!(
                        "unknown argument `{name}:` of a field in `@@{}` (known: {})",
                        attribute.name,
                        INDEX_FIELD_ARGUMENTS.join(", ")
                    ),
                ));
            }
            None => {
                return Err(error(
                    argument.position,
                    format!(
                        "a field in `@@{}` takes only named arguments ({})",
                        attribute.name,
                        INDEX_FIELD_ARGUMENTS.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn named_list(named: &[&str]) -> String {
    if named.is_empty() {
        " (it takes no arguments)".to_string()
    } else {
        format!(" (known: {})", named.join(", "))
    }
}

fn error(at: Position, message: String) -> ParseError {
    ParseError {
        line: at.line,
        column: at.column,
        message,
    }
}
