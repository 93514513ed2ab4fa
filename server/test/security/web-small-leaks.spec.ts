import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { allowedHosts } from '../../src/http/allowed-hosts';
import { createLogger } from '../../src/logger';
import { startSidecar, type RunningSidecar } from '../../src/server';
import type { SignedInUser } from '../projects/harness';
import {
  BACKENDS,
  scratchPostgresDatabase,
  type ScratchDatabase
} from '../support/postgres';
import {
  startTrackingTestServer,
  type TrackingTestServer
} from '../tracking/harness';

/**
 * Security issue #12, part 7: smaller leaks. Any Host was served (DNS
 * rebinding reached /api/v1/config and /auth/v1); the anonymous status
 * named data-dir paths, free space and the Docker socket; the log kept
 * X-Insighter-Authorization and X-XSRFToken; a private project's slug
 * showed in the next user's (owner-private-2); model-versions/create took
 * sources its caller could not read. (Team viewers and callers in the
 * deployment metrics: web-deployments.spec.ts.)
 */
const PROXY_SECRET = 'jupyter-proxy-secret-0123456789';

/** A request with exactly this Host header (fetch sets its own). */
function raw(
  url: string,
  options: {
    method?: string;
    path: string;
    host?: string;
    headers?: Record<string, string>;
    body?: string;
  }
): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { host: options.host ?? target.host, ...options.headers }
      },
      res => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', chunk => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      }
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

describe.each(BACKENDS)('the whole sidecar on %s', backend => {
  let dataDir: string;
  let scratch: ScratchDatabase | undefined;
  let sidecar: RunningSidecar;
  let anonKey: string;
  const logLines: string[] = [];

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-web-leaks-'));
    scratch =
      backend === 'postgres' ? await scratchPostgresDatabase() : undefined;
    const config = loadConfig({
      INSIGHTER_HOST: '127.0.0.1',
      INSIGHTER_API_PORT: '0',
      INSIGHTER_DATA_DIR: dataDir,
      INSIGHTER_AUTH_AUTOCONFIRM: 'true',
      INSIGHTER_PROXY_SECRET: PROXY_SECRET,
      ...(scratch ? { DATABASE_URL: scratch.url } : {})
    });
    sidecar = await startSidecar(
      config,
      createLogger('info', {
        write: (line: string) => void logLines.push(line)
      })
    );
    anonKey = JSON.parse(
      (await raw(sidecar.url, { path: '/api/v1/config' })).text
    ).supabase_anon_key;
  }, 120_000);

  afterAll(async () => {
    await sidecar?.close();
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const signUp = async () => {
    const res = await fetch(`${sidecar.url}/auth/v1/signup`, {
      method: 'POST',
      headers: { apikey: anonKey, 'content-type': 'application/json' },
      body: JSON.stringify({
        email: `leaks.${Date.now()}.${Math.random().toString(36).slice(2)}@example.com`,
        password: 'correct-horse-42',
        data: { full_name: 'Lee Leaks' }
      })
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  };

  describe('host names', () => {
    it('refuses a rebound host name everywhere but /health', async () => {
      for (const [method, pathname] of [
        ['GET', '/api/v1/config'],
        ['GET', `/auth/v1/settings?apikey=${anonKey}`],
        ['GET', '/api/v1/status'],
        ['POST', '/api/v1/predict/any-project']
      ]) {
        const res = await raw(sidecar.url, {
          method,
          path: pathname,
          host: 'rebound.evil.example:8000'
        });
        expect([pathname, res.status]).toEqual([pathname, 403]);
        expect(JSON.parse(res.text).error).toMatchObject({
          code: 'host_not_allowed',
          message: expect.stringContaining('"rebound.evil.example"')
        });
      }
      expect(
        (
          await raw(sidecar.url, {
            path: '/health',
            host: 'rebound.evil.example'
          })
        ).status
      ).toBe(200);
    });

    it('answers its address, loopback names and what the Jupyter proxy sends', async () => {
      const port = new URL(sidecar.url).port;
      for (const host of [
        `127.0.0.1:${port}`,
        `localhost:${port}`,
        `[::1]:${port}`,
        'lab.localhost'
      ]) {
        expect([
          host,
          (await raw(sidecar.url, { path: '/api/v1/config', host })).status
        ]).toEqual([host, 200]);
      }
    });
  });

  describe('the status', () => {
    it('gives anonymous callers states only: no folders, free space, socket or version', async () => {
      const res = await raw(sidecar.url, { path: '/api/v1/status' });
      expect(res.status).toBe(200);
      const body = JSON.parse(res.text);
      expect(Object.keys(body).sort()).toEqual([
        'checked_at',
        'components',
        'status'
      ]);
      for (const component of Object.values(body.components)) {
        expect(Object.keys(component as object)).toEqual(['state']);
      }
      expect(res.text).not.toContain(dataDir);
      expect(res.text).not.toMatch(/free|docker|sock|pglite|postgres/i);
    });

    it('gives the details to signed-in users and through the Jupyter proxy', async () => {
      const token = await signUp();
      for (const headers of [
        { authorization: `Bearer ${token}` },
        { 'x-insighter-proxy-secret': PROXY_SECRET }
      ] as Record<string, string>[]) {
        const res = await raw(sidecar.url, { path: '/api/v1/status', headers });
        const body = JSON.parse(res.text);
        expect(body.components.storage.detail).toContain(dataDir);
        expect(body.components.database.backend).toBe(backend);
        expect(body.version).toEqual(expect.any(String));
      }
      // The anon key and a forged secret are nobody.
      for (const headers of [
        { authorization: `Bearer ${anonKey}` },
        { 'x-insighter-proxy-secret': 'not-the-secret-0123456789' }
      ] as Record<string, string>[]) {
        const res = await raw(sidecar.url, { path: '/api/v1/status', headers });
        expect(res.text).not.toContain(dataDir);
      }
    });
  });

  describe('the request log', () => {
    it('keeps the user token and Jupyter’s XSRF token out, whatever header they come in', async () => {
      const secrets = {
        'x-insighter-authorization': 'Bearer user-token-SECRET-1',
        'x-xsrftoken': 'xsrf-SECRET-2',
        'x-csrftoken': 'csrf-SECRET-3',
        authorization: 'Bearer user-token-SECRET-4',
        cookie: '_xsrf=SECRET-5',
        'x-insighter-proxy-secret': PROXY_SECRET
      };
      const before = logLines.length;
      const res = await raw(sidecar.url, {
        path: '/api/v1/config?marker=redaction',
        headers: secrets
      });
      expect(res.status).toBe(200);
      await new Promise(resolve => setTimeout(resolve, 50));
      const line = logLines
        .slice(before)
        .find(l => l.includes('marker=redaction'));
      expect(line).toBeDefined();
      expect(line).not.toMatch(/SECRET|jupyter-proxy-secret/);
      const logged = JSON.parse(line!).req.headers;
      for (const name of Object.keys(secrets)) {
        expect([name, logged[name]]).toEqual([name, '[redacted]']);
      }
    });
  });
});

describe('allowed host names', () => {
  const check = (env: Record<string, string>) => {
    const config = loadConfig(env);
    const allowed = allowedHosts({ ...config, ...config.http });
    return (host: string) =>
      allowed({ headers: { host } } as http.IncomingMessage);
  };

  it('are addresses, loopback names, INSIGHTER_HOST, the public URL’s host and INSIGHTER_ALLOWED_HOSTS', () => {
    const allowed = check({
      INSIGHTER_HOST: 'workbench',
      INSIGHTER_PUBLIC_URL: 'https://insighter.example.net/lab/insighter',
      INSIGHTER_ALLOWED_HOSTS: 'lab.example.org, .corp.example'
    });
    for (const host of [
      '10.1.2.3:8000',
      '[fd00::1]:8000',
      'localhost',
      'api.localhost:8000',
      'workbench:8000',
      'insighter.example.net',
      'INSIGHTER.example.net.',
      'lab.example.org',
      'corp.example',
      'a.b.corp.example:443'
    ]) {
      expect([host, allowed(host)]).toEqual([host, true]);
    }
    for (const host of [
      'evil.example',
      'lab.example.org.evil.example',
      'evilcorp.example',
      'localhost.evil.example',
      'example.net'
    ]) {
      expect([host, allowed(host)]).toEqual([host, false]);
    }
  });

  it('are any with INSIGHTER_ALLOWED_HOSTS=*', () => {
    expect(check({ INSIGHTER_ALLOWED_HOSTS: '*' })('evil.example')).toBe(true);
  });
});

describe.each(BACKENDS)('projects and models on %s', backend => {
  let t: TrackingTestServer;
  let owner: SignedInUser;
  let other: SignedInUser;

  beforeAll(async () => {
    t = await startTrackingTestServer(backend);
    owner = await t.user('Olga Owner');
    other = await t.user('Otto Other');
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('slugs', () => {
    it('give a taken name a random suffix, not a count of the projects (private ones too) that have it', async () => {
      const first = await t.project(owner, 'Owner private');
      const second = await t.project(owner, 'Owner private');
      const next = await t.project(other, 'Owner private');
      expect(first.slug).toBe('owner-private');
      for (const slug of [second.slug, next.slug]) {
        expect(slug).toMatch(/^owner-private-[a-p]{6}$/);
      }
      expect(next.slug).not.toMatch(/-\d+$/);
      expect(new Set([first.slug, second.slug, next.slug]).size).toBe(3);
    });
  });

  describe('model version sources', () => {
    let foreign: { experimentId: string; runId: string };
    let mine: { slug: string; experimentId: string; runId: string };

    const experimentAndRun = async (user: SignedInUser, slug: string) => {
      const experimentId = (
        await t.mlflow(user, 'POST', 'experiments/create', { name: slug })
      ).body.experiment_id as string;
      const runId = (
        await t.mlflow(user, 'POST', 'runs/create', {
          experiment_id: experimentId
        })
      ).body.run.info.run_id as string;
      return { experimentId, runId };
    };

    beforeAll(async () => {
      const theirs = await t.project(owner, 'Secret model');
      foreign = await experimentAndRun(owner, theirs.slug);
      const project = await t.project(other, 'Borrowed model');
      mine = {
        slug: project.slug,
        ...(await experimentAndRun(other, project.slug))
      };
      await t.mlflow(other, 'POST', 'registered-models/create', {
        name: mine.slug
      });
    });

    const create = (source: string, extra: Record<string, unknown> = {}) =>
      t.mlflow(other, 'POST', 'model-versions/create', {
        name: mine.slug,
        source,
        ...extra
      });

    it('refuses another project’s artifacts and runs, experiments that do not exist yet, and local paths (400)', async () => {
      for (const source of [
        `mlflow-artifacts:/${foreign.experimentId}/${foreign.runId}/artifacts/model`,
        `mlflow-artifacts://sidecar/${foreign.experimentId}/${foreign.runId}/artifacts/model`,
        `mlflow-artifacts:/${mine.experimentId}/../${foreign.experimentId}/${foreign.runId}/artifacts/model`,
        `runs:/${foreign.runId}/model`,
        'mlflow-artifacts:/999999/r/artifacts/model',
        '/home/owner/.insighter/storage/artifacts/model',
        'file:///etc/passwd',
        'models:/secret-model/1'
      ]) {
        const res = await create(source);
        expect([source, res.status, res.body.error_code]).toEqual([
          source,
          400,
          'INVALID_PARAMETER_VALUE'
        ]);
      }
      const listed = await t.mlflow(other, 'GET', 'model-versions/search', {
        filter: `name='${mine.slug}'`
      });
      expect(listed.body.model_versions ?? []).toEqual([]);
    });

    it('accepts the project’s own runs and artifacts, and outside stores', async () => {
      for (const source of [
        `runs:/${mine.runId}/model`,
        `mlflow-artifacts:/${mine.experimentId}/${mine.runId}/artifacts/model`,
        's3://models-bucket/churn/model'
      ]) {
        const res = await create(source);
        expect([source, res.status]).toEqual([source, 200]);
      }
    });
  });
});
