//! What the doctor found out, before it concludes anything.
//!
//! Gathering (`gather`) fills these in from the network, the server, the
//! secret's versions and the catalog; the verdict (`verdict`) is a pure
//! function of them. Keeping the two apart is what lets the verdict be
//! tested case by case without a database: a unit test builds a [`Facts`]
//! and checks the codes that come out.

use std::net::SocketAddr;
use std::time::Duration;

use crate::catalog::Difference;
use crate::config::{SecretRef, SslMode, Which};
use crate::error::Error;
use crate::transport::Tls;

/// Everything the doctor learnt in one run.
#[derive(Debug, Clone)]
pub struct Facts {
    pub app: ConnectionFacts,
    /// `None` when the migration connection is the app connection.
    pub migration: Option<ConnectionFacts>,
    /// Asked when the server refused the app's password (`28P01`).
    pub auth: Option<AuthFacts>,
    /// Asked through a working migration connection; `None` when there is
    /// none.
    pub database: Option<DatabaseFacts>,
}

/// A step's outcome and how long it took.
#[derive(Debug, Clone)]
pub struct Timed<T> {
    pub outcome: T,
    pub elapsed: Duration,
}

impl<T> Timed<T> {
    pub fn new(outcome: T, elapsed: Duration) -> Self {
        Self { outcome, elapsed }
    }
}

/// One connection, walked step by step. Gathering stops at the first step
/// that fails; the steps after it stay `None`.
#[derive(Debug, Clone)]
pub struct ConnectionFacts {
    pub which: Which,
    /// `config`: where the connection's sources are (`URL from
    /// DATABASE_URL (environment)`, ...), or why there are none.
    pub config: Timed<Result<Vec<String>, Error>>,
    /// `url`: the URL as typed (redacted), or why it is unusable. `None`
    /// when there is no URL (the secret names the endpoint).
    pub url: Option<Timed<UrlFact>>,
    /// `secret`: the secret read and the connection resolved, or why not.
    pub secret: Option<Timed<SecretStep>>,
    pub dns: Option<Timed<Result<Vec<SocketAddr>, Error>>>,
    pub tcp: Option<Timed<Result<SocketAddr, Error>>>,
    /// `tls`: what the TLS step on that TCP connection negotiated (the
    /// SSLRequest and handshake `sslmode` asks for), or why it failed.
    pub tls: Option<Timed<Result<Tls, Error>>>,
    /// Authentication and database, as the driver's login on the
    /// negotiated connection answered them (a server that refuses clear
    /// text says so here: `tls.required`).
    pub login: Option<Timed<Result<(), Error>>>,
    /// How long the login took until the server accepted the credentials
    /// (`AuthenticationOk`): the `auth` step's time; the rest of the
    /// login is the `database` step's. `None` when it never did.
    pub authenticated_after: Option<Duration>,
    /// What the connection resolved to, once it did.
    pub target: Option<Target>,
}

/// What the typed URL looked like.
#[derive(Debug, Clone)]
pub enum UrlFact {
    /// Parses, and nothing is left to fill in that nothing will fill in.
    Usable { redacted: String },
    /// The migration connection's URL goes through a pooler (the error
    /// says which); the walk goes on.
    Pooler(Error),
    /// Unusable: the walk stops.
    Unusable(Error),
}

/// The `secret` step: reading the secret, then resolving the connection.
#[derive(Debug, Clone)]
pub enum SecretStep {
    /// Resolved; with the secret version the credentials came from, if any.
    Resolved(Option<SecretFact>),
    /// The secret could not be read.
    FetchFailed(Error),
    /// The secret was read (or there is none), but the connection does
    /// not resolve.
    ResolveFailed(Error),
}

/// The secret version a connection's credentials came from.
#[derive(Debug, Clone)]
pub struct SecretFact {
    pub secret: SecretRef,
    pub user: String,
}

/// The endpoint and identity a resolved connection uses.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: String,
    pub user: String,
    pub dbname: String,
    pub sslmode: SslMode,
}

/// Why the app's password was refused: the questions `28P01` cannot
/// answer.
#[derive(Debug, Clone)]
pub struct AuthFacts {
    /// The user the app logged in as.
    pub user: String,
    /// The server's refusal, classified.
    pub refusal: Error,
    /// The secret version the refused password came from.
    pub secret: Option<SecretRef>,
    /// Another stage of the secret whose password the database accepts.
    pub accepted: Option<AcceptedStage>,
    /// What `pg_roles` says about the user.
    pub role: RoleLookup,
}

/// A secret stage other than the one used, whose password works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedStage {
    /// `AWSPENDING` or `AWSPREVIOUS`.
    pub stage: &'static str,
    pub version_id: String,
}

/// The app user in `pg_roles`, as the migration connection sees it.
#[derive(Debug, Clone)]
pub enum RoleLookup {
    /// No working migration connection to ask through.
    NotAsked,
    /// The lookup itself failed.
    Failed(Error),
    /// No role of that name in any case.
    Missing,
    /// The role (or one differing only in case).
    Found(RoleFact),
}

/// A role found for the app user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFact {
    /// Its exact name.
    pub name: String,
    /// The name matches the user exactly (not only in another case).
    pub exact: bool,
    /// `VALID UNTIL`, when it is in the past (`2001-01-01 00:00 UTC`).
    pub expired_at: Option<String>,
    /// A member of `rds_iam`.
    pub iam: bool,
}

/// The checks of the schema itself, through the migration connection.
#[derive(Debug, Clone)]
pub struct DatabaseFacts {
    pub privileges: Timed<PrivilegeFacts>,
    pub migrations: Timed<Result<MigrationFacts, Error>>,
    /// `None` when the history could not be read.
    pub schema: Option<Timed<Result<SchemaFacts, Error>>>,
}

/// The app role's privileges.
#[derive(Debug, Clone)]
pub enum PrivilegeFacts {
    /// The app role could not be determined.
    UnknownRole(Error),
    /// The app connection logs in as the migration role.
    AppIsMigrationRole { role: String },
    /// The grant plan for the role, read from the catalog.
    Plan {
        role: String,
        missing: Vec<String>,
        excess: Vec<String>,
    },
    /// Reading the catalog failed.
    Unreadable(Error),
}

/// The history against the binary's migrations.
#[derive(Debug, Clone, Default)]
pub struct MigrationFacts {
    pub applied: usize,
    pub pending: Vec<String>,
    /// History rows of migrations this binary does not know.
    pub unknown: Vec<String>,
    /// Started and never finished (Prisma's P3009), with when.
    pub failed: Vec<(String, String)>,
    /// Applied, but the file changed since: name, recorded and file checksums.
    pub edited: Vec<(String, String, String)>,
    /// No history, and these tables exist.
    pub not_baselined: Vec<String>,
    /// The history is still the old `seaql_migrations`.
    pub legacy: bool,
}

/// The live schema against what the migrations define.
#[derive(Debug, Clone, Default)]
pub struct SchemaFacts {
    pub tables: usize,
    /// Against the applied migrations.
    pub against_applied: Vec<Difference>,
    /// Against every migration the binary has, pending ones included;
    /// `None` when the pending ones cannot be replayed (one of them fails).
    pub against_all: Option<Vec<Difference>>,
}
