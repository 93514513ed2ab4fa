import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadRegistry } from '@insighter/registry';
import { createApp } from '../../src/app';
import { createAuth, type Auth } from '../../src/auth';
import { issuerAt } from '../../src/auth/access-tokens';
import { loadJwtKeys } from '../../src/auth/keys';
import { loadConfig } from '../../src/config';
import type { SqlDatabase } from '../../src/db/sql-database';
import type { JwtClaims } from '../../src/db/types';
import { createDeployments, type Deployments } from '../../src/deployments';
import type { ModelSource, ModelVersionRef } from '../../src/deployments/model-source';
import type { ServingRunners } from '../../src/deployments/placement';
import { EventHub } from '../../src/events/hub';
import { PYTHON, TRAINING_PYTHON_DIR } from '../../src/jobs/training-package';
import { folderDigest } from '../../src/tracking/model-digest';
import { attachEventStream, type EventStream } from '../../src/events/stream';
import { ProjectsService } from '../../src/services/projects';
import { StatusService } from '../../src/services/status';
import { signIn } from '../projects/harness';
import {
  createUser,
  freshDatabase,
  silentLogger,
  type TestBackend,
  type TestUser
} from '../support/postgres';

/**
 * The sidecar as `startSidecar` wires deployments — projects, the
 * `/api/v1/deployments` routes, the prediction endpoint in front of the app,
 * real scoring workers (python3 -m insighter_serve) — on a real port over a
 * fresh migrated database. Models come from `FixtureModels` instead of the
 * registry: a german_credit pipeline built and written by the training
 * script's own code (insighter_train), without a training job.
 */
export const GERMAN_CREDIT =
  process.env.INSIGHTER_TEST_GERMAN_CREDIT ??
  '/work/shared/data/german_credit.csv';
const WRITE_MODEL = path.join(__dirname, 'fixtures', 'write_model.py');
const run = promisify(execFile);

export type FixtureKind = 'logistic' | 'xgboost' | 'forest' | 'categorical';

/**
 * A model directory for `kind`, written once per machine and reused (the
 * folder's name is a hash of the writer script and the data): each takes
 * about two seconds to fit.
 */
export async function fixtureModel(kind: FixtureKind): Promise<string> {
  const hash = createHash('sha256')
    .update(fs.readFileSync(WRITE_MODEL))
    .update(fs.readFileSync(path.join(TRAINING_PYTHON_DIR, 'insighter_train', 'training.py')))
    .update(fs.readFileSync(path.join(TRAINING_PYTHON_DIR, 'insighter_train', 'model_files.py')))
    .update(fs.readFileSync(GERMAN_CREDIT))
    .update(kind)
    .digest('hex')
    .slice(0, 16);
  const dir = path.join(os.tmpdir(), `insighter-model-fixture-${kind}-${hash}`);
  if (fs.existsSync(path.join(dir, 'MLmodel'))) {
    return dir;
  }
  const scratch = fs.mkdtempSync(`${dir}-tmp-`);
  const args = [WRITE_MODEL, '--csv', GERMAN_CREDIT, '--out', scratch];
  if (kind === 'categorical') {
    args.push('--estimator', 'xgboost', '--categorical');
  } else {
    args.push('--estimator', kind);
  }
  await run(PYTHON, args, {
    timeout: 120_000,
    env: { ...process.env, PYTHONPATH: TRAINING_PYTHON_DIR }
  });
  try {
    // Atomic: test files running at the same time may write the same fixture.
    fs.renameSync(scratch, dir);
  } catch {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return dir;
}

/**
 * Registers a model folder as the next version of `<slug>` in a sidecar's
 * built-in registry, as a training job would: through MLflow's REST API, the
 * files logged as the artifacts (`model/…`) of a new run of the project's
 * experiment. Answers the version number.
 */
export async function registerVersion(
  baseUrl: string,
  token: string,
  slug: string,
  modelDir: string
): Promise<number> {
  const mlflow = async (endpoint: string, body: unknown) => {
    const res = await fetch(`${baseUrl}/api/2.0/mlflow/${endpoint}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body)
    });
    const answer = (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    if (!res.ok && answer.error_code !== 'RESOURCE_ALREADY_EXISTS') {
      throw new Error(`${endpoint}: ${res.status} ${JSON.stringify(answer)}`);
    }
    return answer;
  };
  let experimentId = (await mlflow('experiments/create', { name: slug })).experiment_id as string | undefined;
  if (!experimentId) {
    const found = await fetch(
      `${baseUrl}/api/2.0/mlflow/experiments/get-by-name?experiment_name=${encodeURIComponent(slug)}`,
      { headers: { authorization: `Bearer ${token}` } }
    );
    experimentId = ((await found.json()) as { experiment: { experiment_id: string } }).experiment.experiment_id;
  }
  const runId = (await mlflow('runs/create', { experiment_id: experimentId })).run.info.run_id as string;
  for (const file of fs.readdirSync(modelDir)) {
    const res = await fetch(
      `${baseUrl}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/model/${file}`,
      { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: fs.readFileSync(path.join(modelDir, file)) }
    );
    if (!res.ok) {
      throw new Error(`uploading ${file}: ${res.status} ${await res.text()}`);
    }
  }
  await mlflow('registered-models/create', { name: slug });
  const version = await mlflow('model-versions/create', { name: slug, source: `runs:/${runId}/model`, run_id: runId });
  return Number(version.model_version.version);
}

/**
 * The registry stand-in: (model name, version) → a fixture folder. Fixtures
 * are written by the training script's own code, so they count as versions
 * an Insighter job produced (their digest recorded) unless registered with
 * `builtIn: false`.
 */
export class FixtureModels implements ModelSource {
  private readonly versions = new Map<string, { ref: ModelVersionRef; dir: string }>();
  /** Called before each download: lets a test hold or fail one. */
  beforeDownload?: (model: ModelVersionRef) => Promise<void>;

  async register(
    projectId: string,
    name: string,
    version: number,
    dir: string,
    options: { builtIn?: boolean } = {}
  ): Promise<void> {
    this.versions.set(`${name}@${version}`, {
      ref: {
        name,
        version,
        projectId,
        source: `runs:/${randomUUID().replace(/-/g, '')}/model`,
        builtInDigest: options.builtIn === false ? undefined : await folderDigest(dir)
      },
      dir
    });
  }

  async findVersion(
    _user: JwtClaims,
    name: string,
    version: number
  ): Promise<ModelVersionRef | undefined> {
    return this.versions.get(`${name}@${version}`)?.ref;
  }

  async download(_user: JwtClaims, model: ModelVersionRef, dir: string): Promise<void> {
    await this.beforeDownload?.(model);
    const entry = this.versions.get(`${model.name}@${model.version}`);
    if (!entry) {
      throw new Error('unknown fixture');
    }
    for (const file of fs.readdirSync(entry.dir)) {
      fs.copyFileSync(path.join(entry.dir, file), path.join(dir, file));
    }
  }
}

export interface SignedInUser extends TestUser {
  token: string;
}

export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

export interface DeploymentsTestServer {
  backend: TestBackend;
  url: string;
  dataDir: string;
  db: SqlDatabase;
  auth: Auth;
  hub: EventHub;
  stream: EventStream;
  models: FixtureModels;
  deployments: Deployments;
  user(name?: string): Promise<SignedInUser>;
  team(owner: TestUser, members?: [TestUser, 'viewer' | 'member' | 'admin'][]): Promise<string>;
  /** A JSON request as `user` (no Authorization header for `null`). */
  api(user: SignedInUser | null, method: string, pathname: string, body?: unknown): Promise<ApiAnswer>;
  /** A project of `user`'s, with the fixture versions registered under its slug. */
  project(user: SignedInUser, name: string, versions: FixtureKind[], body?: Record<string, unknown>): Promise<{ id: string; slug: string }>;
  /** Resolves with the deployment once its status is one of `statuses`. */
  waitFor(user: SignedInUser, id: string, statuses: string[], timeoutMs?: number): Promise<ApiAnswer['body']>;
  /** POST /api/v1/predict/<slug> with the given headers and raw body. */
  predict(slug: string, body: string | Buffer, headers: Record<string, string>): Promise<ApiAnswer>;
  close(): Promise<void>;
}

export async function startDeploymentsTestServer(
  options: {
    backend?: TestBackend;
    dataDir?: string;
    database?: Awaited<ReturnType<typeof freshDatabase>>;
    maxBodyBytes?: number;
    restartDelaysMs?: number[];
    metricsIntervalMs?: number;
    /** Where workers run; default: bubblewrap processes (as createDeployments makes them). */
    runners?: ServingRunners;
  } = {}
): Promise<DeploymentsTestServer> {
  const backend = options.backend ?? 'pglite';
  const dataDir =
    options.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-deployments-test-'));
  const config = loadConfig({
    INSIGHTER_HOST: '127.0.0.1',
    INSIGHTER_API_PORT: '0',
    INSIGHTER_LOG_LEVEL: 'silent',
    INSIGHTER_DATA_DIR: dataDir
  });
  const database = options.database ?? (await freshDatabase(backend));
  let publicUrl = config.publicUrl;
  const auth = await createAuth({
    config: config.auth,
    dataDir,
    publicUrl: () => publicUrl,
    // As startSidecar: the configured URL, so tokens outlive a restart on another port.
    issuer: () => issuerAt(config.publicUrl),
    logger: silentLogger,
    db: database.db
  });
  const keys = await loadJwtKeys(dataDir);
  const hub = new EventHub(silentLogger);
  const projects = new ProjectsService(database.db, hub);
  const models = new FixtureModels();
  const deployments = createDeployments({
    dataDir,
    db: database.db,
    events: hub,
    logger: silentLogger,
    verifier: auth.verifier,
    models,
    maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
    restartDelaysMs: options.restartDelaysMs ?? [100, 200, 400],
    metricsIntervalMs: options.metricsIntervalMs,
    runners: options.runners
  });
  const app = createApp({
    config,
    logger: silentLogger,
    status: new StatusService([], 'test'),
    auth,
    projects,
    deployments: deployments.service,
    tools: loadRegistry(config.toolsManifest)
  });
  const server = http.createServer((req, res) => {
    if (!deployments.predict(req, res)) {
      app(req, res);
    }
  });
  const stream = attachEventStream(server, {
    hub,
    db: database.db,
    verifier: auth.verifier,
    logger: silentLogger
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  publicUrl = url;
  await deployments.restore();

  const tokenFor = (user: TestUser) =>
    signIn(database.db, user, { issuer: issuerAt(config.publicUrl), secret: keys.secret });

  const request = async (
    method: string,
    pathname: string,
    headers: Record<string, string>,
    body?: string | Buffer
  ): Promise<ApiAnswer> => {
    const res = await fetch(`${url}${pathname}`, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: the text as it came.
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };

  const t: DeploymentsTestServer = {
    backend,
    url,
    dataDir,
    db: database.db,
    auth,
    hub,
    stream,
    models,
    deployments,
    async user(name) {
      const user = await createUser(database.db, { fullName: name });
      return { ...user, token: await tokenFor(user) };
    },
    async team(owner, members = []) {
      const teamId = randomUUID();
      await database.db.withClaims(owner.claims, tx =>
        tx.query('insert into public.teams (id, name) values ($1, $2)', [teamId, `Team ${teamId.slice(0, 6)}`])
      );
      for (const [member, role] of members) {
        await database.db.asService(tx =>
          tx.query('insert into public.team_members (team_id, user_id, role) values ($1, $2, $3)', [
            teamId,
            member.id,
            role
          ])
        );
      }
      return teamId;
    },
    api(user, method, pathname, body) {
      const headers: Record<string, string> = {};
      if (user) {
        headers.authorization = `Bearer ${user.token}`;
      }
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
      }
      return request(
        method,
        pathname,
        headers,
        body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
      );
    },
    async project(user, name, versions, body = {}) {
      const created = await t.api(user, 'POST', '/api/v1/projects', { name, ...body });
      if (created.status !== 201) {
        throw new Error(`project: ${created.status} ${JSON.stringify(created.body)}`);
      }
      const { id, slug } = created.body;
      for (const [i, kind] of versions.entries()) {
        await models.register(id, slug, i + 1, await fixtureModel(kind));
      }
      return { id, slug };
    },
    async waitFor(user, id, statuses, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await t.api(user, 'GET', `/api/v1/deployments/${id}`);
        if (statuses.includes(res.body?.status)) {
          return res.body;
        }
        if (Date.now() > deadline) {
          throw new Error(`Deployment ${id} is ${JSON.stringify(res.body)}, not ${statuses.join('/')}`);
        }
        await new Promise(resolve => setTimeout(resolve, 100));
      }
    },
    predict(slug, body, headers) {
      return request('POST', `/api/v1/predict/${slug}`, headers, body);
    },
    async close() {
      await deployments.close();
      await stream.close();
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
      await auth.close();
      if (!options.database) {
        await database.close();
      }
      if (!options.dataDir) {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    }
  };
  return t;
}

/** The first `n` rows of german_credit (without the target) as column names and rows. */
export function creditRows(n: number, drop: string[] = ['Class']): { columns: string[]; data: unknown[][] } {
  const lines = fs.readFileSync(GERMAN_CREDIT, 'utf8').trim().split('\n');
  const header = JSON.parse(`[${lines[0]}]`) as string[];
  const keep = header.map((name, i) => (drop.includes(name) ? -1 : i)).filter(i => i >= 0);
  const data = lines.slice(1, n + 1).map(line => {
    const values = JSON.parse(`[${line}]`) as unknown[];
    return keep.map(i => values[i]);
  });
  return { columns: keep.map(i => header[i]), data };
}
