//! `schema.prisma`: parsing, and the PostgreSQL catalog Prisma Migrate
//! would create for it.
//!
//! This is the reference side of `migrate prisma-check`: [`parse`] reads a
//! schema with a pest grammar (`schema.pest`) into a syntax tree
//! ([`Schema`]), and [`derive`] maps that tree to a [`Catalog`] the way
//! Prisma Migrate maps it to PostgreSQL, every value in the normalized form
//! PostgreSQL's own catalog prints. Live-database introspection fills in
//! the same [`Catalog`] type, so the check is a comparison of two values,
//! and [`migrate`] renders the SQL Prisma Migrate writes between two such
//! catalogs. Nothing here touches a database.

pub mod derive;
pub mod migrate;
pub mod model;
pub mod parse;
mod pg;
pub mod vocabulary;

#[cfg(test)]
mod tests;

pub use derive::derive;
pub use model::*;
pub use parse::parse;
