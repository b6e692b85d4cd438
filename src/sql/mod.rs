//! SQL text: the text the tool writes itself (identifiers and literals,
//! quoted in one place) and the text of migration files as PostgreSQL reads
//! it, without a database (`split`).
//!
//! Every identifier the tool sends is double-quoted, always (a name like
//! `User` or `impulse-app` must keep its case and characters). Every value
//! the tool puts into the text of a statement it sends (its own reads go
//! out as simple queries, see `session::batch`; role passwords'
//! verifiers) is a [`quote_value`] literal, which reads the same whatever
//! the server's `standard_conforming_strings`; SQL written into migration
//! files uses [`quote_literal`], as Prisma writes it.
//!
//! Migration files are plain SQL written by Prisma Migrate or by hand. The
//! runner needs to know where each statement starts and ends, and whether
//! the file can run inside one transaction; `migrate lint` needs the same
//! statements to report on. Both come from [`split()`], which reads the file
//! with squawk's PostgreSQL lexer and parser (the crates the linter is built
//! on), never with string matching.
//!
//! Why squawk's crates: `squawk-lexer` follows PostgreSQL's `scan.l`
//! (standard-conforming `'...'`, `E'...'`, `U&'...'`, `$tag$` quoting, nested
//! block comments) and `squawk-syntax` gives a lossless tree that knows the
//! two places where `;` does not end a statement (`BEGIN ATOMIC` bodies,
//! `CREATE RULE` action lists), and `migrate lint` needs them anyway, so the
//! splitter adds no dependency of its own. `sqlparser`'s tokenizer would be a
//! second SQL front end whose PostgreSQL DDL coverage is partial; `pg_query`
//! is PostgreSQL's own parser but compiles libpg_query (C, and bindgen) into
//! the binary, which this project's build time and size budget argue against.

pub mod split;

pub use split::{ExecutionMode, ObjectName, Statement, StatementKind, TransactionControl, split};

/// `"name"` with embedded quotes doubled: an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'text'` with embedded quotes doubled: an SQL string literal
/// (backslashes stay as they are: `standard_conforming_strings` is on).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A value as a string literal that PostgreSQL reads back unchanged
/// whatever `standard_conforming_strings` says, as its own
/// `quote_literal()` writes it: `'text'` with quotes doubled, and when the
/// text has a backslash, `E'...'` with backslashes doubled too.
pub fn quote_value(text: &str) -> String {
    if text.contains('\\') {
        format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
    } else {
        quote_literal(text)
    }
}

/// One of the tool's own statements with its placeholders `$1`, `$2`, ...
/// replaced by `values` as [`quote_value`] literals, to send as a simple
/// query. Only for statements written in this crate, where `$N` appears
/// nowhere but as a placeholder.
pub fn with_values(statement: &str, values: &[&str]) -> String {
    // One scan from left to right: a value once written is never looked at
    // again (a role may be named `app$1`), and `$10` is read whole.
    let mut out = String::with_capacity(statement.len());
    let mut rest = statement;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        let value = after[..digits]
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| values.get(i));
        match value {
            Some(value) => out.push_str(&quote_value(value)),
            None => out.push_str(&rest[at..at + 1 + digits]),
        }
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value is written once and never substituted into again: a role
    /// named `x$1` with a quote-bearing schema cannot break out of its
    /// literal (replacing `$2`, then `$1` in the whole text, did).
    #[test]
    fn values_are_substituted_once() {
        let values = [
            "'; DROP TABLE x; --",
            "x$1",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "ten",
        ];
        assert_eq!(
            with_values("SELECT $1, $2, $10, $3, $0", &values),
            "SELECT '''; DROP TABLE x; --', 'x$1', 'ten', '', $0"
        );
        assert_eq!(with_values("a $2 $", &["one"]), "a $2 $");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("User"), "\"User\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_value("it's"), "'it''s'");
        assert_eq!(quote_value(r"a\'b"), r"E'a\\''b'");
        let ten: Vec<String> = (1..=10).map(|i| format!("v{i}")).collect();
        let ten: Vec<&str> = ten.iter().map(String::as_str).collect();
        assert_eq!(
            with_values("f($1, $10, $2) -- $1", &ten),
            "f('v1', 'v10', 'v2') -- 'v1'"
        );
        assert_eq!(with_values("n = $1", &["it's"]), "n = 'it''s'");
        assert_eq!(qualified("public", "User"), "\"public\".\"User\"");
    }
}
