//! SQL text as PostgreSQL reads it, without a database.
//!
//! Migration files are plain SQL written by Prisma Migrate or by hand. The
//! runner needs to know where each statement starts and ends, and whether
//! the file can run inside one transaction; `migrate lint` needs the same
//! statements to report on. Both come from [`split`], which reads the file
//! with squawk's PostgreSQL lexer and parser (the crates the linter is built
//! on), never with string matching.

pub mod split;

pub use split::{ExecutionMode, Script, Statement, StatementKind, TransactionControl, split};
