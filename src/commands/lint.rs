//! `migrate lint [FILE...] [--all]`: the SQL of migrations checked for
//! statements that would block or break a live database (the engine is
//! [`crate::lint`]), as a CI gate: exit 1 on any finding.
//!
//! What is linted: the given files; else every migration of the binary
//! (`--all`); else the pending ones, which takes the migration connection
//! (the history says what is pending; nothing is locked or changed).
//! Without a connection configured, plain `migrate lint` is refused with
//! `config.missing` rather than guessing: `--all` would also lint what is
//! applied long ago (whose files may not change any more: their checksums
//! are recorded), so CI without a database names the new files instead.
//!
//! [`lint_migration`] is the one function the other commands use: `up`
//! prints its findings as warnings, `up --dry-run` shows them, and `migrate
//! new` can lint what it writes.

use std::path::{Path, PathBuf};

use migration::prisma::PrismaMigrator;

use crate::cli::LintArgs;
use crate::commands::Ctx;
use crate::error::{Code, Error, Exit, Result};
use crate::lint::{self, Finding};
use crate::migrations;
use crate::output::Ui;
use crate::runner;

/// The findings of one migration file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileLint {
    /// The migration's name, when the file is one of the binary's (or sits
    /// in a migration directory).
    pub migration: Option<String>,
    /// Where it is: `prisma/migrations/<name>/migration.sql`, or the path
    /// as given.
    pub file: String,
    /// What is reported (`findings`, in file order) and what ignore
    /// comments silenced (`suppressed`, with their reasons).
    #[serde(flatten)]
    pub lint: lint::LintReport,
}

/// Lints the `migration.sql` of migration `name`: what `up` warns about,
/// `up --dry-run` shows, and `migrate new` checks in what it writes.
pub fn lint_migration(name: &str, sql: &str) -> FileLint {
    lint_file(
        Some(name.to_string()),
        format!("prisma/migrations/{name}/migration.sql"),
        sql,
    )
}

fn lint_file(migration: Option<String>, file: String, sql: &str) -> FileLint {
    FileLint {
        migration,
        file,
        lint: lint::lint(sql),
    }
}

/// Prints the findings of `file` as warnings on stderr (`up`).
pub fn warn(ui: Ui, file: &FileLint) {
    for finding in &file.lint.findings {
        ui.warning(format_args!("{}", Shown { file, finding }));
    }
}

/// One finding as text: where, the rule, the statement, then what was
/// seen, why it is dangerous and what to write instead.
struct Shown<'a> {
    file: &'a FileLint,
    finding: &'a Finding,
}

/// Statement lines shown in text output (the JSON has all of them).
const STATEMENT_LINES: usize = 3;

impl std::fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let finding = self.finding;
        writeln!(f, "{}:{}: {}", self.file.file, finding.line, finding.rule)?;
        let lines: Vec<&str> = finding.statement.lines().collect();
        for line in lines.iter().take(STATEMENT_LINES) {
            writeln!(f, "    {line}")?;
        }
        if lines.len() > STATEMENT_LINES {
            writeln!(f, "    ...")?;
        }
        if !finding.detail.is_empty() {
            writeln!(f, "  seen: {}", finding.detail)?;
        }
        writeln!(f, "  why: {}", finding.why)?;
        write!(f, "  instead: {}", finding.safe_pattern)
    }
}

/// What was linted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Linted {
    /// The pending migrations, from the history.
    Pending,
    /// Every migration of the binary.
    All,
    /// The files given.
    Files,
}

/// What `migrate lint` prints.
#[derive(Debug, serde::Serialize)]
pub struct LintReport {
    /// No finding.
    pub ok: bool,
    /// `lint.findings` when there is any.
    pub code: Option<Code>,
    pub linted: Linted,
    /// Every file linted, with its findings.
    pub files: Vec<FileLint>,
    /// How many findings, and how many were silenced, in all files.
    pub findings: usize,
    pub suppressed: usize,
}

impl LintReport {
    fn new(linted: Linted, files: Vec<FileLint>) -> Self {
        let findings = files.iter().map(|f| f.lint.findings.len()).sum();
        let suppressed = files.iter().map(|f| f.lint.suppressed.len()).sum();
        Self {
            ok: findings == 0,
            code: (findings > 0).then_some(Code::LintFindings),
            linted,
            files,
            findings,
            suppressed,
        }
    }
}

impl std::fmt::Display for LintReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for file in &self.files {
            for finding in &file.lint.findings {
                writeln!(f, "{}\n", Shown { file, finding })?;
            }
        }
        let what = match self.linted {
            Linted::Pending => "pending migration",
            Linted::All => "migration",
            Linted::Files => "file",
        };
        let n = self.files.len();
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        if self.findings == 0 {
            write!(f, "no findings in {}", plural(n, what))?;
        } else {
            let with = self.files.iter().filter(|f| !f.lint.is_clean()).count();
            write!(
                f,
                "{} in {with} of {}",
                plural(self.findings, "finding"),
                plural(n, what)
            )?;
        }
        if self.suppressed > 0 {
            write!(f, " ({} silenced by ignore comments)", self.suppressed)?;
        }
        Ok(())
    }
}

pub async fn run<M: PrismaMigrator>(ctx: &Ctx, args: &LintArgs) -> Result<Exit> {
    let (linted, files) = if !args.files.is_empty() {
        let files = args
            .files
            .iter()
            .map(|path| read(path))
            .collect::<Result<Vec<_>>>()?;
        (Linted::Files, files)
    } else if args.all {
        let files = migrations::known::<M>()?
            .iter()
            .map(|k| lint_migration(k.name, k.directory.migration_sql))
            .collect();
        (Linted::All, files)
    } else {
        (Linted::Pending, pending::<M>(ctx).await?)
    };
    let report = LintReport::new(linted, files);
    ctx.ui.result(&report);
    Ok(if report.ok {
        Exit::Ok
    } else {
        Exit::CheckFailed
    })
}

/// The pending migrations, from the history: reads only, takes no lock.
async fn pending<M: PrismaMigrator>(ctx: &Ctx) -> Result<Vec<FileLint>> {
    let known = migrations::known::<M>()?;
    let (_, session) = ctx.migration_session().await.map_err(|mut e| {
        if e.code == Code::ConfigMissing {
            e.hint = format!(
                "`migrate lint` lints the pending migrations, which takes the migration \
                 connection to read the history ({}); without a database, name the files \
                 (`migrate lint prisma/migrations/<name>/migration.sql`) or pass --all",
                e.hint
            );
        }
        e
    })?;
    let status = runner::read_status(&session, &known).await;
    session.close().await;
    let status = status?;
    Ok(known
        .iter()
        .filter(|k| status.pending().any(|e| e.name == k.name))
        .map(|k| lint_migration(k.name, k.directory.migration_sql))
        .collect())
}

/// Reads and lints one file given on the command line: a `migration.sql`,
/// or a migration directory holding one.
fn read(path: &Path) -> Result<FileLint> {
    let file: PathBuf = if path.is_dir() {
        path.join("migration.sql")
    } else {
        path.to_path_buf()
    };
    let sql = std::fs::read_to_string(&file).map_err(|e| {
        Error::of(
            Code::LintUnreadable,
            format!("cannot read {}: {e}", file.display()),
        )
    })?;
    let migration = (file.file_name().is_some_and(|n| n == "migration.sql"))
        .then(|| file.parent()?.file_name()?.to_str().map(String::from))
        .flatten();
    Ok(lint_file(migration, file.display().to_string(), &sql))
}
