import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { startSidecar, type RunningSidecar } from '../../src/server';
import { connectEvents, type EventClient } from '../projects/harness';
import {
  scratchPostgresDatabase,
  silentLogger,
  type ScratchDatabase,
  type TestBackend
} from '../support/postgres';

/**
 * The real sidecar (`startSidecar`: every route, the event stream, the
 * runners, tracking, datasets) on a scratch PostgreSQL 15 database (or, with
 * `backend: 'pglite'`, PGlite in the data dir) and a temp data dir, in this process — or as a child process (`sidecar-child.js`) for
 * tests that kill it. People sign up through `/auth/v1` (auto-confirmed) and
 * get real access tokens.
 */
export const GERMAN_CREDIT =
  process.env.INSIGHTER_TEST_GERMAN_CREDIT ??
  '/work/shared/data/german_credit.csv';

export interface Person {
  id: string;
  email: string;
  token: string;
}

export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
}

export interface JobsSidecar {
  url: string;
  dataDir: string;
  /** The scratch PostgreSQL database; undefined on PGlite. */
  database?: ScratchDatabase;
  person(fullName?: string): Promise<Person>;
  api(
    person: Person | null,
    method: string,
    pathname: string,
    body?: unknown
  ): Promise<ApiAnswer>;
  /** A private project of `owner`: its id and slug. */
  project(owner: Person, name?: string): Promise<{ id: string; slug: string }>;
  /** A CSV uploaded as a dataset of the project: its record. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  dataset(
    owner: Person,
    projectId: string,
    name: string,
    csv: Buffer | string
  ): Promise<any>;
  events(person: Person): Promise<EventClient>;
  /** Polls the job until it ended (or `timeoutMs`). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ended(person: Person, jobId: string, timeoutMs?: number): Promise<any>;
  /** Polls until the job has logged a line matching `pattern`. */
  logged(
    person: Person,
    jobId: string,
    pattern: RegExp,
    timeoutMs?: number
  ): Promise<void>;
  /** Stops the sidecar (SIGKILL for a child) and keeps its data dir and database. */
  kill(): Promise<void>;
  close(): Promise<void>;
}

export interface JobsSidecarOptions {
  env?: Record<string, string>;
  /** Run `src/main.ts` in a child process (to kill it); default: in this process. */
  child?: boolean;
  /** Reuse a data dir and database (a restart). */
  reuse?: { dataDir: string; database: ScratchDatabase; port: number };
  /** 'postgres' (default): a scratch database; 'pglite': the embedded database in the data dir. */
  backend?: TestBackend;
}

const TEST_ENV: Record<string, string> = {
  INSIGHTER_HOST: '127.0.0.1',
  INSIGHTER_LOG_LEVEL: 'silent',
  INSIGHTER_AUTH_AUTOCONFIRM: 'true',
  INSIGHTER_AUTH_RATE_LIMIT_PER_IP: '100000',
  INSIGHTER_AUTH_RATE_LIMIT_PER_EMAIL: '100000'
};

export async function startJobsSidecar(
  options: JobsSidecarOptions = {}
): Promise<JobsSidecar> {
  const database =
    options.reuse?.database ??
    (options.backend === 'pglite' ? undefined : await scratchPostgresDatabase());
  const dataDir =
    options.reuse?.dataDir ??
    fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-jobs-test-'));
  const port = options.reuse?.port ?? (options.child ? await freePort() : 0);
  const env: Record<string, string> = {
    ...TEST_ENV,
    INSIGHTER_API_PORT: String(port),
    INSIGHTER_DATA_DIR: dataDir,
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...options.env
  };
  let url: string;
  let stop: () => Promise<void>;
  if (options.child) {
    const child = await startChild(env);
    url = `http://127.0.0.1:${port}`;
    stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await new Promise(resolve => child.once('exit', resolve));
      }
    };
  } else {
    const sidecar: RunningSidecar = await startSidecar(
      loadConfig(env),
      silentLogger
    );
    url = sidecar.url;
    stop = () => sidecar.close();
  }

  const api: JobsSidecar['api'] = async (person, method, pathname, body) => {
    const headers: Record<string, string> = {};
    if (person) {
      headers.authorization = `Bearer ${person.token}`;
    }
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${url}${pathname}`, {
      method,
      headers,
      body:
        body === undefined
          ? undefined
          : typeof body === 'string'
            ? body
            : JSON.stringify(body)
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text };
  };

  let anonKey: string | undefined;
  const sidecar: JobsSidecar = {
    url,
    dataDir,
    database,
    api,
    async person(fullName = 'Ada Lovelace') {
      anonKey ??= (await api(null, 'GET', '/api/v1/config')).body
        .supabase_anon_key;
      const email = `jobs-${randomUUID().slice(0, 8)}@example.com`;
      const res = await fetch(`${url}/auth/v1/signup`, {
        method: 'POST',
        headers: { apikey: anonKey!, 'content-type': 'application/json' },
        body: JSON.stringify({
          email,
          password: 'train1ng-jobs',
          data: { full_name: fullName }
        })
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const session: any = await res.json();
      if (!session.access_token) {
        throw new Error(
          `sign-up failed: ${res.status} ${JSON.stringify(session)}`
        );
      }
      return { id: session.user.id, email, token: session.access_token };
    },
    async project(owner, name = `Credit Risk ${randomUUID().slice(0, 6)}`) {
      const res = await api(owner, 'POST', '/api/v1/projects', { name });
      if (res.status !== 201) {
        throw new Error(`project: ${res.status} ${res.text}`);
      }
      return { id: res.body.id, slug: res.body.slug };
    },
    async dataset(owner, projectId, name, csv) {
      const query = new URLSearchParams({ project_id: projectId, name });
      const res = await fetch(`${url}/api/v1/datasets?${query}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${owner.token}`,
          'content-type': 'text/csv'
        },
        body: csv
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const body: any = await res.json();
      if (res.status !== 201 || body.status !== 'ready') {
        throw new Error(`dataset: ${res.status} ${JSON.stringify(body)}`);
      }
      return body;
    },
    events: person => connectEvents(url, { header: `Bearer ${person.token}` }),
    async ended(person, jobId, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const job = (await api(person, 'GET', `/api/v1/jobs/${jobId}`)).body;
        if (['succeeded', 'failed', 'cancelled'].includes(job?.status)) {
          return job;
        }
        if (Date.now() > deadline) {
          const logs = (await api(person, 'GET', `/api/v1/jobs/${jobId}/logs`))
            .body;
          throw new Error(
            `job ${jobId} still ${job?.status}; log: ${JSON.stringify(logs?.lines?.map((l: { text: string }) => l.text))}`
          );
        }
        await new Promise(resolve => setTimeout(resolve, 100));
      }
    },
    async logged(person, jobId, pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const logs = (await api(person, 'GET', `/api/v1/jobs/${jobId}/logs`))
          .body;
        if (logs?.lines?.some((l: { text: string }) => pattern.test(l.text))) {
          return;
        }
        if (Date.now() > deadline || logs?.done) {
          throw new Error(
            `job ${jobId} never logged ${pattern}: ${JSON.stringify(logs)}`
          );
        }
        await new Promise(resolve => setTimeout(resolve, 50));
      }
    },
    kill: () => stop(),
    async close() {
      await stop();
      if (!options.reuse) {
        fs.rmSync(dataDir, { recursive: true, force: true });
        await database?.drop();
      }
    }
  };
  return sidecar;
}

/** The sidecar entry point in a child process; resolves once it answers /health. */
async function startChild(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, '..', 'auth', 'sidecar-child.js')],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] }
  );
  let stderr = '';
  child.stderr?.on('data', chunk => (stderr += chunk));
  const url = `http://127.0.0.1:${env.INSIGHTER_API_PORT}/health`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`the sidecar exited (${child.exitCode}): ${stderr}`);
    }
    try {
      if ((await fetch(url)).ok) {
        return child;
      }
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the sidecar did not start: ${stderr}`);
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
