#!/usr/bin/env node
// oracle.mjs — many Prisma schema-engine requests in one node process, for
// the tests that compare this project's SQL with Prisma Migrate's own.
//
// It drives the WebAssembly build of Prisma's schema engine (the one the
// `prisma` 7.10.1 npm package ships, prisma/build/schema_engine_bg.wasm)
// through @prisma/adapter-pg, like se.mjs beside it, but loads the engine
// once and runs a batch of jobs read from stdin:
//
//   node oracle.mjs < jobs.json > results.json
//
// jobs.json is a JSON array; each job is one of
//   {"op": "diff", "from": T, "to": T, "url": URL?}
//       prisma migrate diff --from-... --to-... --script
//       T = {"empty": true} | {"schema": PATH} | {"db": true} (the database at url)
//   {"op": "deploy", "url": URL, "migrations": DIR}
//       prisma migrate deploy
//   {"op": "create-only", "url": URL, "migrations": DIR, "schema": PATH}
//       prisma migrate dev --create-only: the migration.sql it would write
//       (with its Warnings header), or null when there is nothing to migrate;
//       its shadow databases are temporary ones (the role needs CREATEDB)
// and results.json the array of answers, in order: {"ok": "..."} or
// {"error": "..."}.
//
// Run it from a directory whose node_modules is the reference install
// (install.sh puts one in $HOME/.cache/impulse-db/prisma-ref).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } from '@prisma/driver-adapter-utils';
import * as runtime from '@prisma/schema-engine-wasm/schema_engine_bg';

const require = createRequire(import.meta.url);
const cwd = process.cwd();

function loadEngineClass() {
  const pkg = require.resolve('prisma/package.json');
  const wasm = path.join(path.dirname(pkg), 'build', 'schema_engine_bg.wasm');
  const mod = new WebAssembly.Module(fs.readFileSync(wasm));
  const instance = new WebAssembly.Instance(mod, { './schema_engine_bg.js': runtime });
  runtime.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return runtime.SchemaEngine;
}

// The same two adapter fixes as se.mjs: pg_catalog "char" columns (OID 18)
// read as Character, and scripts sent whole (simple query protocol).
function patchCharColumns(q) {
  const performIO = q.performIO.bind(q);
  q.performIO = async (query) => {
    const res = await performIO(query);
    const charCols = [];
    res?.fields?.forEach((f, i) => { if (f.dataTypeID === 18) { f.dataTypeID = 25; charCols.push(i); } });
    if (charCols.length) Object.defineProperty(res.rows, '__charCols', { value: charCols });
    return res;
  };
  const queryRaw = q.queryRaw.bind(q);
  q.queryRaw = async (query) => {
    const r = await queryRaw(query);
    for (const i of r.rows.__charCols ?? []) r.columnTypes[i] = ColumnTypeEnum.Character;
    return r;
  };
  return q;
}

function wholeScript(adapter) {
  patchCharColumns(adapter);
  if (adapter.startTransaction) {
    const startTransaction = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (...a) => patchCharColumns(await startTransaction(...a));
  }
  adapter.executeScript = async (script) => {
    try {
      await adapter.underlyingDriver().query(script);
    } catch (e) {
      adapter.onError(e);
    }
  };
  return adapter;
}

// node-postgres verifies certificates under sslmode=require unless told to
// behave like libpq.
function nodeUrl(raw) {
  const u = new URL(raw);
  const mode = u.searchParams.get('sslmode');
  if (mode && ['require', 'prefer'].includes(mode) && !u.searchParams.has('uselibpqcompat')) u.searchParams.set('uselibpqcompat', 'true');
  return u.toString();
}

// The shadow database: like the native engine without a shadowDatabaseUrl,
// a temporary database for every use, created and dropped through the main
// connection (the role needs CREATEDB).
//
// Every connection it opens is recorded in `opened`, to be closed after the
// job: the engine does not always close them itself, and a batch must not
// pile them up.
function makeFactory(rawUrl, opened) {
  const url = nodeUrl(rawUrl);
  const base = new PrismaPg({ connectionString: url });
  const connect = async (factory) => {
    const adapter = await factory.connect();
    opened.push(adapter);
    return adapter;
  };
  return {
    provider: base.provider,
    adapterName: base.adapterName,
    connect: async () => wholeScript(await connect(base)),
    connectToShadowDb: async () => {
      const main = await connect(base);
      const name = `prisma_migrate_shadow_db_${randomUUID()}`;
      await main.underlyingDriver().query(`CREATE DATABASE "${name}"`);
      const u = new URL(url);
      u.pathname = '/' + name;
      const shadow = wholeScript(await new PrismaPg({ connectionString: u.toString() }).connect());
      const dispose = shadow.dispose.bind(shadow);
      let disposed = false;
      shadow.dispose = async () => {
        if (disposed) return;
        disposed = true;
        await dispose();
        await main.underlyingDriver().query(`DROP DATABASE IF EXISTS "${name}"`);
      };
      opened.push(shadow);
      return shadow;
    },
  };
}

function readSchema(p) {
  const abs = path.resolve(cwd, p);
  return { path: abs, content: fs.readFileSync(abs, 'utf8') };
}

// The shape the CLI builds from a migrations directory.
function migrationsList(dir) {
  const baseDir = path.resolve(cwd, dir);
  const lockPath = 'migration_lock.toml';
  let lockContent = null;
  try { lockContent = fs.readFileSync(path.join(baseDir, lockPath), 'utf8'); } catch {}
  let entries = [];
  try { entries = fs.readdirSync(baseDir, { withFileTypes: true }); } catch {}
  const dirs = entries.filter((e) => e.isDirectory()).map((e) => {
    let content;
    try { content = { tag: 'ok', value: fs.readFileSync(path.join(baseDir, e.name, 'migration.sql'), 'utf8') }; }
    catch (err) { content = { tag: 'error', value: err.message }; }
    return { path: e.name, migrationFile: { path: 'migration.sql', content } };
  }).sort((a, b) => a.path.localeCompare(b.path));
  return { baseDir, lockfile: { path: lockPath, content: lockContent }, migrationDirectories: dirs, shadowDbInitScript: '' };
}

const filters = { externalTables: [], externalEnums: [] };
// An address the engine never dials: offline diffs still need an adapter.
const OFFLINE = 'postgresql://offline:offline@127.0.0.1:1/offline';

async function run(SchemaEngine, job) {
  const schemaPath = job.schema ?? job.to?.schema ?? job.from?.schema;
  const schemaFile = schemaPath
    ? readSchema(schemaPath)
    : { path: path.join(cwd, 'schema.prisma'), content: 'datasource db {\n  provider = "postgresql"\n}\n' };
  const opened = [];
  const engine = await SchemaEngine.new(
    { datamodels: [[schemaFile.path, schemaFile.content]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(makeFactory(job.url ?? OFFLINE, opened)),
  );
  try {
    const target = (t) => {
      if (t.empty) return { tag: 'empty' };
      if (t.db) return { tag: 'schemaDatasource', files: [schemaFile], configDir: cwd };
      if (t.schema) return { tag: 'schemaDatamodel', files: [readSchema(t.schema)] };
      throw new Error(`unknown diff target ${JSON.stringify(t)}`);
    };
    switch (job.op) {
      case 'diff': {
        const r = await engine.diff({ from: target(job.from), to: target(job.to), script: true, exitCode: null, filters });
        return r.stdout ?? '';
      }
      case 'deploy': {
        const r = await engine.applyMigrations({ migrationsList: migrationsList(job.migrations), filters });
        return r.appliedMigrationNames.join(',');
      }
      case 'create-only': {
        const list = migrationsList(job.migrations);
        const schemas = { files: [schemaFile] };
        // As `migrate dev` does: the diagnostic first (it builds the history
        // in the shadow database), then the draft migration.
        const diag = await engine.devDiagnostic({ migrationsList: list, filters });
        if (diag.action.tag === 'reset') throw new Error(`migrate dev would reset the database: ${diag.action.reason}`);
        const r = await engine.createMigration({ draft: true, migrationName: 'next', migrationsList: list, schema: schemas, filters });
        return r.migrationScript ?? null;
      }
      default:
        throw new Error(`unknown op ${job.op}`);
    }
  } finally {
    engine.free();
    // Shadow databases first (they are dropped through a main connection).
    for (const adapter of opened.reverse()) {
      try { await adapter.dispose(); } catch {}
    }
  }
}

async function main() {
  const jobs = JSON.parse(fs.readFileSync(0, 'utf8'));
  const SchemaEngine = loadEngineClass();
  const results = [];
  for (const job of jobs) {
    try {
      results.push({ ok: await run(SchemaEngine, job) });
    } catch (e) {
      results.push({ error: `${e?.message ?? e}` });
    }
  }
  process.stdout.write(JSON.stringify(results));
  // The Wasm engine can keep handles alive after free(); exit explicitly.
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
