//! Adopting a database Prisma built, as the README tells a team to: their
//! history (three migrations written by Prisma's own engine: tables, an
//! enum, a foreign key and an index) deployed by the real `prisma migrate
//! deploy`; `migrate import-prisma` on a copy of the workspace, rebuilt;
//! `migrate up` applies nothing; a migration added after that is the only
//! one applied; and the real Prisma CLI still sees the database as up to
//! date and without drift. It builds the copy, so it runs on its own
//! (`scripts/test` runs the ignored tests after the rest).

use crate::prisma_cli::Project;
use crate::support::pg;
use crate::workspace_copy::{build, copy_workspace_to_build, migrate_in, released};

const V1: &str = r#"datasource db {
  provider = "postgresql"
}

enum Role {
  USER
  ADMIN
}

model Account {
  id    Int    @id @default(autoincrement())
  email String @unique
  role  Role   @default(USER)
}
"#;

fn v2() -> String {
    V1.replace(
        "  role  Role   @default(USER)\n}\n",
        "  role  Role   @default(USER)\n  posts Post[]\n}\n\nmodel Post {\n  id       Int     @id @default(autoincrement())\n  title    String\n  author   Account @relation(fields: [authorId], references: [id], onDelete: Cascade)\n  authorId Int\n}\n",
    )
}

fn v3() -> String {
    v2().replace(
        "  authorId Int\n}\n",
        "  authorId Int\n\n  @@index([title])\n}\n",
    )
}

fn v4() -> String {
    v3().replace(
        "  role  Role   @default(USER)\n",
        "  role  Role   @default(USER)\n  nickname String?\n",
    )
}

#[test]
#[ignore = "builds a copy of the workspace; scripts/test runs it on its own"]
fn adopt_a_database_prisma_built() {
    // The team's history, written by Prisma's engine on a dev database.
    let dev = pg().new_db("adoptdev");
    // `migrate dev --create-only` makes (and drops) a shadow database.
    dev.psql(&format!("ALTER ROLE \"{}\" CREATEDB", dev.role));
    let team = Project::new(V1);
    let mut names = vec![team.create_only(&dev, "init")];
    team.prisma(&dev, &["migrate", "deploy"]).expect(0);
    team.set_schema(&v2());
    names.push(team.create_only(&dev, "add_posts"));
    team.prisma(&dev, &["migrate", "deploy"]).expect(0);
    team.set_schema(&v3());
    names.push(team.create_only(&dev, "index_titles"));
    let index_sql =
        std::fs::read_to_string(team.migrations().join(&names[2]).join("migration.sql")).unwrap();
    assert!(
        index_sql.contains("CREATE INDEX \"Post_title_idx\""),
        "{index_sql}"
    );
    let init_sql =
        std::fs::read_to_string(team.migrations().join(&names[0]).join("migration.sql")).unwrap();
    assert!(init_sql.contains("CREATE TYPE \"Role\""), "{init_sql}");

    // Production: built by the real `prisma migrate deploy`.
    let prod = pg().new_db("adoptprod");
    team.prisma(&prod, &["migrate", "deploy"]).expect(0);
    assert_eq!(prod.history("public"), names);

    // Import into a copy of the workspace, with their schema.
    let copy = copy_workspace_to_build("adoption");
    let run = |binary: &std::path::Path, args: &[&str]| {
        let mut cmd = crate::support::bin(binary);
        cmd.args(args)
            .current_dir(&copy)
            .env("DATABASE_URL", prod.url());
        prod.run(&mut cmd)
    };
    let from = team.migrations();
    let schema = team.dir.join("prisma/schema.prisma");
    let imported = migrate_in(
        &copy,
        &released(),
        &[
            "import-prisma",
            "--from",
            from.to_str().unwrap(),
            "--schema",
            schema.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    imported.expect(0);
    let json = imported.json();
    assert_eq!(json["imported"], serde_json::json!(names), "{imported}");
    assert_eq!(
        json["removed"],
        serde_json::json!(["20261129000001_create_user_table"]),
        "the greenfield init is not theirs: {imported}"
    );
    assert!(
        !copy
            .join("prisma/migrations/20261129000001_create_user_table")
            .exists()
    );

    // The old binary no longer matches the workspace: it says so.
    run(&released(), &["status", "--format", "json"]).error(2, "migrations.stale_binary");

    // Rebuilt: nothing to apply, everything applied.
    let built = build(&copy);
    let up = run(&built, &["up", "--format", "json"]);
    up.expect(0);
    assert_eq!(up.json()["applied"], serde_json::json!([]), "{up}");
    let status = run(&built, &["status", "--check", "--format", "json"]);
    status.expect(0);
    assert_eq!(status.json()["applied"], 3, "{status}");
    assert_eq!(prod.history("public"), names, "no row added");

    // A migration added after that, generated on top of their history, is
    // the only one applied.
    std::fs::write(copy.join("prisma/schema.prisma"), v4()).unwrap();
    let new = run(&built, &["new", "add_nickname", "--format", "json"]);
    new.expect(0);
    let directory = copy.join(new.json()["directory"].as_str().unwrap());
    let read = |file: &str| std::fs::read_to_string(directory.join(file)).unwrap();
    assert_eq!(
        read("migration.sql"),
        "-- AlterTable\nALTER TABLE \"Account\" ADD COLUMN     \"nickname\" TEXT;\n"
    );
    assert!(
        read("down.sql").ends_with("ALTER TABLE \"Account\" DROP COLUMN \"nickname\";\n"),
        "{}",
        read("down.sql")
    );
    let built = build(&copy);
    let up = run(&built, &["up", "--format", "json"]);
    up.expect(0);
    let applied: Vec<String> = up.json()["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(applied.len(), 1, "{up}");
    assert!(applied[0].ends_with("_add_nickname"), "{up}");
    run(&built, &["prisma-check", "--database-url", &prod.url()]).expect(0);

    // The real Prisma CLI, with the workspace's folder, reads one history.
    let prisma = Project::new(&v4());
    crate::prisma_cli::copy_dir(&copy.join("prisma/migrations"), &prisma.migrations());
    let status = prisma.prisma(&prod, &["migrate", "status"]);
    status.expect(0);
    assert!(
        status.stdout.contains("Database schema is up to date!"),
        "{status}"
    );
    let diff = prisma.prisma(
        &prod,
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

    // Entities for their tables, and the workspace compiles with them.
    let entities = migrate_in(&copy, &built, &["entities"], &[]);
    entities.expect(0);
    assert!(copy.join("entity/src/account.rs").is_file(), "{entities}");
    assert!(copy.join("entity/src/post.rs").is_file(), "{entities}");
    assert!(!copy.join("entity/src/user.rs").exists(), "{entities}");
    build(&copy);
    migrate_in(&copy, &built, &["dev", "--stop"], &[]).expect(0);
}
