import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pino from 'pino';
import { openDatabase } from '../../src/db/open';
import { DOCKER_MISSING_ENV, startDockerd, type TestDockerd } from './dockerd';
import { startPgCluster, type PgCluster } from './pg-cluster';

/**
 * Once per test run: a PostgreSQL 15 server (unless INSIGHTER_TEST_DATABASE_URL
 * names one), a Docker engine (unless DOCKER_HOST names one) and two PGlite
 * snapshots — freshly initialised, and migrated — so each test file gets its
 * own database in about a second instead of running initdb (≈ 5 s) again.
 * Paths reach the workers through env vars.
 */
export default async function globalSetup(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-test-'));
  (globalThis as { __insighterTest?: TestRunState }).__insighterTest = { work };

  const cluster = process.env.INSIGHTER_TEST_DATABASE_URL
    ? undefined
    : startPgCluster();
  // A missing engine fails the Docker suites (with this reason), not the run.
  const dockerd = process.env.DOCKER_HOST
    ? undefined
    : startDockerd().catch((err: Error) => {
        process.env[DOCKER_MISSING_ENV] = err.message;
        return undefined;
      });
  const snapshots = buildPgliteSnapshots(work);
  const [started, engine] = await Promise.all([cluster, dockerd, snapshots]);
  if (started) {
    process.env.INSIGHTER_TEST_DATABASE_URL = started.url;
  }
  if (engine) {
    process.env.DOCKER_HOST = engine.host;
  }
  (globalThis as { __insighterTest?: TestRunState }).__insighterTest = {
    work,
    cluster: started,
    dockerd: engine
  };
}

export interface TestRunState {
  work: string;
  cluster?: PgCluster;
  dockerd?: TestDockerd;
}

async function buildPgliteSnapshots(work: string): Promise<void> {
  const pristine = new PGlite();
  await pristine.waitReady;
  const pristineFile = path.join(work, 'pglite-pristine.tar');
  fs.writeFileSync(
    pristineFile,
    Buffer.from(await (await pristine.dumpDataDir('none')).arrayBuffer())
  );
  await pristine.close();

  const blob = new Blob([fs.readFileSync(pristineFile)]);
  const { db } = await openDatabase(
    { backend: 'pglite', loadFrom: blob },
    { logger: pino({ level: 'silent' }) }
  );
  const migratedFile = path.join(work, 'pglite-migrated.tar');
  const dump = await db.snapshot();
  fs.writeFileSync(migratedFile, Buffer.from(await dump.arrayBuffer()));
  await db.close();

  process.env.INSIGHTER_TEST_PGLITE_PRISTINE = pristineFile;
  process.env.INSIGHTER_TEST_PGLITE_MIGRATED = migratedFile;
}
