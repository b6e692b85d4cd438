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
        .map(|(dir, module, sql)| {
            Known::new(
                Directory {
                    name: dir,
                    migration_sql: sql,
                    down_sql: None,
                },
                Box::new(Fake(module)),
            )
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

#[test]
fn to_apply_takes_the_pending_ones_in_order_up_to_steps() {
    let k = three();
    let sql = |i: usize| k[i].directory.migration_sql;
    let status = plan(
        &k,
        &History::Prisma(vec![row("20250101000000_a", sql(0), true, false)]),
        &[],
    );
    let names = |v: &[&Known]| v.iter().map(|k| k.name).collect::<Vec<_>>();
    let (now, later) = to_apply(&k, &status, None, Options::default()).unwrap();
    assert_eq!(names(&now), ["20250102000000_b", "20250103000000_c"]);
    assert!(later.is_empty());
    let (now, later) = to_apply(&k, &status, Some(1), Options::default()).unwrap();
    assert_eq!(
        (names(&now), names(&later)),
        (vec!["20250102000000_b"], vec!["20250103000000_c"])
    );
    let failed = plan(
        &k,
        &History::Prisma(vec![row("20250101000000_a", sql(0), false, false)]),
        &[],
    );
    let refused = to_apply(&k, &failed, None, Options::default()).map(|_| ());
    assert_eq!(refused.unwrap_err().code, Code::MigrationsFailed);
}

#[test]
fn pieces_keep_each_transaction_whole() {
    let texts = |sql: &str, execution| {
        pieces(sql, &sql::split(sql).statements, execution)
            .into_iter()
            .map(|p| (p.text.to_string(), p.opens_block, p.concurrent))
            .collect::<Vec<_>>()
    };
    // Prisma's enum removal: the block, then what follows it.
    let enum_removal = "-- AlterEnum\nBEGIN;\nCREATE TYPE \"R_new\" AS ENUM ('A');\nCOMMIT;\n\n-- AlterTable\nALTER TABLE \"p\" ADD COLUMN \"x\" INT;\nALTER TABLE \"p\" ADD COLUMN \"y\" INT;\n";
    assert_eq!(
        texts(enum_removal, Execution::AsWritten),
        [
            (
                "BEGIN;\nCREATE TYPE \"R_new\" AS ENUM ('A');\nCOMMIT;".to_string(),
                true,
                false
            ),
            (
                "ALTER TABLE \"p\" ADD COLUMN \"x\" INT;\nALTER TABLE \"p\" ADD COLUMN \"y\" INT;"
                    .to_string(),
                false,
                false
            ),
        ]
    );
    // A plain file a sea-orm migration runs outside a transaction: one piece.
    assert_eq!(
        texts(
            "CREATE TABLE a ();\nCREATE TABLE b ();\n",
            Execution::AsWritten
        )
        .len(),
        1
    );
    // Statement by statement, a block of the file's own stays one piece.
    let mixed = "CREATE INDEX CONCURRENTLY \"i\" ON \"t\" (\"c\");\nBEGIN;\nCREATE TABLE a ();\nCOMMIT;\nDROP INDEX CONCURRENTLY \"j\";\n";
    assert_eq!(
        texts(mixed, Execution::StatementByStatement),
        [
            (
                "CREATE INDEX CONCURRENTLY \"i\" ON \"t\" (\"c\");".to_string(),
                false,
                true
            ),
            (
                "BEGIN;\nCREATE TABLE a ();\nCOMMIT;".to_string(),
                true,
                false
            ),
            ("DROP INDEX CONCURRENTLY \"j\";".to_string(), false, true),
        ]
    );
    let built = pieces(
        mixed,
        &sql::split(mixed).statements,
        Execution::StatementByStatement,
    );
    assert_eq!(
        built[0].builds_index,
        Some(ObjectName {
            schema: None,
            name: "i".into()
        })
    );
    assert_eq!(built[2].builds_index, None);
}

#[test]
fn backoff_doubles_from_one_second_to_a_minute_with_jitter() {
    for (n, base) in [
        (1, 1),
        (2, 2),
        (3, 4),
        (6, 32),
        (7, 60),
        (30, 60),
        (u32::MAX, 60),
    ] {
        let base = Duration::from_secs(base);
        for _ in 0..20 {
            let pause = backoff(n);
            assert!(pause >= base / 2 && pause <= base, "retry {n}: {pause:?}");
        }
    }
}

#[test]
fn ddl_defaults_are_bounded() {
    let ddl = Ddl::default();
    assert_eq!(ddl.lock_timeout, Some(DEFAULT_DDL_LOCK_TIMEOUT));
    assert_eq!(ddl.statement_timeout, None);
    assert_eq!(ddl.lock_retries, DEFAULT_LOCK_RETRIES);
}
