//! The `/* Warnings: */` header of `prisma migrate dev --create-only`:
//! Prisma's destructive change checker, as it runs when it cannot look at
//! the data (every table possibly non-empty). Warnings come first, then
//! the steps that may not run at all, each in step order, worded as Prisma
//! words them.

use crate::prisma::model::Column;

use super::defaults;
use super::diff::{Plan, Step, TableChange};
use super::schema::Pair;
use super::types::{self, Cast};

fn required(column: &Column) -> bool {
    !column.nullable && !column.column_type.list
}

fn optional(column: &Column) -> bool {
    column.nullable && !column.column_type.list
}

/// The header's lines for `plan`.
pub(super) fn check(pair: &Pair<'_>, plan: &Plan) -> Vec<String> {
    let (from, to) = (&pair.from, &pair.to);
    let mut warnings = Vec::new();
    let mut unexecutable = Vec::new();
    for step in &plan.steps {
        match step {
            Step::AlterTable { tables, changes } => {
                let (previous, next) = (from.tables[tables.0], to.tables[tables.1]);
                let table = &previous.name;
                for change in changes {
                    match change {
                        TableChange::DropColumn(c) => warnings.push(format!(
                            "You are about to drop the column `{}` on the `{table}` table. All the data in the column will be lost.",
                            previous.columns[*c].name
                        )),
                        TableChange::AddColumn {
                            column,
                            client_default,
                        } => {
                            let column = &next.columns[*column];
                            if !required(column) || defaults::kind(column, to.derived).is_some() {
                                continue;
                            }
                            let name = &column.name;
                            unexecutable.push(if *client_default {
                                format!(
                                    "The required column `{name}` was added to the `{}` table with a prisma-level default value. This is not possible if the table is not empty. Please add this column as optional, then populate it before making it required.",
                                    next.name
                                )
                            } else {
                                format!(
                                    "Added the required column `{name}` to the `{}` table without a default value. This is not possible if the table is not empty.",
                                    next.name
                                )
                            });
                        }
                        TableChange::DropPrimaryKey => warnings.push(format!(
                            "The primary key for the `{table}` table will be changed. If it partially fails, the table could be left without primary key constraint."
                        )),
                        TableChange::AlterColumn { columns, changes } => {
                            let (old, new) = (&previous.columns[columns.0], &next.columns[columns.1]);
                            let name = &old.name;
                            if changes.arity && optional(old) && required(new) {
                                unexecutable.push(format!(
                                    "Made the column `{name}` on table `{table}` required. This step will fail if there are existing NULL values in that column."
                                ));
                            }
                            if changes.arity && !old.column_type.list && new.column_type.list {
                                unexecutable.push(format!(
                                    "Changed the column `{name}` on the `{table}` table from a scalar field to a list field. If there are non-null values in that column, this step will fail."
                                ));
                            }
                            if changes.cast == Some(Cast::Risky) {
                                warnings.push(format!(
                                    "You are about to alter the column `{name}` on the `{table}` table. The data in that column could be lost. The data in that column will be cast from `{}` to `{}`.",
                                    types::display(&old.column_type, from.derived),
                                    types::display(&new.column_type, to.derived)
                                ));
                            }
                        }
                        TableChange::DropAndRecreateColumn { columns, changes } => {
                            let (old, new) = (&previous.columns[columns.0], &next.columns[columns.1]);
                            let name = &old.name;
                            let no_default = defaults::kind(new, to.derived).is_none();
                            if changes.arity && optional(old) && required(new) && no_default {
                                unexecutable.push(format!(
                                    "Added the required column `{name}` to the `{table}` table without a default value. This is not possible if the table is not empty."
                                ));
                            } else if required(new) && no_default {
                                unexecutable.push(format!(
                                    "Changed the type of `{name}` on the `{table}` table. No cast exists, the column would be dropped and recreated, which cannot be done if there is data, since the column is required."
                                ));
                            } else {
                                warnings.push(format!(
                                    "The `{name}` column on the `{table}` table would be dropped and recreated. This will lead to data loss if there is data in the column."
                                ));
                            }
                        }
                        TableChange::AddPrimaryKey | TableChange::RenamePrimaryKey => {}
                    }
                }
            }
            Step::DropTable(id) => warnings.push(format!(
                "You are about to drop the `{}` table. If the table is not empty, all the data it contains will be lost.",
                from.tables[*id].name
            )),
            Step::CreateIndex {
                table: (Some(_), _),
                index,
                recreated: false,
            } => {
                let idx = to.index(*index);
                if idx.unique {
                    let columns: Vec<&str> = idx.column_names().collect();
                    warnings.push(format!(
                        "A unique constraint covering the columns `[{}]` on the table `{}` will be added. If there are existing duplicate values, this will fail.",
                        columns.join(","),
                        to.tables[index.0].name
                    ));
                }
            }
            Step::AlterEnum(alter) if !alter.dropped.is_empty() => warnings.push(format!(
                "The values [{}] on the enum `{}` will be removed. If these variants are still used in the database, this will fail.",
                alter.dropped.join(","),
                to.enums[alter.enums.1].0
            )),
            _ => {}
        }
    }
    warnings.extend(unexecutable);
    warnings
}
