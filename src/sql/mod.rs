//! SQL text the tool writes itself: identifiers and literals, quoted in
//! one place.
//!
//! Every identifier the tool sends is double-quoted, always (a name like
//! `User` or `impulse-app` must keep its case and characters), and every
//! value that cannot be a bind parameter (role passwords' verifiers,
//! `ALTER ... SET` values) is a standard-conforming string literal.

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
