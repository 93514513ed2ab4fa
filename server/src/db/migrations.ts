import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ClientBase } from 'pg';
import type { Logger } from '../logger';
import { errorMessage } from './errors';

/**
 * A folder of SQL files applied in filename order. `embeddedOnly` sources
 * (the bootstrap that stands in for what Supabase provides, and embedded
 * auth's tables) are skipped on a Supabase database.
 */
export interface MigrationSource {
  /** Recorded with each file; e.g. 'bootstrap', 'auth', 'app'. */
  name: string;
  dir: string;
  embeddedOnly: boolean;
  /** A missing folder is fine (nothing to apply). */
  optional?: boolean;
}

export interface MigrationFile {
  source: string;
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

export interface MigrationReport {
  applied: string[];
  /** App migrations the Supabase CLI had already applied, recorded as applied. */
  adopted: string[];
  supabaseManaged: boolean;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

/** Any fixed number: only Insighter sidecars take this advisory lock. */
const MIGRATION_LOCK_KEY = 7_140_256_198_233;

export function loadMigrationFiles(
  sources: MigrationSource[]
): MigrationFile[] {
  const files: MigrationFile[] = [];
  for (const source of sources) {
    if (!fs.existsSync(source.dir)) {
      if (source.optional) {
        continue;
      }
      throw new MigrationError(
        `The migrations folder ${source.dir} does not exist.`
      );
    }
    const names = fs
      .readdirSync(source.dir)
      .filter(name => name.endsWith('.sql'))
      .sort();
    for (const name of names) {
      const file = path.join(source.dir, name);
      const sql = fs.readFileSync(file, 'utf8');
      files.push({
        source: source.name,
        name,
        file,
        sql,
        checksum: checksum(sql)
      });
    }
  }
  return files;
}

/** Line endings do not count: a checkout with CRLF is the same migration. */
export function checksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n')).digest('hex');
}

/**
 * Applies what is not applied yet, each file in its own transaction, and
 * records it (name and checksum) in insighter.schema_migrations. A second
 * run applies nothing; an applied file whose content changed is an error.
 * Runs on one session holding an advisory lock, so sidecars starting at
 * once against one Postgres take turns.
 */
export async function runMigrations(
  client: ClientBase,
  sources: MigrationSource[],
  logger: Logger
): Promise<MigrationReport> {
  const files = loadMigrationFiles(sources);
  const embeddedOnly = new Set(
    sources.filter(s => s.embeddedOnly).map(s => s.name)
  );
  await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`
      create schema if not exists insighter;
      create table if not exists insighter.schema_migrations (
        source text not null,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now(),
        primary key (source, name)
      );
    `);
    const supabaseManaged = await isSupabaseManaged(client);
    const applied = new Map<string, string>();
    const rows = await client.query<{
      source: string;
      name: string;
      checksum: string;
    }>('select source, name, checksum from insighter.schema_migrations');
    for (const row of rows.rows) {
      applied.set(`${row.source}/${row.name}`, row.checksum);
    }
    const cliVersions = supabaseManaged
      ? await supabaseCliVersions(client)
      : new Set<string>();

    const report: MigrationReport = {
      applied: [],
      adopted: [],
      supabaseManaged
    };
    for (const file of files) {
      const key = `${file.source}/${file.name}`;
      const recorded = applied.get(key);
      if (recorded !== undefined) {
        if (recorded !== file.checksum) {
          throw new MigrationError(
            `Migration ${file.file} changed after it was applied to this database. ` +
              'Applied migrations must stay as they are: restore the file and put the change in a new migration.'
          );
        }
        continue;
      }
      if (supabaseManaged && embeddedOnly.has(file.source)) {
        continue;
      }
      const version = cliVersion(file.name);
      if (version && cliVersions.has(version)) {
        await record(client, file);
        report.adopted.push(key);
        continue;
      }
      await applyOne(client, file, supabaseManaged);
      report.applied.push(key);
      logger.info({ migration: key }, 'migration applied');
    }
    return report;
  } finally {
    await client
      .query('select pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
  }
}

async function applyOne(
  client: ClientBase,
  file: MigrationFile,
  supabaseManaged: boolean
) {
  await client.query('begin');
  try {
    await client.query(file.sql);
    await record(client, file);
    if (supabaseManaged) {
      await recordForSupabaseCli(client, file);
    }
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw new MigrationError(
      `Migration ${file.file} failed${where(file.sql, err)}: ${errorMessage(err)}`
    );
  }
}

async function record(client: ClientBase, file: MigrationFile) {
  await client.query(
    'insert into insighter.schema_migrations (source, name, checksum) values ($1, $2, $3)',
    [file.source, file.name, file.checksum]
  );
}

/**
 * A Supabase project: its auth schema belongs to Supabase Auth's own role.
 * Checked per database (roles are cluster-wide, schema owners are not).
 */
async function isSupabaseManaged(client: ClientBase): Promise<boolean> {
  const result = await client.query<{ managed: boolean }>(`
    select exists (
      select 1
      from pg_catalog.pg_namespace n
      join pg_catalog.pg_roles r on r.oid = n.nspowner
      where n.nspname = 'auth' and r.rolname = 'supabase_auth_admin'
    ) as managed
  `);
  return result.rows[0].managed;
}

/** Versions the Supabase CLI recorded (`supabase db push`), so they are not re-run. */
async function supabaseCliVersions(client: ClientBase): Promise<Set<string>> {
  const exists = await client.query<{ table: string | null }>(
    "select to_regclass('supabase_migrations.schema_migrations')::text as table"
  );
  if (!exists.rows[0].table) {
    return new Set();
  }
  const rows = await client.query<{ version: string }>(
    'select version from supabase_migrations.schema_migrations'
  );
  return new Set(rows.rows.map(r => r.version));
}

/** Tells the Supabase CLI a migration is applied, so `db push` does not re-run it. */
async function recordForSupabaseCli(client: ClientBase, file: MigrationFile) {
  const version = cliVersion(file.name);
  if (!version || file.source !== 'app') {
    return;
  }
  const exists = await client.query<{ table: string | null }>(
    "select to_regclass('supabase_migrations.schema_migrations')::text as table"
  );
  if (exists.rows[0].table) {
    await client.query(
      `insert into supabase_migrations.schema_migrations (version, name)
       values ($1, $2) on conflict (version) do nothing`,
      [version, file.name.replace(/^\d+_/, '').replace(/\.sql$/, '')]
    );
  }
}

/** The CLI's version of `20261126160000_profiles.sql` is `20261126160000`. */
function cliVersion(name: string): string | undefined {
  return /^(\d+)_/.exec(name)?.[1];
}

/** " at line N" from a Postgres error position, when there is one. */
function where(sql: string, err: unknown): string {
  const position = Number((err as { position?: unknown })?.position);
  if (!Number.isInteger(position) || position < 1) {
    return '';
  }
  const line = sql.slice(0, position - 1).split('\n').length;
  return ` at line ${line}`;
}
