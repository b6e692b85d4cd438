//! The pure half of the runner: the binary's migrations joined with
//! history rows, and what is refused.

use migration::prisma::Directory;
use sea_orm_migration::prelude::*;

use super::*;
use crate::history::{LegacyRow, Row};

struct Fake(&'static str);

impl MigrationName for Fake {
    fn name(&self) -> &str {
        self.0
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Fake {
    async fn up(&self, _: &SchemaManager) -> std::result::Result<(), DbErr> {
        Ok(())
    }
}

fn known(names: &[(&'static str, &'static str, &'static str)]) -> Vec<Known> {
    names
        .iter()
        .map(|(dir, module, sql)| Known {
            name: dir,
            directory: Directory {
                name: dir,
                migration_sql: sql,
                down_sql: None,
            },
            checksum: history::checksum(sql),
            migration: Box::new(Fake(module)),
        })
        .collect()
}

fn three() -> Vec<Known> {
    known(&[
        (
            "20250101000000_a",
            "m20250101_000000_a",
            "CREATE TABLE a ();\n",
        ),
        (
            "20250102000000_b",
            "m20250102_000000_b",
            "CREATE TABLE b ();\n",
        ),
        (
            "20250103000000_c",
            "m20250103_000000_c",
            "CREATE TABLE c ();\n",
        ),
    ])
}

fn row(name: &str, sql: &str, finished: bool, rolled_back: bool) -> Row {
    Row {
        id: format!("id-{name}"),
        checksum: history::checksum(sql),
        finished_at: finished.then(|| "2026-11-29T10:00:00.000000Z".into()),
        migration_name: name.into(),
        logs: (!finished).then(|| "ERROR: boom".into()),
        rolled_back_at: rolled_back.then(|| "2026-11-29T11:00:00.000000Z".into()),
        started_at: "2026-11-29T09:59:59.000000Z".into(),
        applied_steps_count: i32::from(finished),
    }
}

fn states(status: &Status) -> Vec<(&str, &'static str)> {
    status
        .entries
        .iter()
        .map(|e| {
            let s = match &e.state {
                State::Pending => "pending",
                State::Applied { edited: None, .. } => "applied",
                State::Applied {
                    edited: Some(_), ..
                } => "edited",
                State::Failed { .. } => "failed",
            };
            (e.name.as_str(), s)
        })
        .collect()
}

#[test]
fn applied_means_finished_and_not_rolled_back() {
    let k = three();
    let history = History::Prisma(vec![
        row("20250101000000_a", "CREATE TABLE a ();\n", true, false),
        // Rolled back after failing, then applied again by resolve.
        row("20250102000000_b", "CREATE TABLE b ();\n", false, true),
        row("20250102000000_b", "CREATE TABLE b ();\n", true, false),
        // Applied, then rolled back: pending again.
        row("20250103000000_c", "CREATE TABLE c ();\n", true, true),
    ]);
    let status = plan(&k, &history, &[]);
    assert_eq!(
        states(&status),
        [
            ("20250101000000_a", "applied"),
            ("20250102000000_b", "applied"),
            ("20250103000000_c", "pending")
        ]
    );
    assert!(status.refuse(false).is_ok());
    assert!(!status.all_applied());
}

#[test]
fn a_failed_row_is_refused_first() {
    let k = three();
    let history = History::Prisma(vec![
        row("20250101000000_a", "CREATE TABLE a ();\n", true, false),
        row("20250102000000_b", "CREATE TABLE b ();\n", false, false),
        row("20250199000000_x", "?", true, false),
    ]);
    let status = plan(&k, &history, &["a".into()]);
    assert_eq!(states(&status)[1], ("20250102000000_b", "failed"));
    let e = status.refuse(true).unwrap_err();
    assert_eq!(e.code, Code::MigrationsFailed);
    assert!(e.message.contains("20250102000000_b") && e.message.contains("ERROR: boom"));
    assert!(
        e.hint
            .contains("migrate resolve --rolled-back 20250102000000_b")
    );
    assert!(
        e.hint
            .contains("migrate resolve --applied 20250102000000_b")
    );
    // Tables with a history are not "not baselined".
    assert!(status.unbaselined_tables.is_empty());
}

#[test]
fn an_edited_file_is_refused_unless_allowed_and_line_endings_do_not_count() {
    let k = known(&[(
        "20250101000000_a",
        "m20250101_000000_a",
        "CREATE TABLE a ();\nCREATE TABLE a2 ();\n",
    )]);
    let crlf = "CREATE TABLE a ();\r\nCREATE TABLE a2 ();\r\n";
    let same = plan(
        &k,
        &History::Prisma(vec![row("20250101000000_a", crlf, true, false)]),
        &[],
    );
    assert_eq!(states(&same), [("20250101000000_a", "applied")]);
    let edited = plan(
        &k,
        &History::Prisma(vec![row(
            "20250101000000_a",
            "CREATE TABLE a ();\n",
            true,
            false,
        )]),
        &[],
    );
    assert_eq!(states(&edited), [("20250101000000_a", "edited")]);
    let e = edited.refuse(false).unwrap_err();
    assert_eq!(e.code, Code::MigrationsEdited);
    assert!(
        e.message
            .contains(&history::checksum("CREATE TABLE a ();\n"))
    );
    assert!(e.message.contains(&k[0].checksum));
    assert!(edited.refuse(true).is_ok());
    assert!(!edited.all_applied());
}

#[test]
fn unknown_rows_and_tables_without_history() {
    let k = three();
    let unknown = plan(
        &k,
        &History::Prisma(vec![row("20250199000000_newer", "?", true, false)]),
        &[],
    );
    assert_eq!(unknown.unknown.len(), 1);
    assert_eq!(
        unknown.refuse(false).unwrap_err().code,
        Code::MigrationsUnknownApplied
    );

    let built_elsewhere = plan(&k, &History::None, &["User".into(), "Post".into()]);
    let e = built_elsewhere.refuse(false).unwrap_err();
    assert_eq!(e.code, Code::MigrationsNotBaselined);
    assert!(e.message.contains("User, Post") && e.hint.contains("migrate baseline"));

    let empty = plan(&k, &History::None, &[]);
    assert!(empty.refuse(false).is_ok());
    assert_eq!(empty.pending().count(), 3);
}

#[test]
fn a_legacy_history_maps_sea_orm_names() {
    let k = three();
    let legacy = History::Legacy(vec![
        LegacyRow {
            version: "m20250101_000000_a".into(),
            applied_at: 1_764_410_400,
        },
        LegacyRow {
            version: "m20250109_000000_gone".into(),
            applied_at: 1_764_410_400,
        },
    ]);
    let status = plan(&k, &legacy, &[]);
    assert!(status.legacy);
    assert_eq!(states(&status)[0], ("20250101000000_a", "applied"));
    assert_eq!(status.unknown[0].name, "m20250109_000000_gone");
}
