//! Column defaults the way Prisma's schema engine sees them: what kind of
//! default a column has (its `DefaultKind`: a sequence, `now()`, a value,
//! an expression it does not parse), whether two defaults differ in its
//! eyes, and how its renderer writes a default into DDL.
//!
//! A derived column says what its `@default` is ([`Column::prisma_default`]).
//! An introspected one has only PostgreSQL's text; Prisma's describer reads
//! a value out of it. Here a value is recognized only in the exact forms
//! `pg_get_expr` prints for one: a candidate is printed back through
//! `super::super::pg` and must give the same text, so nothing else is ever
//! taken for a value.

use crate::prisma::model::{Column, PgType, PrismaDefault, PrismaValue};
use crate::prisma::pg;

/// A default, as Prisma's differ holds it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// A `nextval` of the column's sequence.
    Sequence,
    /// `now()` / `CURRENT_TIMESTAMP`.
    Now,
    /// A constant.
    Value(Value),
    /// An expression Prisma keeps as text (`DbGenerated`).
    Expression(String),
    /// `dbgenerated()`: any default will do.
    Unknown,
}

/// A constant default's value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    String(String),
    Enum(String),
    Int(i64),
    /// A number, in plain notation.
    Decimal(String),
    Boolean(bool),
    Json(String),
    Bytes(Vec<u8>),
    DateTime,
    /// A list default (compared by its PostgreSQL text).
    List,
}

/// Prisma's coarse type families, which decide how it reads a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    String,
    Json,
    Int,
    Float,
    Boolean,
    DateTime,
    Binary,
    Enum,
    Uuid,
    Other,
}

fn family(ty: &PgType) -> Family {
    match ty {
        PgType::Text
        | PgType::VarChar(_)
        | PgType::Char(_)
        | PgType::Citext
        | PgType::Xml
        | PgType::Inet
        | PgType::Bit(_)
        | PgType::VarBit(_) => Family::String,
        PgType::Json | PgType::Jsonb => Family::Json,
        PgType::SmallInt | PgType::Integer | PgType::BigInt | PgType::Oid => Family::Int,
        PgType::Real | PgType::DoublePrecision | PgType::Numeric(_) => Family::Float,
        PgType::Boolean => Family::Boolean,
        PgType::Date
        | PgType::Time(_)
        | PgType::Timetz(_)
        | PgType::Timestamp(_)
        | PgType::Timestamptz(_) => Family::DateTime,
        PgType::Bytea => Family::Binary,
        PgType::Enum(_) => Family::Enum,
        PgType::Uuid => Family::Uuid,
        PgType::Money | PgType::Unsupported(_) => Family::Other,
    }
}

/// True for a date or time column: Prisma cannot tell two such defaults
/// apart.
pub(super) fn is_datetime(column: &Column) -> bool {
    family(&column.column_type.base) == Family::DateTime
}

/// The default of `column` in Prisma's terms (None without one).
pub(super) fn kind(column: &Column, derived: bool) -> Option<Kind> {
    if derived {
        return match column.prisma_default.as_ref()? {
            // The sequence of the `SERIAL` type Prisma writes.
            PrismaDefault::Autoincrement => Some(Kind::Sequence),
            PrismaDefault::Client(_) => None,
            PrismaDefault::Now => Some(Kind::Now),
            PrismaDefault::DbGenerated(None) => Some(Kind::Unknown),
            PrismaDefault::DbGenerated(Some(sql)) => Some(Kind::Expression(sql.clone())),
            PrismaDefault::Value(v) => Some(Kind::Value(value(v))),
        };
    }
    let text = column.default.as_deref()?;
    if column.serial.is_some() {
        return Some(Kind::Sequence);
    }
    if column.column_type.list {
        return Some(if text.starts_with("ARRAY[") {
            Kind::Value(Value::List)
        } else {
            Kind::Expression(text.to_string())
        });
    }
    let ty = &column.column_type.base;
    let expression = || Kind::Expression(text.to_string());
    Some(match family(ty) {
        Family::DateTime if matches!(text, "CURRENT_TIMESTAMP" | "now()") => Kind::Now,
        Family::Boolean if matches!(text, "true" | "false") => {
            Kind::Value(Value::Boolean(text == "true"))
        }
        Family::Int => match number(text, ty) {
            Some(n) => n
                .parse()
                .map(|n| Kind::Value(Value::Int(n)))
                .unwrap_or_else(|_| expression()),
            None => expression(),
        },
        Family::Float => {
            number(text, ty).map_or_else(expression, |n| Kind::Value(Value::Decimal(n)))
        }
        Family::String => {
            literal(text, ty).map_or_else(expression, |s| Kind::Value(Value::String(s)))
        }
        Family::Json => {
            literal(text, ty).map_or_else(expression, |s| Kind::Value(Value::String(s)))
        }
        Family::Enum => literal(text, ty).map_or_else(expression, |s| Kind::Value(Value::Enum(s))),
        Family::Binary => literal(text, ty)
            .and_then(|s| hex_bytes(&s))
            .map_or_else(expression, |b| Kind::Value(Value::Bytes(b))),
        _ => expression(),
    })
}

fn value(v: &PrismaValue) -> Value {
    match v {
        PrismaValue::String(s) => Value::String(s.clone()),
        PrismaValue::Enum(s) => Value::Enum(s.clone()),
        PrismaValue::Int(n) => Value::Int(*n),
        PrismaValue::Decimal(d) => Value::Decimal(d.clone()),
        PrismaValue::Boolean(b) => Value::Boolean(*b),
        PrismaValue::Json(j) => Value::Json(j.clone()),
        PrismaValue::Bytes(b) => Value::Bytes(b.clone()),
        PrismaValue::DateTime(_) => Value::DateTime,
        PrismaValue::List(_) => Value::List,
    }
}

/// The text of a string constant `'...'::label` as `pg_get_expr` prints
/// one for type `ty`.
fn literal(text: &str, ty: &PgType) -> Option<String> {
    let body = text.strip_prefix('\'')?;
    let mut value = String::new();
    let mut chars = body.char_indices().peekable();
    let end = loop {
        let (at, c) = chars.next()?;
        if c == '\'' {
            if chars.peek().map(|(_, c)| *c) == Some('\'') {
                chars.next();
                value.push('\'');
                continue;
            }
            break at;
        }
        value.push(c);
    };
    // Printed back, it must be the very text.
    let printed = pg::scalar_default(&pg::Value::Text(value.clone()), ty)?;
    (printed == text && body.len() > end).then_some(value)
}

/// A number constant as `pg_get_expr` prints one (`5`, `'-5'::integer`,
/// `1.50`), in plain notation.
fn number(text: &str, ty: &PgType) -> Option<String> {
    let candidate = match text.strip_prefix('\'') {
        Some(quoted) => quoted.split('\'').next()?,
        None => text,
    };
    if candidate.is_empty()
        || !candidate
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '.')
    {
        return None;
    }
    let printed = pg::scalar_default(&pg::Value::Number(candidate.to_string()), ty)?;
    (printed == text).then(|| candidate.to_string())
}

/// `\x0102` to bytes.
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let hex = text.strip_prefix("\\x")?;
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect()
}

/// Whether Prisma's differ considers the defaults of `previous` and `next`
/// the same (its `defaults_match`). None when that cannot be known here:
/// list defaults of numbers, JSON or dates that differ in text.
pub(super) fn prisma_sees_same(
    previous: &Column,
    previous_kind: Option<&Kind>,
    next: &Column,
    next_kind: Option<&Kind>,
) -> Option<bool> {
    use Kind::*;
    let datetime = is_datetime(previous) || is_datetime(next);
    Some(match (previous_kind, next_kind) {
        (None, None) => true,
        (_, Some(Unknown)) => true,
        (Some(Sequence), None) => true,
        (_, Some(Sequence)) => true,
        (Some(Sequence), Some(_)) => false,
        (None, Some(_)) | (Some(_), None) => false,
        (Some(Expression(_)), Some(Value(self::Value::List)))
        | (Some(Value(self::Value::List)), Some(Expression(_)))
            if datetime =>
        {
            true
        }
        (Some(Value(self::Value::List)), Some(Value(self::Value::List))) => {
            if previous.default == next.default {
                true
            } else if matches!(
                family(&next.column_type.base),
                Family::Float | Family::Json | Family::DateTime
            ) || matches!(
                family(&previous.column_type.base),
                Family::Float | Family::Json | Family::DateTime
            ) {
                return None;
            } else {
                false
            }
        }
        (Some(Value(self::Value::DateTime)), Some(_))
        | (Some(_), Some(Value(self::Value::DateTime))) => true,
        (Some(Value(a)), Some(Value(b))) => values_match(a, b),
        (Some(Now), Some(Now)) => true,
        (Some(Expression(a)), Some(Expression(b))) => a.eq_ignore_ascii_case(b),
        _ => false,
    })
}

fn values_match(a: &Value, b: &Value) -> bool {
    use self::Value::*;
    match (a, b) {
        (Json(x) | String(x), Json(y)) | (Json(x), String(y)) => json_match(x, y),
        (Enum(x) | String(x), String(y) | Enum(y)) => x == y,
        (Decimal(x), Decimal(y)) => decimal_eq(x, y),
        (Int(x), Int(y)) => x == y,
        (Boolean(x), Boolean(y)) => x == y,
        (Bytes(x), Bytes(y)) => x == y,
        _ => false,
    }
}

/// Prisma compares JSON defaults as JSON values (and calls them equal when
/// either is not JSON).
fn json_match(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => true,
    }
}

/// Two plain-notation numbers with the same value (`1.50` and `1.5`).
fn decimal_eq(a: &str, b: &str) -> bool {
    fn normal(s: &str) -> (bool, String, String) {
        let (negative, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let int = int.trim_start_matches('0').to_string();
        let frac = frac.trim_end_matches('0').to_string();
        let zero = int.is_empty() && frac.is_empty();
        (negative && !zero, int, frac)
    }
    normal(a) == normal(b)
}

/// How Prisma's renderer writes `column`'s default into DDL (`'USER'`,
/// `1.50`, `ARRAY[1, 2]::INTEGER[]`, `CURRENT_TIMESTAMP`), None for no
/// `DEFAULT` clause. `full_type` is the column's rendered type. An
/// introspected column's default is written as PostgreSQL prints it.
pub(super) fn render(column: &Column, derived: bool, full_type: &str) -> Option<String> {
    if !derived {
        return column.default.clone().filter(|_| column.serial.is_none());
    }
    match column.prisma_default.as_ref()? {
        PrismaDefault::Autoincrement | PrismaDefault::Client(_) => None,
        PrismaDefault::Now => Some("CURRENT_TIMESTAMP".to_string()),
        PrismaDefault::DbGenerated(sql) => sql.clone(),
        PrismaDefault::Value(PrismaValue::List(items)) => {
            let items: Vec<String> = items.iter().map(constant).collect();
            Some(format!("ARRAY[{}]::{full_type}", items.join(", ")))
        }
        PrismaDefault::Value(v) => Some(constant(v)),
    }
}

fn constant(v: &PrismaValue) -> String {
    let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
    match v {
        PrismaValue::String(s) | PrismaValue::Enum(s) | PrismaValue::Json(s) => quoted(s),
        PrismaValue::DateTime(s) => format!("'{s}'"),
        PrismaValue::Int(n) => n.to_string(),
        PrismaValue::Decimal(d) => d.clone(),
        PrismaValue::Boolean(b) => b.to_string(),
        PrismaValue::Bytes(bytes) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("'\\x{hex}'")
        }
        PrismaValue::List(items) => {
            let items: Vec<String> = items.iter().map(constant).collect();
            format!("ARRAY[{}]", items.join(", "))
        }
    }
}
