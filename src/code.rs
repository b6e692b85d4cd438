//! Every diagnosis and error code the binary can emit, as one type.
//!
//! A code is what scripts and tests match on (`"code": "auth.username_case"`
//! in the JSON), so it is stable; the message and hint around it are for
//! people and may change. Each variant carries, in one place, its dotted
//! name, its meaning (the variant's `///` doc), the generic fix that the
//! README's tables print, and the exit status a command ends with when the
//! code is its error. Nothing in the runner compares code strings or
//! message texts: code that needs to know what went wrong matches on the
//! variant.
//!
//! The README's "Codes" and "Exit codes" tables are generated from this enum
//! ([`Code::markdown_table`], [`Exit::markdown_table`]) and a unit test
//! fails when the README differs (`UPDATE_README=1 cargo test --lib readme`
//! rewrites them).

use std::fmt;

use crate::error::Exit;

macro_rules! codes {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident = $name:literal, $exit:ident, $hint:literal;
    )+) => {
        /// A stable diagnosis or error code (see the README's code table).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code {
            $( $(#[doc = $doc])+ $variant, )+
        }

        impl Code {
            /// Every code, in the README's order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The dotted name scripts match on: `auth.username_case`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)+ }
            }

            /// What the code means (its `///` doc).
            pub fn meaning(self) -> &'static str {
                match self { $(Code::$variant => concat!($($doc),+),)+ }.trim()
            }

            /// The generic fix, as the README's table prints it. Errors
            /// usually carry a more specific hint of their own.
            pub const fn hint(self) -> &'static str {
                match self { $(Code::$variant => $hint,)+ }
            }

            /// The exit status of a command that fails with this code.
            pub const fn exit(self) -> Exit {
                match self { $(Code::$variant => Exit::$exit,)+ }
            }
        }
    };
}

codes! {
    /// No URL, secret or IAM source is configured at all.
    ConfigMissing = "config.missing", Usage,
        "set DATABASE_URL (or DIRECT_URL, DB_SECRET_ARN), in the environment or `.env`, or run `migrate dev`";
    /// A placeholder (`REPLACED_BY_SECRET`, `AWS_IAM_TOKEN`, `<...>`) survived resolution.
    ConfigPlaceholder = "config.placeholder", Usage,
        "set DB_SECRET_ARN (template URL) or DB_IAM_AUTH=true, or fill in the value";
    /// Raw `@ / ? # [ ] %` or a space in the URL's password (Prisma fails on it too).
    ConfigUnencodedPassword = "config.unencoded_password", Usage,
        "percent-encode the password, or keep it in the secret";
    /// A URL that does not parse, or a parameter with an impossible value.
    ConfigInvalidUrl = "config.invalid_url", Usage,
        "use postgresql://USER:PASSWORD@HOST:PORT/DATABASE?schema=public with the password percent-encoded";
    /// A variable with a value the tool cannot use (`DB_SSLMODE=on`).
    ConfigInvalid = "config.invalid", Usage,
        "fix the variable the message names";
    /// The schema to manage is one of PostgreSQL's own (`pg_catalog`, `information_schema`, `pg_*`).
    ConfigSystemSchema = "config.system_schema", Usage,
        "set ?schema= to the application's schema (Prisma's default is public)";
    /// The file given to `--env-file` cannot be read.
    ConfigEnvFile = "config.env_file", Usage,
        "check the path given to --env-file";
    /// The connection has no host: neither the URL, the secret nor `--host` names one.
    ConfigMissingHost = "config.missing_host", Usage,
        "set DATABASE_URL as a template with the endpoint (an RDS-managed secret holds only username and password), or pass --host";
    /// The connection has no user name.
    ConfigMissingUser = "config.missing_user", Usage,
        "put the user in the URL or the secret, or pass --user";
    /// No AWS region for a secret or an IAM token.
    ConfigRegionMissing = "config.region_missing", Usage,
        "use the secret's full ARN (it names the region), pass --region, or set AWS_REGION";
    /// A command-line argument the tool does not accept.
    UsageInvalid = "usage.invalid", Usage,
        "see `migrate --help` and `migrate <command> --help`";
    /// Secrets Manager has no such secret (ARN, name, region, account): `ResourceNotFoundException`.
    SecretNotFound = "secret.not_found", Usage,
        "fix DB_SECRET_ARN; the ARN's region wins over AWS_REGION";
    /// Reading the secret was denied: `AccessDeniedException` or KMS `DecryptionFailure`.
    SecretAccessDenied = "secret.access_denied", Connect,
        "allow secretsmanager:GetSecretValue on the secret and kms:Decrypt on its key";
    /// The secret is not JSON, or has no `username`/`password`.
    SecretMalformed = "secret.malformed", Usage,
        "store {\"username\": ..., \"password\": ...} (plus host, port, dbname without a URL)";
    /// The secret exists but cannot be read now (scheduled for deletion, no version at that stage).
    SecretUnavailable = "secret.unavailable", Usage,
        "check the secret and its version stages in the Secrets Manager console";
    /// Secrets Manager answered with another error.
    SecretError = "secret.error", Connect,
        "retry; if it persists, check the Secrets Manager service health";
    /// Secrets Manager could not be reached (network, endpoint).
    SecretUnreachable = "secret.unreachable", Connect,
        "check the network path to Secrets Manager (a VPC endpoint or NAT for a Lambda in a VPC) and AWS_ENDPOINT_URL";
    /// No AWS credentials were found for Secrets Manager or an IAM token.
    AwsNoCredentials = "aws.no_credentials", Usage,
        "provide credentials the AWS way: an IAM role (Lambda, ECS, EC2), AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
    /// The database already has the `AWSPENDING` password; `AWSCURRENT` still has the old one.
    SecretRotationIncomplete = "secret.rotation_incomplete", CheckFailed,
        "finish the rotation (`rotate-secret` again after reading the rotation Lambda's logs), or move AWSCURRENT";
    /// The database accepts `AWSPREVIOUS`, not `AWSCURRENT`: the secret changed, the database did not.
    SecretStale = "secret.stale", CheckFailed,
        "`migrate grant --sync-password`, or fix the rotation Lambda's setSecret step";
    /// The host does not resolve.
    DnsUnresolved = "dns.unresolved", Connect,
        "fix the host; in a VPC, enable DNS resolution and hostnames";
    /// TCP packets are dropped: the connect timed out.
    NetworkTimeout = "network.timeout", Connect,
        "security group / NACL inbound rule for the port; the Lambda must run in the database's VPC";
    /// Nothing listens on that port: TCP refused.
    NetworkRefused = "network.refused", Connect,
        "the port, or the instance is stopped";
    /// The network connection failed in another way.
    NetworkError = "network.error", Connect,
        "check the network path to the database; run `migrate doctor`";
    /// The server refuses unencrypted connections.
    TlsRequired = "tls.required", Connect,
        "`sslmode=require` (better `verify-full` with `sslrootcert`)";
    /// TLS is required by `sslmode`, but the server does not offer it.
    TlsUnavailable = "tls.unavailable", Connect,
        "enable TLS on the server, or lower sslmode (never for a database reached over a network)";
    /// The certificate is not trusted, or names another host (`sslrootcert`).
    TlsVerifyFailed = "tls.verify_failed", Connect,
        "`sslrootcert` = the RDS CA bundle (Amazon Root CA 1 for RDS Proxy); connect by the certificate's host name";
    /// `28P01`: the role exists and the password is wrong, and nothing more specific is known.
    AuthPasswordMismatch = "auth.password_mismatch", Connect,
        "put the right password in the secret or URL, or `migrate grant --sync-password`; `migrate doctor` tells the cases apart";
    /// The role does not exist (it takes the migration connection to tell).
    AuthRoleMissing = "auth.role_missing", Connect,
        "`migrate grant` creates the app role; or fix the user name";
    /// A role differing only in case exists (`Impulse_App` was used, `impulse_app` exists).
    AuthUsernameCase = "auth.username_case", Connect,
        "use the role's exact name";
    /// The role's `VALID UNTIL` is in the past.
    AuthPasswordExpired = "auth.password_expired", Connect,
        "`ALTER ROLE ... VALID UNTIL 'infinity'`";
    /// The role is a member of `rds_iam`: RDS accepts only IAM tokens for it, and a password was used.
    AuthIamRequired = "auth.iam_required", Connect,
        "`DB_IAM_AUTH=true`, or revoke `rds_iam`";
    /// The IAM auth token was refused.
    AuthIamTokenRejected = "auth.iam_token_rejected", Connect,
        "token region, clock, `rds-db:connect` policy, `rds_iam` membership";
    /// `28000`: `pg_hba.conf` rejects this user, database or address.
    AuthNoHbaEntry = "auth.no_hba_entry", Connect,
        "the server's access rules (on RDS: the parameter group, `rds.force_ssl`)";
    /// `3D000`: no such database.
    DatabaseMissing = "database.missing", Connect,
        "the database name at the end of the URL";
    /// `53300`: no free connection slots (server or role limit).
    DatabaseTooManyConnections = "database.too_many_connections", Connect,
        "RDS Proxy in front of the Lambda, a lower `connection_limit`, or a higher limit";
    /// The server refused the connection for another reason.
    ConnectFailed = "connect.failed", Connect,
        "check the URL; run `migrate doctor` for a diagnosis";
    /// The connection broke while a command was using it.
    ConnectLost = "connect.lost", Connect,
        "the connection to the database was lost; run the command again";
    /// A statement of the tool itself failed (not a migration's).
    QueryFailed = "query.failed", Connect,
        "run with -v for details; run `migrate doctor` for a diagnosis";
    /// The app role has more than least privilege, or is the migration role itself.
    PrivilegesExcess = "privileges.excess", CheckFailed,
        "`migrate grant`; give the Lambda its own role";
    /// The role lacks what the schema needs (as the app role: what `migrate grant` grants).
    PrivilegesMissing = "privileges.missing", Connect,
        "`migrate grant` (or `migrate up`); for migrations, connect as the schema's owner (DIRECT_URL)";
    /// The migration role may not make a change the grant plan needs (CREATEROLE, ownership).
    PrivilegesCannotGrant = "privileges.cannot_grant", Usage,
        "run migrations and grants as the role that owns the schema and its tables, with CREATEROLE to create the app role";
    /// The app role is the migration role, or one it inherits through: least privilege would lock migrations out.
    PrivilegesLockout = "privileges.lockout", Usage,
        "give the app its own role (DB_APP_USER names it; impulse_app by default)";
    /// The migration connection goes through RDS Proxy or PgBouncer.
    PoolerMigrationsThroughProxy = "pooler.migrations_through_proxy", Usage,
        "set DIRECT_URL to the database's own endpoint";
    /// The migration lock was not acquired within `--lock-timeout`.
    LockTimeout = "lock.timeout", Lock,
        "another run holds it (the message names it): wait, raise --lock-timeout, or end that session";
    /// A statement of the tool itself (a history or catalog read) waited `--lock-timeout` for a table lock another session holds.
    LockReadBlocked = "lock.read_blocked", Lock,
        "the message names the blocking sessions (often a migration, or a `LOCK TABLE` left in an open transaction): let them finish or end them, or raise --lock-timeout";
    /// A migration failed and was rolled back.
    MigrationFailed = "migration.failed", Migration,
        "fix the migration (or the data it trips over) and run the command again";
    /// A migration could not get its table locks within `--ddl-lock-timeout`, on every attempt (`--lock-retries`), and was rolled back.
    MigrationLockTimeout = "migration.lock_timeout", Migration,
        "the message names the sessions in the way (a long or idle-in-transaction transaction on the tables it changes): let them finish or end them, then run `migrate up` again";
    /// Migrations are pending: the database is behind the code.
    MigrationsPending = "migrations.pending", CheckFailed,
        "`migrate up` (the deploy job)";
    /// The history has migrations this binary does not know (a newer version ran).
    MigrationsUnknownApplied = "migrations.unknown_applied", Usage,
        "deploy the version that has those migrations";
    /// A migration started and never finished nor was rolled back (Prisma's P3009).
    MigrationsFailed = "migrations.failed", Usage,
        "`migrate resolve --rolled-back NAME` (it runs again) or `migrate resolve --applied NAME` (finished by hand)";
    /// An applied migration's `migration.sql` changed since it was applied.
    MigrationsEdited = "migrations.edited", Usage,
        "restore the file and put the change in a new migration; `--allow-edited` proceeds anyway";
    /// The schema has tables but no migration history (Prisma's P3005).
    MigrationsNotBaselined = "migrations.not_baselined", Usage,
        "`migrate baseline` records what the schema already matches; `migrate import-prisma` brings a Prisma history";
    /// A directory of `prisma/migrations` has no sea-orm migration, or a migration has no directory.
    MigrationsUnregistered = "migrations.unregistered", Usage,
        "`migrate import-prisma` registers the directories, then rebuild";
    /// This binary's embedded migrations differ from the workspace's `prisma/migrations`.
    MigrationsStaleBinary = "migrations.stale_binary", Usage,
        "rebuild: run the tool as `cargo migrate ...` in the workspace";
    /// A migration to roll back has no `down.sql`.
    MigrationsIrreversible = "migrations.irreversible", Usage,
        "write its `down.sql`, or roll back fewer steps";
    /// A destructive command was not confirmed: `fresh` and `reset` always need `--yes`, and so does `down` on a host that is not this machine.
    DestructiveUnconfirmed = "destructive.unconfirmed", Usage,
        "check the target with `migrate url`, then pass --yes";
    /// `fresh` or `reset` was pointed at a host that is not this machine (neither a loopback address nor `localhost`) without `--allow-remote`.
    DestructiveRemote = "destructive.remote", Usage,
        "`migrate url` shows the target; pass --allow-remote (and --yes) only when you mean that database";
    /// `migrate resolve` cannot do what was asked (Prisma's P3008, P3011, P3012, P3017).
    ResolveRefused = "resolve.refused", Usage,
        "`migrate status` shows each migration's state";
    /// The live schema differs from what the migrations build: `baseline` recorded nothing.
    BaselineDiffers = "baseline.differs", CheckFailed,
        "make the schema match (or baseline fewer migrations with `--to`), then run it again";
    /// `migrate baseline` is for a schema without a history, and this one has one.
    BaselineHasHistory = "baseline.has_history", Usage,
        "`migrate status` shows the history; `migrate resolve --applied NAME` records one migration";
    /// What `migrate import-prisma` was given is not a Prisma history it can import.
    ImportInvalid = "import.invalid", Usage,
        "point --from at a Prisma `prisma/migrations` folder for PostgreSQL";
    /// The live schema differs from what the migrations define.
    SchemaDrift = "schema.drift", CheckFailed,
        "write a migration for the change, or undo the manual change";
    /// No PostgreSQL server binaries were found for the local cluster.
    DevNoPostgres = "dev.no_postgres", Usage,
        "install the PostgreSQL server (Debian: apt-get install -y postgresql)";
    /// Running as root, and there is no `postgres` OS user to run the server as.
    DevNoPostgresUser = "dev.no_postgres_user", Usage,
        "create the postgres OS user (the PostgreSQL package does), or run as a normal user";
    /// The cluster directory cannot be reached by the server's OS user.
    DevUnreachableDir = "dev.unreachable_dir", Usage,
        "run from a directory the postgres OS user can traverse";
    /// The server binaries directory (`MIGRATE_PG_BINDIR`) lacks `initdb`, `pg_ctl` or `postgres`.
    DevBadBindir = "dev.bad_bindir", Usage,
        "point MIGRATE_PG_BINDIR at a PostgreSQL bin directory, or unset it to use the machine's server";
    /// Running as root, the `postgres` OS user cannot run the server binaries.
    DevUnreachableBindir = "dev.unreachable_bindir", Usage,
        "install the binaries where the postgres OS user can read and execute them";
    /// The local cluster was made by another PostgreSQL major version.
    DevVersionMismatch = "dev.version_mismatch", Usage,
        "use the server version that made it (MIGRATE_PG_BINDIR), or stop it and remove `.migrate/` to start over";
    /// The cluster directory is in a state the tool cannot use.
    DevBrokenState = "dev.broken_state", Usage,
        "stop the cluster and remove `.migrate/` to start over (the data is lost)";
    /// The local server failed to initialise or start.
    DevServerFailed = "dev.server_failed", Internal,
        "read the server log the message names";
    /// A file of the local cluster could not be written or read.
    DevIo = "dev.io", Internal,
        "check the permissions of `.migrate/`";
    /// `entity/src` could not be read or written.
    EntitiesIo = "entities.io", Usage,
        "run from the workspace root, or pass --dir";
    /// `rustfmt` is missing, so generated entities cannot be formatted.
    EntitiesNoRustfmt = "entities.no_rustfmt", Usage,
        "`rustup component add rustfmt`";
    /// The migration name is not snake_case.
    NewInvalidName = "new.invalid_name", Usage,
        "use lower-case letters, digits and single underscores, starting with a letter";
    /// A migration of that name is already registered.
    NewExists = "new.exists", Usage,
        "pick another name";
    /// The migration crate is not where the command looked.
    NewNoMigrationCrate = "new.no_migration_crate", Usage,
        "run from the workspace root, or pass --migration-dir";
    /// A migration file could not be written.
    NewIo = "new.io", Usage,
        "check the path and its permissions";
    /// `schema.prisma` cannot be read.
    PrismaNoSchema = "prisma.no_schema", Usage,
        "run from the workspace root, or pass --schema PATH";
    /// `schema.prisma` does not parse (the message has line and column).
    PrismaParseError = "prisma.parse_error", Usage,
        "fix the schema (`npx prisma validate` checks it too)";
    /// `schema.prisma` uses something the derivation cannot map.
    PrismaUnsupported = "prisma.unsupported", Usage,
        "fix the schema, or report the Prisma feature this tool does not map yet";
    /// `migrate new` cannot write the SQL Prisma Migrate would write for this change (the message names the construct).
    PrismaCannotGenerate = "prisma.cannot_generate", Usage,
        "write that migration by hand (`migrate new NAME --empty`), or change schema.prisma to avoid the construct";
    /// `migrate lint` found statements that lock or rewrite a table that already exists, or that break the app version still running.
    LintFindings = "lint.findings", CheckFailed,
        "write each statement the safe way its finding shows, or silence one finding with `-- migrate-lint: ignore <rule> -- <reason>` above it";
    /// A file given to `migrate lint` cannot be read.
    LintUnreadable = "lint.unreadable", Usage,
        "check the path: a migration.sql, or the migration directory that holds one";
    /// A bug in impulse-db, or an environment it cannot work in.
    Internal = "internal", Internal,
        "this is a bug in impulse-db or an unusable environment; rerun with -v and report it";
}

impl Code {
    /// The README's code table: one row per code, with its meaning, fix
    /// and exit status.
    pub fn markdown_table() -> String {
        let mut out = String::from("| code | what it means | fix | exit |\n|---|---|---|---|\n");
        for code in Code::ALL {
            out += &format!(
                "| `{}` | {} | {} | {} |\n",
                code.as_str(),
                code.meaning(),
                code.hint(),
                code.exit() as i32
            );
        }
        out
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_dotted_and_documented() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!(
                code.as_str() == "internal" || code.as_str().contains('.'),
                "{code}"
            );
            assert!(
                !code.meaning().is_empty() && !code.hint().is_empty(),
                "{code}"
            );
        }
    }

    #[test]
    fn serialises_to_the_dotted_name() {
        assert_eq!(
            serde_json::to_string(&Code::AuthUsernameCase).unwrap(),
            "\"auth.username_case\""
        );
    }
}
