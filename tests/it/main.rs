//! End-to-end tests: the built binaries against a real PostgreSQL started by
//! the tests themselves (see `support`). One crate, so it links once.

mod catalog;
mod config;
mod credentials;
mod dev;
mod doctor;
mod entity;
mod grants;
mod moto;
mod pg_versions;
mod pgbouncer;
mod rds;
mod runner;
mod schema_changes;
mod snapshots;
mod support;
mod transport;
