//! SQL text: the text the tool writes itself (identifiers and literals,
//! quoted in one place) and the text of migration files as PostgreSQL reads
//! it, without a database (`split`).
//!
//! Every identifier the tool sends is double-quoted, always (a name like
//! `User` or `impulse-app` must keep its case and characters), and every
//! value that cannot be a bind parameter (role passwords' verifiers,
//! `ALTER ... SET` values) is a standard-conforming string literal.
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

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("User"), "\"User\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(qualified("public", "User"), "\"public\".\"User\"");
    }
}
