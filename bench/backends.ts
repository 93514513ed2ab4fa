// Runs one benchmark on each database backend the sidecar supports: the
// embedded PGlite, and PostgreSQL 15 — INSIGHTER_TEST_DATABASE_URL's server,
// else a throwaway cluster of Debian's postgresql-15 (as the tests use) —
// each in a fresh database, the work folder removed afterwards.
// BENCH_BACKENDS (default "pglite,postgres") picks which.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import type { DatabaseTarget } from '../server/src/db/open';
import {
  PG_BIN,
  startPgCluster,
  type PgCluster
} from '../server/test/support/pg-cluster';

const BACKENDS = (process.env.BENCH_BACKENDS ?? 'pglite,postgres').split(',');

export type BenchOnBackend<R> = (
  label: 'pglite' | 'postgres',
  target: DatabaseTarget,
  work: string
) => Promise<R>;

/** `bench` on each backend in turn (`name` names the work folder and database). */
export async function onEachBackend<R>(
  name: string,
  bench: BenchOnBackend<R>
): Promise<R[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `insighter-bench-${name}-`));
  const results: R[] = [];
  let cluster: PgCluster | undefined;
  try {
    if (BACKENDS.includes('pglite')) {
      results.push(
        await bench('pglite', { backend: 'pglite', dataDir: path.join(work, 'db') }, work)
      );
    }
    if (!BACKENDS.includes('postgres')) {
      return results;
    }
    let adminUrl = process.env.INSIGHTER_TEST_DATABASE_URL;
    if (!adminUrl && fs.existsSync(path.join(PG_BIN, 'initdb'))) {
      cluster = await startPgCluster();
      adminUrl = cluster.url;
    }
    if (!adminUrl) {
      console.log(
        'PostgreSQL 15: skipped (no INSIGHTER_TEST_DATABASE_URL and no postgresql-15 installed)'
      );
      return results;
    }
    const database = `insighter_bench_${name}_${process.pid}`;
    await admin(adminUrl, `create database ${database}`);
    try {
      const url = new URL(adminUrl);
      url.pathname = `/${database}`;
      results.push(
        await bench('postgres', { backend: 'postgres', url: url.toString() }, work)
      );
    } finally {
      await admin(adminUrl, `drop database if exists ${database} with (force)`);
    }
    return results;
  } finally {
    cluster?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
