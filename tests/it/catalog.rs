//! The first migration builds exactly the catalog Prisma Migrate builds.

use crate::support::pg;

/// Everything Prisma Client can observe about the tables of a schema,
/// one line per fact, in a stable order. The history table is left out.
const CATALOG_SQL: &str = r#"
SELECT 'column ' || c.relname || '.' || a.attname || ' #' || a.attnum
    || ' type=' || format_type(a.atttypid, a.atttypmod)
    || ' typmod=' || a.atttypmod
    || ' notnull=' || a.attnotnull
    || ' default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), '-')
    || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text
    || ' collation=' || coalesce(co.collname, '-')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 0
WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
  AND c.relname <> '_prisma_migrations'
UNION ALL
SELECT 'constraint ' || c.relname || '.' || con.conname || ' ' || con.contype::text || ' '
    || pg_get_constraintdef(con.oid)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relname <> '_prisma_migrations'
UNION ALL
SELECT 'index ' || indexname || ' ' || indexdef
FROM pg_indexes WHERE schemaname = 'public' AND tablename <> '_prisma_migrations'
UNION ALL
SELECT 'sequence ' || s.relname || ' type=' || format_type(q.seqtypid, NULL)
    || ' start=' || q.seqstart || ' inc=' || q.seqincrement || ' min=' || q.seqmin
    || ' max=' || q.seqmax || ' cache=' || q.seqcache || ' cycle=' || q.seqcycle
    || ' owned_by=' || coalesce((
        SELECT t.relname || '.' || att.attname FROM pg_depend dep
        JOIN pg_class t ON t.oid = dep.refobjid
        JOIN pg_attribute att ON att.attrelid = dep.refobjid AND att.attnum = dep.refobjsubid
        WHERE dep.objid = s.oid AND dep.classid = 'pg_class'::regclass AND dep.deptype = 'a'), '-')
FROM pg_sequence q
JOIN pg_class s ON s.oid = q.seqrelid
JOIN pg_namespace n ON n.oid = s.relnamespace
WHERE n.nspname = 'public'
UNION ALL
SELECT 'table ' || c.relname || ' kind=' || c.relkind::text || ' persistence=' || c.relpersistence::text
    || ' rls=' || c.relrowsecurity
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm') AND c.relname <> '_prisma_migrations'
ORDER BY 1
"#;

#[test]
fn first_migration_matches_prismas_catalog() {
    let pg = pg();
    let prisma = pg.new_db("prisma");
    let ours = pg.new_db("ours");

    let sql = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/prisma/migration.sql"),
    )
    .expect("the Prisma fixture");
    prisma
        .psql_as_owner(&sql)
        .expect("Prisma's own SQL applies");
    ours.run(ours.migrate().arg("up")).expect(0);

    let expected = prisma.psql(CATALOG_SQL);
    let actual = ours.psql(CATALOG_SQL);
    // The comparison must have something to compare.
    for fact in [
        "column User.id #1 type=integer typmod=-1 notnull=true default=nextval('\"User_id_seq\"'::regclass)",
        "column User.createdAt #4 type=timestamp(3) without time zone typmod=3 notnull=true default=CURRENT_TIMESTAMP",
        "constraint User.User_pkey p PRIMARY KEY (id)",
        "index User_email_key CREATE UNIQUE INDEX \"User_email_key\" ON public.\"User\" USING btree (email)",
        "sequence User_id_seq type=integer",
        "owned_by=User.id",
    ] {
        assert!(
            expected.contains(fact),
            "fixture catalog lacks {fact}:\n{expected}"
        );
    }
    assert_eq!(actual, expected, "catalog differs from Prisma's");
}

#[test]
fn down_drops_everything_the_first_migration_made() {
    let db = pg().new_db("downall");
    db.run(db.migrate().arg("up")).expect(0);
    db.run(db.migrate().arg("down")).expect(0);
    assert_eq!(db.psql(CATALOG_SQL), "");
    assert!(db.history("public").is_empty());
}
