//! Column types the way Prisma's PostgreSQL connector sees them: whether a
//! type change is a safe cast, a risky one or no cast at all (a column
//! dropped and added again), how its renderer spells a type (`SERIAL`,
//! `VARCHAR(255)`, `"Role"[]`), and how its warnings name one
//! (`VarChar(255)`).

use crate::prisma::model::{ColumnType, PgType};

/// How Prisma migrates a column from one type to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Cast {
    /// `SET DATA TYPE`, no warning.
    Safe,
    /// `SET DATA TYPE` with a "data could be lost" warning.
    Risky,
    /// The column is dropped and added again.
    NotCastable,
}

/// The native type as Prisma's describer reports an introspected column:
/// a time type without precision is reported with PostgreSQL's default of
/// 6 (not inside an array, where the describer reads the precision off
/// `format_type`).
fn as_prisma_sees_it(ty: &ColumnType, derived: bool) -> PgType {
    if derived || ty.list {
        return ty.base.clone();
    }
    match &ty.base {
        PgType::Time(None) => PgType::Time(Some(6)),
        PgType::Timetz(None) => PgType::Timetz(Some(6)),
        PgType::Timestamp(None) => PgType::Timestamp(Some(6)),
        PgType::Timestamptz(None) => PgType::Timestamptz(Some(6)),
        other => other.clone(),
    }
}

/// Prisma's verdict on a column going from type `previous` to `next`
/// (each from a derived catalog or not): None when it sees no change.
pub(super) fn change(
    previous: &ColumnType,
    previous_derived: bool,
    next: &ColumnType,
    next_derived: bool,
) -> Option<Cast> {
    use PgType::*;
    match (&previous.base, &next.base) {
        // The same enum, list or not (the arity change is Prisma's
        // concern then).
        (Enum(a), Enum(b)) if a == b => return None,
        (Enum(_), _) | (_, Enum(_)) => return Some(Cast::NotCastable),
        _ => {}
    }
    let from_list_to_scalar = previous.list && !next.list;
    let from_scalar_to_list = !previous.list && next.list;
    let prev = as_prisma_sees_it(previous, previous_derived);
    let next_type = as_prisma_sees_it(next, next_derived);
    if from_list_to_scalar {
        return Some(match next_type {
            Text | VarChar(None) => Cast::Safe,
            VarChar(_) | Char(_) => Cast::Risky,
            _ => Cast::NotCastable,
        });
    }
    if from_scalar_to_list {
        return Some(Cast::NotCastable);
    }
    if prev == next_type {
        return None;
    }
    riskiness(&prev, &next_type)
}

/// Prisma's table of casts between two different known types.
fn riskiness(previous: &PgType, next: &PgType) -> Option<Cast> {
    use Cast::{NotCastable, Risky, Safe};
    use PgType::*;
    let next_is_char = matches!(next, Char(_));
    // A string type that holds `digits` characters (and `None` for an
    // unbounded one): what fits in it decides the risk.
    let fits = |length: &Option<u32>, digits: u32| match length {
        Some(len) if *len < digits => Risky,
        None if next_is_char => Risky,
        _ => Safe,
    };
    Some(match previous {
        Inet => match next {
            Citext | Text | VarChar(_) => Safe,
            _ => NotCastable,
        },
        Money => match next {
            Citext | Text | VarChar(_) => Safe,
            _ => Risky,
        },
        Citext => match next {
            Text | VarChar(_) => Safe,
            _ => Risky,
        },
        Oid => match next {
            Text | VarChar(_) | BigInt | Integer => Safe,
            _ => NotCastable,
        },
        SmallInt => match next {
            Integer | BigInt | Real | DoublePrecision | Text => Safe,
            Numeric(Some((p, s))) if digits(*p, *s) < 3 => Risky,
            Numeric(_) => Safe,
            VarChar(len) | Char(len) => fits(len, 4),
            _ => NotCastable,
        },
        Integer => match next {
            SmallInt => Risky,
            BigInt | Real | DoublePrecision | Text => Safe,
            Numeric(Some((p, s))) if digits(*p, *s) < 10 => Risky,
            Numeric(_) => Safe,
            VarChar(len) | Char(len) => fits(len, 11),
            _ => NotCastable,
        },
        BigInt => match next {
            SmallInt | Integer => Risky,
            Real | DoublePrecision | Text => Safe,
            Numeric(Some((p, s))) if digits(*p, *s) < 19 => Risky,
            Numeric(_) => Safe,
            VarChar(len) | Char(len) => fits(len, 20),
            _ => NotCastable,
        },
        Numeric(old) => match next {
            SmallInt => decimal_to_int(old, 2),
            Integer => decimal_to_int(old, 9),
            BigInt => decimal_to_int(old, 18),
            Numeric(new) => match (old, new) {
                (Some(_), None) => Safe,
                (None, Some(_)) => Risky,
                (Some((p_old, s_old)), Some((p_new, s_new)))
                    if digits(*p_old, *s_old) > digits(*p_new, *s_new) || s_old > s_new =>
                {
                    Risky
                }
                _ => Safe,
            },
            Real | DoublePrecision => Risky,
            VarChar(length) | Char(length) => match (length, old) {
                (Some(len), Some((p, 0))) if u64::from(*p) + 1 > u64::from(*len) => Risky,
                (Some(len), Some((p, n))) if *n > 0 && u64::from(*p) + 2 > u64::from(*len) => Risky,
                (Some(len), None) if *len < 131073 => Risky,
                (None, _) if next_is_char => Risky,
                _ => Safe,
            },
            Text => Safe,
            _ => NotCastable,
        },
        Real => match next {
            SmallInt | Integer | BigInt | Numeric(_) => Risky,
            DoublePrecision | Text => Safe,
            VarChar(len) | Char(len) => fits(len, 47),
            _ => NotCastable,
        },
        DoublePrecision => match next {
            SmallInt | Integer | BigInt | Numeric(_) | Real => Risky,
            Text => Safe,
            VarChar(len) | Char(len) => fits(len, 317),
            _ => NotCastable,
        },
        VarChar(old) => match next {
            Text => Safe,
            VarChar(new) | Char(new) => string_to_string(old, new, next_is_char, false),
            _ => NotCastable,
        },
        Char(old) => match next {
            Text => Safe,
            VarChar(new) | Char(new) => string_to_string(old, new, next_is_char, true),
            _ => NotCastable,
        },
        Text => match next {
            VarChar(None) | Citext => Safe,
            VarChar(_) | Char(_) => Risky,
            _ => NotCastable,
        },
        Bytea => match next {
            Text | VarChar(None) => Safe,
            VarChar(Some(len)) | Char(Some(len)) if *len > 2 => Risky,
            _ => NotCastable,
        },
        Timestamp(a) | Timestamptz(a) => {
            let same_kind = std::mem::discriminant(previous) == std::mem::discriminant(next);
            match next {
                Text | VarChar(None) => Safe,
                Char(Some(len)) | VarChar(Some(len))
                    if *len
                        > if matches!(previous, Timestamp(_)) {
                            22
                        } else {
                            27
                        } =>
                {
                    Safe
                }
                Timestamp(None) | Timestamptz(None) if same_kind => return None,
                Timestamp(Some(b)) | Timestamptz(Some(b))
                    if same_kind && (a.is_none() || *a == Some(*b)) =>
                {
                    return None;
                }
                Timestamp(_) | Timestamptz(_) | Date | Time(_) | Timetz(_) => Safe,
                _ => NotCastable,
            }
        }
        Date => match next {
            Text | VarChar(None) => Safe,
            Char(Some(len)) | VarChar(Some(len)) if *len > 27 => Safe,
            Timestamp(_) | Timestamptz(_) => Safe,
            _ => NotCastable,
        },
        Time(a) => match next {
            Text | VarChar(None) => Safe,
            Char(Some(len)) | VarChar(Some(len)) if *len > 13 => Safe,
            Time(None) => return None,
            Time(Some(b)) if a.is_none() || *a == Some(*b) => return None,
            Timetz(_) => Safe,
            _ => NotCastable,
        },
        Timetz(a) => match next {
            Text | VarChar(None) => Safe,
            Char(Some(len)) | VarChar(Some(len)) if *len > 18 => Safe,
            Timetz(None) => return None,
            Timetz(Some(b)) if a.is_none() || *a == Some(*b) => return None,
            Timetz(_) | Time(_) => Safe,
            _ => NotCastable,
        },
        Boolean => match next {
            Text | VarChar(_) => Safe,
            Char(Some(len)) if *len > 4 => Safe,
            Char(Some(len)) if *len > 3 => Risky,
            _ => NotCastable,
        },
        Bit(None) => match next {
            Text | VarChar(_) | Char(_) | VarBit(_) => Safe,
            _ => NotCastable,
        },
        Bit(Some(length)) => match next {
            Text | VarChar(None) | VarBit(None) => Safe,
            VarChar(Some(new)) | VarBit(Some(new)) | Char(Some(new)) if new >= length => Safe,
            _ => NotCastable,
        },
        VarBit(None) => match next {
            Text | VarChar(None) => Safe,
            VarChar(_) | Char(_) | Bit(_) => Risky,
            _ => NotCastable,
        },
        VarBit(Some(length)) => match next {
            Text | VarChar(None) | VarBit(None) => Safe,
            VarBit(Some(new)) if new > length => Safe,
            VarChar(Some(new)) | Char(Some(new)) if new >= length => Safe,
            Bit(Some(new)) if new <= length => Risky,
            Bit(None) | Char(_) | VarChar(_) => Risky,
            _ => NotCastable,
        },
        Uuid => match next {
            Text | VarChar(None) => Safe,
            VarChar(Some(len)) | Char(Some(len)) if *len > 31 => Safe,
            _ => NotCastable,
        },
        Xml => match next {
            Text | VarChar(None) => Safe,
            VarChar(_) | Char(_) => Risky,
            _ => NotCastable,
        },
        Json => match next {
            Text | Jsonb | VarChar(None) => Safe,
            VarChar(_) | Char(_) => Risky,
            _ => NotCastable,
        },
        Jsonb => match next {
            Text | Json | VarChar(None) => Safe,
            VarChar(_) | Char(_) => Risky,
            _ => NotCastable,
        },
        Enum(_) | Unsupported(_) => NotCastable,
    })
}

/// The digits before the point of a `numeric(p,s)` (negative when the
/// scale exceeds the precision).
fn digits(precision: u32, scale: u32) -> i64 {
    i64::from(precision) - i64::from(scale)
}

fn decimal_to_int(old: &Option<(u32, u32)>, max_precision: u32) -> Cast {
    match old {
        Some((p, 0)) if *p <= max_precision => Cast::Safe,
        _ => Cast::Risky,
    }
}

fn string_to_string(
    old: &Option<u32>,
    new: &Option<u32>,
    next_is_char: bool,
    from_char: bool,
) -> Cast {
    match (old, new) {
        (None, _) if from_char => Cast::Safe,
        (None, None) if next_is_char => Cast::Risky,
        (None, Some(_)) => Cast::Risky,
        (Some(1), None) => Cast::Safe,
        (Some(_), None) if next_is_char => Cast::Risky,
        (Some(_), None) => Cast::Safe,
        (Some(old), Some(new)) if old > new => Cast::Risky,
        _ => Cast::Safe,
    }
}

/// How Prisma's renderer spells a column type (`SERIAL` for an
/// auto-incrementing integer).
pub(super) fn render(ty: &ColumnType, autoincrement: bool) -> String {
    let list = if ty.list { "[]" } else { "" };
    format!("{}{list}", render_base(&ty.base, autoincrement))
}

fn render_base(ty: &PgType, autoincrement: bool) -> String {
    let args = |n: &Option<u32>| n.map(|n| format!("({n})")).unwrap_or_default();
    match ty {
        PgType::Citext => "CITEXT".into(),
        PgType::Oid => "OID".into(),
        PgType::Inet => "INET".into(),
        PgType::Money => "MONEY".into(),
        PgType::SmallInt if autoincrement => "SMALLSERIAL".into(),
        PgType::SmallInt => "SMALLINT".into(),
        PgType::Integer if autoincrement => "SERIAL".into(),
        PgType::Integer => "INTEGER".into(),
        PgType::BigInt if autoincrement => "BIGSERIAL".into(),
        PgType::BigInt => "BIGINT".into(),
        PgType::Numeric(Some((p, s))) => format!("DECIMAL({p},{s})"),
        PgType::Numeric(None) => "DECIMAL".into(),
        PgType::Real => "REAL".into(),
        PgType::DoublePrecision => "DOUBLE PRECISION".into(),
        PgType::VarChar(n) => format!("VARCHAR{}", args(n)),
        PgType::Char(n) => format!("CHAR{}", args(n)),
        PgType::Text => "TEXT".into(),
        PgType::Bytea => "BYTEA".into(),
        PgType::Date => "DATE".into(),
        PgType::Timestamp(p) => format!("TIMESTAMP{}", args(p)),
        PgType::Timestamptz(p) => format!("TIMESTAMPTZ{}", args(p)),
        PgType::Time(p) => format!("TIME{}", args(p)),
        PgType::Timetz(p) => format!("TIMETZ{}", args(p)),
        PgType::Boolean => "BOOLEAN".into(),
        PgType::Bit(n) => format!("BIT{}", args(n)),
        PgType::VarBit(n) => format!("VARBIT{}", args(n)),
        PgType::Uuid => "UUID".into(),
        PgType::Xml => "XML".into(),
        PgType::Json => "JSON".into(),
        PgType::Jsonb => "JSONB".into(),
        PgType::Enum(name) => format!("\"{name}\""),
        PgType::Unsupported(spelling) => spelling.clone(),
    }
}

/// The name of the same type without `SERIAL`: what runs where Prisma
/// writes `SET DATA TYPE BIGSERIAL`.
pub(super) fn render_without_serial(ty: &ColumnType) -> String {
    render(ty, false)
}

/// How Prisma's warnings name a column's type (`VarChar(255)`,
/// `Decimal(65,30)`, `Timestamp(3)`).
pub(super) fn display(ty: &ColumnType, derived: bool) -> String {
    let args = |n: &Option<u32>| n.map(|n| format!("({n})")).unwrap_or_default();
    match as_prisma_sees_it(ty, derived) {
        PgType::SmallInt => "SmallInt".into(),
        PgType::Integer => "Integer".into(),
        PgType::BigInt => "BigInt".into(),
        PgType::Oid => "Oid".into(),
        PgType::Real => "Real".into(),
        PgType::DoublePrecision => "DoublePrecision".into(),
        PgType::Numeric(Some((p, s))) => format!("Decimal({p},{s})"),
        PgType::Numeric(None) => "Decimal".into(),
        PgType::Money => "Money".into(),
        PgType::Boolean => "Boolean".into(),
        PgType::Text => "Text".into(),
        PgType::VarChar(n) => format!("VarChar{}", args(&n)),
        PgType::Char(n) => format!("Char{}", args(&n)),
        PgType::Citext => "Citext".into(),
        PgType::Uuid => "Uuid".into(),
        PgType::Xml => "Xml".into(),
        PgType::Inet => "Inet".into(),
        PgType::Bit(n) => format!("Bit{}", args(&n)),
        PgType::VarBit(n) => format!("VarBit{}", args(&n)),
        PgType::Bytea => "ByteA".into(),
        PgType::Date => "Date".into(),
        PgType::Time(p) => format!("Time{}", args(&p)),
        PgType::Timetz(p) => format!("Timetz{}", args(&p)),
        PgType::Timestamp(p) => format!("Timestamp{}", args(&p)),
        PgType::Timestamptz(p) => format!("Timestamptz{}", args(&p)),
        PgType::Json => "Json".into(),
        PgType::Jsonb => "JsonB".into(),
        PgType::Enum(name) => name,
        PgType::Unsupported(spelling) => spelling,
    }
}
