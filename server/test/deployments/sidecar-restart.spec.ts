import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/open';
import { PYTHON } from '../../src/jobs/training-package';
import { GOOD_PASSWORD, makeClient, uniqueEmail } from '../auth/support';
import { pgliteSnapshot, silentLogger } from '../support/postgres';
import { exited, startSidecarProcess } from '../support/sidecar-process';
import { creditRows, fixtureModel, registerVersion } from './harness';

/**
 * The real sidecar (src/main.ts in a child process) with the real model
 * registry: a version registered through MLflow's REST API with its files
 * as run artifacts, deployed, answering; the sidecar killed with SIGKILL
 * (its worker goes with it); started again on the same data dir, the
 * deployment serves again with the same answers.
 */
describe('deployments across a sidecar restart', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-deployments-restart-'));
  let child: ChildProcess | undefined;

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * Pids of scoring workers serving this deployment: the Python processes
   * (the sandbox's bwrap processes around one carry its argv too).
   */
  const workersOf = (deploymentId: string): number[] =>
    fs
      .readdirSync('/proc')
      .filter(name => /^\d+$/.test(name))
      .filter(pid => {
        try {
          const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
          return argv[0] === PYTHON && argv.includes('insighter_serve') && argv.includes(deploymentId);
        } catch {
          return false;
        }
      })
      .map(Number);

  it('deploys a registered version, and serves it again after a SIGKILL and a restart', async () => {
    // Seeded from the run's migrated snapshot: spares the child a first-start initdb.
    const seeded = await openDatabase(
      { backend: 'pglite', dataDir: path.join(dataDir, 'db'), loadFrom: pgliteSnapshot('migrated') },
      { logger: silentLogger }
    );
    await seeded.db.close();
    const env = { INSIGHTER_AUTH_AUTOCONFIRM: 'true', INSIGHTER_JOBS_RUNNER: 'process' };
    const first = await startSidecarProcess(dataDir, env);
    child = first.process;

    const config = (await (await fetch(`${first.url}/api/v1/config`)).json()) as { supabase_anon_key: string };
    const { data, error } = await makeClient(first.url, config.supabase_anon_key).auth.signUp({
      email: uniqueEmail('deploy'),
      password: GOOD_PASSWORD,
      options: { data: { full_name: 'Dana Deployer' } }
    });
    expect(error).toBeNull();
    const token = data.session!.access_token;
    let base = first.url;
    const api = async (method: string, pathname: string, body?: unknown) => {
      const res = await fetch(`${base}${pathname}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' })
        },
        body: body === undefined ? undefined : JSON.stringify(body)
      });
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
    };

    const project = await api('POST', '/api/v1/projects', { name: 'Credit Risk Alpha' });
    const slug = project.body.slug as string;
    expect(await registerVersion(base, token, slug, await fixtureModel('logistic'))).toBe(1);

    const created = await api('POST', '/api/v1/deployments', { project_id: project.body.id, version: 1 });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const waitReady = async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const res = await api('GET', `/api/v1/deployments/${id}`);
        if (res.body.status === 'ready' && res.body.serving) {
          return res.body;
        }
        expect(res.body.status).not.toBe('failed');
        if (Date.now() > deadline) {
          throw new Error(`not ready: ${JSON.stringify(res.body)}`);
        }
        await new Promise(resolve => setTimeout(resolve, 200));
      }
    };
    await waitReady();
    const rows = JSON.stringify({ dataframe_split: creditRows(5) });
    const predict = () =>
      fetch(`${base}/api/v1/predict/${slug}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: rows
      });
    const answer = await predict();
    expect(answer.status).toBe(200);
    const before = (await answer.json()) as { predictions: unknown[] };
    expect(before.predictions).toHaveLength(5);

    const workers = workersOf(id);
    expect(workers).toHaveLength(1);
    child.kill('SIGKILL');
    await exited(child);
    // The worker notices its sidecar is gone and ends too.
    const deadline = Date.now() + 10_000;
    while (workersOf(id).length > 0 && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    expect(workersOf(id)).toEqual([]);

    const second = await startSidecarProcess(dataDir, env);
    child = second.process;
    base = second.url;
    await waitReady();
    const again = await predict();
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(before);
  }, 180_000);
});
