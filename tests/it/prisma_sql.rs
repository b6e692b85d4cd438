//! The SQL engine (`impulse_db::prisma::migrate`) against Prisma Migrate
//! 7.10.1 itself, on every schema change of
//! `tests/fixtures/prisma-changes/<case>/` (`before.prisma`,
//! `after.prisma`).
//!
//! For each case: Prisma's own SQL for `before` builds a database (through
//! `prisma migrate deploy`, so it has Prisma's history too); its catalog is
//! introspected (FROM), `after.prisma` is derived (TO), and the engine's
//! SQL must equal, byte for byte, what Prisma prints for the same change:
//! `migrate diff --from-config-datasource --script` and the `migration.sql`
//! of `migrate dev --create-only` (Warnings header included). Then the SQL
//! is applied: afterwards the database must be what `after.prisma`
//! derives (for `catalog::diff`, for the engine and for Prisma itself),
//! and the engine's reverse SQL (the catalogs swapped) must bring back
//! exactly the catalog the case started from.
//!
//! `migrate prisma-check` and `migrate new` share the engine: before the
//! change, `catalog::diff` agrees with the engine on whether something
//! differs, and `prisma-check` (the binary, against the case's database)
//! says the same; after it, both are empty and `prisma-check` passes. And
//! cases go through the real `migrate new` binary (one of each kind, see
//! [`THROUGH_THE_BINARY`]; all with `IMPULSE_CORPUS_BINARY=all`), each in
//! a workspace skeleton of its own (`prisma/` with the case's history, `migration/src` as `migrate
//! import-prisma` makes it, the local cluster in the skeleton's
//! `.migrate/`): the `migration.sql` it writes is Prisma's create-only
//! output byte for byte (after a header naming the notes, when there are
//! any), its `down.sql` the engine's reverse, and a refused case writes
//! nothing. What is applied to the databases is exactly those files.
//!
//! A case with a `refused.txt` is one the engine must refuse: the file
//! names the construct. A case with a `notes.txt` lists the objects where
//! the SQL knowingly differs from Prisma's (see `migrate::Note`); putting
//! Prisma's text back must give Prisma's script.
//!
//! Nothing is stored: Prisma's output comes from the reference Prisma
//! (`tests/prisma-ref/`, installed by `tests/prisma-ref/install.sh`),
//! driven by `oracle.mjs` in a few node processes for all cases at once.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Instant;

use impulse_db::catalog;
use impulse_db::prisma::{self, Catalog, migrate};
use serde_json::{Value, json};

use crate::support::{Out, TestDb, bin, empty_dir, make_traversable, pg};

/// Prisma's history table: not part of the schema it manages.
const HISTORY: &str = "_prisma_migrations";

/// Node processes running the reference Prisma at once.
const ORACLE_PROCESSES: usize = 3;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The reference Prisma, run through `oracle.mjs`.
struct Oracle {
    /// A directory with `oracle.mjs` and a `node_modules` link to the
    /// reference install.
    dir: PathBuf,
}

impl Oracle {
    fn new() -> Oracle {
        let install = "bash tests/prisma-ref/install.sh";
        let reference = std::env::var_os("PRISMA_REF_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".cache/impulse-db/prisma-ref"))
            })
            .expect("HOME or PRISMA_REF_DIR");
        let pinned: Value = serde_json::from_str(
            &std::fs::read_to_string(repo().join("tests/prisma-ref/package.json")).unwrap(),
        )
        .unwrap();
        for (name, version) in pinned["dependencies"].as_object().unwrap() {
            let manifest = reference
                .join("node_modules")
                .join(name)
                .join("package.json");
            let installed = std::fs::read_to_string(&manifest)
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .map(|v| v["version"].clone());
            assert_eq!(
                installed.as_ref(),
                Some(version),
                "the reference Prisma is missing or not the pinned version ({name} in {}): run `{install}` (it needs the npm registry once)",
                reference.display()
            );
        }
        let node = Command::new("node").arg("--version").output();
        assert!(
            node.is_ok_and(|o| o.status.success()),
            "node is required for the reference Prisma (Debian: apt-get install -y nodejs npm), then `{install}`"
        );
        let dir = empty_dir();
        std::fs::copy(
            repo().join("tests/prisma-ref/oracle.mjs"),
            dir.join("oracle.mjs"),
        )
        .unwrap();
        std::os::unix::fs::symlink(reference.join("node_modules"), dir.join("node_modules"))
            .unwrap();
        Oracle { dir }
    }

    /// Runs `jobs` (see oracle.mjs), `per_case` consecutive ones per case,
    /// in a few node processes at once (a case's jobs in one of them, in
    /// order): each answer, or the error Prisma reported.
    fn run(&self, jobs: &[Value], per_case: usize) -> Vec<Result<Option<String>, String>> {
        let cases = jobs.len().div_ceil(per_case.max(1));
        let chunk = cases.div_ceil(ORACLE_PROCESSES).max(1) * per_case.max(1);
        std::thread::scope(|scope| {
            let running: Vec<_> = jobs
                .chunks(chunk)
                .map(|part| scope.spawn(move || self.run_one(part)))
                .collect();
            running
                .into_iter()
                .flat_map(|r| r.join().expect("an oracle thread panicked"))
                .collect()
        })
    }

    /// Runs `jobs` in one node process.
    fn run_one(&self, jobs: &[Value]) -> Vec<Result<Option<String>, String>> {
        let mut child = Command::new("node")
            .arg("oracle.mjs")
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run node");
        let input = serde_json::to_vec(jobs).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &input));
        let output = child.wait_with_output().expect("wait for node");
        writer.join().unwrap().expect("write the jobs");
        assert!(
            output.status.success(),
            "oracle.mjs failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let results: Vec<Value> =
            serde_json::from_slice(&output.stdout).expect("oracle.mjs prints JSON");
        assert_eq!(results.len(), jobs.len());
        results
            .into_iter()
            .map(|r| match r.get("error") {
                Some(e) => Err(e.as_str().unwrap_or_default().to_string()),
                None => Ok(r["ok"].as_str().map(String::from)),
            })
            .collect()
    }
}

/// One schema change and the databases it is tried on.
struct Case {
    name: String,
    before: PathBuf,
    after: PathBuf,
    refused: Option<String>,
    notes: Vec<String>,
    db: TestDb,
    migrations: PathBuf,
}

fn node_url(db: &TestDb) -> String {
    format!(
        "postgresql://{}:{}@127.0.0.1:{}/{}?sslmode=require",
        db.role, db.password, db.port, db.name
    )
}

fn derive(path: &Path) -> Catalog {
    let text = std::fs::read_to_string(path).unwrap();
    let schema = prisma::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    prisma::derive(&schema).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn introspect(rt: &tokio::runtime::Runtime, db: &TestDb) -> Catalog {
    rt.block_on(async {
        let conn = sea_orm::Database::connect(db.url().as_str())
            .await
            .expect("connect");
        let catalog = catalog::introspect(&conn, "public", &[HISTORY])
            .await
            .expect("introspect");
        let _ = conn.close().await;
        catalog
    })
}

/// Differences between two catalogs, one line each.
fn differences(expected: &Catalog, actual: &Catalog) -> Vec<String> {
    catalog::diff(expected, actual, "expected", "the database")
        .into_iter()
        .map(|d| format!("{}: {}", d.path, d.message))
        .collect()
}

/// Puts Prisma's text back where the engine knowingly wrote other SQL.
fn as_prisma_writes(sql: &str, notes: &[migrate::Note]) -> String {
    let mut out = sql.to_string();
    for note in notes {
        for (written, prisma) in &note.replaced {
            out = out.replacen(written.as_str(), prisma, 1);
        }
    }
    out
}

/// Runs `work` on every case in a few threads (each with its own runtime),
/// collecting the failures.
fn each_case(
    cases: &[Case],
    failures: &Mutex<Vec<String>>,
    work: impl Fn(&tokio::runtime::Runtime, &Case) -> Vec<String> + Sync,
) {
    let next = Mutex::new(0usize);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                let rt = runtime();
                loop {
                    let i = {
                        let mut n = next.lock().unwrap();
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(case) = cases.get(i) else { break };
                    let found = work(&rt, case);
                    failures
                        .lock()
                        .unwrap()
                        .extend(found.into_iter().map(|f| format!("{}: {f}", case.name)));
                }
            });
        }
    });
}

#[test]
fn renders_the_sql_prisma_migrate_writes() {
    let started = Instant::now();
    let oracle = Oracle::new();
    let root = repo().join("tests/fixtures/prisma-changes");
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let work = empty_dir();
    // Two databases' worth of psql per case: in a few threads.
    let databases: Vec<TestDb> = std::thread::scope(|scope| {
        let per_thread = names.len().div_ceil(4).max(1);
        let running: Vec<_> = names
            .chunks(per_thread)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|_| {
                            let db = pg().new_db("change");
                            // `migrate dev` makes its own shadow databases.
                            pg().psql("postgres", &format!("ALTER ROLE \"{}\" CREATEDB", db.role));
                            db
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        running
            .into_iter()
            .flat_map(|r| r.join().expect("create a database"))
            .collect()
    });
    let cases: Vec<Case> = names
        .iter()
        .zip(databases)
        .map(|(name, db)| {
            let dir = root.join(name);
            let migrations = work.join(name).join("migrations");
            std::fs::create_dir_all(migrations.join("0_init")).unwrap();
            make_traversable(&work.join(name));
            let read = |file: &str| std::fs::read_to_string(dir.join(file)).ok();
            Case {
                name: name.clone(),
                before: dir.join("before.prisma"),
                after: dir.join("after.prisma"),
                refused: read("refused.txt").map(|t| t.trim().to_string()),
                notes: read("notes.txt")
                    .map(|t| {
                        t.lines()
                            .map(str::to_string)
                            .filter(|l| !l.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
                db,
                migrations,
            }
        })
        .collect();
    assert!(cases.len() >= 30, "the corpus has {} cases", cases.len());
    let phase = |what: &str| eprintln!("{what}: {:.1?}", started.elapsed());
    phase("databases");
    let failures = Mutex::new(Vec::new());
    let fail = |case: &Case, what: String| {
        failures
            .lock()
            .unwrap()
            .push(format!("{}: {what}", case.name))
    };

    // Prisma's SQL for `before`, deployed as the first migration.
    let jobs: Vec<Value> = cases
        .iter()
        .map(|c| json!({"op": "diff", "from": {"empty": true}, "to": {"schema": c.before}, "url": node_url(&c.db)}))
        .collect();
    for (case, result) in cases.iter().zip(oracle.run(&jobs, 1)) {
        let sql = result
            .unwrap_or_else(|e| panic!("{}: Prisma cannot diff before.prisma: {e}", case.name));
        std::fs::write(
            case.migrations.join("0_init/migration.sql"),
            sql.unwrap_or_default(),
        )
        .unwrap();
        std::fs::write(
            case.migrations.join("migration_lock.toml"),
            "# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = \"postgresql\"\n",
        )
        .unwrap();
    }

    phase("Prisma's SQL for before.prisma");
    // Deployed; then Prisma's SQL for the change, both ways.
    let mut jobs = Vec::new();
    for c in &cases {
        jobs.push(json!({"op": "deploy", "url": node_url(&c.db), "migrations": c.migrations}));
        jobs.push(json!({"op": "diff", "from": {"db": true}, "to": {"schema": c.after}, "url": node_url(&c.db)}));
        jobs.push(json!({"op": "create-only", "url": node_url(&c.db), "migrations": c.migrations, "schema": c.after}));
    }
    let results = oracle.run(&jobs, 3);
    let prisma: Vec<(Option<String>, Option<String>)> = results
        .chunks(3)
        .zip(&cases)
        .map(|(r, case)| {
            if let Err(e) = &r[0] {
                panic!("{}: prisma migrate deploy failed: {e}", case.name);
            }
            let script = r[1]
                .clone()
                .unwrap_or_else(|e| panic!("{}: prisma migrate diff failed: {e}", case.name));
            let migration = r[2]
                .clone()
                .unwrap_or_else(|e| panic!("{}: migrate dev --create-only failed: {e}", case.name));
            (script, migration)
        })
        .collect();

    phase("Prisma's SQL for the change");
    // Before the change: prisma-check fails, and the engine and
    // catalog::diff agree that something differs. `migrate new`, end to
    // end, writes Prisma's files.
    let skeleton = Skeleton::new();
    each_case(&cases, &failures, |rt, case| {
        let i = cases.iter().position(|c| c.name == case.name).unwrap();
        let mut found = Vec::new();
        let from = introspect(rt, &case.db);
        let to = derive(&case.after);
        let engine = migrate::migration(&from, &to, &migrate::Options::default());
        // A change the catalog does not see (a model renamed, its @@map kept).
        let unchanged = engine.as_ref().is_ok_and(migrate::Migration::is_empty);
        if differences(&to, &from).is_empty() != unchanged {
            found.push(format!(
                "catalog::diff and the engine disagree: {:#?} vs {:?}",
                differences(&to, &from),
                engine.as_ref().map(|m| &m.script)
            ));
        }
        if !through_the_binary(case) {
            return found;
        }
        let check = prisma_check(case);
        if check.code != if unchanged { 0 } else { 1 } {
            found.push(format!(
                "before the change, prisma-check says otherwise than the engine:\n{check}"
            ));
        }
        found.extend(skeleton.migrate_new(case, &engine, &to, &from, &prisma[i].1));
        found
    });

    phase("prisma-check and migrate new before the change");
    // The engine's SQL, compared and applied.
    let froms: Mutex<Vec<Option<(Catalog, Catalog)>>> =
        Mutex::new((0..cases.len()).map(|_| None).collect());
    each_case(&cases, &failures, |rt, case| {
        let i = cases.iter().position(|c| c.name == case.name).unwrap();
        let mut found = Vec::new();
        let from = introspect(rt, &case.db);
        let to = derive(&case.after);
        let result = migrate::migration(&from, &to, &migrate::Options::default());
        if let Some(construct) = &case.refused {
            match result {
                Ok(m) => found.push(format!(
                    "expected a refusal naming {construct}, got:\n{}",
                    m.script
                )),
                Err(refused)
                    if refused
                        .0
                        .iter()
                        .any(|r| r.construct.contains(construct.as_str())) => {}
                Err(refused) => found.push(format!("refused, but not for {construct}: {refused}")),
            }
            return found;
        }
        let up = match result {
            Ok(up) => up,
            Err(refused) => return vec![format!("{refused}")],
        };
        let (prisma_script, prisma_migration) = &prisma[i];
        let notes: Vec<String> = up.notes.iter().map(|n| n.path.clone()).collect();
        if notes != case.notes {
            found.push(format!(
                "notes {notes:?}, expected {:?}: {:#?}",
                case.notes, up.notes
            ));
        }
        let script = as_prisma_writes(&up.script, &up.notes);
        if Some(&script) != prisma_script.as_ref() {
            found.push(format!(
                "`migrate diff --script` differs\n--- Prisma\n{}\n--- engine\n{script}",
                prisma_script.as_deref().unwrap_or("(nothing)")
            ));
        }
        let migration_sql = as_prisma_writes(&up.migration_sql, &up.notes);
        if Some(&migration_sql) != prisma_migration.as_ref() {
            found.push(format!(
                "`migrate dev --create-only` differs\n--- Prisma\n{}\n--- engine\n{migration_sql}",
                prisma_migration.as_deref().unwrap_or("(nothing)")
            ));
        }
        // What `migrate new` writes, applied.
        if let Err(e) = case.db.psql_as_owner(&up.file()) {
            found.push(format!("migration.sql fails: {e}\n{}", up.file()));
            return found;
        }
        froms.lock().unwrap()[i] = Some((from, to));
        found
    });

    phase("the engine's SQL compared and applied");
    // After up: Prisma itself sees nothing left to do.
    let applied: Vec<usize> = (0..cases.len())
        .filter(|&i| froms.lock().unwrap()[i].is_some())
        .collect();
    let jobs: Vec<Value> = applied
        .iter()
        .map(|&i| json!({"op": "diff", "from": {"db": true}, "to": {"schema": cases[i].after}, "url": node_url(&cases[i].db)}))
        .collect();
    for (&i, result) in applied.iter().zip(oracle.run(&jobs, 1)) {
        match result {
            Ok(Some(s)) if s == "-- This is an empty migration.\n" => {}
            other => fail(
                &cases[i],
                format!("after the up SQL, Prisma still sees a change: {other:?}"),
            ),
        }
    }

    phase("Prisma's view after the up SQL");
    // The database is what after.prisma says, and the reverse SQL restores
    // the starting catalog.
    each_case(&cases, &failures, |rt, case| {
        let i = cases.iter().position(|c| c.name == case.name).unwrap();
        let Some((from, to)) = froms.lock().unwrap()[i].clone() else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let after = introspect(rt, &case.db);
        let left = differences(&to, &after);
        if !left.is_empty() {
            found.push(format!(
                "after the up SQL, the catalog differs from after.prisma: {left:#?}"
            ));
        }
        match migrate::migration(&after, &to, &migrate::Options::default()) {
            Ok(m) if m.is_empty() => {}
            Ok(m) => found.push(format!(
                "after the up SQL, the engine still sees a change:\n{}",
                m.script
            )),
            Err(e) => found.push(format!("after the up SQL, the engine refuses: {e}")),
        }
        if through_the_binary(case) {
            let check = prisma_check(case);
            if check.code != 0 {
                found.push(format!(
                    "after the up SQL, prisma-check does not pass:\n{check}"
                ));
            }
        }
        let down = match migrate::migration(&to, &from, &migrate::Options::default()) {
            Ok(down) => down,
            Err(refused) => {
                found.push(format!("the reverse migration is refused: {refused}"));
                return found;
            }
        };
        if let Err(e) = case.db.psql_as_owner(&down.file()) {
            found.push(format!("down.sql fails: {e}\n{}", down.file()));
            return found;
        }
        let restored = introspect(rt, &case.db);
        let left = differences(&from, &restored);
        if !left.is_empty() {
            found.push(format!(
                "up then down does not restore the catalog: {left:#?}\n--- down\n{}",
                down.script
            ));
        }
        if restored.enums != from.enums || restored.unsupported != from.unsupported {
            found.push("up then down changes the enums or leaves something unsupported".into());
        }
        match migrate::migration(&restored, &from, &migrate::Options::default()) {
            Ok(m) if m.is_empty() => {}
            other => found.push(format!(
                "after up and down, the engine still sees a change: {other:?}"
            )),
        }
        found
    });

    let failures = failures.into_inner().unwrap();
    eprintln!(
        "{} schema changes checked against Prisma Migrate in {:.1?}",
        cases.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The cases run through the binaries (`migrate new` in a skeleton,
/// `migrate prisma-check` before and after the change): one of each kind
/// of step, header and file the engine writes (`IMPULSE_CORPUS_BINARY=all`
/// runs every case). The others are checked through the library, whose
/// `Migration::file` is what the binary writes.
const THROUGH_THE_BINARY: &[&str] = &[
    "add_required_without_default",
    "autoincrement_to_bigint",
    "change_type_not_castable",
    "create_table",
    "enum_value_added_and_used",
    "enum_value_removed_in_two_tables",
    "foreign_key_actions",
    "index_sort_and_types",
    "json_bytes_bigint_decimal",
    "long_names",
    "many_to_many_added",
    "model_renamed_keeps_map",
    "refused_enum_reordered",
];

fn through_the_binary(case: &Case) -> bool {
    std::env::var("IMPULSE_CORPUS_BINARY").is_ok_and(|v| v == "all")
        || THROUGH_THE_BINARY.contains(&case.name.as_str())
}

/// `migrate prisma-check` (the binary) on the case's database, against
/// `after.prisma`.
fn prisma_check(case: &Case) -> Out {
    case.db.run(
        bin(env!("CARGO_BIN_EXE_migrate"))
            .args(["prisma-check", "--format", "json", "--schema"])
            .arg(&case.after)
            .args(["--database-url", &case.db.url()]),
    )
}

/// Workspace skeletons for `migrate new`: `migration/src` as `migrate
/// import-prisma` makes it for a history with one directory `0_init`
/// (made once), and the tests' cluster as every skeleton's local cluster
/// (`.migrate` links to it, so that 67 skeletons do not make 67 clusters).
struct Skeleton {
    lib: String,
    module: String,
}

impl Skeleton {
    fn new() -> Skeleton {
        let dir = empty_dir();
        std::fs::create_dir_all(dir.join("prisma/migrations/0_init")).unwrap();
        std::fs::create_dir_all(dir.join("migration/src")).unwrap();
        std::fs::write(dir.join("prisma/migrations/0_init/migration.sql"), "").unwrap();
        std::fs::copy(
            repo().join("migration/src/lib.rs"),
            dir.join("migration/src/lib.rs"),
        )
        .unwrap();
        let out = Out::capture(
            bin(env!("CARGO_BIN_EXE_migrate"))
                .arg("import-prisma")
                .current_dir(&dir),
            &[],
        );
        out.expect(0);
        let read = |p: &str| std::fs::read_to_string(dir.join(p)).unwrap();
        Skeleton {
            lib: read("migration/src/lib.rs"),
            module: read("migration/src/m0_init.rs"),
        }
    }

    /// Runs `migrate new change` in a skeleton holding the case's history
    /// and `after.prisma`, and compares what it writes with what Prisma
    /// writes (`prisma_migration`) and the engine's reverse.
    fn migrate_new(
        &self,
        case: &Case,
        engine: &Result<migrate::Migration, migrate::Refused>,
        to: &Catalog,
        from: &Catalog,
        prisma_migration: &Option<String>,
    ) -> Vec<String> {
        let mut found = Vec::new();
        let dir = empty_dir();
        let migrations = dir.join("prisma/migrations");
        std::fs::create_dir_all(migrations.join("0_init")).unwrap();
        std::fs::create_dir_all(dir.join("migration/src")).unwrap();
        for file in ["0_init/migration.sql", "migration_lock.toml"] {
            std::fs::copy(case.migrations.join(file), migrations.join(file)).unwrap();
        }
        std::fs::copy(&case.after, dir.join("prisma/schema.prisma")).unwrap();
        std::fs::write(dir.join("migration/src/lib.rs"), &self.lib).unwrap();
        std::fs::write(dir.join("migration/src/m0_init.rs"), &self.module).unwrap();
        std::os::unix::fs::symlink(pg().cluster.root(), dir.join(".migrate")).unwrap();
        let out = Out::capture(
            bin(env!("CARGO_BIN_EXE_migrate"))
                .args(["new", "change", "--no-entities", "--format", "json"])
                .current_dir(&dir),
            &[],
        );
        let directories = || -> Vec<String> {
            let mut names: Vec<String> = std::fs::read_dir(&migrations)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        if let Some(construct) = &case.refused {
            let refused = out.code == 2
                && out.json()["error"]["code"] == "prisma.cannot_generate"
                && out.json()["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(construct.as_str()));
            if !refused {
                found.push(format!(
                    "migrate new: expected prisma.cannot_generate naming {construct}:\n{out}"
                ));
            }
            if directories() != ["0_init", "migration_lock.toml"] {
                found.push(format!(
                    "migrate new refused, yet wrote {:?}",
                    directories()
                ));
            }
            return found;
        }
        let Ok(up) = engine else {
            found.push(format!("the engine refuses, migrate new says:\n{out}"));
            return found;
        };
        if up.is_empty() {
            if out.code != 0
                || out.json()["outcome"] != "up_to_date"
                || directories() != ["0_init", "migration_lock.toml"]
            {
                found.push(format!(
                    "nothing to migrate, yet migrate new wrote {:?}:\n{out}",
                    directories()
                ));
            }
            return found;
        }
        if out.code != 0 || out.json()["outcome"] != "generated" {
            found.push(format!("migrate new failed:\n{out}"));
            return found;
        }
        let Some(name) = out.json()["migration"].as_str().map(String::from) else {
            found.push(format!("migrate new names no migration:\n{out}"));
            return found;
        };
        let read = |file: &str| std::fs::read_to_string(migrations.join(&name).join(file));
        let written = read("migration.sql").unwrap_or_default();
        if up.notes.is_empty() {
            if Some(&written) != prisma_migration.as_ref() {
                found.push(format!(
                    "migrate new's migration.sql differs from Prisma's create-only\n--- Prisma\n{}\n--- migrate new\n{written}",
                    prisma_migration.as_deref().unwrap_or("(nothing)")
                ));
            }
        } else if written != up.file() {
            found.push(format!(
                "migrate new's migration.sql is not the engine's file with its notes\n{written}"
            ));
        }
        let down = migrate::migration(to, from, &migrate::Options::default());
        match (down, read("down.sql")) {
            (Ok(down), Ok(text)) if text == down.file() => {}
            (down, text) => found.push(format!(
                "migrate new's down.sql is not the engine's reverse: {text:?} vs {:?}",
                down.map(|d| d.file())
            )),
        }
        let lib = std::fs::read_to_string(dir.join("migration/src/lib.rs")).unwrap_or_default();
        let module = migration::prisma::module_name(&name);
        if !lib.contains(&format!("Box::new({module}::Migration),"))
            || !dir.join(format!("migration/src/{module}.rs")).is_file()
        {
            found.push(format!("migrate new did not register {module}:\n{lib}"));
        }
        found
    }
}

/// What the catalog cannot represent is named by introspection, reported
/// by `catalog::diff`, and refused by the engine: never ignored.
#[test]
fn introspection_names_what_the_engine_refuses() {
    let db = pg().new_db("unsupported");
    db.psql_as_owner(
        r#"CREATE TABLE "T" (
             "id" INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
             "n" INTEGER CHECK ("n" > 0),
             "s" TEXT COLLATE "C",
             "w" INTERVAL
           );
           CREATE INDEX "T_n_partial" ON "T"("n") WHERE "n" > 10;
           CREATE INDEX "T_lower" ON "T"(lower("s"));
           CREATE INDEX "T_s_nulls" ON "T"("s" NULLS FIRST);
           ALTER TABLE "T" ADD CONSTRAINT "T_s_unique" UNIQUE ("s");
           CREATE VIEW "V" AS SELECT "id" FROM "T";
           CREATE SEQUENCE "loose";"#,
    )
    .expect("the schema builds");
    let rt = runtime();
    let from = introspect(&rt, &db);
    for expected in [
        "check constraint \"T_n_check\" on \"T\"",
        "column \"T\".\"id\" is an identity column",
        "column \"T\".\"s\" has a collation of its own",
        "index \"T_n_partial\" on \"T\" is partial (WHERE ...)",
        "index \"T_lower\" on \"T\" indexes an expression",
        "index \"T_s_nulls\" on \"T\" orders NULLs of \"s\" unusually",
        "index \"T_s_unique\" on \"T\" is a UNIQUE constraint (Prisma creates unique indexes)",
        "view \"V\"",
        "sequence (not owned by a column) \"loose\"",
    ] {
        assert!(
            from.unsupported.iter().any(|u| u == expected),
            "{expected} missing from {:#?}",
            from.unsupported
        );
    }
    let to = derive(&repo().join("tests/fixtures/prisma-changes/create_table/before.prisma"));
    assert!(
        differences(&to, &from)
            .iter()
            .any(|d| d.contains("view \"V\"")),
        "catalog::diff reports the view"
    );
    let refused = migrate::migration(&from, &to, &migrate::Options::default())
        .expect_err("the engine refuses");
    for construct in [
        "view \"V\"",
        "T.w",
        "check constraint \"T_n_check\" on \"T\"",
    ] {
        assert!(
            refused.0.iter().any(|r| r.construct == construct),
            "{construct} not refused: {refused}"
        );
    }
}
