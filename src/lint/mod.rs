//! `migrate lint`'s engine: DDL in one migration file that would block or
//! break a live database, with the safe way to write it.
//!
//! The checks are squawk's (`squawk-linter` 2.68.0, the same parser as
//! [`crate::sql::split`](mod@crate::sql::split)), fitted to Prisma Migrate's SQL and to this
//! runner, plus a few of our own written against squawk's syntax tree.
//! [`lint`] takes the text of one `migration.sql` and returns [`Finding`]s,
//! each with our stable rule id ([`RuleId`]), the statement, its line, why
//! it is dangerous and the safe pattern. Nothing here touches a database.
//!
//! # Tables the file creates are exempt
//!
//! Anything done to a table that the same file created earlier (`CREATE
//! TABLE`, `CREATE TABLE ... AS`, renamed afterwards included) and to an
//! enum type it created cannot block or break a running app: no session
//! uses them yet. So Prisma's `CREATE TABLE` + `CREATE UNIQUE INDEX` + `ADD
//! CONSTRAINT ... FOREIGN KEY` for a new model is silent. Table names
//! compare as PostgreSQL does (quoted exact, unquoted folded); a name
//! without a schema matches the same name in any schema. A foreign key
//! *from an existing table* to a new one is still reported: the scan is of
//! the existing table.
//!
//! # Rules
//!
//! | id | from | flags |
//! |---|---|---|
//! | `index-without-concurrently` | squawk `require-concurrent-index-creation` | `CREATE INDEX` without `CONCURRENTLY` |
//! | `constraint-without-not-valid` | squawk `constraint-missing-not-valid`, `adding-foreign-key-constraint` | FK/CHECK added without `NOT VALID`, or validated in the same transaction |
//! | `set-not-null` | squawk `adding-not-nullable-field` | `SET NOT NULL` without a validated `CHECK (c IS NOT NULL)` |
//! | `column-type-change` | squawk `changing-column-type` | `ALTER COLUMN ... TYPE` / `SET DATA TYPE` |
//! | `add-column-volatile-default` | squawk `adding-field-with-default` | `ADD COLUMN ... DEFAULT` volatile (constant/stable defaults are instant since PG 11) |
//! | `add-column-not-null-without-default` | squawk `adding-required-field` | `ADD COLUMN ... NOT NULL` without `DEFAULT` |
//! | `drop-column`, `drop-table` | squawk `ban-drop-column`, `ban-drop-table` | the app version still running breaks |
//! | `rename-column`, `rename-table` | squawk `renaming-column`, `renaming-table` | the app version still running breaks |
//! | `drop-schema`, `drop-database` | squawk `ban-drop-schema`, `ban-drop-database` | everything in it is gone |
//! | `add-primary-key-without-index`, `add-unique-constraint-without-index` | squawk `adding-serial-primary-key-field`, `disallowed-unique-constraint` | index built under ACCESS EXCLUSIVE |
//! | `reindex-without-concurrently` | squawk `require-concurrent-reindex` | `REINDEX` without `CONCURRENTLY` |
//! | `detach-partition-without-concurrently` | squawk `require-concurrent-partition-detach` | `DETACH PARTITION` without `CONCURRENTLY` |
//! | `truncate-cascade` | squawk `ban-truncate-cascade` | empties tables the statement does not name |
//! | `alter-domain-add-constraint` | squawk `ban-alter-domain-with-add-constraint` | checks every column of the domain |
//! | `uncommitted-transaction` | squawk `ban-uncommitted-transaction` | `BEGIN` never committed |
//! | `vacuum-full`, `cluster` | ours (squawk's `prefer-repack` only fires for PG 19+) | table rewrite under ACCESS EXCLUSIVE |
//! | `rename-enum-value` | ours | `ALTER TYPE ... RENAME VALUE` breaks the running app |
//! | `concurrently-in-transaction` | ours, from [`crate::sql::split`](mod@crate::sql::split)'s classification (squawk's rule only knows `CREATE INDEX`) | any statement PostgreSQL refuses in a transaction block, between the file's own `BEGIN` and `COMMIT` |
//! | `syntax-error` | squawk's parser | the statement could not be checked |
//! | `lint-ignore-invalid`, `lint-ignore-unused` | ours | ignore comments that silence nothing |
//!
//! [`RuleId::why`] and [`RuleId::safe_pattern`] hold the texts. Squawk
//! runs with its default `pg_version` (15; the version-dependent rules
//! among ours behave the same on every major from 12 on, and RDS supports
//! none older) and, for files the runner wraps in one transaction, with
//! `assume_in_transaction`, so `NOT VALID` followed by `VALIDATE` in the
//! same file is reported.
//!
//! # Left out, and why
//!
//! - Prisma's own DDL style, which squawk's defaults report on Prisma's
//!   first migration: `prefer-bigint-over-int`, `prefer-bigint-over-smallint`,
//!   `prefer-identity` (Prisma writes `SERIAL`), `prefer-timestamp-tz`
//!   (`TIMESTAMP(3)`), `prefer-text-field`, `ban-char-field`,
//!   `prefer-robust-stmts` (no `IF NOT EXISTS`), `require-table-schema`
//!   (the schema comes from the URL's `schema` parameter). These are
//!   schema-design preferences; none locks or breaks a live database.
//! - `require-lock-timeout`, `require-statement-timeout`,
//!   `require-timeout-settings`: the runner sets `lock_timeout` and
//!   `statement_timeout` itself, with retries.
//! - `require-concurrent-index-deletion`: `DROP INDEX` is a catalog change;
//!   its ACCESS EXCLUSIVE wait is what the runner's `lock_timeout` bounds,
//!   and Prisma writes a plain `DROP INDEX` for every removed `@@index`.
//! - `ban-concurrent-index-creation-in-transaction` and `transaction-nesting`:
//!   the runner never wraps a file that needs to run outside a transaction
//!   or that has its own `BEGIN` ([`crate::sql::ExecutionMode`]); the one real
//!   failure left, a concurrent statement inside the file's own `BEGIN`
//!   block, is `concurrently-in-transaction`, for every such statement.
//! - `ban-drop-not-null`: `DROP NOT NULL` is Prisma's expand step when a
//!   field becomes optional; it is instant and the old app still works.
//! - squawk 2.6x's "existing clients" family (`ban-drop-default`,
//!   `ban-drop-constraint`, `ban-drop-index`, `ban-drop-type`,
//!   `ban-drop-function`, `ban-drop-view`, `ban-drop-sequence`,
//!   `ban-drop-domain`, `ban-drop-extension`, `ban-drop-generated-expression`,
//!   `renaming-object`, `ban-set-schema`, `ban-alter-identity`,
//!   `ban-add-enum-value` and the other opt-in ones): Prisma Client's queries
//!   name tables, columns and enum types, which the rules above cover;
//!   Prisma renders relation and index changes as drop + re-add of
//!   constraints and indexes, so these would fire on most Prisma migrations
//!   without pointing at an outage. Adding an enum value is the expand step
//!   itself.
//! - `ban-create-domain-with-constraint` (a new domain blocks nothing),
//!   `require-enum-value-ordering` (style), `identifier-too-long` (Prisma
//!   keeps its names within 63 bytes; PostgreSQL truncates with a notice),
//!   `ban-duplicate-column-assignments` (PostgreSQL rejects it, and the
//!   transaction rolls back), `prefer-repack` (PostgreSQL 19+ only),
//!   `unused-ignore` (squawk's; ours is `lint-ignore-unused`).
//!
//! # Ignore comments
//!
//! ```sql
//! -- AlterTable
//! -- migrate-lint: ignore drop-column -- unused since v42, see #123
//! ALTER TABLE "User" DROP COLUMN "legacy";
//! ```
//!
//! A `--` line comment among the comments right above a statement (after
//! the previous statement's `;`), naming one or more of our rule ids
//! separated by commas, then `--` and a reason, silences those rules on
//! that one statement. The silenced findings are kept in
//! [`LintReport::suppressed`] with their reason. A missing or empty reason,
//! an unknown id, a block comment, a comment inside a statement, and
//! squawk's own `-- squawk-ignore ...` / `squawk-ignore-file` comments are
//! `lint-ignore-invalid` findings (squawk's comments have no reason and use
//! squawk's rule names; squawk still honours them internally, so they are
//! reported rather than trusted). An ignore that silences nothing is
//! `lint-ignore-unused`. The form follows squawk's (`-- squawk-ignore
//! rule-a, rule-b` above the statement) with our prefix, our ids and a
//! mandatory reason.

mod ignore;
pub mod rules;

#[cfg(test)]
mod tests;

use serde::Serialize;
use squawk_linter::Linter;
use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{SourceFile, SyntaxKind};

pub use rules::RuleId;

use crate::sql::split::{self, ExecutionMode, Script, StatementKind, TransactionControl};
use ignore::Directive;

/// One dangerous statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule, by its stable id.
    pub rule: RuleId,
    /// 1-based line of the statement (of the comment, for ignore findings).
    pub line: usize,
    /// Byte offset of [`Finding::statement`] in the file.
    pub offset: usize,
    /// The statement exactly as written (the comment, for ignore findings).
    pub statement: String,
    /// What exactly was seen: squawk's message, the parse error, or what is
    /// wrong with an ignore comment.
    pub detail: String,
    /// Why it is dangerous ([`RuleId::why`]).
    pub why: &'static str,
    /// What to write instead ([`RuleId::safe_pattern`]).
    pub safe_pattern: &'static str,
}

/// A finding an ignore comment silenced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    /// The finding as it would have been reported.
    pub finding: Finding,
    /// The reason given in the comment.
    pub reason: String,
    /// 1-based line of the ignore comment.
    pub ignore_line: usize,
}

/// What [`lint`] found in one file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LintReport {
    /// Findings, in file order.
    pub findings: Vec<Finding>,
    /// Findings silenced by ignore comments, in file order.
    pub suppressed: Vec<Suppressed>,
}

impl LintReport {
    /// True when nothing is reported (silenced findings do not count).
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

/// A finding before ignores: where it is and what it says.
struct Raw {
    rule: RuleId,
    /// The statement it is on, if it is on one.
    statement: Option<usize>,
    offset: usize,
    text: String,
    detail: String,
}

/// Lints the SQL of one migration file.
pub fn lint(sql: &str) -> LintReport {
    if split::too_deep(sql) {
        return unchecked(format!(
            "brackets nest deeper than {} levels (PostgreSQL refuses that too); the file was not checked",
            split::MAX_NESTING
        ));
    }
    split::with_parser_stack(|| lint_parsed(sql))
        .unwrap_or_else(|error| unchecked(format!("could not start the parser: {error}")))
}

/// The report for a file that could not be parsed at all.
fn unchecked(detail: String) -> LintReport {
    let rule = RuleId::SyntaxError;
    LintReport {
        findings: vec![Finding {
            rule,
            line: 1,
            offset: 0,
            statement: String::new(),
            detail,
            why: rule.why(),
            safe_pattern: rule.safe_pattern(),
        }],
        suppressed: Vec::new(),
    }
}

fn lint_parsed(sql: &str) -> LintReport {
    let parse = SourceFile::parse(sql);
    let script = split::split_parsed(sql, &parse);
    let root = parse.syntax_node();
    let nodes = split::statement_nodes(&root, &script.statements);
    let on_statement = |rule, index: usize, detail: String| -> Option<Raw> {
        let statement = script.statements.get(index)?;
        Some(Raw {
            rule,
            statement: Some(index),
            offset: statement.offset,
            text: statement.text.to_string(),
            detail,
        })
    };

    let mut raw = Vec::new();

    let mut linter = Linter::from(rules::SQUAWK_RULES.iter().map(|(squawk, _)| *squawk));
    linter.settings.assume_in_transaction = script.mode() == ExecutionMode::SingleTransaction;
    for violation in linter.lint(&parse, sql) {
        let Some(rule) = RuleId::from_squawk(violation.code) else {
            continue;
        };
        let at = usize::from(violation.text_range.start());
        if rule == RuleId::ConstraintWithoutNotValid && adds_key_constraint_at(&root, at) {
            // squawk's constraint-missing-not-valid also fires on PRIMARY KEY
            // and UNIQUE, which cannot be NOT VALID; their own rules cover them.
            continue;
        }
        let detail = match &violation.help {
            Some(help) => format!("{} {help}", violation.message),
            None => violation.message.clone(),
        };
        raw.extend(statement_at(&script, at).and_then(|i| on_statement(rule, i, detail)));
    }

    for (index, stmts) in nodes.iter().enumerate() {
        for (rule, detail) in stmts.iter().filter_map(own_rule) {
            raw.extend(on_statement(rule, index, detail.to_string()));
        }
    }

    let mut in_block = false;
    for (index, statement) in script.statements.iter().enumerate() {
        match statement.kind {
            StatementKind::TransactionControl(TransactionControl::Begin) => in_block = true,
            StatementKind::TransactionControl(
                TransactionControl::Commit
                | TransactionControl::Rollback
                | TransactionControl::PrepareTransaction,
            ) => in_block = false,
            StatementKind::NoTransaction { command } if in_block => raw.extend(on_statement(
                RuleId::ConcurrentlyInTransaction,
                index,
                format!("{command} between BEGIN and COMMIT."),
            )),
            _ => {}
        }
    }

    for error in parse.errors() {
        let at = usize::from(error.range().start());
        let detail = format!("squawk: {}", error.message());
        match statement_at(&script, at).or_else(|| script.statements.len().checked_sub(1)) {
            Some(index) => raw.extend(on_statement(RuleId::SyntaxError, index, detail)),
            None => raw.push(Raw {
                rule: RuleId::SyntaxError,
                statement: None,
                offset: at,
                text: String::new(),
                detail,
            }),
        }
    }

    exempt_new_tables(&mut raw, &nodes);
    raw.sort_by_key(|r| (r.offset, r.rule));
    raw.dedup_by_key(|r| (r.statement, r.offset, r.rule));
    apply_ignores(sql, &root, &script, raw)
}

/// Whether an `ADD CONSTRAINT ... PRIMARY KEY | UNIQUE` starts at `offset`.
fn adds_key_constraint_at(root: &squawk_syntax::SyntaxNode, offset: usize) -> bool {
    root.descendants()
        .filter_map(ast::AddConstraint::cast)
        .filter(|add| usize::from(add.syntax().text_range().start()) == offset)
        .any(|add| {
            matches!(
                add.constraint(),
                Some(
                    ast::Constraint::PrimaryKeyConstraint(_) | ast::Constraint::UniqueConstraint(_)
                )
            )
        })
}

/// The statement whose text contains byte `offset`.
fn statement_at(script: &Script<'_>, offset: usize) -> Option<usize> {
    script
        .statements
        .iter()
        .position(|s| s.offset <= offset && offset < s.offset + s.text.len().max(1))
}

/// Our own rules on one parsed statement.
fn own_rule(stmt: &ast::Stmt) -> Option<(RuleId, &'static str)> {
    match stmt {
        ast::Stmt::Vacuum(vacuum) if is_vacuum_full(vacuum) => {
            Some((RuleId::VacuumFull, "VACUUM FULL rewrites the table."))
        }
        ast::Stmt::Cluster(_) => Some((RuleId::Cluster, "CLUSTER rewrites the table.")),
        ast::Stmt::AlterType(alter)
            if matches!(alter.action(), Some(ast::AlterTypeAction::RenameValue(_))) =>
        {
            Some((RuleId::RenameEnumValue, "ALTER TYPE ... RENAME VALUE."))
        }
        _ => None,
    }
}

fn is_vacuum_full(vacuum: &ast::Vacuum) -> bool {
    if vacuum.full_token().is_some() {
        return true;
    }
    let Some(options) = vacuum.vacuum_option_list() else {
        return false;
    };
    options.vacuum_options().any(|option| {
        let named_full = option.vacuum_option_name().is_some_and(|name| {
            name.syntax()
                .text()
                .to_string()
                .eq_ignore_ascii_case("full")
        });
        let switched_off = option.vacuum_option_value().is_some_and(|value| {
            let value = value.syntax().text().to_string().to_ascii_lowercase();
            matches!(value.as_str(), "false" | "off" | "0")
        });
        named_full && !switched_off
    })
}

/// A relation name as written: optional schema, then the name, both
/// normalized the way PostgreSQL resolves identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Name {
    schema: Option<String>,
    name: String,
}

impl Name {
    fn same(&self, other: &Name) -> bool {
        self.name == other.name
            && match (&self.schema, &other.schema) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

fn path_name(path: &ast::Path) -> Option<Name> {
    Some(Name {
        schema: path.qualifier().and_then(|q| q.segment()).map(|s| s.text()),
        name: path.segment()?.text(),
    })
}

fn path_ref_name(path: &ast::PathRef) -> Option<Name> {
    Some(Name {
        schema: path.qualifier().and_then(|q| q.segment()).map(|s| s.text()),
        name: path.segment()?.text(),
    })
}

fn table_ref_name(table: Option<ast::TableNameRef>) -> Option<Name> {
    path_ref_name(&table?.path_ref()?)
}

fn relation_name(relation: Option<ast::TableRelationName>) -> Option<Name> {
    table_ref_name(relation?.table_name_ref())
}

/// The tables (or the type) a statement works on, for the exemption.
fn targets(stmt: &ast::Stmt) -> Vec<Name> {
    match stmt {
        ast::Stmt::AlterTable(s) => relation_name(s.table_relation_name()).into_iter().collect(),
        ast::Stmt::CreateIndex(s) => relation_name(s.table_relation_name()).into_iter().collect(),
        ast::Stmt::DropTable(s) => s
            .table_name_refs()
            .filter_map(|t| table_ref_name(Some(t)))
            .collect(),
        ast::Stmt::Vacuum(s) => s
            .table_and_columns_list()
            .map(|list| {
                list.table_and_columnss()
                    .filter_map(|t| relation_name(t.table_relation_name()))
                    .collect()
            })
            .unwrap_or_default(),
        ast::Stmt::Cluster(s) => table_ref_name(s.table_name_ref())
            .or_else(|| table_ref_name(s.cluster_legacy()?.on_path()?.table_name_ref()))
            .into_iter()
            .collect(),
        ast::Stmt::Reindex(s) => match s.reindex_target() {
            Some(ast::ReindexTarget::ReindexTargetTable(t)) => {
                table_ref_name(t.table_name_ref()).into_iter().collect()
            }
            _ => Vec::new(),
        },
        ast::Stmt::AlterType(s) => s
            .type_name_ref()
            .and_then(|t| path_ref_name(&t.path_ref()?))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// The tables and types a statement creates, given those created so far
/// (a rename of a new table creates its new name).
fn created(stmt: &ast::Stmt, so_far: &[Name]) -> Vec<Name> {
    match stmt {
        ast::Stmt::CreateTable(s) => s
            .table_name()
            .and_then(|t| path_name(&t.path()?))
            .into_iter()
            .collect(),
        ast::Stmt::CreateTableAs(s) => s
            .table_name()
            .and_then(|t| path_name(&t.path()?))
            .into_iter()
            .collect(),
        ast::Stmt::CreateType(s) => s
            .type_name()
            .and_then(|t| path_name(&t.path()?))
            .into_iter()
            .collect(),
        ast::Stmt::AlterTable(s) => {
            let Some(old) = relation_name(s.table_relation_name()) else {
                return Vec::new();
            };
            if !so_far.iter().any(|n| n.same(&old)) {
                return Vec::new();
            }
            s.actions()
                .filter_map(|action| match action {
                    ast::AlterTableAction::TableRenameTo(rename) => rename
                        .table_name()
                        .and_then(|t| path_name(&t.path()?))
                        .map(|new| Name {
                            schema: old.schema.clone(),
                            name: new.name,
                        }),
                    _ => None,
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// Drops findings on statements that only touch tables created earlier in
/// the same file.
fn exempt_new_tables(raw: &mut Vec<Raw>, nodes: &[Vec<ast::Stmt>]) {
    let mut new_tables: Vec<Name> = Vec::new();
    let mut exempt = vec![false; nodes.len()];
    for (index, stmts) in nodes.iter().enumerate() {
        let touched: Vec<Name> = stmts.iter().flat_map(targets).collect();
        exempt[index] =
            !touched.is_empty() && touched.iter().all(|t| new_tables.iter().any(|n| n.same(t)));
        for stmt in stmts {
            let more = created(stmt, &new_tables);
            new_tables.extend(more);
        }
    }
    raw.retain(|r| {
        !(r.rule.exempt_on_new_tables()
            && r.statement
                .is_some_and(|i| exempt.get(i).copied().unwrap_or(false)))
    });
}

/// One well-formed ignore comment.
struct Ignore {
    statement: usize,
    rule: RuleId,
    reason: String,
    line: usize,
    offset: usize,
    text: String,
    used: bool,
}

fn finding(sql: &str, raw: Raw) -> Finding {
    Finding {
        rule: raw.rule,
        line: split::line_of(sql, raw.offset),
        offset: raw.offset,
        statement: raw.text,
        detail: raw.detail,
        why: raw.rule.why(),
        safe_pattern: raw.rule.safe_pattern(),
    }
}

/// Reads the ignore comments, silences what they name, and reports the
/// comments that silence nothing.
fn apply_ignores(
    sql: &str,
    root: &squawk_syntax::SyntaxNode,
    script: &Script<'_>,
    raw: Vec<Raw>,
) -> LintReport {
    let mut ignores = Vec::new();
    let mut report = LintReport::default();
    let comments = root
        .descendants_with_tokens()
        .filter_map(|element| element.into_token())
        .filter(|token| token.kind() == SyntaxKind::COMMENT);
    for comment in comments {
        let range = split::token_range(&comment);
        let text = comment.text().to_string();
        let Some(directive) = ignore::directive(&text) else {
            continue;
        };
        let comment_raw = |rule, detail: String| Raw {
            rule,
            statement: None,
            offset: range.start,
            text: text.clone(),
            detail,
        };
        let above = script
            .statements
            .iter()
            .position(|s| s.span.start <= range.start && range.end <= s.offset);
        let inside = script
            .statements
            .iter()
            .any(|s| s.offset <= range.start && range.start < s.offset + s.text.len());
        match (directive, above) {
            (Directive::Invalid(problem), _) => report.findings.push(finding(sql, comment_raw(RuleId::IgnoreInvalid, problem))),
            (Directive::Ignore { .. }, None) if inside => report.findings.push(finding(
                sql,
                comment_raw(
                    RuleId::IgnoreInvalid,
                    "an ignore comment inside a statement is not read; put it on its own line above the statement".to_string(),
                ),
            )),
            (Directive::Ignore { rules, .. }, None) => {
                for rule in rules {
                    report.findings.push(finding(
                        sql,
                        comment_raw(RuleId::IgnoreUnused, format!("no statement follows to silence `{rule}` on")),
                    ));
                }
            }
            (Directive::Ignore { rules, reason }, Some(statement)) => {
                for rule in rules {
                    ignores.push(Ignore {
                        statement,
                        rule,
                        reason: reason.clone(),
                        line: split::line_of(sql, range.start),
                        offset: range.start,
                        text: text.clone(),
                        used: false,
                    });
                }
            }
        }
    }

    for r in raw {
        let matching = ignores
            .iter_mut()
            .find(|i| r.statement == Some(i.statement) && i.rule == r.rule && r.rule.ignorable());
        match matching {
            Some(ignore) => {
                ignore.used = true;
                report.suppressed.push(Suppressed {
                    reason: ignore.reason.clone(),
                    ignore_line: ignore.line,
                    finding: finding(sql, r),
                });
            }
            None => report.findings.push(finding(sql, r)),
        }
    }
    for ignore in ignores.into_iter().filter(|i| !i.used) {
        let raw = Raw {
            rule: RuleId::IgnoreUnused,
            statement: None,
            offset: ignore.offset,
            text: ignore.text,
            detail: format!(
                "`{}` found nothing to silence on the statement below",
                ignore.rule
            ),
        };
        report.findings.push(finding(sql, raw));
    }
    report.findings.sort_by_key(|f| (f.offset, f.rule));
    report
}
