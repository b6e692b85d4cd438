//! Every environment variable the runner reads, in one place.
//!
//! The names are a contract with the Lambda (Prisma reads `DATABASE_URL` and
//! `DIRECT_URL`; the guide's Lambda reads `DB_SECRET_ARN` and `DB_IAM_AUTH`)
//! and with deploy scripts; `.env.example` documents each one.

/// The app connection as the Lambda's Prisma Client uses it (may point at
/// RDS Proxy). With a secret it is a template: endpoint, database and
/// parameters from the URL, user and password from the secret.
pub const DATABASE_URL: &str = "DATABASE_URL";
/// Prisma's non-pooled URL; migrations use it when set.
pub const DIRECT_URL: &str = "DIRECT_URL";
/// Secrets Manager secret (ARN or name) of the app connection.
pub const DB_SECRET_ARN: &str = "DB_SECRET_ARN";
/// Secrets Manager secret (ARN or name) of the migration connection.
pub const MIGRATION_SECRET_ARN: &str = "MIGRATION_SECRET_ARN";
/// `true`: the app connection's password is a fresh RDS IAM auth token.
pub const DB_IAM_AUTH: &str = "DB_IAM_AUTH";
/// The app role that `grant` manages [default: the app connection's user
/// when it differs from the migration user, else `impulse_app`].
pub const DB_APP_USER: &str = "DB_APP_USER";
/// Findings of `grant` the operator leaves as they are, by name
/// (`create-on-schema`, ...): only what `PUBLIC` holds on a database or
/// schema the migration role does not own (see `grants::accept`).
pub const DB_GRANT_ACCEPT: &str = "DB_GRANT_ACCEPT";
/// TLS mode when the URL does not set `sslmode` (or there is no URL).
pub const DB_SSLMODE: &str = "DB_SSLMODE";
/// CA bundle when the URL does not set `sslrootcert` (the RDS CA bundle).
pub const DB_SSLROOTCERT: &str = "DB_SSLROOTCERT";
/// The AWS SDK's region variables, read here too so that a region in
/// `.env` counts.
pub const AWS_REGION: &str = "AWS_REGION";
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";

/// The PostgreSQL server binaries for `migrate dev`'s local cluster
/// (another major version, say) instead of the machine's own. Read from
/// the process environment only.
pub const MIGRATE_PG_BINDIR: &str = "MIGRATE_PG_BINDIR";

/// Every variable above: the only ones the tool reads itself.
pub const ALL: &[&str] = &[
    DATABASE_URL,
    DIRECT_URL,
    DB_SECRET_ARN,
    MIGRATION_SECRET_ARN,
    DB_IAM_AUTH,
    DB_APP_USER,
    DB_GRANT_ACCEPT,
    DB_SSLMODE,
    DB_SSLROOTCERT,
    AWS_REGION,
    AWS_DEFAULT_REGION,
    MIGRATE_PG_BINDIR,
];
