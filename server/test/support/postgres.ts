import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { Client } from 'pg';
import pino from 'pino';
import type { MigrationReport, MigrationSource } from '../../src/db/migrations';
import { openDatabase } from '../../src/db/open';
import type { SqlDatabase } from '../../src/db/sql-database';
import type { Database, JwtClaims } from '../../src/db/types';

/**
 * A fresh database per test file, on both backends the sidecar supports:
 * PGlite (from a snapshot made once per run by global-setup.ts) and
 * PostgreSQL 15 (a new database on the run's server). Migrated unless asked
 * otherwise; close() drops it.
 */
export type TestBackend = 'pglite' | 'postgres';
export const BACKENDS: readonly TestBackend[] = ['pglite', 'postgres'];

export const silentLogger = pino({ level: 'silent' });

export interface TestDatabase {
  backend: TestBackend;
  db: SqlDatabase;
  migrations: MigrationReport;
  close(): Promise<void>;
}

export interface FreshDatabaseOptions {
  /** false: a bare database (PGlite just initialised, or an empty Postgres database). */
  migrated?: boolean;
  sources?: MigrationSource[];
}

export async function freshDatabase(
  backend: TestBackend,
  options: FreshDatabaseOptions = {}
): Promise<TestDatabase> {
  const migrated = options.migrated ?? true;
  if (backend === 'pglite') {
    const { db, migrations } = await openDatabase(
      {
        backend: 'pglite',
        loadFrom: pgliteSnapshot(migrated ? 'migrated' : 'pristine')
      },
      { logger: silentLogger, sources: options.sources, migrate: migrated }
    );
    return { backend, db, migrations, close: () => db.close() };
  }
  const scratch = await scratchPostgresDatabase();
  try {
    const { db, migrations } = await openDatabase(
      { backend: 'postgres', url: scratch.url },
      { logger: silentLogger, sources: options.sources, migrate: migrated }
    );
    return {
      backend,
      db,
      migrations,
      close: async () => {
        await db.close();
        await scratch.drop();
      }
    };
  } catch (err) {
    await scratch.drop();
    throw err;
  }
}

/** The PGlite data dir made by the global setup, as a `loadDataDir` tarball. */
export function pgliteSnapshot(kind: 'pristine' | 'migrated'): Blob {
  const file =
    kind === 'pristine'
      ? process.env.INSIGHTER_TEST_PGLITE_PRISTINE
      : process.env.INSIGHTER_TEST_PGLITE_MIGRATED;
  if (!file || !fs.existsSync(file)) {
    throw new Error(
      'The PGlite test snapshots are missing: run the tests through jest with the ' +
        "server's jest config (globalSetup test/support/global-setup.ts)."
    );
  }
  return new Blob([fs.readFileSync(file)]);
}

export interface ScratchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** An empty database on the test server (INSIGHTER_TEST_DATABASE_URL). */
export async function scratchPostgresDatabase(): Promise<ScratchDatabase> {
  const adminUrl = process.env.INSIGHTER_TEST_DATABASE_URL;
  if (!adminUrl) {
    throw new Error(
      'INSIGHTER_TEST_DATABASE_URL is not set: the global setup starts PostgreSQL 15 unless it is given.'
    );
  }
  const name = `insighter_test_${process.pid}_${randomUUID().slice(0, 8)}`;
  await withAdmin(adminUrl, client => client.query(`create database ${name}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      await withAdmin(adminUrl, client =>
        client.query(`drop database if exists ${name} with (force)`)
      );
    }
  };
}

async function withAdmin<T>(
  url: string,
  fn: (client: Client) => Promise<T>
): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestUser {
  id: string;
  email: string;
  fullName: string;
  claims: JwtClaims;
}

let userCounter = 0;

/** A confirmed account in auth.users, as the auth server would create it. */
export async function createUser(
  db: Database,
  options: { email?: string; fullName?: string; confirmed?: boolean } = {}
): Promise<TestUser> {
  const id = randomUUID();
  userCounter += 1;
  const email =
    options.email ?? `user${userCounter}-${id.slice(0, 8)}@example.com`;
  const fullName = options.fullName ?? `Test User ${userCounter}`;
  await db.asService(tx =>
    tx.query(
      `insert into auth.users
         (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
          raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
       values ('00000000-0000-0000-0000-000000000000', $1, 'authenticated', 'authenticated',
               $2, '', $3, '{"provider":"email","providers":["email"]}', $4, now(), now())`,
      [
        id,
        email,
        options.confirmed === false ? null : new Date(),
        { full_name: fullName }
      ]
    )
  );
  return { id, email, fullName, claims: claimsFor(id, email) };
}

/** The claims of a signed-in user's access token, as Supabase Auth issues them. */
export function claimsFor(id: string, email: string): JwtClaims {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: id,
    role: 'authenticated',
    aud: 'authenticated',
    email,
    iat: now,
    exp: now + 3600,
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {}
  };
}
