-- Prints the catalog of schema `public` one fact per line, in the form the
-- derivation tests compare with. Each `*.catalog` beside this file is this
-- query's output on PostgreSQL 15, on a fresh database where the matching
-- SQL was run (`wide.sql`, `types.sql`, or the golden `migration.sql` of
-- tests/fixtures/prisma for `rich` and `small`):
--   psql "$URL" -XAtq -f catalog.sql > wide.catalog
WITH action(code, name) AS (
    VALUES ('a', 'NO ACTION'), ('r', 'RESTRICT'), ('c', 'CASCADE'), ('n', 'SET NULL'), ('d', 'SET DEFAULT')
), rel AS (
    SELECT c.oid, c.relname FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
), facts(line) AS (
    SELECT format('enum %s | %s', t.typname, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder))
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
    WHERE t.typnamespace = 'public'::regnamespace
    GROUP BY t.typname
  UNION ALL
    SELECT format('column %s | %s | %s | %s | %s | %s', r.relname, lpad(a.attnum::text, 3, '0'), a.attname,
                  format_type(a.atttypid, a.atttypmod),
                  CASE WHEN a.attnotnull THEN 'not null' ELSE 'null' END,
                  coalesce(pg_get_expr(d.adbin, d.adrelid), '-'))
    FROM rel r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
  UNION ALL
    SELECT format('pkey %s | %s | %s', r.relname, con.conname,
                  (SELECT string_agg(a.attname, ', ' ORDER BY k.i)
                   FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.n))
    FROM rel r JOIN pg_constraint con ON con.conrelid = r.oid AND con.contype = 'p'
  UNION ALL
    SELECT format('index %s | %s | %s | %s', r.relname, ic.relname,
                  CASE WHEN i.indisunique THEN 'unique' ELSE 'plain' END,
                  (SELECT string_agg(a.attname, ', ' ORDER BY k.i)
                   FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.n))
    FROM rel r JOIN pg_index i ON i.indrelid = r.oid AND NOT i.indisprimary
    JOIN pg_class ic ON ic.oid = i.indexrelid
  UNION ALL
    SELECT format('fkey %s | %s | %s | %s | %s | delete %s | update %s', r.relname, con.conname,
                  (SELECT string_agg(a.attname, ', ' ORDER BY k.i)
                   FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = k.n),
                  (SELECT relname FROM pg_class WHERE oid = con.confrelid),
                  (SELECT string_agg(a.attname, ', ' ORDER BY k.i)
                   FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                   JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n),
                  del.name, upd.name)
    FROM rel r JOIN pg_constraint con ON con.conrelid = r.oid AND con.contype = 'f'
    JOIN action del ON del.code = con.confdeltype
    JOIN action upd ON upd.code = con.confupdtype
)
SELECT line FROM facts ORDER BY line COLLATE "C";
