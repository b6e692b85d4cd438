//! Every environment variable the runner reads, in one place.
//!
//! The names are a contract with the Lambda (Prisma reads `DATABASE_URL` and
//! `DIRECT_URL`) and with deploy scripts; `.env.example` documents each one.

/// The app connection as the Lambda's Prisma Client uses it (may point at RDS Proxy).
pub const DATABASE_URL: &str = "DATABASE_URL";
/// Prisma's non-pooled URL; migrations use it when set.
pub const DIRECT_URL: &str = "DIRECT_URL";
