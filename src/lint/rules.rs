//! The rule set of `migrate lint`: our stable ids, what each guards
//! against, the safe pattern, and which squawk rules feed it.
//!
//! The ids are this project's, not squawk's: squawk's names may change
//! between releases and several squawk rules map to one finding here
//! (`constraint-missing-not-valid` and `adding-foreign-key-constraint` both
//! become [`RuleId::ConstraintWithoutNotValid`]). The reasons for including
//! and excluding rules are in the [`crate::lint`] module documentation.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};
use squawk_linter::Rule as Squawk;

/// A rule of `migrate lint`, named by a stable kebab-case id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RuleId {
    /// `CREATE INDEX` without `CONCURRENTLY`.
    IndexWithoutConcurrently,
    /// A foreign key or check constraint added without `NOT VALID`, or
    /// validated in the transaction that added it.
    ConstraintWithoutNotValid,
    /// `ALTER COLUMN ... SET NOT NULL`.
    SetNotNull,
    /// `ALTER COLUMN ... TYPE` / `SET DATA TYPE`.
    ColumnTypeChange,
    /// `ADD COLUMN ... DEFAULT <volatile expression>`.
    AddColumnVolatileDefault,
    /// `ADD COLUMN ... NOT NULL` without a default.
    AddColumnNotNullWithoutDefault,
    /// `ALTER TABLE ... DROP COLUMN`.
    DropColumn,
    /// `DROP TABLE`.
    DropTable,
    /// `ALTER TABLE ... RENAME COLUMN`.
    RenameColumn,
    /// `ALTER TABLE ... RENAME TO`.
    RenameTable,
    /// `DROP SCHEMA`.
    DropSchema,
    /// `DROP DATABASE`.
    DropDatabase,
    /// `ADD PRIMARY KEY` without `USING INDEX`.
    AddPrimaryKeyWithoutIndex,
    /// `ADD UNIQUE` without `USING INDEX`.
    AddUniqueConstraintWithoutIndex,
    /// `REINDEX` without `CONCURRENTLY`.
    ReindexWithoutConcurrently,
    /// `DETACH PARTITION` without `CONCURRENTLY`.
    DetachPartitionWithoutConcurrently,
    /// `TRUNCATE ... CASCADE`.
    TruncateCascade,
    /// `ALTER DOMAIN ... ADD CONSTRAINT`.
    AlterDomainAddConstraint,
    /// `VACUUM FULL`.
    VacuumFull,
    /// `CLUSTER`.
    Cluster,
    /// `ALTER TYPE ... RENAME VALUE`.
    RenameEnumValue,
    /// A concurrent statement inside the file's own `BEGIN ... COMMIT`.
    ConcurrentlyInTransaction,
    /// A `BEGIN` that the file never commits.
    UncommittedTransaction,
    /// A statement squawk's parser cannot read.
    SyntaxError,
    /// A malformed ignore comment, or a squawk one.
    IgnoreInvalid,
    /// An ignore comment that silenced nothing.
    IgnoreUnused,
}

impl RuleId {
    /// Every rule, in report order.
    pub const ALL: [RuleId; 26] = [
        RuleId::IndexWithoutConcurrently,
        RuleId::ConstraintWithoutNotValid,
        RuleId::SetNotNull,
        RuleId::ColumnTypeChange,
        RuleId::AddColumnVolatileDefault,
        RuleId::AddColumnNotNullWithoutDefault,
        RuleId::DropColumn,
        RuleId::DropTable,
        RuleId::RenameColumn,
        RuleId::RenameTable,
        RuleId::DropSchema,
        RuleId::DropDatabase,
        RuleId::AddPrimaryKeyWithoutIndex,
        RuleId::AddUniqueConstraintWithoutIndex,
        RuleId::ReindexWithoutConcurrently,
        RuleId::DetachPartitionWithoutConcurrently,
        RuleId::TruncateCascade,
        RuleId::AlterDomainAddConstraint,
        RuleId::VacuumFull,
        RuleId::Cluster,
        RuleId::RenameEnumValue,
        RuleId::ConcurrentlyInTransaction,
        RuleId::UncommittedTransaction,
        RuleId::SyntaxError,
        RuleId::IgnoreInvalid,
        RuleId::IgnoreUnused,
    ];

    /// The stable kebab-case id, as written in ignore comments and reports.
    pub fn id(self) -> &'static str {
        match self {
            RuleId::IndexWithoutConcurrently => "index-without-concurrently",
            RuleId::ConstraintWithoutNotValid => "constraint-without-not-valid",
            RuleId::SetNotNull => "set-not-null",
            RuleId::ColumnTypeChange => "column-type-change",
            RuleId::AddColumnVolatileDefault => "add-column-volatile-default",
            RuleId::AddColumnNotNullWithoutDefault => "add-column-not-null-without-default",
            RuleId::DropColumn => "drop-column",
            RuleId::DropTable => "drop-table",
            RuleId::RenameColumn => "rename-column",
            RuleId::RenameTable => "rename-table",
            RuleId::DropSchema => "drop-schema",
            RuleId::DropDatabase => "drop-database",
            RuleId::AddPrimaryKeyWithoutIndex => "add-primary-key-without-index",
            RuleId::AddUniqueConstraintWithoutIndex => "add-unique-constraint-without-index",
            RuleId::ReindexWithoutConcurrently => "reindex-without-concurrently",
            RuleId::DetachPartitionWithoutConcurrently => "detach-partition-without-concurrently",
            RuleId::TruncateCascade => "truncate-cascade",
            RuleId::AlterDomainAddConstraint => "alter-domain-add-constraint",
            RuleId::VacuumFull => "vacuum-full",
            RuleId::Cluster => "cluster",
            RuleId::RenameEnumValue => "rename-enum-value",
            RuleId::ConcurrentlyInTransaction => "concurrently-in-transaction",
            RuleId::UncommittedTransaction => "uncommitted-transaction",
            RuleId::SyntaxError => "syntax-error",
            RuleId::IgnoreInvalid => "lint-ignore-invalid",
            RuleId::IgnoreUnused => "lint-ignore-unused",
        }
    }

    /// Why the statement is dangerous on a live database.
    pub fn why(self) -> &'static str {
        match self {
            RuleId::IndexWithoutConcurrently => {
                "CREATE INDEX without CONCURRENTLY holds a SHARE lock on the table for the whole \
                 build: every INSERT, UPDATE and DELETE waits until the index is built."
            }
            RuleId::ConstraintWithoutNotValid => {
                "Adding a FOREIGN KEY or CHECK constraint scans the whole table to validate it \
                 while holding a lock that blocks writes (SHARE ROW EXCLUSIVE on both tables for a \
                 foreign key, ACCESS EXCLUSIVE for a check); VALIDATE in the transaction that \
                 added the constraint still holds that lock."
            }
            RuleId::SetNotNull => {
                "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock (no reads, no \
                 writes) unless a validated CHECK (column IS NOT NULL) constraint already proves it."
            }
            RuleId::ColumnTypeChange => {
                "Changing a column's type takes an ACCESS EXCLUSIVE lock and, unless the old type \
                 is binary-coercible to the new one, rewrites the table and rebuilds its indexes \
                 while nothing can read or write it; the app version still running may not handle \
                 the new type either (Prisma's enum value removal is such a change)."
            }
            RuleId::AddColumnVolatileDefault => {
                "ADD COLUMN with a volatile DEFAULT (gen_random_uuid(), random(), \
                 clock_timestamp(), nextval()) rewrites the whole table under an ACCESS EXCLUSIVE \
                 lock. Constant and stable defaults (0, 'x', now(), CURRENT_TIMESTAMP) are instant \
                 on PostgreSQL 11+ and are not reported."
            }
            RuleId::AddColumnNotNullWithoutDefault => {
                "ADD COLUMN ... NOT NULL without a DEFAULT fails on a table that has rows, and the \
                 app version still running does not set the column, so its INSERTs fail once the \
                 column exists."
            }
            RuleId::DropColumn => {
                "The app version still running names every column of its models in its queries \
                 (Prisma Client selects scalar fields explicitly) and fails as soon as the column \
                 is gone; the data is lost."
            }
            RuleId::DropTable => {
                "The app version still running queries the table and fails as soon as it is gone; \
                 the data is lost and rolling back the deploy does not bring it back."
            }
            RuleId::RenameColumn => {
                "The app version still running reads and writes the old name and fails as soon as \
                 the rename commits."
            }
            RuleId::RenameTable => {
                "The app version still running queries the old name and fails as soon as the \
                 rename commits."
            }
            RuleId::DropSchema => {
                "DROP SCHEMA removes the schema with every table, type and function in it (or \
                 fails without CASCADE); the running app loses all of it."
            }
            RuleId::DropDatabase => {
                "DROP DATABASE removes the whole database; no deploy migration should."
            }
            RuleId::AddPrimaryKeyWithoutIndex => {
                "ADD PRIMARY KEY builds its unique index (and checks NOT NULL) under an ACCESS \
                 EXCLUSIVE lock: no reads or writes for the whole build."
            }
            RuleId::AddUniqueConstraintWithoutIndex => {
                "ADD UNIQUE builds its index under an ACCESS EXCLUSIVE lock: no reads or writes \
                 for the whole build."
            }
            RuleId::ReindexWithoutConcurrently => {
                "REINDEX locks the index against every query that uses it (ACCESS EXCLUSIVE) and \
                 the table against writes (SHARE) for the whole rebuild."
            }
            RuleId::DetachPartitionWithoutConcurrently => {
                "DETACH PARTITION takes an ACCESS EXCLUSIVE lock on the partitioned table: every \
                 query on it waits."
            }
            RuleId::TruncateCascade => {
                "TRUNCATE ... CASCADE also empties every table with a foreign key to the truncated \
                 ones, recursively, including tables the statement does not name."
            }
            RuleId::AlterDomainAddConstraint => {
                "ALTER DOMAIN ... ADD CONSTRAINT checks every column of that domain in every table \
                 while blocking writes to them."
            }
            RuleId::VacuumFull => {
                "VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock: no reads or writes \
                 until it finishes."
            }
            RuleId::Cluster => {
                "CLUSTER rewrites the table in index order under an ACCESS EXCLUSIVE lock: no \
                 reads or writes until it finishes."
            }
            RuleId::RenameEnumValue => {
                "After ALTER TYPE ... RENAME VALUE the app version still running writes the old \
                 label and gets `invalid input value for enum`, and fails to read rows that carry \
                 the new one."
            }
            RuleId::ConcurrentlyInTransaction => {
                "PostgreSQL refuses this statement inside a transaction block (SQLSTATE 25001), \
                 and it sits between the file's own BEGIN and COMMIT: the migration fails."
            }
            RuleId::UncommittedTransaction => {
                "The file opens a transaction it never commits: its locks stay held after the \
                 file ends and its changes depend on what the runner does next."
            }
            RuleId::SyntaxError => {
                "squawk's PostgreSQL parser cannot read this statement, so it was not checked \
                 (PostgreSQL itself may still accept it)."
            }
            RuleId::IgnoreInvalid => {
                "This comment looks like a lint ignore but silences nothing: every ignore needs \
                 known rule ids and a reason."
            }
            RuleId::IgnoreUnused => {
                "This ignore comment silences nothing: it is stale, or sits above the wrong \
                 statement, and would hide the next real finding there."
            }
        }
    }

    /// What to write instead.
    pub fn safe_pattern(self) -> &'static str {
        match self {
            RuleId::IndexWithoutConcurrently => {
                "CREATE INDEX CONCURRENTLY, in a migration of its own (the runner then runs it \
                 outside a transaction). If it fails it leaves an INVALID index: DROP INDEX \
                 CONCURRENTLY it before retrying."
            }
            RuleId::ConstraintWithoutNotValid => {
                "ADD CONSTRAINT ... NOT VALID in this migration (new rows are checked at once), \
                 then ALTER TABLE ... VALIDATE CONSTRAINT ... in a later migration (it only takes \
                 SHARE UPDATE EXCLUSIVE, so reads and writes go on)."
            }
            RuleId::SetNotNull => {
                "Migration 1: ADD CONSTRAINT c CHECK (\"col\" IS NOT NULL) NOT VALID. Migration 2: \
                 VALIDATE CONSTRAINT c (reads and writes go on), then ALTER COLUMN \"col\" SET NOT \
                 NULL (no scan on PostgreSQL 12+ thanks to c), then DROP CONSTRAINT c."
            }
            RuleId::ColumnTypeChange => {
                "Expand and contract: add a column of the new type, write both, backfill in \
                 batches, switch reads, drop the old column. squawk cannot tell safe casts from the \
                 text (the old type is not in the file); on PostgreSQL these keep the data in \
                 place (brief lock, no rewrite): varchar(n) to varchar(m) with m > n, varchar to \
                 text, numeric(p,s) to numeric(q,s) with q > p. int to bigint, text to \
                 varchar(n) and most others rewrite."
            }
            RuleId::AddColumnVolatileDefault => {
                "Add the column without the default (nullable), backfill existing rows in \
                 batches, then SET DEFAULT for new rows; make it NOT NULL as set-not-null \
                 describes."
            }
            RuleId::AddColumnNotNullWithoutDefault => {
                "Add the column nullable or with a constant DEFAULT, deploy the app that sets it, \
                 backfill, then make it NOT NULL as set-not-null describes."
            }
            RuleId::DropColumn => {
                "Contract last: deploy an app that no longer uses the column (remove the field \
                 from schema.prisma), then drop the column in a later migration."
            }
            RuleId::DropTable => {
                "Deploy an app that no longer uses the model first; drop the table in a later \
                 migration, after a backup if the data may be needed."
            }
            RuleId::RenameColumn => {
                "Keep the column and rename only the Prisma field (@map(\"old_name\")), or expand \
                 and contract: add the new column, write both, backfill, switch reads, drop the old."
            }
            RuleId::RenameTable => {
                "Keep the table and rename only the Prisma model (@@map(\"old_name\")), or create \
                 the new table, copy and dual-write, switch, then drop the old."
            }
            RuleId::DropSchema => {
                "Not in a deploy migration: drop it by hand once nothing uses it."
            }
            RuleId::DropDatabase => "Not in a migration: drop it by hand.",
            RuleId::AddPrimaryKeyWithoutIndex => {
                "CREATE UNIQUE INDEX CONCURRENTLY in one migration, then ALTER TABLE ... ADD \
                 CONSTRAINT ... PRIMARY KEY USING INDEX ... in the next."
            }
            RuleId::AddUniqueConstraintWithoutIndex => {
                "CREATE UNIQUE INDEX CONCURRENTLY in one migration, then ALTER TABLE ... ADD \
                 CONSTRAINT ... UNIQUE USING INDEX ... in the next."
            }
            RuleId::ReindexWithoutConcurrently => {
                "REINDEX ... CONCURRENTLY (PostgreSQL 12+), in a migration of its own."
            }
            RuleId::DetachPartitionWithoutConcurrently => {
                "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY (PostgreSQL 14+), in a \
                 migration of its own."
            }
            RuleId::TruncateCascade => {
                "Name every table to empty (TRUNCATE a, b) without CASCADE, so the statement fails \
                 instead of reaching a table you did not list."
            }
            RuleId::AlterDomainAddConstraint => {
                "ALTER DOMAIN ... ADD CONSTRAINT ... NOT VALID, then ALTER DOMAIN ... VALIDATE \
                 CONSTRAINT in a later migration."
            }
            RuleId::VacuumFull => {
                "Plain VACUUM (it blocks neither reads nor writes); to give space back online use \
                 pg_repack, or REPACK (CONCURRENTLY) on PostgreSQL 19+, outside migrations."
            }
            RuleId::Cluster => {
                "pg_repack --order-by, or REPACK (CONCURRENTLY) ... USING INDEX on PostgreSQL \
                 19+, outside migrations."
            }
            RuleId::RenameEnumValue => {
                "Add the new value (ALTER TYPE ... ADD VALUE), deploy an app that writes only the \
                 new one, UPDATE the rows, then remove the old value in a later migration."
            }
            RuleId::ConcurrentlyInTransaction => {
                "Move the statement out of the BEGIN ... COMMIT block, best into a migration of \
                 its own."
            }
            RuleId::UncommittedTransaction => {
                "End every BEGIN with COMMIT in the same file, or leave transaction control to \
                 the runner."
            }
            RuleId::SyntaxError => {
                "Fix the statement; if PostgreSQL accepts it as written, silence this with an \
                 ignore comment that says so."
            }
            RuleId::IgnoreInvalid => {
                "-- migrate-lint: ignore <rule>[, <rule>...] -- <reason>, as a line comment \
                 right above the statement it silences."
            }
            RuleId::IgnoreUnused => {
                "Remove the comment, or move it right above the statement it is meant for."
            }
        }
    }

    /// Findings of this rule on a table the same file created are dropped:
    /// nothing else uses that table yet.
    pub(crate) fn exempt_on_new_tables(self) -> bool {
        !matches!(
            self,
            RuleId::DropSchema
                | RuleId::DropDatabase
                | RuleId::TruncateCascade
                | RuleId::AlterDomainAddConstraint
                | RuleId::ConcurrentlyInTransaction
                | RuleId::UncommittedTransaction
                | RuleId::SyntaxError
                | RuleId::IgnoreInvalid
                | RuleId::IgnoreUnused
        )
    }

    /// Whether an ignore comment may silence it; the ignore rules may not.
    pub fn ignorable(self) -> bool {
        !matches!(self, RuleId::IgnoreInvalid | RuleId::IgnoreUnused)
    }

    /// Our rule for a squawk rule, for the squawk rules we run.
    pub(crate) fn from_squawk(rule: Squawk) -> Option<RuleId> {
        SQUAWK_RULES
            .iter()
            .find(|(squawk, _)| *squawk == rule)
            .map(|(_, ours)| *ours)
    }
}

/// The squawk rules `migrate lint` runs, and what each becomes.
pub(crate) const SQUAWK_RULES: [(Squawk, RuleId); 20] = [
    (
        Squawk::RequireConcurrentIndexCreation,
        RuleId::IndexWithoutConcurrently,
    ),
    (
        Squawk::ConstraintMissingNotValid,
        RuleId::ConstraintWithoutNotValid,
    ),
    (
        Squawk::AddingForeignKeyConstraint,
        RuleId::ConstraintWithoutNotValid,
    ),
    (Squawk::AddingNotNullableField, RuleId::SetNotNull),
    (Squawk::ChangingColumnType, RuleId::ColumnTypeChange),
    (
        Squawk::AddingFieldWithDefault,
        RuleId::AddColumnVolatileDefault,
    ),
    (
        Squawk::AddingRequiredField,
        RuleId::AddColumnNotNullWithoutDefault,
    ),
    (Squawk::BanDropColumn, RuleId::DropColumn),
    (Squawk::BanDropTable, RuleId::DropTable),
    (Squawk::RenamingColumn, RuleId::RenameColumn),
    (Squawk::RenamingTable, RuleId::RenameTable),
    (Squawk::BanDropSchema, RuleId::DropSchema),
    (Squawk::BanDropDatabase, RuleId::DropDatabase),
    (
        Squawk::AddingSerialPrimaryKeyField,
        RuleId::AddPrimaryKeyWithoutIndex,
    ),
    (
        Squawk::DisallowedUniqueConstraint,
        RuleId::AddUniqueConstraintWithoutIndex,
    ),
    (
        Squawk::RequireConcurrentReindex,
        RuleId::ReindexWithoutConcurrently,
    ),
    (
        Squawk::RequireConcurrentPartitionDetach,
        RuleId::DetachPartitionWithoutConcurrently,
    ),
    (Squawk::BanTruncateCascade, RuleId::TruncateCascade),
    (
        Squawk::BanAlterDomainWithAddConstraint,
        RuleId::AlterDomainAddConstraint,
    ),
    (
        Squawk::BanUncommittedTransaction,
        RuleId::UncommittedTransaction,
    ),
];

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A rule id that `migrate lint` does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown lint rule `{0}`")]
pub struct UnknownRule(pub String);

impl FromStr for RuleId {
    type Err = UnknownRule;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RuleId::ALL
            .into_iter()
            .find(|rule| rule.id() == s)
            .ok_or_else(|| UnknownRule(s.to_string()))
    }
}

impl Serialize for RuleId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}
