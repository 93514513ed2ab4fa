import fs from 'node:fs';
import { connectEvents } from '../projects/harness';
import { freshDatabase } from '../support/postgres';
import {
  creditRows,
  startDeploymentsTestServer,
  type DeploymentsTestServer,
  type SignedInUser
} from './harness';

/**
 * A deployment's life with real workers: another version deployed while a
 * load runs (no request fails, answers switch to the new version), the
 * worker killed with SIGKILL (failed, restarted, serving again), the
 * sidecar restarted (what served comes back), and the events on the way.
 */
describe('deployment lifecycle', () => {
  let t: DeploymentsTestServer;
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let dataDir: string;
  let alice: SignedInUser;
  let project: { id: string; slug: string };
  let key: string;
  const body = JSON.stringify({ dataframe_split: creditRows(1) });
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    database = await freshDatabase('pglite');
    dataDir = fs.mkdtempSync('/tmp/insighter-deployments-lifecycle-');
    t = await startDeploymentsTestServer({ database, dataDir });
    alice = await t.user('Alice');
    project = await t.project(alice, 'Credit Risk Alpha', ['logistic', 'xgboost']);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await database?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const deploy = async (version: number) => {
    const res = await t.api(alice, 'POST', '/api/v1/deployments', { project_id: project.id, version });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };

  const goodGuess = async () => {
    const res = await t.predict(project.slug, body, { 'x-api-key': key, ...json });
    return { status: res.status, good: res.body?.predictions?.[0]?.probabilities?.Good as number };
  };

  let v1: string;
  let v1Good: number;

  it('deploys version 1 and tells project readers as it goes', async () => {
    const events = await connectEvents(t.url, { header: `Bearer ${alice.token}` });
    v1 = await deploy(1);
    await events.next(e => e.type === 'deployment.changed' && e.payload.deploymentId === v1 && e.payload.state === 'starting');
    const running = await events.next(
      e => e.type === 'deployment.changed' && e.payload.deploymentId === v1 && e.payload.state === 'running',
      60_000
    );
    expect(running.payload).toMatchObject({
      projectId: project.id,
      modelVersion: 1,
      endpoint: '/api/v1/predict/credit-risk-alpha'
    });
    await events.close();
    const created = await t.api(alice, 'POST', `/api/v1/deployments/${v1}/keys`, { name: 'load' });
    key = created.body.key;
    const first = await goodGuess();
    expect(first.status).toBe(200);
    v1Good = first.good;
  }, 90_000);

  it('switches to version 2 while a load runs: no request fails, answers move to the new version', async () => {
    const statuses: number[] = [];
    const answers: number[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        const { status, good } = await goodGuess();
        statuses.push(status);
        answers.push(good);
      }
    };
    const clients = Array.from({ length: 6 }, client);
    await new Promise(resolve => setTimeout(resolve, 300));
    const v2 = await deploy(2);
    const ready = await t.waitFor(alice, v2, ['ready', 'failed']);
    expect(ready.status).toBe('ready');
    // Keep the load on a little after the switch.
    const after = statuses.length;
    while (statuses.length < after + 50) {
      await new Promise(resolve => setTimeout(resolve, 20));
    }
    running = false;
    await Promise.all(clients);
    expect(statuses.length).toBeGreaterThan(60);
    expect(statuses.filter(s => s !== 200)).toEqual([]);
    expect(answers[0]).toBe(v1Good);
    const v2Good = answers[answers.length - 1];
    expect(v2Good).not.toBe(v1Good);
    // Each answer is one version's: the first ones v1's, the last ones v2's.
    expect(answers.every(a => a === v1Good || a === v2Good)).toBe(true);
    expect(answers.lastIndexOf(v1Good)).toBeLessThan(answers.indexOf(v2Good) + 50);

    const old = await t.api(alice, 'GET', `/api/v1/deployments/${v1}`);
    expect(old.body).toMatchObject({ status: 'stopped', serving: false, error: 'Replaced by version 2.' });
    const list = await t.api(alice, 'GET', `/api/v1/deployments?project_id=${project.id}`);
    expect(list.body.deployments.map((d: { status: string }) => d.status)).toEqual(['ready', 'stopped']);
    v1 = v2;
  }, 120_000);

  it('restarts a worker killed with SIGKILL: failed with the reason, then serving again', async () => {
    const events = await connectEvents(t.url, { header: `Bearer ${alice.token}` });
    const managed = t.deployments.runtime.endpoint(project.slug);
    const pid = Number(/^pid:(\d+)$/.exec(managed?.worker?.handle.ref ?? '')?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    const failed = await events.next(
      e => e.type === 'deployment.changed' && e.payload.deploymentId === v1 && e.payload.state === 'failed',
      20_000
    );
    expect(failed.payload.detail).toMatch(/stopped unexpectedly \(ended by SIGKILL\); restarting it/);
    // Meanwhile: a clear 503, not a hang.
    const during = await goodGuess();
    expect([200, 503]).toContain(during.status);
    await events.next(
      e => e.type === 'deployment.changed' && e.payload.deploymentId === v1 && e.payload.state === 'running',
      60_000
    );
    await events.close();
    expect((await goodGuess()).status).toBe(200);
    const row = await t.api(alice, 'GET', `/api/v1/deployments/${v1}`);
    expect(row.body).toMatchObject({ status: 'ready', serving: true, error: null });
  }, 90_000);

  it('comes back after the sidecar restarts', async () => {
    const before = await goodGuess();
    await t.close();
    t = await startDeploymentsTestServer({ database, dataDir });
    // Same data folder, same signing key: Alice's token is still good.
    const deadline = Date.now() + 60_000;
    let answer = await goodGuess();
    while (answer.status !== 200 && Date.now() < deadline) {
      expect(answer.status).toBe(503);
      await new Promise(resolve => setTimeout(resolve, 200));
      answer = await goodGuess();
    }
    expect(answer).toEqual(before);
    const row = await t.api(alice, 'GET', `/api/v1/deployments/${v1}`);
    expect(row.body).toMatchObject({ status: 'ready', serving: true });
  }, 90_000);
});
