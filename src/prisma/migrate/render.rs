//! The SQL of Prisma's migration steps, spelled as its PostgreSQL renderer
//! spells it, and the script around them: a `-- Step` header per step,
//! statements ending in `;`, a blank line between steps.
//!
//! Identifiers are always double-quoted and enum values single-quoted as
//! they are (`super::schema` refuses names that would need escaping);
//! string defaults double their quotes. The only statement that differs
//! from Prisma's is a type change of an auto-incrementing column, where
//! Prisma writes `SET DATA TYPE BIGSERIAL` (no such type): it becomes the
//! plain integer type plus `ALTER SEQUENCE ... AS`, with a [`Note`].

use crate::prisma::model::{Column, Table};
use crate::prisma::pg;

use super::diff::{AlterEnum, ColumnChanges, Plan, Step, TableChange};
use super::schema::{Pair, Side};
use super::{Note, Options, defaults, types};

/// What `migrate diff --script` prints when there is nothing to do.
pub(super) const EMPTY_SCRIPT: &str = "-- This is an empty migration.\n";

/// The `migration.sql` `migrate dev` writes when there is nothing to do.
const EMPTY_MIGRATION: &str = "-- This is an empty migration.";

/// Four spaces, Prisma's indentation (after `ADD COLUMN ` too).
const INDENT: &str = "    ";

/// A rendered migration.
pub(super) struct Rendered {
    /// The steps' SQL, or "" when there are none.
    pub body: String,
    /// What `migrate diff --script` prints.
    pub script: String,
    pub notes: Vec<Note>,
}

/// Renders every step of `plan`.
pub(super) fn render(pair: &Pair<'_>, plan: &Plan, options: &Options) -> Rendered {
    let mut renderer = Renderer {
        pair,
        options,
        notes: Vec::new(),
    };
    let mut body = String::new();
    for step in &plan.steps {
        let statements = renderer.step(step);
        if statements.is_empty() {
            continue;
        }
        if !body.is_empty() {
            body.push('\n');
        }
        body.push_str("-- ");
        body.push_str(step.description());
        body.push('\n');
        for statement in statements {
            body.push_str(&statement);
            body.push_str(";\n");
        }
    }
    let script = if body.is_empty() {
        EMPTY_SCRIPT.to_string()
    } else {
        body.clone()
    };
    Rendered {
        body,
        script,
        notes: renderer.notes,
    }
}

/// The `migration.sql` of `migrate dev --create-only`: `body` after the
/// warnings header.
pub(super) fn with_warnings(body: &str, warnings: &[String]) -> String {
    if body.is_empty() {
        return EMPTY_MIGRATION.to_string();
    }
    if warnings.is_empty() {
        return body.to_string();
    }
    let mut out = String::from("/*\n  Warnings:\n\n");
    for warning in warnings {
        out.push_str("  - ");
        out.push_str(warning);
        out.push('\n');
    }
    out.push_str("\n*/\n");
    out.push_str(body);
    out
}

fn ident(name: &str) -> String {
    format!("\"{name}\"")
}

fn string(value: &str) -> String {
    format!("'{value}'")
}

struct Renderer<'a, 'b> {
    pair: &'b Pair<'a>,
    options: &'b Options,
    notes: Vec<Note>,
}

impl Renderer<'_, '_> {
    fn step(&mut self, step: &Step) -> Vec<String> {
        let (from, to) = (&self.pair.from, &self.pair.to);
        match step {
            Step::CreateEnum(id) => {
                let (name, values) = to.enums[*id];
                vec![create_enum(name, values)]
            }
            Step::AlterEnum(alter) if alter.rebuild => {
                let prisma = self.add_values(alter, false);
                let ours = self.rebuild_enum(alter);
                let (name, _) = from.enums[alter.enums.0];
                let joined = |statements: &[String]| -> String {
                    statements.iter().map(|s| format!("{s};\n")).collect()
                };
                self.notes.push(Note {
                    path: format!("enum {name}"),
                    message: format!(
                        "Prisma Migrate 7.10 writes `ALTER TYPE \"{name}\" ADD VALUE ...` and uses the new value in a default of the same migration, which PostgreSQL rejects inside one transaction; the type is rebuilt instead (Prisma's BEGIN ... COMMIT sequence for removed values)"
                    ),
                    replaced: vec![(joined(&ours), joined(&prisma))],
                });
                ours
            }
            Step::AlterEnum(alter) if alter.dropped.is_empty() => {
                let statements = self.add_values(alter, true);
                let placed: Vec<(String, String)> = alter
                    .created
                    .iter()
                    .zip(&alter.before)
                    .filter_map(|(value, before)| {
                        let before = before.as_ref()?;
                        Some((
                            format!("ADD VALUE {} BEFORE {}", string(value), string(before)),
                            format!("ADD VALUE {}", string(value)),
                        ))
                    })
                    .collect();
                if !placed.is_empty() {
                    let (name, _) = from.enums[alter.enums.0];
                    self.notes.push(Note {
                        path: format!("enum {name}"),
                        message: "Prisma Migrate 7.10 appends every new enum value, which leaves the values in another order than the schema's; written with `ADD VALUE ... BEFORE`".to_string(),
                        replaced: placed,
                    });
                }
                statements
            }
            Step::AlterEnum(alter) => self.rebuild_enum(alter),
            Step::DropForeignKey(id) => {
                let (table, fk) = from.foreign_keys[*id];
                vec![format!(
                    "ALTER TABLE {} DROP CONSTRAINT {}",
                    ident(&from.tables[table].name),
                    ident(&fk.name)
                )]
            }
            Step::DropIndex(id) => vec![format!("DROP INDEX {}", ident(&from.index(*id).name))],
            Step::AlterTable { tables, changes } => {
                self.alter_table(from.tables[tables.0], to.tables[tables.1], changes)
            }
            Step::DropTable(id) => vec![format!("DROP TABLE {}", ident(&from.tables[*id].name))],
            Step::DropEnum(id) => vec![format!("DROP TYPE {}", ident(from.enums[*id].0))],
            Step::CreateTable(id) => vec![create_table(to, to.tables[*id])],
            Step::CreateIndex { index, .. } => {
                vec![create_index(&to.tables[index.0].name, to.index(*index))]
            }
            Step::RenameForeignKey { previous, next } => {
                let (table, old) = from.foreign_keys[*previous];
                let (_, new) = to.foreign_keys[*next];
                vec![format!(
                    "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                    ident(&from.tables[table].name),
                    ident(&old.name),
                    ident(&new.name)
                )]
            }
            Step::AddForeignKey(id) => {
                let (table, fk) = to.foreign_keys[*id];
                let columns: Vec<String> = fk.columns.iter().map(|c| ident(c)).collect();
                let referenced: Vec<String> =
                    fk.referenced_columns.iter().map(|c| ident(c)).collect();
                vec![format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {}({}) ON DELETE {} ON UPDATE {}",
                    ident(&to.tables[table].name),
                    ident(&fk.name),
                    columns.join(", "),
                    ident(&fk.referenced_table),
                    referenced.join(", "),
                    fk.on_delete,
                    fk.on_update
                )]
            }
            Step::RenameIndex { previous, next } => vec![format!(
                "ALTER INDEX {} RENAME TO {}",
                ident(&from.index(*previous).name),
                ident(&to.index(*next).name)
            )],
        }
    }

    /// Values only added: `ALTER TYPE ... ADD VALUE` each, with `BEFORE`
    /// where the schema places one before an existing value (`placed`) or,
    /// as Prisma writes it, always at the end.
    fn add_values(&self, alter: &AlterEnum, placed: bool) -> Vec<String> {
        let (previous, _) = self.pair.from.enums[alter.enums.0];
        let mut statements: Vec<String> = alter
            .created
            .iter()
            .zip(alter.before.iter().chain(std::iter::repeat(&None)))
            .map(|(v, before)| {
                let place = before
                    .as_ref()
                    .filter(|_| placed)
                    .map(|b| format!(" BEFORE {}", string(b)))
                    .unwrap_or_default();
                format!(
                    "ALTER TYPE {} ADD VALUE {}{place}",
                    ident(previous),
                    string(v)
                )
            })
            .collect();
        if statements.len() > 1 {
            statements[0] = format!(
                "-- This migration adds more than one value to an enum.\n\
                 -- With PostgreSQL versions 11 and earlier, this is not possible\n\
                 -- in a single migration. This can be worked around by creating\n\
                 -- multiple migrations, each migration adding only one value to\n\
                 -- the enum.\n\n\n{}",
                statements[0]
            );
        }
        statements
    }

    /// Values removed: the type is rebuilt under a temporary name, the
    /// columns converted, the old type dropped, in one transaction.
    fn rebuild_enum(&self, alter: &AlterEnum) -> Vec<String> {
        let (from, to) = (&self.pair.from, &self.pair.to);
        let (previous, _) = from.enums[alter.enums.0];
        let (next, values) = to.enums[alter.enums.1];
        let schema = ident(&self.options.schema);
        let temporary = format!("{next}_new");
        let mut statements = vec!["BEGIN".to_string(), create_enum(&temporary, values)];
        for ((table, column), _) in &alter.defaults {
            let table = from.tables[*table];
            statements.push(format!(
                "ALTER TABLE {schema}.{} ALTER COLUMN {} DROP DEFAULT",
                ident(&table.name),
                ident(&table.columns[*column].name)
            ));
        }
        for table in &to.tables {
            for column in table.columns.iter().filter(|c| {
                matches!(&c.column_type.base, crate::prisma::model::PgType::Enum(e) if e == next)
            }) {
                let array = if column.column_type.list { "[]" } else { "" };
                let name = ident(&column.name);
                statements.push(format!(
                    "ALTER TABLE {} ALTER COLUMN {name} TYPE {}{array} USING ({name}::text::{}{array})",
                    ident(&table.name),
                    ident(&temporary),
                    ident(&temporary)
                ));
            }
        }
        let old = format!("{previous}_old");
        statements.push(format!(
            "ALTER TYPE {} RENAME TO {}",
            ident(previous),
            ident(&old)
        ));
        statements.push(format!(
            "ALTER TYPE {} RENAME TO {}",
            ident(&temporary),
            ident(next)
        ));
        statements.push(format!("DROP TYPE {schema}.{}", ident(&old)));
        for (_, reinstall) in &alter.defaults {
            let Some((table, column)) = reinstall else {
                continue;
            };
            let table = to.tables[*table];
            let column = &table.columns[*column];
            if let Some(default) = render_default(to, column) {
                statements.push(format!(
                    "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {default}",
                    ident(&table.name),
                    ident(&column.name)
                ));
            }
        }
        statements.push("COMMIT".to_string());
        statements
    }

    fn alter_table(
        &mut self,
        previous: &Table,
        next: &Table,
        changes: &[TableChange],
    ) -> Vec<String> {
        let to = &self.pair.to;
        let table = ident(&previous.name);
        let mut before = Vec::new();
        let mut lines = Vec::new();
        let mut after = Vec::new();
        for change in changes {
            match change {
                TableChange::DropPrimaryKey => {
                    if let Some(pk) = &previous.primary_key {
                        lines.push(format!("DROP CONSTRAINT {}", ident(&pk.name)));
                    }
                }
                TableChange::RenamePrimaryKey => {
                    if let (Some(old), Some(new)) = (&previous.primary_key, &next.primary_key) {
                        after.push(format!(
                            "ALTER TABLE {table} RENAME CONSTRAINT {} TO {}",
                            ident(&old.name),
                            ident(&new.name)
                        ));
                    }
                }
                TableChange::AddPrimaryKey => {
                    if let Some(pk) = &next.primary_key {
                        let columns: Vec<String> = pk.columns.iter().map(|c| ident(c)).collect();
                        lines.push(format!(
                            "ADD CONSTRAINT {} PRIMARY KEY ({})",
                            ident(&pk.name),
                            columns.join(", ")
                        ));
                    }
                }
                TableChange::AddColumn { column, .. } => {
                    lines.push(format!(
                        "ADD COLUMN {}",
                        render_column(to, &next.columns[*column])
                    ));
                }
                TableChange::DropColumn(column) => {
                    lines.push(format!(
                        "DROP COLUMN {}",
                        ident(&previous.columns[*column].name)
                    ));
                }
                TableChange::DropAndRecreateColumn { columns, .. } => {
                    lines.push(format!(
                        "DROP COLUMN {}",
                        ident(&previous.columns[columns.0].name)
                    ));
                    lines.push(format!(
                        "ADD COLUMN {}",
                        render_column(to, &next.columns[columns.1])
                    ));
                }
                TableChange::AlterColumn { columns, changes } => {
                    let (old, new) = (&previous.columns[columns.0], &next.columns[columns.1]);
                    self.alter_column(
                        previous,
                        next,
                        old,
                        new,
                        changes,
                        &mut before,
                        &mut lines,
                        &mut after,
                    );
                }
            }
        }
        if lines.is_empty() {
            return before.into_iter().chain(after).collect();
        }
        let alter = format!("ALTER TABLE {table} {}", lines.join(",\n"));
        before
            .into_iter()
            .chain(std::iter::once(alter))
            .chain(after)
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn alter_column(
        &mut self,
        previous_table: &Table,
        next_table: &Table,
        old: &Column,
        new: &Column,
        changes: &ColumnChanges,
        before: &mut Vec<String>,
        lines: &mut Vec<String>,
        after: &mut Vec<String>,
    ) {
        let (from, to) = (&self.pair.from, &self.pair.to);
        let prefix = format!("ALTER COLUMN {}", ident(&old.name));
        let mut set_type = changes.type_changed;
        let drop_default = |lines: &mut Vec<String>, after: &mut Vec<String>| {
            lines.push(format!("{prefix} DROP DEFAULT"));
            if let Some(sequence) = &old.serial {
                let still_used = to
                    .tables
                    .iter()
                    .flat_map(|t| t.columns.iter().map(move |c| (t, c)))
                    .any(|(t, c)| {
                        c.serial.as_ref() == Some(sequence)
                            && !to.derived
                            && !(t.name == next_table.name && c.name == new.name)
                    });
                if !still_used {
                    after.push(format!("DROP SEQUENCE {}", ident(sequence)));
                }
            }
        };
        // Prisma's order: arity, default, (type), auto-increment; the type
        // last.
        if changes.arity {
            let (p, n) = (
                (old.column_type.list, old.nullable),
                (new.column_type.list, new.nullable),
            );
            match (p, n) {
                ((false, false), (false, true)) => lines.push(format!("{prefix} DROP NOT NULL")),
                ((false, true), (false, false)) => lines.push(format!("{prefix} SET NOT NULL")),
                ((true, _), (false, true)) => {
                    set_type = true;
                    lines.push(format!("{prefix} DROP NOT NULL"));
                }
                ((true, _), (false, false)) => {
                    set_type = true;
                    lines.push(format!("{prefix} SET NOT NULL"));
                }
                ((false, _), (true, _)) => set_type = true,
                _ => {}
            }
        }
        if changes.default {
            match render_default(to, new) {
                Some(default) => lines.push(format!("{prefix} SET DEFAULT {default}")),
                None => drop_default(lines, after),
            }
        }
        if changes.autoincrement {
            if from.is_autoincrement(old) {
                drop_default(lines, after);
            } else {
                // Prisma's sequence: the name lowercased, unquoted.
                let prisma = format!("{}_{}_seq", next_table.name, new.name).to_lowercase();
                let owned_by = format!("OWNED BY {}.{}", ident(&next_table.name), ident(&new.name));
                let serial = pg::serial_sequence_name(&next_table.name, &new.name);
                if serial == prisma {
                    before.push(format!("CREATE SEQUENCE {prisma}"));
                    lines.push(format!("{prefix} SET DEFAULT nextval('{prisma}')"));
                    after.push(format!("ALTER SEQUENCE {prisma} {owned_by}"));
                } else {
                    // The sequence `SERIAL` would have made.
                    let quoted = ident(&serial);
                    let ty = types::render_without_serial(&new.column_type);
                    let create = format!("CREATE SEQUENCE {quoted} AS {ty}");
                    let default = format!("{prefix} SET DEFAULT nextval('{quoted}')");
                    let own = format!("ALTER SEQUENCE {quoted} {owned_by}");
                    self.notes.push(Note {
                        path: format!("{}.{}", previous_table.name, old.name),
                        message: format!(
                            "Prisma Migrate 7.10 names the new sequence `{prisma}` (lowercased, unquoted), not `{serial}` as SERIAL does; written as SERIAL would make it"
                        ),
                        replaced: vec![
                            (create.clone(), format!("CREATE SEQUENCE {prisma}")),
                            (default.clone(), format!("{prefix} SET DEFAULT nextval('{prisma}')")),
                            (own.clone(), format!("ALTER SEQUENCE {prisma} {owned_by}")),
                        ],
                    });
                    before.push(create);
                    lines.push(default);
                    after.push(own);
                }
            }
        }
        if set_type {
            let autoincrement = to.is_autoincrement(new);
            if autoincrement && !new.column_type.list {
                // Prisma writes `SET DATA TYPE BIGSERIAL`: not a type.
                let plain = types::render_without_serial(&new.column_type);
                let serial = types::render(&new.column_type, true);
                let written = format!("{prefix} SET DATA TYPE {plain}");
                let prisma = format!("{prefix} SET DATA TYPE {serial}");
                lines.push(written.clone());
                let mut message = format!(
                    "Prisma Migrate 7.10 writes `{prisma}`, which PostgreSQL rejects (there is no type {}); written as `SET DATA TYPE {plain}`",
                    serial.to_lowercase()
                );
                let mut replaced = vec![(written, prisma)];
                if let Some(sequence) = &old.serial {
                    let statement = format!("ALTER SEQUENCE {} AS {plain}", ident(sequence));
                    message.push_str(&format!(
                        " and `{statement}`, so the sequence has the column's type"
                    ));
                    replaced.push((format!("{statement};\n"), String::new()));
                    after.push(statement);
                }
                self.notes.push(Note {
                    path: format!("{}.{}", previous_table.name, old.name),
                    message,
                    replaced,
                });
            } else {
                lines.push(format!(
                    "{prefix} SET DATA TYPE {}",
                    types::render(&new.column_type, autoincrement)
                ));
            }
        }
    }
}

fn create_enum(name: &str, values: &[String]) -> String {
    let values: Vec<String> = values.iter().map(|v| string(v)).collect();
    format!(
        "CREATE TYPE {} AS ENUM ({})",
        ident(name),
        values.join(", ")
    )
}

/// A column as `CREATE TABLE` and `ADD COLUMN` write it.
fn render_column(side: &Side<'_>, column: &Column) -> String {
    let ty = types::render(&column.column_type, side.is_autoincrement(column));
    let not_null = if !column.nullable && !column.column_type.list {
        " NOT NULL"
    } else {
        ""
    };
    let default = render_default(side, column)
        .map(|d| format!(" DEFAULT {d}"))
        .unwrap_or_default();
    format!("{INDENT}{} {ty}{not_null}{default}", ident(&column.name))
}

fn render_default(side: &Side<'_>, column: &Column) -> Option<String> {
    let ty = types::render(&column.column_type, side.is_autoincrement(column));
    defaults::render(column, side.derived, &ty)
}

fn create_table(side: &Side<'_>, table: &Table) -> String {
    let columns: Vec<String> = table
        .columns
        .iter()
        .map(|c| render_column(side, c))
        .collect();
    let pk = match &table.primary_key {
        Some(pk) => {
            let columns: Vec<String> = pk.columns.iter().map(|c| ident(c)).collect();
            format!(
                ",\n\n{INDENT}CONSTRAINT {} PRIMARY KEY ({})",
                ident(&pk.name),
                columns.join(",")
            )
        }
        None => String::new(),
    };
    format!(
        "CREATE TABLE {} (\n{}{pk}\n)",
        ident(&table.name),
        columns.join(",\n")
    )
}

fn create_index(table: &str, index: &crate::prisma::model::Index) -> String {
    use crate::prisma::model::{IndexMethod, SortOrder};
    let columns: Vec<String> = index
        .columns
        .iter()
        .map(|c| match c.sort {
            Some(SortOrder::Asc) => format!("{} ASC", ident(&c.name)),
            Some(SortOrder::Desc) => format!("{} DESC", ident(&c.name)),
            None => ident(&c.name),
        })
        .collect();
    let using = match index.method {
        IndexMethod::BTree => String::new(),
        other => format!(" USING {} ", other.amname().to_uppercase()),
    };
    format!(
        "CREATE {}INDEX {} ON {}{using}({})",
        if index.unique { "UNIQUE " } else { "" },
        ident(&index.name),
        ident(table),
        columns.join(", ")
    )
}
