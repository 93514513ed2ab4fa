import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClientBase } from 'pg';
import { defaultMigrationSources } from '../../src/db/migration-plan';
import {
  MigrationError,
  runMigrations,
  type MigrationReport,
  type MigrationSource
} from '../../src/db/migrations';
import { openDatabase } from '../../src/db/open';
import type { SqlDatabase } from '../../src/db/sql-database';
import {
  BACKENDS,
  freshDatabase,
  scratchPostgresDatabase,
  silentLogger,
  type TestDatabase
} from '../support/postgres';

const sources = defaultMigrationSources();
const sourceDir = (name: string) => sources.find(s => s.name === name)!.dir;
const sqlFiles = (dir: string) =>
  (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
    .filter(f => f.endsWith('.sql'))
    .sort();
const APP_MIGRATIONS = sqlFiles(sourceDir('app'));
const BOOTSTRAP = sqlFiles(sourceDir('bootstrap'));
/** Embedded auth's own tables (server/src/auth/sql), applied after the bootstrap. */
const EMBEDDED_AUTH = sqlFiles(sourceDir('auth'));

const migrate = (db: SqlDatabase, s: MigrationSource[] = sources) =>
  db.withSession(client => runMigrations(client, s, silentLogger));

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function tempSource(files: Record<string, string>): MigrationSource {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-migrations-'));
  tempDirs.push(dir);
  for (const [name, sql] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, name), sql);
  }
  return { name: 'app', dir, embeddedOnly: false };
}

describe.each(BACKENDS)('migrations on %s, from a bare database', backend => {
  let t: TestDatabase;
  let report: MigrationReport;

  beforeAll(async () => {
    t = await freshDatabase(backend, { migrated: false });
    report = await migrate(t.db);
  });

  afterAll(async () => {
    await t?.close();
  });

  it('applies the bootstrap, then every app migration in filename order', async () => {
    expect(APP_MIGRATIONS.length).toBeGreaterThanOrEqual(3);
    expect(report.supabaseManaged).toBe(false);
    expect(report.applied).toEqual([
      ...BOOTSTRAP.map(f => `bootstrap/${f}`),
      ...EMBEDDED_AUTH.map(f => `auth/${f}`),
      ...APP_MIGRATIONS.map(f => `app/${f}`)
    ]);
    const recorded = await t.db.asService(tx =>
      tx.query<{ name: string; checksum: string }>(
        "select name, checksum from insighter.schema_migrations where source = 'app' order by name"
      )
    );
    expect(recorded.rows.map(r => r.name)).toEqual(APP_MIGRATIONS);
    expect(recorded.rows.every(r => /^[0-9a-f]{64}$/.test(r.checksum))).toBe(
      true
    );
  });

  it('is idempotent: a second run applies nothing', async () => {
    const again = await migrate(t.db);
    expect(again.applied).toEqual([]);
  });

  it('creates the schema the app relies on, with RLS on every table', async () => {
    const tables = await t.db.asService(tx =>
      tx.query<{ table: string; rls: boolean }>(`
        select n.nspname || '.' || c.relname as table, c.relrowsecurity as rls
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where c.relkind in ('r', 'p') and n.nspname in ('public', 'auth', 'storage')
        order by 1`)
    );
    const names = tables.rows.map(r => r.table);
    expect(names).toEqual(
      expect.arrayContaining([
        'auth.users',
        'public.profiles',
        'public.team_invitations',
        'public.team_members',
        'public.teams',
        'storage.buckets',
        'storage.objects'
      ])
    );
    expect(tables.rows.filter(r => !r.rls)).toEqual([]);
  });

  it('fixes the search_path of every security definer function', async () => {
    const functions = await t.db.asService(tx =>
      tx.query<{ fn: string; config: string[] | null }>(`
        select p.oid::regprocedure::text as fn, p.proconfig as config
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where p.prosecdef and n.nspname in ('public', 'auth', 'storage')`)
    );
    expect(functions.rows.length).toBeGreaterThanOrEqual(5);
    const unpinned = functions.rows.filter(
      r =>
        !(r.config ?? []).some(
          c => c === 'search_path=""' || c === 'search_path='
        )
    );
    expect(unpinned).toEqual([]);
  });

  it('defines auth.uid() and friends as Supabase does', async () => {
    const { rows } = await t.db.asService(async tx => {
      await tx.query(
        `select set_config('request.jwt.claims', '{"sub":"11111111-2222-4333-8444-555555555555","role":"authenticated","email":"a@b.c"}', true)`
      );
      return tx.query(
        'select auth.uid()::text as uid, auth.role() as role, auth.email() as email, auth.jwt() ->> $1 as sub',
        ['sub']
      );
    });
    expect(rows[0]).toEqual({
      uid: '11111111-2222-4333-8444-555555555555',
      role: 'authenticated',
      email: 'a@b.c',
      sub: '11111111-2222-4333-8444-555555555555'
    });
    // After a transaction-local setting ends it reads as '', not null.
    const after = await t.db.asService(tx =>
      tx.query('select auth.uid() as uid')
    );
    expect(after.rows[0]).toEqual({ uid: null });
  });
});

describe.each(BACKENDS)(
  'migrations on %s, when things go wrong or Supabase is there',
  backend => {
    let t: TestDatabase;

    beforeEach(async () => {
      t = await freshDatabase(backend, { migrated: false });
    });

    afterEach(async () => {
      await t?.close();
    });

    it('stops at an applied migration whose content changed, naming the file', async () => {
      const source = tempSource({
        '20260101000000_one.sql': 'create table public.one (id int);'
      });
      const plan = [...sources.filter(s => s.name === 'bootstrap'), source];
      await migrate(t.db, plan);
      fs.writeFileSync(
        path.join(source.dir, '20260101000000_one.sql'),
        'create table public.one (id bigint);'
      );
      const failure = migrate(t.db, plan);
      await expect(failure).rejects.toThrow(MigrationError);
      await expect(failure).rejects.toThrow(
        /20260101000000_one\.sql changed after it was applied/
      );
    });

    it('applies a failing migration not at all, says where it failed, and keeps earlier ones', async () => {
      const source = tempSource({
        '20260101000000_good.sql': 'create table public.good (id int);',
        '20260101000001_bad.sql':
          'create table public.half (id int);\ninsert into public.half values (1);\nselect nonsense from nowhere;'
      });
      const plan = [...sources.filter(s => s.name === 'bootstrap'), source];
      await expect(migrate(t.db, plan)).rejects.toThrow(
        /Migration .*20260101000001_bad\.sql failed at line 3: relation "nowhere" does not exist/
      );
      const state = await t.db.asService(tx =>
        tx.query<{ good: boolean; half: boolean; recorded: string[] }>(`
        select to_regclass('public.good') is not null as good, to_regclass('public.half') is not null as half,
               array(select name from insighter.schema_migrations where source = 'app' order by name) as recorded`)
      );
      expect(state.rows[0]).toEqual({
        good: true,
        half: false,
        recorded: ['20260101000000_good.sql']
      });
    });

    it('skips the bootstrap on a Supabase database and adopts what the Supabase CLI applied', async () => {
      // What a Supabase project has before its migrations: Supabase Auth owns
      // the auth schema; the CLI records pushed migrations.
      const first = APP_MIGRATIONS[0];
      await t.db.withSession(async client => {
        await prepareSupabaseLikeDatabase(client);
        await client.query(
          fs.readFileSync(path.join(sourceDir('app'), first), 'utf8')
        );
        await client.query(
          "insert into supabase_migrations.schema_migrations (version, name) values ($1, 'profiles')",
          [first.split('_')[0]]
        );
      });
      const report = await migrate(t.db);
      expect(report.supabaseManaged).toBe(true);
      expect(report.adopted).toEqual([`app/${first}`]);
      expect(report.applied).toEqual(
        APP_MIGRATIONS.slice(1).map(f => `app/${f}`)
      );
      const cli = await t.db.asService(tx =>
        tx.query<{ version: string }>(
          'select version from supabase_migrations.schema_migrations order by 1'
        )
      );
      expect(cli.rows.map(r => r.version)).toEqual(
        APP_MIGRATIONS.map(f => f.split('_')[0])
      );
      expect((await migrate(t.db)).applied).toEqual([]);
    });
  }
);

/**
 * The relevant part of a fresh Supabase database, set up the way Supabase
 * does it (the roles and auth objects exist; auth belongs to Supabase Auth).
 */
async function prepareSupabaseLikeDatabase(client: ClientBase): Promise<void> {
  await client.query(`
    do $$ begin
      if not exists (select 1 from pg_roles where rolname = 'supabase_auth_admin') then
        create role supabase_auth_admin nologin;
      end if;
    end $$;
    create schema auth authorization supabase_auth_admin;
    create schema supabase_migrations;
    create table supabase_migrations.schema_migrations (
      version text primary key, statements text[], name text
    );
  `);
  // Supabase's own copy of these objects; the bootstrap files are that copy.
  for (const file of BOOTSTRAP) {
    await client.query(
      fs.readFileSync(path.join(sourceDir('bootstrap'), file), 'utf8')
    );
  }
}

describe('migrations on postgres, two sidecars starting at once', () => {
  it('apply each migration once', async () => {
    const scratch = await scratchPostgresDatabase();
    try {
      const open = () =>
        openDatabase(
          { backend: 'postgres', url: scratch.url },
          { logger: silentLogger }
        );
      const [a, b] = await Promise.all([open(), open()]);
      const applied = [...a.migrations.applied, ...b.migrations.applied].sort();
      expect(applied).toEqual(
        [
          ...BOOTSTRAP.map(f => `bootstrap/${f}`),
          ...EMBEDDED_AUTH.map(f => `auth/${f}`),
          ...APP_MIGRATIONS.map(f => `app/${f}`)
        ].sort()
      );
      await Promise.all([a.db.close(), b.db.close()]);
    } finally {
      await scratch.drop();
    }
  });
});
