//! SQL text as PostgreSQL reads it, without a database.
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

pub use split::{ExecutionMode, Script, Statement, StatementKind, TransactionControl, split};
