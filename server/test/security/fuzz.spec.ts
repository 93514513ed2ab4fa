import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { loadConfig } from '../../src/config';
import { routePaths } from '../../src/routes/tools';
import { startSidecar, type RunningSidecar } from '../../src/server';
import {
  BACKENDS,
  scratchPostgresDatabase,
  silentLogger,
  type ScratchDatabase
} from '../support/postgres';

/**
 * Every route of the real sidecar (`routePaths` of the app `startSidecar`
 * builds) gets random, huge, deeply nested and NUL-bearing JSON bodies,
 * random query values and broken percent-encoding in its path parameters,
 * with every method, signed in or not. Nothing may answer 5xx, and the
 * process must stay up. Cases come from one seed (FUZZ_SEED to replay a
 * failure; each run prints its own) and their number is bounded, so the
 * suite takes well under a minute per backend.
 */
jest.setTimeout(180_000);

const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const CASES_PER_BACKEND = Number(process.env.FUZZ_CASES ?? 700);
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

interface FuzzCase {
  method: (typeof METHODS)[number];
  path: string;
  query: string;
  body: string | undefined;
  contentType: string | undefined;
  signedIn: boolean;
}

/** Field names the routes read: random values under them reach validation and SQL. */
const FIELDS = [
  'name',
  'email',
  'password',
  'description',
  'visibility',
  'team_id',
  'project_id',
  'experiment_id',
  'experiment_ids',
  'run_id',
  'key',
  'value',
  'filter',
  'order_by',
  'max_results',
  'page_token',
  'metrics',
  'params',
  'tags',
  'datasets',
  'version',
  'source',
  'stage',
  'role',
  'prefixes',
  'expiresIn',
  'dataset_id',
  'algorithm',
  'target',
  'model_version',
  'data'
];

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string().map(s => `${s}\u0000${s}`),
  fc.constantFrom(
    '',
    "'",
    '"; drop table x; --',
    '%',
    '../../etc/passwd',
    'metrics.a > 1 and',
    '\ud800',
    'x'.repeat(70_000)
  )
);

const value: fc.Arbitrary<unknown> = fc.oneof(
  text,
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(null, true, -1, 0, 2 ** 53, 1e308),
  fc.array(text, { maxLength: 5 })
);

const fieldObject = fc.dictionary(fc.constantFrom(...FIELDS), value, {
  maxKeys: 6
});

/** Raw body text: JSON of every shape and size, and things that are not JSON. */
const bodyText: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: fieldObject.map(o => JSON.stringify(o)) },
  { weight: 2, arbitrary: fc.jsonValue().map(v => JSON.stringify(v)) },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1_000, max: 200_000 })
      .map(depth => '['.repeat(depth) + ']'.repeat(depth))
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 1_000, max: 60_000 })
      .map(depth => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth))
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      JSON.stringify({ items: Array.from({ length: 100_000 }, (_, i) => i) }),
      JSON.stringify({ name: 'x'.repeat(900_000) }),
      'x'.repeat(2 * 1024 * 1024)
    )
  },
  { weight: 1, arbitrary: fc.string({ unit: 'binary' }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('{', '{"a":}', 'null', '[]', '"\\u0000"', '')
  }
);

/** A path parameter: plausible ids, junk, broken percent-encoding, NUL. */
function pathValue(ids: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...ids) },
    fc.constantFrom(
      '%E0%A4%A',
      '%',
      '%ZZ',
      '%00',
      '%C0%80',
      '..',
      '%2e%2e%2f',
      '0',
      '-1',
      '99999999999999999999999',
      'x'.repeat(5_000)
    ),
    fc.string({ minLength: 1 }).map(encodeURIComponent)
  );
}

function fuzzCases(routes: string[], ids: string[]): fc.Arbitrary<FuzzCase> {
  const query = fc.oneof(
    fc.constant(''),
    fc
      .dictionary(fc.constantFrom(...FIELDS), text, { maxKeys: 4 })
      .map(q => `?${new URLSearchParams(q as Record<string, string>)}`),
    fc.constantFrom(
      '?name=%E0%A4%A',
      '?filter=%00',
      '?max_results=1e400',
      '?a=1&a=2&a[b]=3',
      '?grant_type=password',
      '?grant_type=refresh_token',
      '?project_id=%25'
    )
  );
  return fc.record({
    method: fc.constantFrom('GET', 'POST', ...METHODS),
    path: fc
      .tuple(
        fc.constantFrom(...routes),
        fc.array(pathValue(ids), { minLength: 4, maxLength: 4 })
      )
      .map(([route, values]) => {
        let i = 0;
        return route
          .replace(/:\w+|\*\w*/g, () => values[i++ % values.length])
          .replace(/\/\*$/, `/${values[3]}`);
      }),
    query,
    body: fc.option(bodyText, { nil: undefined, freq: 4 }),
    contentType: fc.constantFrom(
      'application/json',
      'application/json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      undefined
    ),
    signedIn: fc.boolean().chain(b => (b ? fc.constant(true) : fc.boolean()))
  });
}

interface Sidecar {
  running: RunningSidecar;
  close(): Promise<void>;
}

async function startFullSidecar(backend: string): Promise<Sidecar> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-fuzz-'));
  let database: ScratchDatabase | undefined;
  if (backend === 'postgres') {
    database = await scratchPostgresDatabase();
  }
  const running = await startSidecar(
    loadConfig({
      INSIGHTER_HOST: '127.0.0.1',
      INSIGHTER_API_PORT: '0',
      INSIGHTER_LOG_LEVEL: 'silent',
      INSIGHTER_DATA_DIR: dataDir,
      INSIGHTER_AUTH_AUTOCONFIRM: 'true',
      INSIGHTER_AUTH_RATE_LIMIT_PER_IP: '100000',
      INSIGHTER_AUTH_RATE_LIMIT_PER_EMAIL: '100000',
      INSIGHTER_JOBS_RUNNER: 'process',
      ...(database && { DATABASE_URL: database.url })
    }),
    silentLogger
  );
  return {
    running,
    async close() {
      await running.close();
      await database?.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  };
}

describe.each(BACKENDS)('%s', backend => {
  let sidecar: Sidecar;
  let url: string;
  let token: string;
  const ids: string[] = [randomUUID(), '1', 'datasets', 'artifacts'];

  beforeAll(async () => {
    sidecar = await startFullSidecar(backend);
    url = sidecar.running.url;
    const anonKey = (await jsonOf(fetch(`${url}/api/v1/config`)))
      .supabase_anon_key;
    const session = await jsonOf(
      fetch(`${url}/auth/v1/signup`, {
        method: 'POST',
        headers: { apikey: anonKey, 'content-type': 'application/json' },
        body: JSON.stringify({
          email: `fuzz-${randomUUID().slice(0, 8)}@example.com`,
          password: 'fuzz1ng-the-api',
          data: { full_name: 'Fuzz Tester' }
        })
      })
    );
    token = session.access_token;
    const project = await jsonOf(
      fetch(`${url}/api/v1/projects`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json'
        },
        body: JSON.stringify({ name: 'Fuzzed' })
      })
    );
    ids.push(project.id, project.slug, session.user.id);
  });
  afterAll(() => sidecar?.close());

  test(`no request to any route answers 5xx or stops the process (seed ${SEED}, FUZZ_SEED to replay)`, async () => {
    const routes = [...new Set(routePaths(sidecar.running.app))].sort();
    expect(routes.length).toBeGreaterThan(60);
    // Every route once with a random case, then random ones.
    const cases = fc.sample(fuzzCases(routes, ids), {
      seed: SEED,
      numRuns: CASES_PER_BACKEND
    });
    const perRoute = routes.map((route, i) => ({
      ...cases[i % cases.length],
      path: route.replace(/:\w+|\*\w*/g, ids[i % ids.length])
    }));
    const failures: string[] = [];
    for (const c of [...perRoute, ...cases]) {
      const headers: Record<string, string> = {};
      if (c.signedIn) {
        headers.authorization = `Bearer ${token}`;
      }
      if (c.contentType) {
        headers['content-type'] = c.contentType;
      }
      const sendsBody = c.body !== undefined && c.method !== 'GET';
      let status: number;
      let answer: string;
      try {
        const res = await fetch(`${url}${c.path}${c.query}`, {
          method: c.method,
          headers,
          body: sendsBody ? c.body : undefined,
          signal: AbortSignal.timeout(30_000)
        });
        status = res.status;
        answer = (await res.text()).slice(0, 300);
      } catch (err) {
        status = 0;
        answer = String((err as Error).cause ?? err);
      }
      if (status === 0 || status >= 500) {
        failures.push(
          `${status} ${c.method} ${c.path.slice(0, 200)}${c.query.slice(0, 100)} body=${JSON.stringify(c.body?.slice(0, 200))} (${c.contentType}) → ${answer}`
        );
      }
    }
    expect(failures).toEqual([]);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    // PGlite's WASM runtime sets this when Postgres exits inside it.
    expect(process.exitCode ?? 0).toBe(0);
  });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function jsonOf(response: Promise<Response>): Promise<any> {
  return (await response).json();
}
