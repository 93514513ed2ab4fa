// Runs one benchmark on each database backend the sidecar supports — the
// embedded PGlite, and PostgreSQL 15 (INSIGHTER_TEST_DATABASE_URL's server,
// else throwaway clusters of Debian's postgresql-15, as the tests use) — each
// with durability on and off side by side, in fresh databases, the work
// folder removed afterwards.
// BENCH_BACKENDS (default "pglite,postgres") picks the backends,
// BENCH_DURABILITY (default "on,off") the durability settings.
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
const DURABILITY = (process.env.BENCH_DURABILITY ?? 'on,off')
  .split(',')
  .filter((d): d is Durability => d === 'on' || d === 'off');

/**
 * `on`: each commit is fsynced before it is acknowledged (the sidecar's
 * default; PostgreSQL's fsync=on). `off`: INSIGHTER_DURABILITY=off on
 * PGlite, fsync=off on PostgreSQL.
 */
export type Durability = 'on' | 'off';

/** One database of a benchmark run. */
export interface BenchDatabase {
  backend: 'pglite' | 'postgres';
  durability: Durability;
  target: DatabaseTarget;
}

/**
 * Benchmarks one backend on its databases (one per durability setting, to
 * be measured in alternating rounds): a result for each.
 */
export type BenchOnBackend<R> = (
  backend: 'pglite' | 'postgres',
  databases: BenchDatabase[],
  work: string
) => Promise<R[]>;

/** `bench` on each backend in turn (`name` names the work folder and databases). */
export async function onEachBackend<R>(
  name: string,
  bench: BenchOnBackend<R>
): Promise<R[]> {
  const work = fs.mkdtempSync(
    path.join(os.tmpdir(), `insighter-bench-${name}-`)
  );
  const results: R[] = [];
  const clusters: PgCluster[] = [];
  try {
    if (BACKENDS.includes('pglite')) {
      const databases = DURABILITY.map(durability => ({
        backend: 'pglite' as const,
        durability,
        target: {
          backend: 'pglite' as const,
          dataDir: path.join(work, `db-${durability}`),
          durable: durability === 'on'
        }
      }));
      results.push(...(await bench('pglite', databases, work)));
    }
    if (!BACKENDS.includes('postgres')) {
      return results;
    }
    const servers = await postgresServers(clusters);
    if (servers.length === 0) {
      console.log(
        'PostgreSQL 15: skipped (no INSIGHTER_TEST_DATABASE_URL and no postgresql-15 installed)'
      );
      return results;
    }
    const database = `insighter_bench_${name}_${process.pid}`;
    for (const server of servers) {
      await admin(server.adminUrl, `create database ${database}`);
    }
    try {
      const databases = servers.map(server => {
        const url = new URL(server.adminUrl);
        url.pathname = `/${database}`;
        return {
          backend: 'postgres' as const,
          durability: server.durability,
          target: { backend: 'postgres' as const, url: url.toString() }
        };
      });
      results.push(...(await bench('postgres', databases, work)));
    } finally {
      for (const server of servers) {
        await admin(
          server.adminUrl,
          `drop database if exists ${database} with (force)`
        );
      }
    }
    return results;
  } finally {
    for (const cluster of clusters) {
      cluster.stop();
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * INSIGHTER_TEST_DATABASE_URL's server as it is configured (its fsync
 * setting says which durability it has), else a throwaway cluster per
 * durability setting (fsync is server-wide).
 */
async function postgresServers(
  clusters: PgCluster[]
): Promise<{ adminUrl: string; durability: Durability }[]> {
  const given = process.env.INSIGHTER_TEST_DATABASE_URL;
  if (given) {
    const fsync = await admin(given, 'show fsync');
    return [{ adminUrl: given, durability: fsync === 'on' ? 'on' : 'off' }];
  }
  if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) {
    return [];
  }
  const servers = [];
  for (const durability of DURABILITY) {
    const cluster = await startPgCluster({ fsync: durability === 'on' });
    clusters.push(cluster);
    servers.push({ adminUrl: cluster.url, durability });
  }
  return servers;
}

/** Runs one statement as the server's admin; answers the first column of the first row. */
async function admin(url: string, sql: string): Promise<unknown> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query({ text: sql, rowMode: 'array' });
    return result.rows[0]?.[0];
  } finally {
    await client.end();
  }
}

/** "pglite, durability on" — how reports name a database. */
export function describeDatabase(database: {
  backend: string;
  durability: Durability;
}): string {
  return `${database.backend}, durability ${database.durability}`;
}

/** For each backend measured both ways: `figure` with durability on ÷ with it off. */
export function durabilityRatios<
  R extends { backend: string; durability: Durability }
>(
  results: R[],
  figure: (result: R) => number
): { backend: string; on_over_off: number }[] {
  return [...new Set(results.map(r => r.backend))].flatMap(backend => {
    const on = results.find(
      r => r.backend === backend && r.durability === 'on'
    );
    const off = results.find(
      r => r.backend === backend && r.durability === 'off'
    );
    return on && off
      ? [{ backend, on_over_off: figure(on) / figure(off) }]
      : [];
  });
}
