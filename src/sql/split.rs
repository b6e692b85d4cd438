//! The statements of a migration file, and how the file has to be run.
//!
//! # Statements
//!
//! [`split`] cuts a `migration.sql` at its top-level `;` tokens. The tokens
//! come from squawk's parser (`squawk-syntax`, on top of `squawk-lexer`), so
//! a `;` inside a `'...'`, `E'...'`, `U&'...'` or `$tag$...$tag$` string, a
//! `"quoted identifier"`, a `--` comment or a (nested) `/* */` comment is
//! never a boundary. Two constructs have `;` tokens *inside* one statement
//! in PostgreSQL's grammar, and the parser marks both: SQL-standard routine
//! bodies (`BEGIN ATOMIC ... END`) and multi-action rules
//! (`CREATE RULE ... DO ( ...; ... )`). Every other `;` ends a statement,
//! which is exactly where the server's own parser ends one.
//!
//! Each [`Statement`] keeps its text exactly as written (first token
//! through its `;`), its byte offset and 1-based line, and a `span` that
//! also covers the comments and blank lines in front of it: the spans of
//! all statements followed by [`Script::trailing`] are the whole file, byte
//! for byte. Empty statements (`;;`) are not reported; their `;` stays in
//! the span of what follows. A last statement without `;` is a statement.
//! Unparseable input still splits (the lexer never fails); the linter
//! reports syntax errors separately.
//!
//! # Statements PostgreSQL refuses inside a transaction block
//!
//! Checked one by one on PostgreSQL 15 (`BEGIN; <stmt>;` gives SQLSTATE
//! 25001 "... cannot run inside a transaction block"), matching the
//! `PreventInTransactionBlock` callers and the reference pages:
//! `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`,
//! `REINDEX ... CONCURRENTLY`, `REINDEX SCHEMA|DATABASE|SYSTEM`, `VACUUM`
//! (any form; `ANALYZE` alone is fine), database-wide `CLUSTER` (no table),
//! `CREATE DATABASE`, `DROP DATABASE`, `ALTER DATABASE ... SET TABLESPACE`,
//! `CREATE TABLESPACE`, `DROP TABLESPACE`, `ALTER SYSTEM`,
//! `ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY`, `DISCARD ALL`,
//! `COMMIT PREPARED`, `ROLLBACK PREPARED`, and `CREATE SUBSCRIPTION` /
//! `DROP SUBSCRIPTION` when they create or drop a replication slot (the
//! default; treated as always, since a slot cannot be seen from the text).
//! Not in the list, also checked: `ALTER TYPE ... ADD VALUE` (allowed in a
//! transaction since PostgreSQL 12, though the new label cannot be used
//! before the transaction commits), `REINDEX TABLE|INDEX` without
//! `CONCURRENTLY`, `CLUSTER table USING index`, `VACUUM`'s cousin
//! `ANALYZE`, `DISCARD PLANS`, `REFRESH MATERIALIZED VIEW CONCURRENTLY`.
//! Two cases depend on the catalog, not the text, and are not detected:
//! `REINDEX TABLE` and `CLUSTER` on a *partitioned* table are refused too.
//!
//! A multi-statement simple-query message is itself an implicit
//! transaction block: `CREATE TABLE a (); CREATE INDEX CONCURRENTLY ...`
//! sent as one message fails with 25001 although nothing says `BEGIN`.
//!
//! # What Prisma does (what the runner has to match)
//!
//! - Prisma Migrate's native engine applies a migration file with one
//!   `simple_query(script)` call: the whole file in one simple-query
//!   message (`apply_migration_script` in prisma-engines'
//!   `sql-schema-connector/src/flavour/postgres/connector/native/mod.rs`,
//!   read at commit 3dd25f3, and the older `postgres/connection.rs`). So a
//!   plain file is one implicit transaction: all or nothing. That is also
//!   what FACTS.md records for 7.10's `migrate deploy`.
//! - A file that contains its own `BEGIN`/`COMMIT` (Prisma writes one for
//!   enum value removal: `BEGIN; CREATE TYPE "X_new" ...; ALTER TABLE ...
//!   TYPE "X_new" USING ...; ALTER TYPE ... RENAME; DROP TYPE ...; COMMIT;`)
//!   is sent the same way, and PostgreSQL's rules for transaction control in
//!   a multi-statement message apply. Verified on PostgreSQL 15:
//!   `CREATE TABLE a(); BEGIN; CREATE TABLE b(); COMMIT; CREATE TABLE c();
//!   SELECT 1/0;` leaves `a` and `b` committed and `c` rolled back: `BEGIN`
//!   turns the implicit block into an explicit one, `COMMIT` commits
//!   everything so far, and what follows is a new implicit block.
//! - `CREATE INDEX CONCURRENTLY` (and the rest of the list above) used to
//!   work only as the single statement of a file (prisma/prisma#14456).
//!   prisma-engines#5767 ("support CREATE INDEX CONCURRENTLY in
//!   migrations", merged February 2026) makes the engine run such a file
//!   statement by statement outside a transaction, and #5799 (2026-03)
//!   moved the shadow-database replay onto "the new migration script
//!   logic", so files with several concurrent builds replay too. The diff
//!   of #5767 could not be read here (the repository snapshot is 2.4 GB,
//!   over the fetch limit, and the code index only holds versions from
//!   before it), so the exact rule it uses to detect such a file is not
//!   confirmed from source; the project's FACTS record the observed
//!   behaviour: statement by statement, outside a transaction.
//! - Checked here: the WebAssembly engine inside `prisma` 7.10.1 (engine
//!   commit 59be4fda) does *not* split: it hands the whole file to the
//!   driver adapter's `executeScript` in one call, and a file with two
//!   concurrent builds and other statements fails with 25001 when that call
//!   sends it as one message. `@prisma/adapter-pg` 7.10.1's own
//!   `executeScript` splits on every `;` character (string literals and
//!   dollar-quoted bodies included) and runs each piece as an autocommit
//!   query, so through that adapter a file never runs in a transaction.
//!   This build is newer than #5799 and does not split, so the splitting
//!   #5767 added is on the native connector's side, where the whole file
//!   used to go out in one message.
//!
//! # How the runner should run a file ([`Script::mode`])
//!
//! - [`ExecutionMode::SingleTransaction`]: nothing needs to be outside a
//!   transaction and the file controls no transaction itself: run it in a
//!   transaction the runner opens. Same outcome as Prisma's one message.
//! - [`ExecutionMode::AsWritten`]: the file has its own transaction control
//!   (`BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, ...) and nothing that must
//!   run outside a transaction: do **not** wrap it (a `BEGIN` inside a
//!   runner transaction only warns, and the file's `COMMIT` would commit the
//!   runner's transaction early, leaving the rest in autocommit). Send the
//!   file unchanged as one simple-query message, as Prisma does, with the
//!   session's `lock_timeout`/`statement_timeout` set beforehand at session
//!   level (`SET LOCAL` outside a transaction does nothing). A failure then
//!   rolls back only to the file's last `COMMIT`: the history row must say
//!   failed, as Prisma's does.
//! - [`ExecutionMode::StatementByStatement`]: a statement must run outside a
//!   transaction block: send each [`Statement::text`] as its own message, in
//!   order, in autocommit (explicit `BEGIN`/`COMMIT` in the file still work,
//!   since they arrive one by one). A failure leaves the earlier statements
//!   committed, and a failed concurrent index build leaves an `INVALID`
//!   index behind (`DROP INDEX CONCURRENTLY IF EXISTS` it before retrying;
//!   `CREATE INDEX CONCURRENTLY IF NOT EXISTS` would keep the invalid one).
//!   Keep such files to the concurrent statements alone. A concurrent
//!   statement *between* the file's own `BEGIN` and `COMMIT` fails whatever
//!   the runner does; the linter reports it (`concurrently-in-transaction`).

use std::ops::Range;

use squawk_syntax::ast::{self, AstNode};
use squawk_syntax::{Parse, SourceFile, SyntaxKind, SyntaxNode, SyntaxToken};

/// One statement of a migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement<'a> {
    /// The statement exactly as written: from its first token through its
    /// terminating `;` (or its last token when the file ends without one).
    pub text: &'a str,
    /// Byte offset of [`Statement::text`] in the file.
    pub offset: usize,
    /// 1-based line of the statement's first token.
    pub line: usize,
    /// The bytes this statement owns: the comments, whitespace and empty
    /// statements in front of it, then [`Statement::text`].
    pub span: Range<usize>,
    /// What PostgreSQL will do with it, as far as transactions go.
    pub kind: StatementKind,
    /// The index a `CREATE [UNIQUE] INDEX CONCURRENTLY` builds, when it
    /// names one: what the runner checks for an `INVALID` leftover of an
    /// interrupted build before running it again.
    pub builds_index: Option<ObjectName>,
    /// Byte range in the file of the `CONCURRENTLY` keyword of a `CREATE`
    /// or `DROP INDEX CONCURRENTLY`.
    pub concurrently: Option<Range<usize>>,
}

impl Statement<'_> {
    /// The statement as it can run inside a transaction block with the
    /// same effect on the catalog (the doctor's replay of the migrations
    /// in a transaction it rolls back): `CREATE`/`DROP INDEX` without
    /// `CONCURRENTLY`; `None` for transaction control and for the other
    /// statements PostgreSQL refuses in a block (`VACUUM`, `REINDEX ...
    /// CONCURRENTLY`, ...), which change no table definition.
    pub fn in_transaction_form(&self, sql: &str) -> Option<String> {
        match self.kind {
            StatementKind::Ordinary => Some(self.text.to_string()),
            StatementKind::TransactionControl(_) => None,
            StatementKind::NoTransaction { .. } => {
                let cut = self.concurrently.clone()?;
                let before = sql.get(self.offset..cut.start)?;
                let after = sql.get(cut.end..self.offset + self.text.len())?;
                Some(format!("{before}{after}"))
            }
        }
    }
}

/// A relation's name as written, folded the way PostgreSQL resolves it
/// (unquoted: lower case; quoted: exact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectName {
    /// The schema, when the name is qualified.
    pub schema: Option<String>,
    pub name: String,
}

/// What a statement means for the transaction it runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatementKind {
    /// Runs inside a transaction block or outside one.
    Ordinary,
    /// PostgreSQL refuses it inside a transaction block (SQLSTATE 25001).
    NoTransaction {
        /// The command as PostgreSQL names it in its error message.
        command: &'static str,
    },
    /// Starts, ends or subdivides a transaction.
    TransactionControl(TransactionControl),
}

impl StatementKind {
    /// One of the `CONCURRENTLY` forms (`CREATE`/`DROP INDEX`, `REINDEX`,
    /// `DETACH PARTITION`): while it waits for other transactions it holds
    /// only `SHARE UPDATE EXCLUSIVE`, which no query of the app waits for.
    pub fn is_concurrent(self) -> bool {
        matches!(self, StatementKind::NoTransaction { command } if command.ends_with("CONCURRENTLY"))
    }
}

/// A transaction-control statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionControl {
    /// `BEGIN` / `START TRANSACTION`.
    Begin,
    /// `COMMIT` / `END`.
    Commit,
    /// `ROLLBACK` / `ABORT`.
    Rollback,
    /// `SAVEPOINT`, `RELEASE SAVEPOINT`, `ROLLBACK TO SAVEPOINT`.
    Savepoint,
    /// `PREPARE TRANSACTION`.
    PrepareTransaction,
}

/// How the runner has to send a file; see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionMode {
    /// In one transaction that the runner opens and commits.
    SingleTransaction,
    /// Unchanged, as one simple-query message, with no transaction around
    /// it: the file controls its own transactions.
    AsWritten,
    /// Each statement as its own message, in autocommit, in file order.
    StatementByStatement,
}

/// A migration file cut into statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script<'a> {
    /// The statements, in file order.
    pub statements: Vec<Statement<'a>>,
    /// What follows the last statement: whitespace, comments and empty
    /// statements. With the statements' spans it covers the whole file.
    pub trailing: Range<usize>,
}

impl<'a> Script<'a> {
    /// How the runner must send this file.
    pub fn mode(&self) -> ExecutionMode {
        if self.non_transactional().next().is_some() {
            ExecutionMode::StatementByStatement
        } else if self.transaction_control().next().is_some() {
            ExecutionMode::AsWritten
        } else {
            ExecutionMode::SingleTransaction
        }
    }

    /// The statements PostgreSQL refuses inside a transaction block.
    pub fn non_transactional(&self) -> impl Iterator<Item = &Statement<'a>> {
        self.statements
            .iter()
            .filter(|s| matches!(s.kind, StatementKind::NoTransaction { .. }))
    }

    /// The file's own transaction-control statements (`BEGIN`, `COMMIT`, ...).
    pub fn transaction_control(&self) -> impl Iterator<Item = &Statement<'a>> {
        self.statements
            .iter()
            .filter(|s| matches!(s.kind, StatementKind::TransactionControl(_)))
    }
}

/// Cuts `sql` into statements and classifies each; never fails.
pub fn split(sql: &str) -> Script<'_> {
    if too_deep(sql) {
        return split_lexed(sql);
    }
    with_parser_stack(|| split_parsed(sql, &SourceFile::parse(sql)))
        .unwrap_or_else(|_| split_lexed(sql))
}

/// The deepest `(` / `[` nesting handed to the parser. PostgreSQL's own
/// grammar gives up before 10 000 levels ("memory exhausted"); squawk's
/// parser recurses once per level and would overflow a thread's stack.
pub(crate) const MAX_NESTING: usize = 10_000;

/// The parser thread's stack: room for [`MAX_NESTING`] levels even in a
/// debug build (about 2.5 KiB a level there), and for long chains of
/// prefix operators (`NOT NOT ...`, about 1 KiB each). Reserved, not
/// committed, until used.
const PARSER_STACK: usize = 64 << 20;

/// Whether `sql` nests brackets deeper than [`MAX_NESTING`].
pub(crate) fn too_deep(sql: &str) -> bool {
    let mut depth = 0usize;
    for token in squawk_lexer::tokenize(sql) {
        match token.kind {
            squawk_lexer::TokenKind::OpenParen | squawk_lexer::TokenKind::OpenBracket => {
                depth += 1;
                if depth > MAX_NESTING {
                    return true;
                }
            }
            squawk_lexer::TokenKind::CloseParen | squawk_lexer::TokenKind::CloseBracket => {
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
    }
    false
}

/// The words without which no statement is anything but
/// [`StatementKind::Ordinary`]: each kind [`classify`] gives other than
/// that needs one of them, unquoted.
const TRANSACTION_WORDS: [&str; 19] = [
    "CONCURRENTLY",
    "REINDEX",
    "VACUUM",
    "CLUSTER",
    "DATABASE",
    "TABLESPACE",
    "SYSTEM",
    "DISCARD",
    "SUBSCRIPTION",
    "PREPARED",
    "PREPARE",
    "BEGIN",
    "START",
    "COMMIT",
    "END",
    "ROLLBACK",
    "ABORT",
    "SAVEPOINT",
    "RELEASE",
];

/// How the runner must send `sql`: [`Script::mode`] of [`split`], without
/// the parse (and its thread) when the lexer finds none of the words a
/// statement needs to be anything but ordinary, as in most migrations.
pub fn mode(sql: &str) -> ExecutionMode {
    let mut at = 0usize;
    let may_matter = squawk_lexer::tokenize(sql).any(|token| {
        let word = sql.get(at..at + token.len as usize).unwrap_or_default();
        at += token.len as usize;
        token.kind == squawk_lexer::TokenKind::Ident
            && TRANSACTION_WORDS
                .iter()
                .any(|w| w.eq_ignore_ascii_case(word))
    });
    if may_matter {
        split(sql).mode()
    } else {
        ExecutionMode::SingleTransaction
    }
}

/// Runs `job`, which parses, on a thread with [`PARSER_STACK`] of stack,
/// and waits for it. Fails only when no thread can be started. A panic in
/// the job is a bug and resumes on the caller's thread.
pub(crate) fn with_parser_stack<T: Send>(job: impl FnOnce() -> T + Send) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("sql-parser".to_string())
            .stack_size(PARSER_STACK)
            .spawn_scoped(scope, job)?;
        Ok(handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}

/// What a token means for cutting statements.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Whitespace or a comment.
    Trivia,
    /// A `;` that ends a statement.
    End,
    /// Anything else.
    Content,
}

/// Cuts `sql` given its tokens in order, with what each means.
fn cut<'a>(sql: &'a str, tokens: impl Iterator<Item = (Range<usize>, Cut)>) -> Script<'a> {
    let mut statements = Vec::new();
    // Start of the current span, and start/end of its non-trivia content.
    let mut span_start = 0usize;
    let mut content: Option<Range<usize>> = None;
    for (range, cut) in tokens {
        match cut {
            Cut::Trivia => {}
            Cut::End => {
                // An empty statement keeps its `;` in the next span.
                if let Some(text) = content.take() {
                    statements.push(statement(sql, span_start..range.end, text.start..range.end));
                    span_start = range.end;
                }
            }
            Cut::Content => match &mut content {
                Some(text) => text.end = range.end,
                None => content = Some(range),
            },
        }
    }
    if let Some(text) = content {
        statements.push(statement(sql, span_start..text.end, text.clone()));
        span_start = text.end;
    }
    Script {
        statements,
        trailing: span_start..sql.len(),
    }
}

/// [`split`] on a tree the caller already parsed from `sql`.
pub(crate) fn split_parsed<'a>(sql: &'a str, parse: &Parse<SourceFile>) -> Script<'a> {
    let root = parse.syntax_node();
    let tokens = root
        .descendants_with_tokens()
        .filter_map(|element| element.into_token())
        .map(|token| {
            let cut = if token.kind().is_trivia() {
                Cut::Trivia
            } else if token.kind() == SyntaxKind::SEMICOLON && ends_statement(&token) {
                Cut::End
            } else {
                Cut::Content
            };
            (token_range(&token), cut)
        });
    let mut script = cut(sql, tokens);
    classify_all(&root, &mut script.statements);
    script
}

/// [`split`] from the lexer alone, for input the parser is not given: every
/// `;` ends a statement and every statement is [`StatementKind::Ordinary`].
pub(crate) fn split_lexed(sql: &str) -> Script<'_> {
    let mut at = 0usize;
    let tokens = squawk_lexer::tokenize(sql).map(move |token| {
        let start = at;
        at += token.len as usize;
        let cut = match token.kind {
            squawk_lexer::TokenKind::Whitespace
            | squawk_lexer::TokenKind::LineComment
            | squawk_lexer::TokenKind::BlockComment { .. } => Cut::Trivia,
            squawk_lexer::TokenKind::Semi => Cut::End,
            _ => Cut::Content,
        };
        (start..at, cut)
    });
    cut(sql, tokens)
}

fn statement(sql: &str, span: Range<usize>, text: Range<usize>) -> Statement<'_> {
    Statement {
        text: sql.get(text.clone()).unwrap_or_default(),
        offset: text.start,
        line: line_of(sql, text.start),
        span,
        kind: StatementKind::Ordinary,
        builds_index: None,
        concurrently: None,
    }
}

/// 1-based line of byte `offset` in `sql`.
pub(crate) fn line_of(sql: &str, offset: usize) -> usize {
    let before = sql.get(..offset).unwrap_or(sql);
    before.bytes().filter(|b| *b == b'\n').count() + 1
}

/// Byte range of a token in the file.
pub(crate) fn token_range(token: &SyntaxToken) -> Range<usize> {
    let range = token.text_range();
    usize::from(range.start())..usize::from(range.end())
}

/// A `;` token ends a statement unless PostgreSQL's grammar has it inside
/// one: a `BEGIN ATOMIC ... END` routine body or a `CREATE RULE ... DO (...)`
/// action list.
fn ends_statement(token: &SyntaxToken) -> bool {
    !token.parent_ancestors().any(|node| {
        matches!(
            node.kind(),
            SyntaxKind::ATOMIC_BODY | SyntaxKind::RULE_STMT_LIST
        )
    })
}

/// Gives each statement the kind of the top-level syntax node(s) that
/// start inside its text.
fn classify_all(root: &SyntaxNode, statements: &mut [Statement<'_>]) {
    let nodes = statement_nodes(root, statements);
    for (statement, stmts) in statements.iter_mut().zip(nodes) {
        statement.builds_index = stmts.iter().find_map(concurrent_index_name);
        statement.concurrently = stmts.iter().find_map(|stmt| {
            let token = match stmt {
                ast::Stmt::CreateIndex(s) => s.concurrently_token(),
                ast::Stmt::DropIndex(s) => s.concurrently_token(),
                _ => None,
            }?;
            Some(token_range(&token))
        });
        for kind in stmts.iter().map(classify) {
            // A refusal outweighs transaction control, which outweighs nothing.
            statement.kind = match (statement.kind, kind) {
                (StatementKind::NoTransaction { .. }, _) => statement.kind,
                (_, StatementKind::NoTransaction { .. }) => kind,
                (StatementKind::TransactionControl(_), _) => statement.kind,
                _ => kind,
            };
        }
    }
}

/// The parsed top-level statement node(s) of each statement: normally one,
/// none for text the parser could not read as a statement, more than one
/// when error recovery split it.
pub(crate) fn statement_nodes(
    root: &SyntaxNode,
    statements: &[Statement<'_>],
) -> Vec<Vec<ast::Stmt>> {
    let mut nodes = vec![Vec::new(); statements.len()];
    let mut index = 0;
    for node in root.children() {
        let Some(start) = first_token_offset(&node) else {
            continue;
        };
        while statements
            .get(index)
            .is_some_and(|s| s.offset + s.text.len() <= start)
        {
            index += 1;
        }
        let (Some(statement), Some(slot)) = (statements.get(index), nodes.get_mut(index)) else {
            break;
        };
        if start >= statement.offset
            && let Some(stmt) = ast::Stmt::cast(node)
        {
            slot.push(stmt);
        }
    }
    nodes
}

fn first_token_offset(node: &SyntaxNode) -> Option<usize> {
    node.descendants_with_tokens()
        .filter_map(|element| element.into_token())
        .find(|token| !token.kind().is_trivia())
        .map(|token| token_range(&token).start)
}

/// The name of the index a `CREATE INDEX CONCURRENTLY` statement builds.
fn concurrent_index_name(stmt: &ast::Stmt) -> Option<ObjectName> {
    let ast::Stmt::CreateIndex(create) = stmt else {
        return None;
    };
    create.concurrently_token()?;
    let path = create.index()?.path()?;
    Some(ObjectName {
        schema: path.qualifier().and_then(|q| q.segment()).map(|s| s.text()),
        name: path.segment()?.text(),
    })
}

fn no_transaction(command: &'static str) -> StatementKind {
    StatementKind::NoTransaction { command }
}

/// What one parsed statement means for transactions.
pub(crate) fn classify(stmt: &ast::Stmt) -> StatementKind {
    use StatementKind::TransactionControl as Tx;
    match stmt {
        ast::Stmt::CreateIndex(s) if s.concurrently_token().is_some() => {
            no_transaction("CREATE INDEX CONCURRENTLY")
        }
        ast::Stmt::DropIndex(s) if s.concurrently_token().is_some() => {
            no_transaction("DROP INDEX CONCURRENTLY")
        }
        ast::Stmt::Reindex(s) => classify_reindex(s),
        ast::Stmt::Vacuum(_) => no_transaction("VACUUM"),
        ast::Stmt::Cluster(s) if s.table_name_ref().is_none() && s.cluster_legacy().is_none() => {
            no_transaction("CLUSTER")
        }
        ast::Stmt::CreateDatabase(_) => no_transaction("CREATE DATABASE"),
        ast::Stmt::DropDatabase(_) => no_transaction("DROP DATABASE"),
        ast::Stmt::AlterDatabase(s)
            if matches!(s.action(), Some(ast::AlterDatabaseAction::SetTablespace(_))) =>
        {
            no_transaction("ALTER DATABASE SET TABLESPACE")
        }
        ast::Stmt::CreateTablespace(_) => no_transaction("CREATE TABLESPACE"),
        ast::Stmt::DropTablespace(_) => no_transaction("DROP TABLESPACE"),
        ast::Stmt::AlterSystem(_) => no_transaction("ALTER SYSTEM"),
        ast::Stmt::AlterTable(s) if s.actions().any(|a| is_detach_concurrently(&a)) => {
            no_transaction("ALTER TABLE ... DETACH CONCURRENTLY")
        }
        ast::Stmt::Discard(s)
            if matches!(s.discard_target(), Some(ast::DiscardTarget::DiscardAll(_))) =>
        {
            no_transaction("DISCARD ALL")
        }
        ast::Stmt::CreateSubscription(_) => no_transaction("CREATE SUBSCRIPTION"),
        ast::Stmt::DropSubscription(_) => no_transaction("DROP SUBSCRIPTION"),
        ast::Stmt::Commit(ast::Commit::CommitPrepared(_)) => no_transaction("COMMIT PREPARED"),
        ast::Stmt::Rollback(ast::Rollback::RollbackPrepared(_)) => {
            no_transaction("ROLLBACK PREPARED")
        }
        ast::Stmt::Begin(_) => Tx(TransactionControl::Begin),
        ast::Stmt::Commit(ast::Commit::CommitTransaction(_)) => Tx(TransactionControl::Commit),
        ast::Stmt::Rollback(ast::Rollback::RollbackTransaction(_)) => {
            Tx(TransactionControl::Rollback)
        }
        ast::Stmt::Rollback(ast::Rollback::RollbackToSavepoint(_))
        | ast::Stmt::SavepointCreate(_)
        | ast::Stmt::ReleaseSavepoint(_) => Tx(TransactionControl::Savepoint),
        ast::Stmt::PrepareTransaction(_) => Tx(TransactionControl::PrepareTransaction),
        _ => StatementKind::Ordinary,
    }
}

fn classify_reindex(reindex: &ast::Reindex) -> StatementKind {
    // `REINDEX (CONCURRENTLY) TABLE t` and `REINDEX TABLE CONCURRENTLY t`.
    let concurrently = reindex
        .syntax()
        .descendants_with_tokens()
        .filter_map(|element| element.into_token())
        .any(|token| {
            token.kind() == SyntaxKind::CONCURRENTLY_KW
                || (token.kind() == SyntaxKind::IDENT
                    && token.text().eq_ignore_ascii_case("concurrently"))
        });
    if concurrently {
        return no_transaction("REINDEX CONCURRENTLY");
    }
    match reindex.reindex_target() {
        Some(ast::ReindexTarget::ReindexTargetSchema(_)) => no_transaction("REINDEX SCHEMA"),
        Some(ast::ReindexTarget::ReindexTargetDatabase(_)) => no_transaction("REINDEX DATABASE"),
        Some(ast::ReindexTarget::ReindexTargetSystem(_)) => no_transaction("REINDEX SYSTEM"),
        _ => StatementKind::Ordinary,
    }
}

fn is_detach_concurrently(action: &ast::AlterTableAction) -> bool {
    matches!(
        action,
        ast::AlterTableAction::DetachPartition(detach)
            if matches!(detach.detach_partition_option(), Some(ast::DetachPartitionOption::DetachConcurrently(_)))
    )
}

#[cfg(test)]
mod tests;
