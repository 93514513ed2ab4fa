/**
 * Issue 4 benchmark: `GET /api/v1/projects` under 32 concurrent clients,
 * next to its baseline in the same run — the same SQL under `withClaims` on
 * the same database, called in a bare loop by 32 concurrent workers (no HTTP,
 * no Express, no JWT check, no JSON). Target: HTTP throughput ≥ 0.5 × bare.
 *
 * Data: 10,000 projects across 1,000 users and 100 teams; the measured user
 * owns 120 private projects and is a member of two teams with 40 projects
 * each, so they see 200 (9,800 they must not see). Both databases: embedded
 * PGlite (in a data dir, as the sidecar runs by default) and PostgreSQL 15
 * (INSIGHTER_TEST_DATABASE_URL, or a throwaway cluster when Debian's
 * postgresql-15 is installed).
 *
 * Each database is measured with durability on (the default: each commit
 * fsynced before it is answered) and off (INSIGHTER_DURABILITY=off; fsync=off
 * on PostgreSQL), in alternating rounds, and the ratios printed: reads should
 * not notice; the seeding (one large write) shows what a commit's fsync costs.
 *
 *   node bench/projects/run.mjs
 *   env: BENCH_DURATION_S (10 per side), BENCH_ROUNDS (4), BENCH_CONNECTIONS (32),
 *        BENCH_BACKENDS (pglite,postgres), BENCH_DURABILITY (on,off),
 *        BENCH_EXPLAIN (print the list query's plan)
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
import type { JwtClaims } from '../../server/src/db/types';
import { listProjects } from '../../server/src/adapters/projects-store';
import { EventHub } from '../../server/src/events/hub';
import { attachEventStream } from '../../server/src/events/stream';
import { ProjectsService } from '../../server/src/services/projects';
import { StatusService } from '../../server/src/services/status';
import {
  describeDatabase,
  durabilityRatios,
  onEachBackend,
  type BenchDatabase,
  type Durability
} from '../backends';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const WARMUP_S = 2;
/** Each side's DURATION_S is split into this many alternating rounds. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const USERS = 1000;
const TEAMS = 100;
const PROJECTS = 10_000;
const VISIBLE = 200;
const TARGET_RATIO = 0.5;
const REPO_ROOT = path.resolve(__dirname, '..', '..');

interface Measurement {
  requests: number;
  seconds: number;
  throughput: number;
  p50_ms: number;
  p95_ms: number;
  errors: number;
  /** The sidecar process's CPU time per request: steadier than throughput on a busy machine. */
  cpu_ms_per_request: number;
}

interface BackendResult {
  backend: string;
  durability: Durability;
  database: string;
  /** Seeding 1,000 users, 100 teams and 10,000 projects (one transaction): what durability costs here. */
  seed_s: number;
  http: Measurement;
  bare: Measurement;
  ratio: number;
  pass: boolean;
}

const silent = pino({ level: 'silent' });

async function main(): Promise<void> {
  report(await onEachBackend('projects', benchBackend));
}

/** One database's sidecar with the measured user, ready for both paths. */
interface Side {
  database: BenchDatabase;
  db: SqlDatabase;
  url: string;
  token: string;
  claims: JwtClaims;
  /** Seeding's wall time: the writes of the run. */
  seedSeconds: number;
  http: Sample[];
  bare: Sample[];
  close(): Promise<void>;
}

async function benchBackend(
  backend: string,
  databases: BenchDatabase[],
  work: string
): Promise<BackendResult[]> {
  const sides: Side[] = [];
  try {
    for (const database of databases) {
      sides.push(await openSide(database, work));
    }
    for (const side of sides) {
      await runHttp(side.url, side.token, WARMUP_S);
      await runBare(side.db, side.claims, WARMUP_S);
    }
    // Alternating rounds (HTTP, bare, bare, HTTP, …; durability on, off,
    // off, on, …), so a change in the machine's load during the run weighs
    // on every side alike.
    const roundSeconds = DURATION_S / ROUNDS;
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
        if (round % 2 === 0) {
          side.http.push(await runHttp(side.url, side.token, roundSeconds));
          side.bare.push(await runBare(side.db, side.claims, roundSeconds));
        } else {
          side.bare.push(await runBare(side.db, side.claims, roundSeconds));
          side.http.push(await runHttp(side.url, side.token, roundSeconds));
        }
      }
    }
    console.log(`\n== ${backend}`);
    return sides.map(side => {
      const httpResult = measure(side.http);
      const bare = measure(side.bare);
      console.log(`   durability ${side.database.durability}:`);
      console.log(`     HTTP: ${fmt(httpResult)}`);
      console.log(`     bare: ${fmt(bare)}`);
      const ratio = httpResult.throughput / bare.throughput;
      return {
        backend: side.database.backend,
        durability: side.database.durability,
        database: side.db.description.replace(/ in \/.*$/, ''),
        seed_s: side.seedSeconds,
        http: httpResult,
        bare,
        ratio,
        pass:
          ratio >= TARGET_RATIO && httpResult.errors === 0 && bare.errors === 0
      };
    });
  } finally {
    for (const side of sides) {
      await side.close();
    }
  }
}

async function openSide(database: BenchDatabase, work: string): Promise<Side> {
  const label = describeDatabase(database);
  console.log(
    `\n== ${label}: opening and seeding (${PROJECTS} projects, ${USERS} users, ${TEAMS} teams)`
  );
  const { db } = await openDatabase(database.target, { logger: silent });
  const dataDir = fs.mkdtempSync(
    path.join(work, `${database.backend}-${database.durability}-`)
  );
  // As in production: request logs at info, written asynchronously (to a file here).
  const logFile = path.join(dataDir, 'sidecar.log');
  const logger = pino(
    { level: 'info' },
    pino.destination({ dest: logFile, sync: false })
  );
  const server = http.createServer();
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>(resolve => server.close(() => resolve()));
    await db.close();
    logger.flush();
  };
  try {
    const started = performance.now();
    const benchUser = await seed(db);
    const seedSeconds = (performance.now() - started) / 1000;
    console.log(`   seeded in ${seedSeconds.toFixed(1)} s`);

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
    const app = createApp({
      config,
      logger,
      status: new StatusService([], 'bench'),
      auth,
      projects: new ProjectsService(db, hub)
    });
    server.on('request', app);
    const stream = attachEventStream(server, {
      hub,
      db,
      verifier: auth.verifier,
      logger
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const keys = await loadJwtKeys(dataDir);
    // A signed-in session: every token is checked against its session.
    const amr = [{ method: 'password', timestamp: Math.floor(Date.now() / 1000) }];
    const session = await db.asService(tx =>
      insertSession(tx, { id: randomUUID(), userId: benchUser.sub, amr })
    );
    const { token } = await issueAccessToken({
      user: {
        id: benchUser.sub,
        aud: 'authenticated',
        role: 'authenticated',
        email: benchUser.email as string,
        phone: null,
        encrypted_password: null,
        email_confirmed_at: new Date(),
        confirmation_sent_at: null,
        recovery_sent_at: null,
        last_sign_in_at: new Date(),
        raw_app_meta_data: { provider: 'email', providers: ['email'] },
        raw_user_meta_data: {},
        banned_until: null,
        is_anonymous: false,
        created_at: new Date(),
        updated_at: new Date()
      },
      sessionId: session.id,
      aal: 'aal1',
      amr,
      issuer: `${config.publicUrl}/auth/v1`,
      expiresInSeconds: 3600,
      secret: keys.secret
    });
    const claims = await auth.verifier.verify(token);

    // Both paths read the same 200 rows.
    const viaHttp = await fetch(`${url}/api/v1/projects`, {
      headers: { authorization: `Bearer ${token}` }
    });
    const httpRows = ((await viaHttp.json()) as { projects: unknown[] })
      .projects.length;
    const bareRows = (await db.withClaims(claims, listProjects)).length;
    if (httpRows !== VISIBLE || bareRows !== VISIBLE) {
      throw new Error(
        `Expected ${VISIBLE} visible projects, got ${httpRows} over HTTP and ${bareRows} bare.`
      );
    }
    console.log(
      `   the measured user sees ${VISIBLE} of ${PROJECTS} projects on both paths`
    );
    if (process.env.BENCH_EXPLAIN) {
      const plan = await db.withClaims(claims, tx =>
        tx.query<{ 'QUERY PLAN': string }>(
          'explain (analyze, buffers) select * from public.projects p order by p.updated_at desc, p.id'
        )
      );
      console.log(plan.rows.map(r => `     ${r['QUERY PLAN']}`).join('\n'));
    }
    return {
      database,
      db,
      url,
      token,
      claims,
      seedSeconds,
      http: [],
      bare: [],
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

/**
 * 1,000 users; 100 teams of 10 (team 1 and 2 include the measured user);
 * the measured user owns 120 private projects, teammates of teams 1–2 own 80
 * team projects there, and everyone else owns the other 9,800 (70 % private,
 * 30 % in teams 3–100).
 */
async function seed(db: SqlDatabase): Promise<JwtClaims> {
  return db.asService(async tx => {
    const users = await tx.query<{ id: string; email: string }>(
      `insert into auth.users
         (instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
          raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
       select '00000000-0000-0000-0000-000000000000', gen_random_uuid(), 'authenticated',
              'authenticated', 'bench' || n || '@example.com', '', now(),
              '{"provider":"email","providers":["email"]}', jsonb_build_object('full_name', 'Bench ' || n),
              now(), now()
       from generate_series(1, $1::int) n
       returning id, email`,
      [USERS]
    );
    const ids = users.rows.map(u => u.id);
    const me = users.rows[0];
    // Team t (1-based) has members ids[(t-1)*10 .. t*10-1]; its first member creates it (owner).
    // The measured user (ids[0]) is in team 1 as owner and joins team 2 as a member.
    const teamIds: string[] = [];
    for (let t = 0; t < TEAMS; t++) {
      const teamId = randomUUID();
      teamIds.push(teamId);
      await tx.query(
        'insert into public.teams (id, name, created_by) values ($1, $2, $3)',
        [teamId, `Team ${t + 1}`, ids[t * 10]]
      );
      await tx.query(
        `insert into public.team_members (team_id, user_id, role)
         select $1, u, 'member' from unnest($2::uuid[]) u`,
        [teamId, ids.slice(t * 10 + 1, t * 10 + 10)]
      );
    }
    await tx.query(
      "insert into public.team_members (team_id, user_id, role) values ($1, $2, 'member')",
      [teamIds[1], me.id]
    );
    // owner, visibility, team per project, then one insert.
    const owners: string[] = [];
    const teams: (string | null)[] = [];
    for (let i = 0; i < 120; i++) {
      owners.push(me.id);
      teams.push(null);
    }
    for (let i = 0; i < 80; i++) {
      const team = i < 40 ? 0 : 1;
      owners.push(ids[team * 10 + 1 + (i % 9)]);
      teams.push(teamIds[team]);
    }
    for (let i = owners.length; i < PROJECTS; i++) {
      const team = 2 + (i % (TEAMS - 2));
      if (i % 10 < 3) {
        owners.push(ids[team * 10 + (i % 10)]);
        teams.push(teamIds[team]);
      } else {
        owners.push(ids[20 + (i % (USERS - 20))]);
        teams.push(null);
      }
    }
    await tx.query(
      `insert into public.projects (slug, name, description, visibility, team_id, owner_id)
       select 'bench-' || n, 'Project ' || n, 'Seeded for the benchmark',
              case when t is null then 'private' else 'team' end, t, o
       from unnest($1::uuid[], $2::uuid[]) with ordinality as x(o, t, n)`,
      [owners, teams]
    );
    await tx.query('analyze');
    return {
      sub: me.id,
      role: 'authenticated',
      email: me.email,
      aud: 'authenticated'
    } as JwtClaims;
  });
}

/** autocannon in a child process (load.mjs), so the load generator does not share the sidecar's event loop. */
function runHttp(url: string, token: string, seconds: number): Promise<Sample> {
  return withCpu(() => loadOverHttp(url, token, seconds));
}

async function loadOverHttp(
  url: string,
  token: string,
  seconds: number
): Promise<Omit<Sample, 'cpuMs'>> {
  const child = spawn(
    process.execPath,
    [
      path.join(__dirname, 'load.mjs'),
      `${url}/api/v1/projects`,
      token,
      String(CONNECTIONS),
      String(seconds)
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  );
  let output = '';
  child.stdout.on('data', chunk => (output += chunk));
  const code = await new Promise<number | null>(resolve =>
    child.on('close', resolve)
  );
  if (code !== 0) {
    throw new Error(`The load generator failed (exit ${code}).`);
  }
  const result = JSON.parse(output) as { errors: number; latencies: number[] };
  return { latencies: result.latencies, seconds, errors: result.errors };
}

function runBare(
  db: SqlDatabase,
  claims: JwtClaims,
  seconds: number
): Promise<Sample> {
  return withCpu(() => loadBare(db, claims, seconds));
}

async function loadBare(
  db: SqlDatabase,
  claims: JwtClaims,
  seconds: number
): Promise<Omit<Sample, 'cpuMs'>> {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const started = performance.now();
        try {
          const rows = await db.withClaims(claims, listProjects);
          if (rows.length !== VISIBLE) {
            errors += 1;
          }
        } catch {
          errors += 1;
        }
        latencies.push(performance.now() - started);
      }
    })
  );
  return { latencies, seconds, errors };
}

/** Requests' latencies over some seconds of load. */
interface Sample {
  latencies: number[];
  seconds: number;
  errors: number;
  /** CPU time this (the sidecar's) process spent, in ms. */
  cpuMs: number;
}

/** Runs `fn` and adds this process's CPU time during it to its sample. */
async function withCpu(
  fn: () => Promise<Omit<Sample, 'cpuMs'>>
): Promise<Sample> {
  const before = process.cpuUsage();
  const sample = await fn();
  const used = process.cpuUsage(before);
  return { ...sample, cpuMs: (used.user + used.system) / 1000 };
}

function measure(samples: Sample[]): Measurement {
  const sorted = samples.flatMap(s => s.latencies).sort((a, b) => a - b);
  const seconds = samples.reduce((sum, s) => sum + s.seconds, 0);
  const errors = samples.reduce((sum, s) => sum + s.errors, 0);
  const cpuMs = samples.reduce((sum, s) => sum + s.cpuMs, 0);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return {
    requests: sorted.length,
    seconds,
    throughput: sorted.length / seconds,
    p50_ms: at(0.5),
    p95_ms: at(0.95),
    errors,
    cpu_ms_per_request: cpuMs / Math.max(sorted.length, 1)
  };
}

function fmt(m: Measurement): string {
  return `${m.throughput.toFixed(0)} req/s, p50 ${m.p50_ms.toFixed(1)} ms, p95 ${m.p95_ms.toFixed(1)} ms, ${m.cpu_ms_per_request.toFixed(2)} ms CPU per request, ${m.requests} requests, ${m.errors} errors`;
}

function report(results: BackendResult[]): void {
  console.log(
    `\nGET /api/v1/projects (${VISIBLE} of ${PROJECTS} rows visible), ${CONNECTIONS} concurrent clients, ${DURATION_S} s each` +
      ` in ${ROUNDS} alternating rounds; load average ${os
        .loadavg()
        .map(l => l.toFixed(1))
        .join(' ')} on ${os.cpus().length} CPUs`
  );
  console.log(
    'database                  | HTTP req/s | HTTP p95 ms | bare req/s | bare p95 ms | ratio | target ≥ 0.5 | seed s'
  );
  for (const r of results) {
    console.log(
      [
        describeDatabase(r).padEnd(25),
        r.http.throughput.toFixed(0).padStart(10),
        r.http.p95_ms.toFixed(1).padStart(11),
        r.bare.throughput.toFixed(0).padStart(10),
        r.bare.p95_ms.toFixed(1).padStart(11),
        r.ratio.toFixed(2).padStart(5),
        (r.pass ? 'PASS' : 'FAIL').padEnd(12),
        r.seed_s.toFixed(1).padStart(6)
      ].join(' | ')
    );
  }
  const cost = durabilityRatios(results, r => r.http.throughput).map(
    ({ backend, on_over_off }) => ({
      backend,
      http_throughput_on_over_off: on_over_off,
      seed_time_on_over_off:
        durabilityRatios(results, r => r.seed_s).find(
          s => s.backend === backend
        )?.on_over_off ?? NaN
    })
  );
  for (const c of cost) {
    console.log(
      `what durability costs on ${c.backend} (on ÷ off): HTTP throughput ${c.http_throughput_on_over_off.toFixed(2)}, seeding time ${c.seed_time_on_over_off.toFixed(2)}`
    );
  }
  const dir = path.join(REPO_ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(
    dir,
    `projects-${new Date().toISOString().replace(/[:.]/g, '-')}.json`
  );
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        benchmark: 'GET /api/v1/projects vs the same SQL under withClaims',
        connections: CONNECTIONS,
        duration_s: DURATION_S,
        projects: PROJECTS,
        users: USERS,
        visible: VISIBLE,
        machine: {
          cpus: os.cpus().length,
          node: process.version,
          load_average: os.loadavg()
        },
        results,
        durability_cost: cost
      },
      null,
      2
    )
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
