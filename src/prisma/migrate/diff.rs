//! The migration steps Prisma's differ computes between two catalogs, in
//! the order it sorts them, and the checks that Prisma's notion of a
//! difference agrees with the catalogs'.
//!
//! Prisma pairs tables and columns by name, and indexes and foreign keys by
//! what they are (a different name is a rename). Its steps sort by kind
//! first (`CreateEnum`, `AlterEnum`, `DropForeignKey`, `DropIndex`,
//! `AlterTable`, `DropTable`, `DropEnum`, `CreateTable`, `CreateIndex`,
//! `RenameForeignKey`, `AddForeignKey`, `RenameIndex`), then by the
//! numbers of the objects involved (see `super::schema`). Within an
//! `ALTER TABLE` the changes come as: primary key dropped, renamed,
//! columns dropped and added (each by name), columns altered (in the
//! previous table's column order), primary key added.
//!
//! After planning, every paired column, index, foreign key, primary key
//! and enum is checked: what Prisma's steps leave behind must be what the
//! next catalog says, and Prisma must not rewrite what is already equal.
//! Anything else is a [`Refusal`].

use std::collections::{BTreeMap, BTreeSet};

use crate::prisma::model::{Column, ForeignKey, Index, PgType, PrismaDefault, Table};
use crate::prisma::pg;

use super::Refusal;
use super::defaults;
use super::schema::{EnumId, ForeignKeyId, IndexId, Pair, Side, TableId};
use super::types::{self, Cast};

/// What Prisma's differ notices about a column pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct ColumnChanges {
    /// Required / optional / list changed.
    pub arity: bool,
    /// The default changed.
    pub default: bool,
    /// The type changed.
    pub type_changed: bool,
    /// It became or stopped being auto-incrementing.
    pub autoincrement: bool,
    /// How the type changes, if it does.
    pub cast: Option<Cast>,
}

impl ColumnChanges {
    fn any(&self) -> bool {
        self.arity || self.default || self.type_changed || self.autoincrement
    }
}

/// A column's number in its table: its position.
pub(super) type ColumnId = usize;

/// A column of one catalog: its table's id and its own.
pub(super) type ColumnRef = (TableId, ColumnId);

/// One change inside an `ALTER TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TableChange {
    DropPrimaryKey,
    RenamePrimaryKey,
    DropColumn(ColumnId),
    /// A new column; `client_default` when its `@default` is computed by
    /// Prisma Client (`uuid()`, ...).
    AddColumn {
        column: ColumnId,
        client_default: bool,
    },
    AlterColumn {
        columns: (ColumnId, ColumnId),
        changes: ColumnChanges,
    },
    DropAndRecreateColumn {
        columns: (ColumnId, ColumnId),
        changes: ColumnChanges,
    },
    AddPrimaryKey,
}

/// An `AlterEnum` step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AlterEnum {
    pub enums: (EnumId, EnumId),
    /// Values of the next enum the previous lacks, in the next's order.
    pub created: Vec<String>,
    /// Values of the previous enum the next lacks, in the previous's order.
    pub dropped: Vec<String>,
    /// Previous columns of the enum with a default (table, column), each
    /// with the next column whose default must be set again.
    pub defaults: Vec<(ColumnRef, Option<ColumnRef>)>,
    /// Values are only added, but a default of this migration uses one:
    /// `ADD VALUE` would fail, the type is rebuilt as for a removal.
    pub rebuild: bool,
    /// For each created value (values only added), the existing value the
    /// schema puts it before, if any: Prisma appends every new value.
    pub before: Vec<Option<String>>,
}

/// One migration step, as Prisma's `SqlMigrationStep`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    CreateEnum(EnumId),
    AlterEnum(AlterEnum),
    DropForeignKey(ForeignKeyId),
    DropIndex(IndexId),
    AlterTable {
        tables: (TableId, TableId),
        changes: Vec<TableChange>,
    },
    DropTable(TableId),
    DropEnum(EnumId),
    CreateTable(TableId),
    /// `table` pairs the previous table (None for a new one) with the next.
    CreateIndex {
        table: (Option<TableId>, TableId),
        index: IndexId,
        recreated: bool,
    },
    RenameForeignKey {
        previous: ForeignKeyId,
        next: ForeignKeyId,
    },
    AddForeignKey(ForeignKeyId),
    RenameIndex {
        previous: IndexId,
        next: IndexId,
    },
}

impl Step {
    /// The step's header in the script (`-- CreateTable`).
    pub fn description(&self) -> &'static str {
        match self {
            Step::CreateEnum(_) => "CreateEnum",
            Step::AlterEnum(_) => "AlterEnum",
            Step::DropForeignKey(_) => "DropForeignKey",
            Step::DropIndex(_) => "DropIndex",
            Step::AlterTable { .. } => "AlterTable",
            Step::DropTable(_) => "DropTable",
            Step::DropEnum(_) => "DropEnum",
            Step::CreateTable(_) => "CreateTable",
            Step::CreateIndex { .. } => "CreateIndex",
            Step::RenameForeignKey { .. } => "RenameForeignKey",
            Step::AddForeignKey(_) => "AddForeignKey",
            Step::RenameIndex { .. } => "RenameIndex",
        }
    }

    /// Prisma's sort key: the kind, then the ids in field order.
    fn key(&self) -> (u8, Vec<usize>) {
        let optional = |t: Option<TableId>| t.map_or(0, |t| t + 1);
        match self {
            Step::CreateEnum(e) => (0, vec![*e]),
            Step::AlterEnum(a) => (1, vec![a.enums.0, a.enums.1]),
            Step::DropForeignKey(f) => (2, vec![*f]),
            Step::DropIndex(i) => (3, vec![i.0, i.1]),
            Step::AlterTable { tables, .. } => (4, vec![tables.0, tables.1]),
            Step::DropTable(t) => (5, vec![*t]),
            Step::DropEnum(e) => (6, vec![*e]),
            Step::CreateTable(t) => (7, vec![*t]),
            Step::CreateIndex {
                table,
                index,
                recreated,
            } => (
                8,
                vec![
                    optional(table.0),
                    table.1,
                    index.0,
                    index.1,
                    usize::from(*recreated),
                ],
            ),
            Step::RenameForeignKey { previous, next } => (9, vec![*previous, *next]),
            Step::AddForeignKey(f) => (10, vec![*f]),
            Step::RenameIndex { previous, next } => {
                (11, vec![previous.0, previous.1, next.0, next.1])
            }
        }
    }
}

/// The steps of a migration, sorted.
pub(super) struct Plan {
    pub steps: Vec<Step>,
}

/// A pair of tables of the same name, with their column pairs.
struct TablePair<'a> {
    ids: (TableId, TableId),
    previous: &'a Table,
    next: &'a Table,
    /// Column pairs by name: (previous position, next position, changes).
    columns: Vec<(ColumnId, ColumnId, ColumnChanges)>,
    dropped_columns: Vec<ColumnId>,
    added_columns: Vec<ColumnId>,
}

impl TablePair<'_> {
    fn changes(&self, previous_column: &str) -> Option<ColumnChanges> {
        self.columns
            .iter()
            .find(|(p, _, _)| self.previous.columns[*p].name == previous_column)
            .map(|(_, _, c)| *c)
    }

    fn recreated(&self, previous_column: &str) -> bool {
        self.changes(previous_column)
            .is_some_and(|c| c.cast == Some(Cast::NotCastable))
    }
}

/// Prisma's steps from `pair.from` to `pair.to`, or why they cannot be
/// reproduced.
pub(super) fn plan(pair: &Pair<'_>) -> Result<Plan, Vec<Refusal>> {
    let mut refusals = Vec::new();
    let (from, to) = (&pair.from, &pair.to);
    let mut steps = Vec::new();

    for table in &to.tables {
        let existing = from.table(&table.name);
        for column in &table.columns {
            let path = format!("{}.{}", table.name, column.name);
            check_stable(to, column, &mut |reason| {
                refusals.push(Refusal {
                    construct: path.clone(),
                    reason,
                })
            });
            // A column added as `SERIAL` gets the sequence name PostgreSQL
            // picks.
            let added = existing.is_none_or(|t| t.columns.iter().all(|c| c.name != column.name));
            if added
                && let Some(sequence) = &column.serial
                && *sequence != pg::serial_sequence_name(&table.name, &column.name)
            {
                refusals.push(Refusal {
                    construct: path,
                    reason: format!(
                        "its sequence is \"{sequence}\", not the one SERIAL creates for the column"
                    ),
                });
            }
        }
    }

    let table_pairs: Vec<TablePair<'_>> = from
        .tables
        .iter()
        .enumerate()
        .filter_map(|(pid, previous)| {
            let nid = to.table_id(&previous.name)?;
            Some(table_pair(from, to, (pid, nid), &mut refusals))
        })
        .collect();

    // Created tables, with their indexes and foreign keys.
    for (nid, table) in to.tables.iter().enumerate() {
        if from.table(&table.name).is_some() {
            continue;
        }
        steps.push(Step::CreateTable(nid));
        for fk in &table.foreign_keys {
            if let Some(id) = to.foreign_key_id(&table.name, &fk.name) {
                steps.push(Step::AddForeignKey(id));
            }
        }
        for position in 0..table.indexes.len() {
            steps.push(Step::CreateIndex {
                table: (None, nid),
                index: (nid, position),
                recreated: false,
            });
        }
    }

    // Dropped tables, with their foreign keys.
    let mut dropped_fks: BTreeSet<ForeignKeyId> = BTreeSet::new();
    for (pid, table) in from.tables.iter().enumerate() {
        if to.table(&table.name).is_some() {
            continue;
        }
        steps.push(Step::DropTable(pid));
        for fk in &table.foreign_keys {
            if let Some(id) = from.foreign_key_id(&table.name, &fk.name) {
                dropped_fks.insert(id);
                steps.push(Step::DropForeignKey(id));
            }
        }
    }

    let mut kept_fks: Vec<(ForeignKeyId, ForeignKeyId)> = Vec::new();
    for tables in &table_pairs {
        let indexes = index_matching(tables);
        for &p in &indexes.dropped {
            steps.push(Step::DropIndex((tables.ids.0, p)));
        }
        for &n in &indexes.created {
            steps.push(Step::CreateIndex {
                table: (Some(tables.ids.0), tables.ids.1),
                index: (tables.ids.1, n),
                recreated: false,
            });
        }
        // PostgreSQL drops the indexes of a dropped column: Prisma creates
        // the paired ones again.
        for &(p, n) in &indexes.pairs {
            let index = &tables.next.indexes[n];
            if index.column_names().any(|c| {
                tables.columns.iter().any(|(_, nc, ch)| {
                    tables.next.columns[*nc].name == c && ch.cast == Some(Cast::NotCastable)
                })
            }) {
                if tables.previous.indexes[p].name != index.name {
                    refusals.push(Refusal {
                        construct: format!("index \"{}\"", tables.previous.indexes[p].name),
                        reason: "renamed while one of its columns is dropped and added again: Prisma renames an index PostgreSQL has already dropped".into(),
                    });
                }
                steps.push(Step::CreateIndex {
                    table: (Some(tables.ids.0), tables.ids.1),
                    index: (tables.ids.1, n),
                    recreated: true,
                });
            }
        }
        check_indexes(tables, &indexes, &mut refusals);

        let fks = foreign_key_matching(from, to, tables);
        for &n in &fks.created {
            if let Some(id) =
                to.foreign_key_id(&tables.next.name, &tables.next.foreign_keys[n].name)
            {
                steps.push(Step::AddForeignKey(id));
            }
        }
        for &p in &fks.dropped {
            if let Some(id) =
                from.foreign_key_id(&tables.previous.name, &tables.previous.foreign_keys[p].name)
            {
                dropped_fks.insert(id);
                steps.push(Step::DropForeignKey(id));
            }
        }
        for &(p, n) in &fks.pairs {
            let (previous, next) = (
                &tables.previous.foreign_keys[p],
                &tables.next.foreign_keys[n],
            );
            let (Some(pid), Some(nid)) = (
                from.foreign_key_id(&tables.previous.name, &previous.name),
                to.foreign_key_id(&tables.next.name, &next.name),
            ) else {
                continue;
            };
            kept_fks.push((pid, nid));
            if previous.name != next.name {
                if is_join_table(tables.previous) && is_join_table(tables.next) {
                    refusals.push(Refusal {
                        construct: format!("foreign key \"{}\"", previous.name),
                        reason: format!(
                            "Prisma never renames the foreign keys of an implicit many-to-many table (to \"{}\")",
                            next.name
                        ),
                    });
                }
                steps.push(Step::RenameForeignKey {
                    previous: pid,
                    next: nid,
                });
            }
        }
        check_foreign_keys(tables, &fks, &mut refusals);

        for &(p, n) in &indexes.pairs {
            if tables.previous.indexes[p].name != tables.next.indexes[n].name {
                steps.push(Step::RenameIndex {
                    previous: (tables.ids.0, p),
                    next: (tables.ids.1, n),
                });
            }
        }

        let changes = table_changes(tables, &mut refusals);
        if !changes.is_empty() {
            steps.push(Step::AlterTable {
                tables: tables.ids,
                changes,
            });
        }
    }

    enum_steps(pair, &table_pairs, &mut steps, &mut refusals);
    check_dependencies(pair, &steps, &dropped_fks, &kept_fks, &mut refusals);

    steps.sort_by_key(Step::key);
    unique_index_before_primary_key(pair, &mut steps);

    if refusals.is_empty() {
        Ok(Plan { steps })
    } else {
        refusals.sort_by(|a, b| (&a.construct, &a.reason).cmp(&(&b.construct, &b.reason)));
        refusals.dedup();
        Err(refusals)
    }
}

/// Prisma's arity of a column: a list, or required / optional.
fn arity(column: &Column) -> u8 {
    match (column.column_type.list, column.nullable) {
        (true, _) => 2,
        (false, true) => 1,
        (false, false) => 0,
    }
}

fn table_pair<'a>(
    from: &Side<'a>,
    to: &Side<'a>,
    ids: (TableId, TableId),
    refusals: &mut Vec<Refusal>,
) -> TablePair<'a> {
    let (previous, next) = (from.tables[ids.0], to.tables[ids.1]);
    // Prisma walks a table's columns by name.
    let mut by_name: BTreeMap<&str, (Option<ColumnId>, Option<ColumnId>)> = BTreeMap::new();
    for (i, c) in previous.columns.iter().enumerate() {
        by_name.entry(c.name.as_str()).or_default().0 = Some(i);
    }
    for (i, c) in next.columns.iter().enumerate() {
        by_name.entry(c.name.as_str()).or_default().1 = Some(i);
    }
    let mut columns = Vec::new();
    let mut dropped_columns = Vec::new();
    let mut added_columns = Vec::new();
    for (p, n) in by_name.into_values() {
        match (p, n) {
            (Some(p), Some(n)) => {
                let path = format!("{}.{}", next.name, next.columns[n].name);
                match column_changes(from, &previous.columns[p], to, &next.columns[n]) {
                    Ok(changes) => {
                        check_column(
                            &path,
                            from,
                            &previous.columns[p],
                            to,
                            &next.columns[n],
                            &changes,
                            refusals,
                        );
                        columns.push((p, n, changes));
                    }
                    Err(reason) => refusals.push(Refusal {
                        construct: path,
                        reason,
                    }),
                }
            }
            (Some(p), None) => dropped_columns.push(p),
            (None, Some(n)) => added_columns.push(n),
            (None, None) => {}
        }
    }
    TablePair {
        ids,
        previous,
        next,
        columns,
        dropped_columns,
        added_columns,
    }
}

fn column_changes(
    from: &Side<'_>,
    previous: &Column,
    to: &Side<'_>,
    next: &Column,
) -> Result<ColumnChanges, String> {
    let cast = types::change(
        &previous.column_type,
        from.derived,
        &next.column_type,
        to.derived,
    );
    let previous_kind = defaults::kind(previous, from.derived);
    let next_kind = defaults::kind(next, to.derived);
    let same_default = defaults::prisma_sees_same(previous, previous_kind.as_ref(), next, next_kind.as_ref())
        .ok_or_else(|| {
            "a list default of numbers, JSON or dates changes: Prisma compares those by value and this engine cannot".to_string()
        })?;
    Ok(ColumnChanges {
        arity: arity(previous) != arity(next),
        default: !same_default,
        type_changed: cast.is_some(),
        autoincrement: from.is_autoincrement(previous) != to.is_autoincrement(next),
        cast,
    })
}

/// What a column pair looks like after Prisma's `ALTER COLUMN`s, compared
/// with what the next catalog says.
fn check_column(
    path: &str,
    from: &Side<'_>,
    previous: &Column,
    to: &Side<'_>,
    next: &Column,
    changes: &ColumnChanges,
    refusals: &mut Vec<Refusal>,
) {
    let mut refuse = |reason: String| {
        refusals.push(Refusal {
            construct: path.to_string(),
            reason,
        })
    };
    if previous.column_type.base == next.column_type.base
        && matches!(previous.column_type.base, PgType::Enum(_))
        && previous.column_type.list != next.column_type.list
    {
        refuse(
            "an enum column becomes or stops being a list: Prisma writes a cast PostgreSQL has not"
                .into(),
        );
        return;
    }
    let equal = previous.data_type == next.data_type
        && previous.nullable == next.nullable
        && previous.default == next.default;
    if equal {
        if changes.any() {
            let what = match (changes.type_changed, changes.default, changes.arity) {
                (true, _, _) => format!("its type ({})", next.data_type),
                (_, true, _) => format!(
                    "its default ({})",
                    next.default.as_deref().unwrap_or("none")
                ),
                _ => "its nullability".to_string(),
            };
            refuse(format!(
                "Prisma Migrate sees a change in {what} where the catalogs have none, and would write it on every migration"
            ));
        }
        return;
    }
    if changes.cast == Some(Cast::NotCastable) {
        return; // dropped and added again: the next column as it is
    }
    // What PostgreSQL has after Prisma's ALTER COLUMNs.
    if !changes.type_changed && previous.data_type != next.data_type {
        refuse(format!(
            "type {} before, {} after, but Prisma Migrate sees no type change (it compares {} with {})",
            previous.data_type,
            next.data_type,
            types::display(&previous.column_type, from.derived),
            types::display(&next.column_type, to.derived)
        ));
    }
    if !changes.arity && previous.nullable != next.nullable {
        refuse(format!(
            "{} before, {} after, but Prisma Migrate sees no change (a list's NOT NULL is invisible to it)",
            nullability(previous.nullable),
            nullability(next.nullable)
        ));
    }
    let final_default: Option<String> = if changes.autoincrement && !to.is_autoincrement(next) {
        None // Prisma drops the sequence's default
    } else if changes.autoincrement {
        // The sequence `SERIAL` would create (see `render`).
        let sequence = pg::serial_sequence_name(next_table_name(path), &next.name);
        Some(format!(
            "nextval({}::regclass)",
            crate::sql::quote_literal(&pg::as_printed_ident(&sequence))
        ))
    } else if changes.default {
        next.default.clone()
    } else {
        previous.default.clone()
    };
    if changes.autoincrement
        && changes.default
        && !to.is_autoincrement(next)
        && next.default.is_some()
    {
        refuse("stops being auto-incrementing and gets another default: Prisma sets the default, then drops it".into());
    } else if final_default != next.default {
        let show = |d: &Option<String>| d.clone().unwrap_or_else(|| "no default".into());
        let why = if changes.autoincrement {
            "the column becomes auto-incrementing with another default"
        } else if changes.type_changed && !changes.default {
            "PostgreSQL keeps the default's old spelling when the type changes, and Prisma Migrate sees the same value"
        } else {
            "Prisma Migrate sees the same default"
        };
        refuse(format!(
            "default {} before, {} after: {why}",
            show(&previous.default),
            show(&next.default)
        ));
    }
}

/// A schema's default must read back from the database as the same one
/// in Prisma's eyes, or every later migration would set it again (a
/// constant on a `@db.Uuid` column, an `@db.Inet` address PostgreSQL
/// normalizes).
fn check_stable(to: &Side<'_>, next: &Column, refuse: &mut dyn FnMut(String)) {
    if !to.derived || next.default.is_none() {
        return;
    }
    let as_introspected = Column {
        prisma_default: None,
        ..next.clone()
    };
    let read_back = defaults::kind(&as_introspected, false);
    let declared = defaults::kind(next, true);
    if defaults::prisma_sees_same(
        &as_introspected,
        read_back.as_ref(),
        next,
        declared.as_ref(),
    ) != Some(true)
    {
        refuse(format!(
            "Prisma Migrate reads the default {} back from PostgreSQL as a different one, and would set it again in every migration",
            next.default.as_deref().unwrap_or_default()
        ));
    }
}

fn next_table_name(path: &str) -> &str {
    path.rsplit_once('.').map_or(path, |(t, _)| t)
}

fn nullability(nullable: bool) -> &'static str {
    if nullable { "nullable" } else { "NOT NULL" }
}

/// The changes of an `ALTER TABLE`, in Prisma's order.
fn table_changes(tables: &TablePair<'_>, refusals: &mut Vec<Refusal>) -> Vec<TableChange> {
    let (previous, next) = (tables.previous, tables.next);
    let mut changes = Vec::new();
    let pk_columns_changed = match (&previous.primary_key, &next.primary_key) {
        (Some(p), Some(n)) => {
            p.columns != n.columns
                || p.columns
                    .iter()
                    .any(|c| tables.changes(c).is_some_and(|ch| ch.type_changed))
        }
        _ => false,
    };
    let dropped_pk = match (&previous.primary_key, &next.primary_key) {
        (Some(_), None) => true,
        (Some(_), Some(_)) => pk_columns_changed,
        _ => false,
    };
    let renamed_pk = matches!((&previous.primary_key, &next.primary_key), (Some(p), Some(n)) if p.name != n.name);
    let added_pk = match (&previous.primary_key, &next.primary_key) {
        (None, Some(_)) => true,
        (Some(_), Some(_)) => pk_columns_changed,
        _ => false,
    };
    if dropped_pk && renamed_pk {
        refusals.push(Refusal {
            construct: format!("primary key of \"{}\"", next.name),
            reason: "changes and is renamed at once: Prisma drops it, then renames the dropped constraint".into(),
        });
    }
    if dropped_pk {
        changes.push(TableChange::DropPrimaryKey);
    }
    if renamed_pk {
        changes.push(TableChange::RenamePrimaryKey);
    }
    let mut dropped: Vec<ColumnId> = tables.dropped_columns.clone();
    dropped.sort_by(|a, b| previous.columns[*a].name.cmp(&previous.columns[*b].name));
    changes.extend(dropped.into_iter().map(TableChange::DropColumn));
    let mut added: Vec<ColumnId> = tables.added_columns.clone();
    added.sort_by(|a, b| next.columns[*a].name.cmp(&next.columns[*b].name));
    changes.extend(added.into_iter().map(|column| TableChange::AddColumn {
        column,
        client_default: matches!(
            next.columns[column].prisma_default,
            Some(PrismaDefault::Client(_))
        ),
    }));
    let mut altered: Vec<(ColumnId, ColumnId, ColumnChanges)> = tables
        .columns
        .iter()
        .filter(|(_, _, c)| c.any())
        .copied()
        .collect();
    altered.sort_by_key(|(p, n, _)| (*p, *n));
    for (p, n, c) in altered {
        changes.push(if c.cast == Some(Cast::NotCastable) {
            TableChange::DropAndRecreateColumn {
                columns: (p, n),
                changes: c,
            }
        } else {
            TableChange::AlterColumn {
                columns: (p, n),
                changes: c,
            }
        });
    }
    if added_pk {
        changes.push(TableChange::AddPrimaryKey);
    }
    changes
}

/// How Prisma pairs the indexes of two tables: by definition, not name.
struct IndexMatching {
    /// Previous indexes with no counterpart.
    dropped: Vec<usize>,
    /// Next indexes with no counterpart.
    created: Vec<usize>,
    /// (previous, next) counterparts Prisma renames when their names
    /// differ; only previous indexes whose definition is unique in their
    /// table are paired.
    pairs: Vec<(usize, usize)>,
}

fn index_matching(tables: &TablePair<'_>) -> IndexMatching {
    let (previous, next) = (&tables.previous.indexes, &tables.next.indexes);
    let dropped = (0..previous.len())
        .filter(|&p| !next.iter().any(|n| previous[p].same_definition(n)))
        .collect();
    let created = (0..next.len())
        .filter(|&n| !previous.iter().any(|p| p.same_definition(&next[n])))
        .collect();
    let pairs = (0..previous.len())
        .filter(|&p| {
            previous
                .iter()
                .filter(|other| {
                    other.unique == previous[p].unique
                        && other.column_names().eq(previous[p].column_names())
                })
                .count()
                == 1
        })
        .filter_map(|p| {
            next.iter()
                .position(|n| previous[p].same_definition(n))
                .map(|n| (p, n))
        })
        .collect();
    IndexMatching {
        dropped,
        created,
        pairs,
    }
}

/// The indexes Prisma's steps leave must be the next table's.
fn check_indexes(tables: &TablePair<'_>, matching: &IndexMatching, refusals: &mut Vec<Refusal>) {
    let (previous, next) = (&tables.previous.indexes, &tables.next.indexes);
    let mut result: Vec<&Index> = Vec::new();
    for (p, index) in previous.iter().enumerate() {
        if matching.dropped.contains(&p) {
            continue;
        }
        let paired = matching
            .pairs
            .iter()
            .find(|(pp, _)| *pp == p)
            .map(|(_, n)| &next[*n]);
        // PostgreSQL drops the index of a dropped column; Prisma recreates
        // the paired ones only.
        let on_recreated = index.column_names().any(|c| tables.recreated(c));
        match (paired, on_recreated) {
            (Some(n), _) => result.push(n),
            (None, false) => result.push(index),
            (None, true) => {}
        }
    }
    result.extend(matching.created.iter().map(|&n| &next[n]));
    let same = result.len() == next.len()
        && next.iter().all(|n| {
            result
                .iter()
                .filter(|r| r.name == n.name && r.same_definition(n))
                .count()
                == 1
        });
    if !same {
        let names: Vec<String> = next.iter().map(|i| i.name.clone()).collect();
        refusals.push(Refusal {
            construct: format!("indexes of \"{}\"", tables.next.name),
            reason: format!(
                "Prisma Migrate pairs indexes by their columns, and its steps would not leave exactly {}",
                names.join(", ")
            ),
        });
    }
}

/// How Prisma pairs the foreign keys of two tables: by definition.
struct ForeignKeyMatching {
    dropped: Vec<usize>,
    created: Vec<usize>,
    pairs: Vec<(usize, usize)>,
}

fn foreign_key_matching(
    from: &Side<'_>,
    to: &Side<'_>,
    tables: &TablePair<'_>,
) -> ForeignKeyMatching {
    let (previous, next) = (&tables.previous.foreign_keys, &tables.next.foreign_keys);
    let matches = |p: &ForeignKey, n: &ForeignKey| fks_match(tables, p, n);
    let dropped = (0..previous.len())
        .filter(|&p| !next.iter().any(|n| matches(&previous[p], n)))
        .collect();
    let created = (0..next.len())
        .filter(|&n| !previous.iter().any(|p| matches(p, &next[n])))
        .collect();
    let mut seen = BTreeSet::new();
    let mut pairs = Vec::new();
    // Prisma walks the foreign keys in id order.
    let mut order: Vec<usize> = (0..previous.len()).collect();
    order.sort_by_key(|&p| from.foreign_key_id(&tables.previous.name, &previous[p].name));
    let mut next_order: Vec<usize> = (0..next.len()).collect();
    next_order.sort_by_key(|&n| to.foreign_key_id(&tables.next.name, &next[n].name));
    for p in order {
        if let Some(&n) = next_order
            .iter()
            .find(|&&n| !seen.contains(&n) && matches(&previous[p], &next[n]))
        {
            seen.insert(n);
            pairs.push((p, n));
        }
    }
    ForeignKeyMatching {
        dropped,
        created,
        pairs,
    }
}

/// Prisma's `foreign_keys_match`: same referenced table and columns, same
/// actions, and constrained columns of the same names whose type does not
/// change.
fn fks_match(tables: &TablePair<'_>, p: &ForeignKey, n: &ForeignKey) -> bool {
    p.referenced_table == n.referenced_table
        && p.referenced_columns == n.referenced_columns
        && p.columns == n.columns
        && p.columns
            .iter()
            .all(|c| !tables.changes(c).is_some_and(|ch| ch.type_changed))
        && p.on_delete == n.on_delete
        && p.on_update == n.on_update
}

fn check_foreign_keys(
    tables: &TablePair<'_>,
    matching: &ForeignKeyMatching,
    refusals: &mut Vec<Refusal>,
) {
    let (previous, next) = (&tables.previous.foreign_keys, &tables.next.foreign_keys);
    let mut result: Vec<&ForeignKey> = Vec::new();
    for (p, fk) in previous.iter().enumerate() {
        if matching.dropped.contains(&p) {
            continue;
        }
        match matching.pairs.iter().find(|(pp, _)| *pp == p) {
            // Prisma keeps the previous name of a join table's key.
            Some(_) if is_join_table(tables.previous) && is_join_table(tables.next) => {
                result.push(fk)
            }
            Some((_, n)) => result.push(&next[*n]),
            None => result.push(fk),
        }
    }
    result.extend(matching.created.iter().map(|&n| &next[n]));
    let describe = |set: &[&ForeignKey]| -> BTreeSet<String> {
        set.iter().map(|f| format!("{f:?}")).collect()
    };
    let want: Vec<&ForeignKey> = next.iter().collect();
    if describe(&result) != describe(&want) {
        refusals.push(Refusal {
            construct: format!("foreign keys of \"{}\"", tables.next.name),
            reason: "Prisma Migrate pairs foreign keys by definition, and its steps would not leave the next ones".into(),
        });
    }
}

/// An implicit many-to-many join table: exactly the columns `A` and `B`.
fn is_join_table(table: &Table) -> bool {
    table.columns.len() == 2
        && table.columns.iter().any(|c| c.name == "A")
        && table.columns.iter().any(|c| c.name == "B")
}

fn enum_steps(
    pair: &Pair<'_>,
    table_pairs: &[TablePair<'_>],
    steps: &mut Vec<Step>,
    refusals: &mut Vec<Refusal>,
) {
    let (from, to) = (&pair.from, &pair.to);
    for (pid, (name, previous)) in from.enums.iter().enumerate() {
        let Some(nid) = to.enum_id(name) else {
            steps.push(Step::DropEnum(pid));
            continue;
        };
        let next = to.enums[nid].1;
        let created: Vec<String> = next
            .iter()
            .filter(|v| !previous.contains(v))
            .cloned()
            .collect();
        let dropped: Vec<String> = previous
            .iter()
            .filter(|v| !next.contains(v))
            .cloned()
            .collect();
        let mut before = Vec::new();
        if dropped.is_empty() {
            let kept: Vec<&String> = next.iter().filter(|v| previous.contains(v)).collect();
            if !kept.iter().copied().eq(previous.iter()) {
                refusals.push(Refusal {
                    construct: format!("enum {name}"),
                    reason: format!(
                        "values {} before, {} after: Prisma Migrate ignores the order of enum values",
                        previous.join(", "),
                        next.join(", ")
                    ),
                });
            }
            // `ADD VALUE` appends; a value the schema puts before an
            // existing one needs `BEFORE`.
            before = created
                .iter()
                .map(|value| {
                    let at = next.iter().position(|v| v == value).unwrap_or(next.len());
                    next[at..].iter().find(|v| previous.contains(v)).cloned()
                })
                .collect();
        }
        if created.is_empty() && dropped.is_empty() {
            continue;
        }
        let rebuild = dropped.is_empty() && new_values_used(pair, name, &created);
        let mut alter = AlterEnum {
            enums: (pid, nid),
            created,
            dropped,
            defaults: Vec::new(),
            rebuild,
            before,
        };
        if !alter.dropped.is_empty() || alter.rebuild {
            alter.defaults = enum_defaults(pair, table_pairs, name);
            check_enum_removal(pair, table_pairs, name, refusals);
        }
        steps.push(Step::AlterEnum(alter));
    }
    for (nid, (name, _)) in to.enums.iter().enumerate() {
        if from.enum_id(name).is_none() {
            steps.push(Step::CreateEnum(nid));
        }
    }
}

fn uses_enum(column: &Column, name: &str) -> bool {
    matches!(&column.column_type.base, PgType::Enum(e) if e == name)
}

/// Prisma's `previous_usages_as_default`: dropped tables' columns, dropped
/// columns and paired columns of the enum with a default.
fn enum_defaults(
    pair: &Pair<'_>,
    table_pairs: &[TablePair<'_>],
    name: &str,
) -> Vec<(ColumnRef, Option<ColumnRef>)> {
    let mut out = Vec::new();
    for (tid, table) in pair.from.tables.iter().enumerate() {
        if pair.to.table(&table.name).is_none() {
            for (c, column) in table.columns.iter().enumerate() {
                if uses_enum(column, name) && column.default.is_some() {
                    out.push(((tid, c), None));
                }
            }
        }
    }
    for tables in table_pairs {
        for &c in &tables.dropped_columns {
            let column = &tables.previous.columns[c];
            if uses_enum(column, name) && column.default.is_some() {
                out.push(((tables.ids.0, c), None));
            }
        }
        for &(p, n, _) in &tables.columns {
            let previous = &tables.previous.columns[p];
            if uses_enum(previous, name) && previous.default.is_some() {
                let next = &tables.next.columns[n];
                let reinstall =
                    (uses_enum(next, name) && next.default.is_some()).then_some((tables.ids.1, n));
                out.push(((tables.ids.0, p), reinstall));
            }
        }
    }
    out
}

/// Prisma's enum value removal converts the next schema's columns of the
/// enum in place, then drops the old type: it fails unless the columns of
/// the enum are the same ones before and after, and stay what they are.
fn check_enum_removal(
    pair: &Pair<'_>,
    table_pairs: &[TablePair<'_>],
    name: &str,
    refusals: &mut Vec<Refusal>,
) {
    let users = |side: &Side<'_>| -> BTreeSet<(String, String)> {
        side.tables
            .iter()
            .flat_map(|t| {
                t.columns
                    .iter()
                    .filter(|c| uses_enum(c, name))
                    .map(|c| (t.name.clone(), c.name.clone()))
            })
            .collect()
    };
    let (before, after) = (users(&pair.from), users(&pair.to));
    let stable = before == after
        && before.iter().all(|(table, column)| {
            table_pairs.iter().any(|tp| {
                tp.previous.name == *table
                    && tp.columns.iter().any(|(p, n, c)| {
                        tp.previous.columns[*p].name == *column
                            && c.cast.is_none()
                            && tp.previous.columns[*p].column_type.list
                                == tp.next.columns[*n].column_type.list
                    })
            })
        });
    if !stable {
        refusals.push(Refusal {
            construct: format!("enum {name}"),
            reason: "values are removed (or added and used at once) while columns of the enum are added, dropped or change type: the BEGIN ... COMMIT sequence that rebuilds the type would fail".into(),
        });
    }
}

/// A value `ALTER TYPE ... ADD VALUE` adds cannot be used in the same
/// transaction: whether a default this migration sets names one.
fn new_values_used(pair: &Pair<'_>, name: &str, created: &[String]) -> bool {
    pair.to.tables.iter().any(|table| {
        let existed = pair.from.table(&table.name);
        table
            .columns
            .iter()
            .filter(|c| uses_enum(c, name))
            .any(|column| {
                let unchanged = existed
                    .and_then(|t| t.columns.iter().find(|c| c.name == column.name))
                    .is_some_and(|c| c.default == column.default);
                !unchanged
                    && match &column.prisma_default {
                        Some(PrismaDefault::Value(v)) => {
                            value_names(v).iter().any(|v| created.contains(v))
                        }
                        _ => column
                            .default
                            .as_deref()
                            .is_some_and(|d| created.iter().any(|v| d.contains(&format!("'{v}'")))),
                    }
            })
    })
}

fn value_names(v: &crate::prisma::model::PrismaValue) -> Vec<String> {
    use crate::prisma::model::PrismaValue;
    match v {
        PrismaValue::Enum(s) => vec![s.clone()],
        PrismaValue::List(items) => items.iter().flat_map(value_names).collect(),
        _ => Vec::new(),
    }
}

/// Constraints PostgreSQL will not drop while something depends on them.
fn check_dependencies(
    pair: &Pair<'_>,
    steps: &[Step],
    dropped_fks: &BTreeSet<ForeignKeyId>,
    kept_fks: &[(ForeignKeyId, ForeignKeyId)],
    refusals: &mut Vec<Refusal>,
) {
    let kept: Vec<&ForeignKey> = kept_fks
        .iter()
        .filter(|(p, _)| !dropped_fks.contains(p))
        .map(|(p, _)| pair.from.foreign_keys[*p].1)
        .collect();
    for step in steps {
        match step {
            Step::AlterTable { tables, changes } => {
                let table = pair.from.tables[tables.0];
                if changes.contains(&TableChange::DropPrimaryKey)
                    && let Some(fk) = kept.iter().find(|f| f.referenced_table == table.name)
                {
                    refusals.push(Refusal {
                        construct: format!("primary key of \"{}\"", table.name),
                        reason: format!(
                            "Prisma drops and adds it while foreign key \"{}\" still depends on it",
                            fk.name
                        ),
                    });
                }
                for change in changes {
                    if let TableChange::DropAndRecreateColumn { columns, .. } = change {
                        let column = &table.columns[columns.0];
                        if let Some(fk) = kept.iter().find(|f| {
                            f.referenced_table == table.name
                                && f.referenced_columns.contains(&column.name)
                        }) {
                            refusals.push(Refusal {
                                construct: format!("{}.{}", table.name, column.name),
                                reason: format!(
                                    "dropped and added again while foreign key \"{}\" references it",
                                    fk.name
                                ),
                            });
                        }
                    }
                }
            }
            Step::DropIndex(id) => {
                let table = pair.from.tables[id.0];
                let index = pair.from.index(*id);
                if index.unique
                    && let Some(fk) = kept.iter().find(|f| {
                        f.referenced_table == table.name
                            && index
                                .column_names()
                                .eq(f.referenced_columns.iter().map(String::as_str))
                    })
                {
                    refusals.push(Refusal {
                        construct: format!("index \"{}\"", index.name),
                        reason: format!(
                            "Prisma drops it while foreign key \"{}\" depends on it",
                            fk.name
                        ),
                    });
                }
            }
            _ => {}
        }
    }
}

/// Prisma moves the drop of a unique index of a table without primary key
/// after the `ALTER TABLE` that makes those columns the primary key.
fn unique_index_before_primary_key(pair: &Pair<'_>, steps: &mut Vec<Step>) {
    let mut i = 0;
    while i < steps.len() {
        let Step::DropIndex(id) = &steps[i] else {
            i += 1;
            continue;
        };
        let id = *id;
        let table = pair.from.tables[id.0];
        let index = pair.from.index(id);
        if !index.unique || table.primary_key.is_some() {
            i += 1;
            continue;
        }
        let target = steps[i + 1..].iter().position(|s| match s {
            Step::AlterTable { tables, changes } => {
                tables.0 == id.0
                    && changes.contains(&TableChange::AddPrimaryKey)
                    && changes.iter().all(|c| match c {
                        TableChange::DropColumn(col) => {
                            !index.column_names().any(|n| n == table.columns[*col].name)
                        }
                        TableChange::DropAndRecreateColumn { columns, .. } => !index
                            .column_names()
                            .any(|n| n == table.columns[columns.0].name),
                        _ => true,
                    })
                    && pair.to.tables[tables.1]
                        .primary_key
                        .as_ref()
                        .is_some_and(|pk| {
                            index
                                .column_names()
                                .eq(pk.columns.iter().map(String::as_str))
                        })
            }
            _ => false,
        });
        match target {
            Some(offset) => {
                // Right after the ALTER TABLE; the step now at `i` is next.
                let step = steps.remove(i);
                steps.insert(i + offset + 1, step);
            }
            None => i += 1,
        }
    }
}
