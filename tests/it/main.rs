//! End-to-end tests: the built binaries against a real PostgreSQL started by
//! the tests themselves (see `support`). One crate, so it links once.

mod adoption;
mod catalog;
mod config;
mod credentials;
mod dev;
mod doctor;
mod entity;
mod first_hour;
mod grants;
mod hardening;
mod history;
mod lint;
mod live;
mod moto;
mod pg_versions;
mod pgbouncer;
mod prisma_cli;
mod prisma_history;
mod prisma_sql;
mod properties;
mod rds;
mod roundtrips;
mod runner;
mod schema_changes;
mod snapshots;
mod support;
mod transport;
mod workspace_copy;
