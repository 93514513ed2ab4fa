/**
 * Issue 6 benchmark: MLflow's `runs/log-batch` with 1,000 metrics, through
 * the sidecar over HTTP (auth, JSON, MLflow's checks, RLS, one multi-row
 * insert, the run.metric events to an open event stream), next to the
 * figures MLflow's own issue about slow log_batch reports for its SQL store:
 * 9 s for 1,000 metrics before its fix, 0.13–0.2 s after. Target: ≤ 0.05 s.
 *
 * Both databases: embedded PGlite (in a data dir, as the sidecar runs by
 * default) and PostgreSQL 15 (INSIGHTER_TEST_DATABASE_URL, or a throwaway
 * cluster when Debian's postgresql-15 is installed). The client runs in its
 * own process: N sequential requests, each timed from send to answer, and
 * the time until all 1,000 events of the batch reached its event stream.
 *
 * Each database is measured with durability on (the default: each commit
 * fsynced before it is answered) and off (INSIGHTER_DURABILITY=off; fsync=off
 * on PostgreSQL), in alternating rounds, and the ratio printed: what
 * durability costs a log-batch.
 *
 *   node bench/tracking/run.mjs
 *   env: BENCH_RUNS (30 per setting), BENCH_TRACKING_ROUNDS (3), BENCH_WARMUP (5),
 *        BENCH_BACKENDS (pglite,postgres), BENCH_DURABILITY (on,off)
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp } from '../../server/src/app';
import { createAuth } from '../../server/src/auth';
import { issueAccessToken } from '../../server/src/auth/access-tokens';
import { loadJwtKeys } from '../../server/src/auth/keys';
import { insertSession } from '../../server/src/auth/store';
import { loadConfig } from '../../server/src/config';
import { openDatabase } from '../../server/src/db/open';
import type { SqlDatabase } from '../../server/src/db/sql-database';
import { EventHub } from '../../server/src/events/hub';
import { attachEventStream } from '../../server/src/events/stream';
import { StatusService } from '../../server/src/services/status';
import { createTracking } from '../../server/src/tracking';
import { describeDatabase, durabilityRatios, onEachBackend, type BenchDatabase, type Durability } from '../backends';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 5);
const ROUNDS = Number(process.env.BENCH_TRACKING_ROUNDS ?? 3);
const METRICS = 1000;
const TARGET_S = 0.05;
/** MLflow's issue: log_batch of 1,000 metrics on its SQL store. */
const MLFLOW_BEFORE_S = 9;
const MLFLOW_AFTER_S = [0.13, 0.2] as const;
const REPO_ROOT = path.resolve(__dirname, '..', '..');

interface Stats {
  median_ms: number;
  p95_ms: number;
  min_ms: number;
  max_ms: number;
}

interface BackendResult {
  backend: string;
  durability: Durability;
  database: string;
  runs: number;
  log_batch: Stats;
  /**
   * The sidecar process's CPU time per log-batch (events included): steadier
   * than latency on a busy machine. With PGlite the database's work is in
   * it; PostgreSQL works in its own processes.
   */
  sidecar_cpu_ms_per_batch: number;
  events_delivered: Stats;
  errors: number;
  stored_metrics: number;
  pass: boolean;
}

const silent = pino({ level: 'silent' });

async function main(): Promise<void> {
  report(await onEachBackend('tracking', benchBackend));
}

/** One database's sidecar, ready for the client: its URL, a token and the run to log to. */
interface Side {
  database: BenchDatabase;
  db: SqlDatabase;
  url: string;
  token: string;
  runId: string;
  latencies: number[];
  delivered: number[];
  errors: number;
  cpuMs: number;
  close(): Promise<void>;
}

async function benchBackend(
  backend: string,
  databases: BenchDatabase[],
  work: string
): Promise<BackendResult[]> {
  console.log(
    `\n== ${backend}: log-batch of ${METRICS} metrics, ${RUNS} runs per durability setting in ${ROUNDS} alternating rounds after ${WARMUP} warm-up`
  );
  const sides: Side[] = [];
  try {
    for (const database of databases) {
      sides.push(await openSide(database, work));
    }
    for (const side of sides) {
      await client(side.url, side.token, side.runId, WARMUP);
    }
    // Rounds alternate between the settings (on, off, off, on, …), so a
    // change in the machine's load weighs on both alike.
    for (let round = 0; round < ROUNDS; round++) {
      const runs = Math.floor(((round + 1) * RUNS) / ROUNDS) - Math.floor((round * RUNS) / ROUNDS);
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        const cpuBefore = process.cpuUsage();
        const measured = await client(side.url, side.token, side.runId, runs);
        const cpu = process.cpuUsage(cpuBefore);
        side.cpuMs += (cpu.user + cpu.system) / 1000;
        side.latencies.push(...measured.latencies);
        side.delivered.push(...measured.delivered);
        side.errors += measured.errors;
      }
    }
    const results: BackendResult[] = [];
    for (const side of sides) {
      results.push(await resultOf(side));
    }
    return results;
  } finally {
    for (const side of sides) {
      await side.close();
    }
  }
}

async function openSide(database: BenchDatabase, work: string): Promise<Side> {
  const { db } = await openDatabase(database.target, { logger: silent });
  const dataDir = fs.mkdtempSync(path.join(work, `${database.backend}-${database.durability}-`));
  // As in production: request logs at info, written asynchronously (to a file here).
  const logger = pino(
    { level: 'info' },
    pino.destination({ dest: path.join(dataDir, 'sidecar.log'), sync: false })
  );
  const server = http.createServer();
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>(resolve => server.close(() => resolve()));
    await db.close();
    logger.flush();
  };
  try {
    const user = await seedUser(db);
    const config = loadConfig({
      INSIGHTER_HOST: '127.0.0.1',
      INSIGHTER_API_PORT: '0',
      INSIGHTER_DATA_DIR: dataDir
    });
    const auth = await createAuth({
      config: config.auth,
      dataDir,
      publicUrl: () => config.publicUrl,
      logger,
      db
    });
    const hub = new EventHub(logger);
    const tracking = createTracking({ db, events: hub });
    server.on(
      'request',
      createApp({ config, logger, status: new StatusService([], 'bench'), auth, tracking })
    );
    const stream = attachEventStream(server, { hub, db, verifier: auth.verifier, logger });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const token = await tokenFor(db, user, dataDir, config.publicUrl);
    const claims = await auth.verifier.verify(token);

    const project = (
      await db.withClaims(claims, tx =>
        tx.query<{ id: string; slug: string }>(
          "insert into public.projects (slug, name) values ('bench-tracking', 'Bench tracking') returning id, slug"
        )
      )
    ).rows[0];
    const { experiment_id } = await tracking.store.getOrCreateProjectExperiment(claims, project);
    const run = await tracking.store.createRun(claims, { experiment_id, run_name: 'bench' });
    return {
      database,
      db,
      url,
      token,
      runId: run.info.run_id,
      latencies: [],
      delivered: [],
      errors: 0,
      cpuMs: 0,
      close: async () => {
        await stream.close();
        await auth.close();
        await close();
      }
    };
  } catch (err) {
    await close();
    throw err;
  }
}

async function resultOf(side: Side): Promise<BackendResult> {
  const { database, db, runId } = side;
  const runs = side.latencies.length;
  const stored = (
    await db.asService(tx =>
      tx.query<{ n: number }>('select count(*)::int as n from public.run_metrics where run_id = $1', [
        runId
      ])
    )
  ).rows[0].n;
  if (stored !== (WARMUP + runs) * METRICS) {
    throw new Error(`Expected ${(WARMUP + runs) * METRICS} stored metrics, found ${stored}.`);
  }
  const cpuPerBatch = Math.round((side.cpuMs / runs) * 10) / 10;
  const logBatch = stats(side.latencies);
  const delivered = stats(side.delivered);
  console.log(`   durability ${database.durability}:`);
  console.log(`     log-batch: ${fmt(logBatch)}`);
  console.log(`     all 1,000 run.metric events at the open stream: ${fmt(delivered)}`);
  console.log(
    `     sidecar CPU per log-batch: ${cpuPerBatch} ms${database.backend === 'postgres' ? ' (the database works in its own processes)' : ' (database included)'}`
  );
  console.log(`     stored: ${stored} metric values (warm-up included), errors: ${side.errors}`);
  return {
    backend: database.backend,
    durability: database.durability,
    database: db.description.replace(/ in \/.*$/, ''),
    runs,
    log_batch: logBatch,
    sidecar_cpu_ms_per_batch: cpuPerBatch,
    events_delivered: delivered,
    errors: side.errors,
    stored_metrics: stored,
    pass: side.errors === 0 && logBatch.median_ms <= TARGET_S * 1000
  };
}

async function seedUser(db: SqlDatabase): Promise<{ id: string; email: string }> {
  const { rows } = await db.asService(tx =>
    tx.query<{ id: string; email: string }>(
      `insert into auth.users
         (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
          raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
       values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated',
               'authenticated', 'bench-tracking@example.com', '', now(),
               '{"provider":"email","providers":["email"]}', '{"full_name":"Bench"}', now(), now())
       returning id, email`
    )
  );
  return rows[0];
}

/** A signed-in session of the user (tokens are checked against it) and its access token. */
async function tokenFor(
  db: SqlDatabase,
  user: { id: string; email: string },
  dataDir: string,
  url: string
): Promise<string> {
  const keys = await loadJwtKeys(dataDir);
  const now = new Date();
  const amr = [{ method: 'password', timestamp: Math.floor(Date.now() / 1000) }];
  const session = await db.asService(tx =>
    insertSession(tx, { id: randomUUID(), userId: user.id, amr })
  );
  return (
    await issueAccessToken({
      user: {
        id: user.id,
        aud: 'authenticated',
        role: 'authenticated',
        email: user.email,
        phone: null,
        encrypted_password: null,
        email_confirmed_at: now,
        confirmation_sent_at: null,
        recovery_sent_at: null,
        last_sign_in_at: now,
        raw_app_meta_data: { provider: 'email', providers: ['email'] },
        raw_user_meta_data: {},
        banned_until: null,
        is_anonymous: false,
        created_at: now,
        updated_at: now
      },
      sessionId: session.id,
      aal: 'aal1',
      amr,
      issuer: `${url}/auth/v1`,
      expiresInSeconds: 3600,
      secret: keys.secret
    })
  ).token;
}

/** client.mjs in a child process: the requests and the event stream, timed there. */
async function client(
  url: string,
  token: string,
  runId: string,
  count: number
): Promise<{ latencies: number[]; delivered: number[]; errors: number }> {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, 'client.mjs'), url, token, runId, String(count)],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  );
  let output = '';
  child.stdout.on('data', chunk => (output += chunk));
  const code = await new Promise<number | null>(resolve => child.on('close', resolve));
  if (code !== 0) {
    throw new Error(`The benchmark client failed (exit ${code}).`);
  }
  return JSON.parse(output);
}

function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    median_ms: round(at(0.5)),
    p95_ms: round(at(0.95)),
    min_ms: round(sorted[0]),
    max_ms: round(sorted[sorted.length - 1])
  };
}

function fmt(s: Stats): string {
  return `median ${s.median_ms} ms, p95 ${s.p95_ms} ms (min ${s.min_ms}, max ${s.max_ms})`;
}

function report(results: BackendResult[]): void {
  console.log(
    `\n== log-batch of ${METRICS} metrics (load average ${os
      .loadavg()
      .map(l => l.toFixed(2))
      .join(' ')} on ${os.cpus().length} cores)`
  );
  console.log(
    `   baseline, MLflow's issue (SQL store): ${MLFLOW_BEFORE_S} s before its fix, ${MLFLOW_AFTER_S[0]}–${MLFLOW_AFTER_S[1]} s after; target ≤ ${TARGET_S} s`
  );
  for (const r of results) {
    const median = r.log_batch.median_ms / 1000;
    console.log(
      `   ${describeDatabase(r).padEnd(26)} median ${median.toFixed(3)} s, p95 ${(r.log_batch.p95_ms / 1000).toFixed(3)} s` +
        ` — ${(MLFLOW_BEFORE_S / median).toFixed(0)}× faster than MLflow before its fix,` +
        ` ${(MLFLOW_AFTER_S[0] / median).toFixed(1)}–${(MLFLOW_AFTER_S[1] / median).toFixed(1)}× faster than after` +
        `, sidecar CPU ${r.sidecar_cpu_ms_per_batch} ms — ${r.pass ? 'PASS' : 'FAIL'}`
    );
  }
  const cost = durabilityRatios(results, r => r.log_batch.median_ms);
  for (const { backend, on_over_off } of cost) {
    console.log(
      `   what durability costs on ${backend}: log-batch median with it on ÷ off = ${on_over_off.toFixed(2)}`
    );
  }
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `tracking-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        benchmark: 'tracking log-batch of 1,000 metrics',
        target_s: TARGET_S,
        baseline: {
          source: "MLflow's issue on slow log_batch (SQL store)",
          before_fix_s: MLFLOW_BEFORE_S,
          after_fix_s: MLFLOW_AFTER_S
        },
        machine: { cpus: os.cpus().length, load_average: os.loadavg() },
        results,
        durability_cost: cost
      },
      null,
      2
    ) + '\n'
  );
  console.log(`results: ${path.relative(REPO_ROOT, file)}`);
  if (results.some(r => !r.pass)) {
    process.exitCode = 1;
  }
}

main().catch(err => {
  console.error(err);
  process.exit(1);
});
