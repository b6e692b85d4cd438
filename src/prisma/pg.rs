//! PostgreSQL's normal forms, reproduced without a database: how
//! `format_type` prints a column type, how `pg_get_expr` prints a column
//! default, how `quote_ident` quotes a name, and how long a name may be.
//!
//! Every rule here was checked against PostgreSQL 15 (`format_type`,
//! `pg_get_expr` on defaults written the way Prisma Migrate writes them);
//! the unit tests pin the observed outputs. Session-dependent outputs
//! (`timestamp with time zone` constants) assume `TimeZone = UTC` and
//! `DateStyle = ISO`, as on a server with default settings in UTC.

use chrono::{DateTime, FixedOffset, NaiveDateTime, NaiveTime, Timelike};

pub use super::model::PgType;

use crate::sql::quote_literal;

/// PostgreSQL's identifier length limit in bytes (NAMEDATALEN - 1).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Keywords that `quote_ident` quotes (every category but unreserved), from
/// `pg_get_keywords()` on PostgreSQL 15.
const QUOTED_KEYWORDS: &str = "all analyse analyze and any array as asc asymmetric authorization between \
     bigint binary bit boolean both case cast char character check coalesce \
     collate collation column concurrently constraint create cross \
     current_catalog current_date current_role current_schema current_time \
     current_timestamp current_user dec decimal default deferrable desc distinct \
     do else end except exists extract false fetch float for foreign freeze from \
     full grant greatest group grouping having ilike in initially inner inout int \
     integer intersect interval into is isnull join lateral leading least left \
     like limit localtime localtimestamp national natural nchar none normalize \
     not notnull null nullif numeric offset on only or order out outer overlaps \
     overlay placing position precision primary real references returning right \
     row select session_user setof similar smallint some substring symmetric \
     table tablesample then time timestamp to trailing treat trim true union \
     unique user using values varchar variadic verbose when where window with \
     xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces \
     xmlparse xmlpi xmlroot xmlserialize xmltable";

/// A name as PostgreSQL's catalog functions print it (its own
/// `quote_ident`): as is when it is all lowercase ASCII letters,
/// digits and underscores (not starting with a digit) and not a keyword
/// that needs quoting; otherwise in double quotes, inner quotes doubled.
pub fn as_printed_ident(name: &str) -> String {
    let safe = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !QUOTED_KEYWORDS.split_whitespace().any(|k| k == name);
    if safe {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

/// The longest prefix of `s` that fits in `max` bytes without splitting a
/// character.
pub fn truncate_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The name PostgreSQL itself would use: identifiers longer than 63 bytes
/// are truncated (with a NOTICE) when created.
pub fn identifier(name: &str) -> String {
    truncate_bytes(name, MAX_IDENTIFIER_BYTES).to_string()
}

/// The name of the sequence a `SERIAL` column creates: PostgreSQL's
/// `makeObjectName(table, column, "seq")`, which shortens the longer of
/// the two names first until everything fits in 63 bytes.
pub fn serial_sequence_name(table: &str, column: &str) -> String {
    let overhead = 1 + "seq".len() + 1; // two `_` and the label
    let available = MAX_IDENTIFIER_BYTES.saturating_sub(overhead);
    let (mut table_len, mut column_len) = (table.len(), column.len());
    while table_len + column_len > available {
        if table_len > column_len {
            table_len -= 1;
        } else {
            column_len -= 1;
        }
    }
    let table_part = truncate_bytes(table, table_len);
    let column_part = truncate_bytes(column, column_len);
    format!("{table_part}_{column_part}_seq")
}

fn with_length(base: &str, length: Option<u32>) -> String {
    match length {
        Some(n) => format!("{base}({n})"),
        None => base.to_string(),
    }
}

fn time_type(base: &str, precision: Option<u32>, zone: &str) -> String {
    format!("{} {zone}", with_length(base, precision))
}

impl PgType {
    /// `format_type(atttypid, atttypmod)` for a column of this type.
    pub fn format(&self) -> String {
        match self {
            PgType::SmallInt => "smallint".into(),
            PgType::Integer => "integer".into(),
            PgType::BigInt => "bigint".into(),
            PgType::Oid => "oid".into(),
            PgType::Real => "real".into(),
            PgType::DoublePrecision => "double precision".into(),
            PgType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            PgType::Numeric(None) => "numeric".into(),
            PgType::Money => "money".into(),
            PgType::Boolean => "boolean".into(),
            PgType::Text => "text".into(),
            PgType::VarChar(n) => with_length("character varying", *n),
            PgType::Char(n) => format!("character({})", n.unwrap_or(1)),
            PgType::Citext => "citext".into(),
            PgType::Uuid => "uuid".into(),
            PgType::Xml => "xml".into(),
            PgType::Inet => "inet".into(),
            PgType::Bit(n) => format!("bit({})", n.unwrap_or(1)),
            PgType::VarBit(n) => with_length("bit varying", *n),
            PgType::Bytea => "bytea".into(),
            PgType::Date => "date".into(),
            PgType::Time(p) => time_type("time", *p, "without time zone"),
            PgType::Timetz(p) => time_type("time", *p, "with time zone"),
            PgType::Timestamp(p) => time_type("timestamp", *p, "without time zone"),
            PgType::Timestamptz(p) => time_type("timestamp", *p, "with time zone"),
            PgType::Json => "json".into(),
            PgType::Jsonb => "jsonb".into(),
            PgType::Enum(name) => as_printed_ident(name),
            PgType::Unsupported(spelling) => spelling.clone(),
        }
    }

    /// `format_type_with_typemod(type, -1)`: the `::type` label a constant
    /// gets in a scalar default, where the column's typmod is applied by a
    /// hidden length coercion.
    pub fn const_label(&self) -> String {
        match self {
            PgType::Numeric(_) => "numeric".into(),
            PgType::VarChar(_) => "character varying".into(),
            PgType::Char(_) => "bpchar".into(),
            PgType::Bit(_) => "\"bit\"".into(),
            PgType::VarBit(_) => "bit varying".into(),
            PgType::Time(_) => "time without time zone".into(),
            PgType::Timetz(_) => "time with time zone".into(),
            PgType::Timestamp(_) => "timestamp without time zone".into(),
            PgType::Timestamptz(_) => "timestamp with time zone".into(),
            other => other.format(),
        }
    }

    /// The type a bare number literal is parsed as, when it is this type.
    fn literal_kind(&self) -> Option<LiteralKind> {
        match self {
            PgType::Integer => Some(LiteralKind::Int4),
            PgType::BigInt => Some(LiteralKind::Int8),
            PgType::Numeric(_) => Some(LiteralKind::Numeric),
            _ => None,
        }
    }
}

/// What PostgreSQL's parser types a number literal as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LiteralKind {
    Int4,
    Int8,
    Numeric,
}

/// A number literal as PostgreSQL's parser sees it: its type and the text
/// its output function prints (sign included).
#[derive(Debug, Clone, PartialEq, Eq)]
struct NumberConst {
    kind: LiteralKind,
    text: String,
}

impl NumberConst {
    fn parse(literal: &str) -> Option<NumberConst> {
        let digits = literal.strip_prefix('-').unwrap_or(literal);
        if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
            if let Ok(v) = literal.parse::<i32>() {
                return Some(NumberConst {
                    kind: LiteralKind::Int4,
                    text: v.to_string(),
                });
            }
            if let Ok(v) = literal.parse::<i64>() {
                return Some(NumberConst {
                    kind: LiteralKind::Int8,
                    text: v.to_string(),
                });
            }
        }
        Some(NumberConst {
            kind: LiteralKind::Numeric,
            text: canonical_numeric(literal)?,
        })
    }

    fn negative(&self) -> bool {
        self.text.starts_with('-')
    }

    /// `get_const_expr` with its normal decoration: the value, quoted and
    /// labelled when it would not read back as the same constant.
    fn deparse(&self) -> String {
        match self.kind {
            LiteralKind::Int4 if !self.negative() => self.text.clone(),
            LiteralKind::Int4 => format!("'{}'::integer", self.text),
            LiteralKind::Int8 => format!("'{}'::bigint", self.text),
            LiteralKind::Numeric if !self.negative() && self.text.contains('.') => {
                self.text.clone()
            }
            LiteralKind::Numeric => format!("'{}'::numeric", self.text),
        }
    }

    /// `get_const_expr` with `showtype = -1` (under a cast to its own type).
    fn deparse_bare(&self) -> String {
        let plain = !self.negative()
            && match self.kind {
                LiteralKind::Int4 => true,
                LiteralKind::Numeric => self.text.contains('.'),
                LiteralKind::Int8 => false,
            };
        if plain {
            self.text.clone()
        } else {
            format!("'{}'", self.text)
        }
    }
}

/// `numeric_out(numeric_in(literal))`: plain notation, the scale the
/// literal implies (`1.50` stays `1.50`, `2e2` is `200`, `1E-2` is `0.01`),
/// no sign on zero. None when `literal` is not a number.
pub fn canonical_numeric(literal: &str) -> Option<String> {
    let (negative, rest) = match literal.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, literal.strip_prefix('+').unwrap_or(literal)),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, f),
        None => (mantissa, ""),
    };
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
        || exponent.unsigned_abs() > 1000
    {
        return None;
    }
    let scale = (frac_part.len() as i64 - exponent).max(0) as usize;
    let digits = format!("{int_part}{frac_part}");
    // Position of the decimal point within `digits`.
    let point = int_part.len() as i64 + exponent;
    let (mut int_digits, frac_digits) = if point <= 0 {
        let zeros = "0".repeat(point.unsigned_abs() as usize);
        (String::new(), format!("{zeros}{digits}"))
    } else if point as usize >= digits.len() {
        let zeros = "0".repeat(point as usize - digits.len());
        (format!("{digits}{zeros}"), String::new())
    } else {
        let (i, f) = digits.split_at(point as usize);
        (i.to_string(), f.to_string())
    };
    let trimmed = int_digits.trim_start_matches('0');
    int_digits = if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    };
    let mut frac: String = frac_digits.chars().take(scale).collect();
    while frac.len() < scale {
        frac.push('0');
    }
    let is_zero = int_digits == "0" && frac.chars().all(|c| c == '0');
    let sign = if negative && !is_zero { "-" } else { "" };
    Some(if frac.is_empty() {
        format!("{sign}{int_digits}")
    } else {
        format!("{sign}{int_digits}.{frac}")
    })
}

/// A default's value, as the schema gives it, with the text PostgreSQL's
/// output function would print for it already worked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A number literal as Prisma writes it into the SQL.
    Number(String),
    /// `true` / `false`.
    Boolean(bool),
    /// A quoted constant: the text its type's output function prints.
    Text(String),
}

/// `pg_get_expr` of a scalar default `value` on a column of type `ty`.
/// None when the number is not one.
pub fn scalar_default(value: &Value, ty: &PgType) -> Option<String> {
    Some(match value {
        Value::Boolean(b) => b.to_string(),
        // Implicit casts and length coercions to the column type are hidden.
        Value::Number(literal) => NumberConst::parse(literal)?.deparse(),
        Value::Text(text) => format!("{}::{}", quote_literal(text), ty.const_label()),
    })
}

/// `pg_get_expr` of a list default `ARRAY[...]::type[]` on a column whose
/// element type is `element`.
pub fn list_default(values: &[Value], element: &PgType) -> Option<String> {
    if values.is_empty() {
        return Some(format!("ARRAY[]::{}[]", element.format()));
    }
    let target = element.format();
    let items = values
        .iter()
        .map(|value| {
            Some(match value {
                Value::Boolean(b) => b.to_string(),
                Value::Text(text) => format!("{}::{target}", quote_literal(text)),
                Value::Number(literal) => {
                    let constant = NumberConst::parse(literal)?;
                    let same_type = element.literal_kind() == Some(constant.kind);
                    match element {
                        // A typmod on the same type: the constant undecorated,
                        // then the cast.
                        PgType::Numeric(Some(_)) if same_type => {
                            format!("{}::{target}", constant.deparse_bare())
                        }
                        _ if same_type => constant.deparse(),
                        _ => format!("({})::{target}", constant.deparse()),
                    }
                }
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(format!("ARRAY[{}]", items.join(", ")))
}

/// How Prisma writes a Float or Decimal default into the SQL: the value
/// in plain notation (it goes through a big decimal), so `1e3` becomes
/// `1000` and `1.50` stays `1.50`.
pub fn prisma_decimal_literal(literal: &str) -> Option<String> {
    let (negative, rest) = match literal.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, literal.strip_prefix('+').unwrap_or(literal)),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if (int_part.is_empty() && frac_part.is_empty())
        || !int_part.chars().all(|c| c.is_ascii_digit())
        || !frac_part.chars().all(|c| c.is_ascii_digit())
        || exponent.unsigned_abs() > 1000
    {
        return None;
    }
    // Scale as a big decimal keeps it: fraction digits minus the exponent,
    // possibly negative (then the value is an integer with trailing zeros).
    let scale = frac_part.len() as i64 - exponent;
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let plain = if scale <= 0 {
        let zeros = if digits == "0" {
            String::new()
        } else {
            "0".repeat(scale.unsigned_abs() as usize)
        };
        format!("{digits}{zeros}")
    } else {
        let scale = scale as usize;
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
        } else {
            digits.to_string()
        };
        let (i, f) = padded.split_at(padded.len() - scale);
        format!("{i}.{f}")
    };
    canonical_numeric(&plain)?;
    let is_zero = plain.chars().all(|c| c == '0' || c == '.');
    Some(if negative && !is_zero {
        format!("-{plain}")
    } else {
        plain
    })
}

// ---------------------------------------------------------------------------
// Output functions for quoted constants.

/// `uuid_out`: lowercase (input accepts either case).
pub fn uuid_text(value: &str) -> String {
    value.to_ascii_lowercase()
}

/// `inet_out`: a host address prints without its full-length netmask.
pub fn inet_text(value: &str) -> String {
    if let Some(host) = value.strip_suffix("/32")
        && !host.contains(':')
    {
        return host.to_string();
    }
    if let Some(host) = value.strip_suffix("/128")
        && host.contains(':')
    {
        return host.to_string();
    }
    value.to_string()
}

/// `byteain` of Prisma's base64 default, printed by `byteaout` (hex).
pub fn bytea_text(base64: &str) -> Option<String> {
    let bytes = decode_base64(base64)?;
    let mut out = String::with_capacity(2 + bytes.len() * 2);
    out.push_str("\\x");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    Some(out)
}

/// Base64 (the standard alphabet, padding optional) to bytes.
pub fn decode_base64(input: &str) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    }
    let trimmed = input.trim_end_matches('=');
    if input.len() - trimmed.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in trimmed.bytes() {
        buffer = (buffer << 6) | sextet(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    (bits < 6).then_some(out)
}

/// A Prisma `DateTime` default (RFC 3339) as Prisma's engine prints it
/// into the SQL: `2020-01-01 00:00:00 +02:00`.
pub fn prisma_datetime(value: &str) -> Option<String> {
    let parsed: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(value)
        .or_else(|_| value.parse::<DateTime<FixedOffset>>())
        .ok()?;
    Some(parsed.to_string())
}

/// A Prisma `DateTime` default (RFC 3339), as the output function of the
/// column's type prints it. None when the string is not a date-time.
pub fn datetime_text(value: &str, ty: &PgType) -> Option<String> {
    let parsed: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(value)
        .or_else(|_| value.parse::<DateTime<FixedOffset>>())
        .ok()?;
    // PostgreSQL keeps microseconds, rounding the rest.
    let local = round_to_micros(parsed.naive_local())?;
    let utc = round_to_micros(parsed.naive_utc())?;
    let offset = parsed.offset().local_minus_utc();
    Some(match ty {
        // The written offset is ignored for types without a time zone.
        PgType::Timestamp(_) => format_timestamp(&local),
        // Printed in the session's time zone (UTC).
        PgType::Timestamptz(_) => format!("{}+00", format_timestamp(&utc)),
        PgType::Date => local.date().format("%Y-%m-%d").to_string(),
        PgType::Time(_) => format_time(&local.time()),
        PgType::Timetz(_) => format!("{}{}", format_time(&local.time()), format_offset(offset)),
        // Anything else gets the text as Prisma writes it.
        _ => parsed.to_string(),
    })
}

fn round_to_micros(t: NaiveDateTime) -> Option<NaiveDateTime> {
    let nanos = t.nanosecond() % 1_000_000_000;
    let micros = (nanos + 500) / 1000;
    let base = t.with_nanosecond(0)?;
    base.checked_add_signed(chrono::TimeDelta::microseconds(i64::from(micros)))
}

fn format_fraction(nanos: u32) -> String {
    let micros = nanos / 1000;
    if micros == 0 {
        return String::new();
    }
    let digits = format!("{micros:06}");
    format!(".{}", digits.trim_end_matches('0'))
}

fn format_timestamp(t: &NaiveDateTime) -> String {
    format!(
        "{}{}",
        t.format("%Y-%m-%d %H:%M:%S"),
        format_fraction(t.nanosecond())
    )
}

fn format_time(t: &NaiveTime) -> String {
    format!(
        "{}{}",
        t.format("%H:%M:%S"),
        format_fraction(t.nanosecond())
    )
}

/// A UTC offset as PostgreSQL prints it: `+02`, `-05:30`.
fn format_offset(seconds: i32) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    match (m, sec) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{sec:02}"),
    }
}

// ---------------------------------------------------------------------------
// jsonb's output form.

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// `jsonb_out(jsonb_in(text))`: keys sorted (shorter first, then
/// bytewise), the last of duplicate keys kept, `", "` and `": "` as
/// separators, numbers in `numeric` form. None when `text` is not JSON.
pub fn jsonb_text(text: &str) -> Option<String> {
    let mut parser = JsonParser {
        bytes: text.as_bytes(),
        text,
        at: 0,
    };
    let value = parser.value(0)?;
    parser.skip_ws();
    if parser.at != text.len() {
        return None;
    }
    let mut out = String::new();
    write_jsonb(&value, &mut out);
    Some(out)
}

fn write_jsonb(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::String(s) => write_json_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_jsonb(item, out);
            }
            out.push(']');
        }
        Json::Object(members) => {
            // Last duplicate wins, then jsonb's key order.
            let mut unique: Vec<(&String, &Json)> = Vec::new();
            for (key, value) in members {
                match unique.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = value,
                    None => unique.push((key, value)),
                }
            }
            unique.sort_by(|(a, _), (b, _)| {
                a.len()
                    .cmp(&b.len())
                    .then_with(|| a.as_bytes().cmp(b.as_bytes()))
            });
            out.push('{');
            for (i, (key, value)) in unique.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_string(key, out);
                out.push_str(": ");
                write_jsonb(value, out);
            }
            out.push('}');
        }
    }
}

/// PostgreSQL's `escape_json`.
fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

struct JsonParser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    at: usize,
}

impl JsonParser<'_> {
    const MAX_DEPTH: usize = 200;

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    fn eat(&mut self, literal: &str) -> bool {
        if self
            .text
            .get(self.at..)
            .is_some_and(|rest| rest.starts_with(literal))
        {
            self.at += literal.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > Self::MAX_DEPTH {
            return None;
        }
        self.skip_ws();
        match self.bytes.get(self.at)? {
            b'n' => self.eat("null").then_some(Json::Null),
            b't' => self.eat("true").then_some(Json::Bool(true)),
            b'f' => self.eat("false").then_some(Json::Bool(false)),
            b'"' => self.string().map(Json::String),
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.eat("]") {
                    return Some(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    if self.eat("]") {
                        return Some(Json::Array(items));
                    }
                    if !self.eat(",") {
                        return None;
                    }
                }
            }
            b'{' => {
                self.at += 1;
                let mut members = Vec::new();
                self.skip_ws();
                if self.eat("}") {
                    return Some(Json::Object(members));
                }
                loop {
                    self.skip_ws();
                    let key = self.string()?;
                    self.skip_ws();
                    if !self.eat(":") {
                        return None;
                    }
                    members.push((key, self.value(depth + 1)?));
                    self.skip_ws();
                    if self.eat("}") {
                        return Some(Json::Object(members));
                    }
                    if !self.eat(",") {
                        return None;
                    }
                }
            }
            _ => self.number(),
        }
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.at;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(self.at) {
            self.at += 1;
        }
        let literal = self.text.get(start..self.at)?;
        // JSON's own number syntax: no leading `+`, no bare `.5`.
        let body = literal.strip_prefix('-').unwrap_or(literal);
        if !body.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        canonical_numeric(literal).map(Json::Number)
    }

    fn string(&mut self) -> Option<String> {
        if !self.eat("\"") {
            return None;
        }
        let mut out = String::new();
        loop {
            let rest = self.text.get(self.at..)?;
            let c = rest.chars().next()?;
            self.at += c.len_utf8();
            match c {
                '"' => return Some(out),
                '\\' => {
                    let e = *self.bytes.get(self.at)?;
                    self.at += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let high = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&high) {
                                if !self.eat("\\u") {
                                    return None;
                                }
                                let low = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&low) {
                                    return None;
                                }
                                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                high
                            };
                            if code == 0 {
                                return None; // jsonb rejects \u0000
                            }
                            out.push(char::from_u32(code)?);
                        }
                        _ => return None,
                    }
                }
                c if (c as u32) < 0x20 => return None,
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let hex = self.text.get(self.at..self.at + 4)?;
        self.at += 4;
        u32::from_str_radix(hex, 16).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_ident_matches_postgres() {
        assert_eq!(as_printed_ident("Role"), "\"Role\"");
        assert_eq!(as_printed_ident("lower_enum"), "lower_enum");
        assert_eq!(as_printed_ident("user"), "\"user\"");
        assert_eq!(as_printed_ident("Mixed_Case"), "\"Mixed_Case\"");
        assert_eq!(as_printed_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(as_printed_ident("1abc"), "\"1abc\"");
        assert_eq!(as_printed_ident("name"), "name"); // unreserved keyword
        // `SELECT quote_ident(x)` on PostgreSQL 15:
        let names = [
            "user",
            "Role",
            "name",
            "lower_enum",
            "a b",
            "é",
            "_x",
            "x1",
            "1x",
            "order",
            "type",
            "value",
            "between",
            "xmltable",
            "a\"b",
            "",
        ];
        let quoted: Vec<String> = names.iter().map(|n| as_printed_ident(n)).collect();
        assert_eq!(
            quoted.join(" | "),
            r#""user" | "Role" | name | lower_enum | "a b" | "é" | _x | x1 | "1x" | "order" | type | value | "between" | "xmltable" | "a""b" | """#
        );
        assert_eq!(QUOTED_KEYWORDS.split_whitespace().count(), 151);
    }

    #[test]
    fn serial_sequence_names_are_truncated_like_postgres() {
        assert_eq!(serial_sequence_name("User", "id"), "User_id_seq");
        let long = "t".repeat(70);
        let name = serial_sequence_name(&long, "id");
        assert_eq!(name.len(), 63);
        assert_eq!(name, format!("{}_id_seq", "t".repeat(56)));
        let name = serial_sequence_name(&"a".repeat(40), &"b".repeat(40));
        assert_eq!(name, format!("{}_{}_seq", "a".repeat(29), "b".repeat(29)));
    }

    /// Outputs observed with `pg_get_expr` on PostgreSQL 15.
    #[test]
    fn scalar_number_defaults() {
        let n = |s: &str, ty: PgType| scalar_default(&Value::Number(s.into()), &ty);
        assert_eq!(n("0", PgType::Integer).as_deref(), Some("0"));
        assert_eq!(n("-5", PgType::Integer).as_deref(), Some("'-5'::integer"));
        assert_eq!(n("5", PgType::BigInt).as_deref(), Some("5"));
        assert_eq!(n("-5", PgType::BigInt).as_deref(), Some("'-5'::integer"));
        assert_eq!(
            n("3000000000", PgType::BigInt).as_deref(),
            Some("'3000000000'::bigint")
        );
        assert_eq!(
            n("-2147483648", PgType::Integer).as_deref(),
            Some("'-2147483648'::integer")
        );
        assert_eq!(n("0", PgType::DoublePrecision).as_deref(), Some("0"));
        assert_eq!(n("1.5", PgType::DoublePrecision).as_deref(), Some("1.5"));
        assert_eq!(
            n("-1.5", PgType::DoublePrecision).as_deref(),
            Some("'-1.5'::numeric")
        );
        assert_eq!(
            n("10000000000", PgType::DoublePrecision).as_deref(),
            Some("'10000000000'::bigint")
        );
        assert_eq!(
            n("1.50", PgType::Numeric(Some((65, 30)))).as_deref(),
            Some("1.50")
        );
        assert_eq!(
            n("00.5", PgType::Numeric(Some((65, 30)))).as_deref(),
            Some("0.5")
        );
        assert_eq!(
            n("99999999999999999999", PgType::Numeric(Some((65, 30)))).as_deref(),
            Some("'99999999999999999999'::numeric")
        );
        assert_eq!(n("1.5", PgType::Money).as_deref(), Some("1.5"));
    }

    #[test]
    fn scalar_text_defaults() {
        let t = |s: &str, ty: PgType| scalar_default(&Value::Text(s.into()), &ty);
        assert_eq!(t("it's", PgType::Text).as_deref(), Some("'it''s'::text"));
        assert_eq!(
            t("x", PgType::VarChar(Some(255))).as_deref(),
            Some("'x'::character varying")
        );
        assert_eq!(
            t("abc", PgType::Char(Some(3))).as_deref(),
            Some("'abc'::bpchar")
        );
        assert_eq!(
            t("101", PgType::Bit(Some(3))).as_deref(),
            Some("'101'::\"bit\"")
        );
        assert_eq!(
            t("USER", PgType::Enum("Role".into())).as_deref(),
            Some("'USER'::\"Role\"")
        );
        assert_eq!(
            scalar_default(&Value::Boolean(false), &PgType::Boolean).as_deref(),
            Some("false")
        );
    }

    #[test]
    fn list_defaults() {
        let nums = |v: &[&str]| {
            v.iter()
                .map(|s| Value::Number((*s).into()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            list_default(&nums(&["-1", "3000000000"]), &PgType::BigInt).as_deref(),
            Some("ARRAY[('-1'::integer)::bigint, '3000000000'::bigint]")
        );
        assert_eq!(
            list_default(&nums(&["-1", "0"]), &PgType::Integer).as_deref(),
            Some("ARRAY['-1'::integer, 0]")
        );
        assert_eq!(
            list_default(
                &nums(&["1.5", "2", "-1.5"]),
                &PgType::Numeric(Some((65, 30)))
            )
            .as_deref(),
            Some("ARRAY[1.5::numeric(65,30), (2)::numeric(65,30), '-1.5'::numeric(65,30)]")
        );
        assert_eq!(
            list_default(&nums(&["-1.5", "-2"]), &PgType::DoublePrecision).as_deref(),
            Some("ARRAY[('-1.5'::numeric)::double precision, ('-2'::integer)::double precision]")
        );
        assert_eq!(
            list_default(&nums(&["1"]), &PgType::SmallInt).as_deref(),
            Some("ARRAY[(1)::smallint]")
        );
        assert_eq!(
            list_default(&[], &PgType::Text).as_deref(),
            Some("ARRAY[]::text[]")
        );
        let texts = [Value::Text("USER".into()), Value::Text("ADMIN".into())];
        assert_eq!(
            list_default(&texts, &PgType::Enum("Role".into())).as_deref(),
            Some("ARRAY['USER'::\"Role\", 'ADMIN'::\"Role\"]")
        );
        assert_eq!(
            list_default(&[Value::Text("a".into())], &PgType::VarChar(Some(10))).as_deref(),
            Some("ARRAY['a'::character varying(10)]")
        );
        assert_eq!(
            list_default(&[Value::Text("ab".into())], &PgType::Char(Some(2))).as_deref(),
            Some("ARRAY['ab'::character(2)]")
        );
        assert_eq!(
            list_default(
                &[Value::Boolean(true), Value::Boolean(false)],
                &PgType::Boolean
            )
            .as_deref(),
            Some("ARRAY[true, false]")
        );
    }

    #[test]
    fn numeric_forms() {
        assert_eq!(canonical_numeric("2e2").as_deref(), Some("200"));
        assert_eq!(canonical_numeric("1E-2").as_deref(), Some("0.01"));
        assert_eq!(canonical_numeric("-0").as_deref(), Some("0"));
        assert_eq!(canonical_numeric("1.50").as_deref(), Some("1.50"));
        assert_eq!(canonical_numeric("1.55e1").as_deref(), Some("15.5"));
        assert_eq!(canonical_numeric("abc"), None);
        assert_eq!(prisma_decimal_literal("1e3").as_deref(), Some("1000"));
        assert_eq!(prisma_decimal_literal("1.50").as_deref(), Some("1.50"));
        assert_eq!(prisma_decimal_literal("-1.5").as_deref(), Some("-1.5"));
        assert_eq!(prisma_decimal_literal("1.5e-3").as_deref(), Some("0.0015"));
        assert_eq!(prisma_decimal_literal("0").as_deref(), Some("0"));
        assert_eq!(prisma_decimal_literal("aé.5"), None);
        assert_eq!(prisma_decimal_literal("1e999999999"), None);
        assert_eq!(prisma_decimal_literal("1e-9223372036854775808"), None);
        assert_eq!(canonical_numeric("1e-9223372036854775808"), None);
        assert_eq!(prisma_decimal_literal("--5"), None);
    }

    #[test]
    fn datetimes_print_like_postgres() {
        let v = "2020-01-01T00:00:00.1234567+02:00";
        assert_eq!(
            datetime_text(v, &PgType::Timestamp(Some(3))).as_deref(),
            Some("2020-01-01 00:00:00.123457")
        );
        assert_eq!(
            datetime_text(
                "2020-06-01T10:00:00.120+02:30",
                &PgType::Timestamptz(Some(3))
            )
            .as_deref(),
            Some("2020-06-01 07:30:00.12+00")
        );
        assert_eq!(
            datetime_text("2020-06-01T10:00:00.120+02:30", &PgType::Timetz(Some(6))).as_deref(),
            Some("10:00:00.12+02:30")
        );
        assert_eq!(
            datetime_text("2020-01-01T01:02:03.5-05:30", &PgType::Timetz(None)).as_deref(),
            Some("01:02:03.5-05:30")
        );
        assert_eq!(
            datetime_text("2020-06-01T10:00:00+02:00", &PgType::Timetz(Some(6))).as_deref(),
            Some("10:00:00+02")
        );
        assert_eq!(
            datetime_text("2020-01-01T00:00:00Z", &PgType::Date).as_deref(),
            Some("2020-01-01")
        );
        assert_eq!(
            datetime_text("2020-01-01T01:02:03.5Z", &PgType::Time(None)).as_deref(),
            Some("01:02:03.5")
        );
        assert_eq!(datetime_text("yesterday", &PgType::Date), None);
    }

    #[test]
    fn jsonb_normalizes_like_postgres() {
        assert_eq!(
            jsonb_text(r#"{"b":1,"a":[1.50,2e2, -0, 1E-2, "x\u0041\/\n"], "aa": null, "b": true}"#)
                .as_deref(),
            Some(r#"{"a": [1.50, 200, 0, 0.01, "xA/\n"], "b": true, "aa": null}"#)
        );
        assert_eq!(jsonb_text("{}").as_deref(), Some("{}"));
        assert_eq!(jsonb_text(" [ ] ").as_deref(), Some("[]"));
        assert_eq!(jsonb_text("{\"a\":"), None);
        assert_eq!(jsonb_text("+1"), None);
    }

    #[test]
    fn other_outputs() {
        assert_eq!(bytea_text("AQI=").as_deref(), Some("\\x0102"));
        assert_eq!(bytea_text("").as_deref(), Some("\\x"));
        assert_eq!(bytea_text("!!"), None);
        assert_eq!(inet_text("10.0.0.1/32"), "10.0.0.1");
        assert_eq!(
            uuid_text("5F1B1C5E-0000-0000-0000-00000000000A"),
            "5f1b1c5e-0000-0000-0000-00000000000a"
        );
    }
}
