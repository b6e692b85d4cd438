//! The Prisma CLI and this tool share one history: what the real Prisma
//! 7.10 CLI says about databases `migrate` built, and what `migrate` does
//! with databases Prisma built.

use crate::prisma_cli::{Project, project_schema, repo};
use crate::support::pg;

#[test]
fn prisma_reads_a_database_migrate_built_as_up_to_date() {
    let db = pg().new_db("prismareads");
    db.run(db.migrate().arg("up")).expect(0);
    let project = Project::new(&project_schema());
    project.copy_migrations(&repo().join("prisma/migrations"));

    let status = project.prisma(&db, &["migrate", "status"]);
    status.expect(0);
    assert!(
        status.stdout.contains("Database schema is up to date!"),
        "{status}"
    );
    let deploy = project.prisma(&db, &["migrate", "deploy"]);
    deploy.expect(0);
    assert!(
        deploy.stdout.contains("No pending migrations to apply."),
        "{deploy}"
    );
    assert_eq!(db.psql("SELECT count(*) FROM _prisma_migrations"), "1");
    let diff = project.prisma(
        &db,
        &[
            "migrate",
            "diff",
            "--from-config-datasource",
            "--to-schema",
            "prisma/schema.prisma",
            "--exit-code",
        ],
    );
    diff.expect(0);
    assert!(diff.stdout.contains("No difference detected."), "{diff}");
}

/// The history table's columns, types, defaults and constraints.
fn history_table(db: &crate::support::TestDb) -> String {
    db.psql(
        "SELECT string_agg(x, E'\\n' ORDER BY x) FROM ( \
           SELECT concat_ws(' ', column_name, data_type, character_maximum_length, is_nullable, \
                  column_default) AS x \
           FROM information_schema.columns WHERE table_name = '_prisma_migrations' \
           UNION ALL SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
           WHERE conrelid = 'public._prisma_migrations'::regclass) s",
    )
}

/// A row's shape: what is set, and to what kind of value.
fn row_shape(db: &crate::support::TestDb) -> String {
    db.psql(
        "SELECT concat_ws(' ', id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$', \
                checksum, finished_at >= started_at, migration_name, logs IS NULL, \
                rolled_back_at IS NULL, applied_steps_count) FROM _prisma_migrations",
    )
}

#[test]
fn the_history_is_the_one_prisma_migrate_deploy_writes() {
    let ours = pg().new_db("histours");
    ours.run(ours.migrate().arg("up")).expect(0);
    let theirs = pg().new_db("histtheirs");
    let project = Project::new(&project_schema());
    project.copy_migrations(&repo().join("prisma/migrations"));
    project.prisma(&theirs, &["migrate", "deploy"]).expect(0);
    assert_eq!(history_table(&ours), history_table(&theirs));
    assert_eq!(row_shape(&ours), row_shape(&theirs));
    assert_eq!(
        row_shape(&ours),
        "t 107c91d824bffb158f5c014822b922fa1776e0e58190e703a40fc1ef4e8f1a03 t \
         20261129000001_create_user_table t t 1"
    );
    // And our `up` on the database Prisma built applies nothing.
    let up = theirs.run(theirs.migrate().args(["up", "--format", "json"]));
    up.expect(0);
    assert_eq!(up.json()["applied"], serde_json::json!([]));
    assert_eq!(theirs.psql("SELECT count(*) FROM _prisma_migrations"), "1");
}
