import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { StatusService } from '../../src/services/status';
import { createTracking, MlflowError, type Tracking } from '../../src/tracking';
import { RestTrackingStore } from '../../src/tracking/rest-tracking-store';
import type { SignedInUser } from '../projects/harness';
import { silentLogger } from '../support/postgres';
import { startTrackingTestServer, type TrackingTestServer } from './harness';

/**
 * The TrackingStore for an external MLflow server (MLFLOW_TRACKING_URI),
 * against the sidecar's own MLflow API started here as the stand-in for a
 * real MLflow server: what the jobs runner does through it lands as it
 * would, errors come back as MlflowErrors, and a sidecar in external mode
 * relays its /api/2.0/mlflow to that server.
 */
describe('the REST TrackingStore against an MLflow API', () => {
  let t: TrackingTestServer;
  let alice: SignedInUser;
  let project: { id: string; slug: string };
  let store: RestTrackingStore;

  beforeAll(async () => {
    t = await startTrackingTestServer('pglite');
    alice = await t.user('Alice');
    project = await t.project(alice, 'Remote Project');
    store = new RestTrackingStore({ uri: t.url, token: alice.token });
  });

  afterAll(async () => {
    await store?.close();
    await t?.close();
  });

  /** The remote server knows only the tracking token: no user is passed on. */
  const nobody = { sub: 'ignored', role: 'authenticated' as const };

  it('creates the project experiment once, then finds it', async () => {
    const first = await store.getOrCreateProjectExperiment(nobody, project);
    const again = await store.getOrCreateProjectExperiment(nobody, project);
    expect(again).toEqual(first);
    const seen = await t.mlflow(alice, 'GET', 'experiments/get', first);
    expect(seen.body.experiment.name).toBe(project.slug);
  });

  it('runs a whole training run: create, log, inputs, artifacts, finish', async () => {
    const { experiment_id } = await store.getOrCreateProjectExperiment(nobody, project);
    const run = await store.createRun(nobody, {
      experiment_id,
      run_name: 'remote-run',
      tags: [{ key: 'insighter.job_id', value: 'j1' }]
    });
    expect(run.info).toEqual(
      expect.objectContaining({ run_name: 'remote-run', status: 'RUNNING', experiment_id })
    );
    const runId = run.info.run_id;
    await store.logBatch(nobody, runId, {
      metrics: [
        { key: 'auc', value: 0.9, timestamp: 5, step: 1 },
        { key: 'logloss', value: NaN, timestamp: 5, step: 1 }
      ],
      params: [{ key: 'max_depth', value: '4' }]
    });
    await store.logInputs(nobody, runId, [
      {
        tags: [{ key: 'mlflow.data.context', value: 'training' }],
        dataset: { name: 'german_credit', digest: 'd1', source_type: 'insighter', source: 'v1' }
      }
    ]);
    await store.uploadArtifact(nobody, runId, 'model/model.json', Buffer.from('{"a":1}'), 'application/json');
    await store.uploadArtifact(
      nobody,
      runId,
      'logs/stdout.txt',
      Readable.from([Buffer.from('hello\n'), Buffer.from('world\n')]),
      'text/plain'
    );
    const info = await store.updateRun(nobody, runId, {
      status: 'FAILED',
      end_time: 99,
      error: 'Out of memory (exit 137).'
    });
    expect(info).toEqual(expect.objectContaining({ status: 'FAILED', end_time: 99 }));
    const got = await store.getRun(nobody, runId);
    expect(got.data.metrics).toEqual([
      { key: 'auc', value: 0.9, timestamp: 5, step: 1 },
      { key: 'logloss', value: NaN, timestamp: 5, step: 1 }
    ]);
    expect(got.data.tags).toContainEqual({ key: 'insighter.error', value: 'Out of memory (exit 137).' });
    expect(got.inputs?.dataset_inputs?.[0].dataset.name).toBe('german_credit');
    const listed = await t.mlflow(alice, 'GET', 'artifacts/list', { run_id: runId, path: 'logs' });
    expect(listed.body.files).toEqual([{ path: 'logs/stdout.txt', is_dir: false, file_size: 12 }]);
  });

  it('registers versions of the project model and finds the latest', async () => {
    const model = await store.getOrCreateProjectModel(nobody, project);
    expect(model.name).toBe(project.slug);
    expect(await store.getOrCreateProjectModel(nobody, project)).toEqual(
      expect.objectContaining({ name: project.slug })
    );
    expect(await store.getLatestModelVersion(nobody, project.slug)).toBeUndefined();
    for (const expected of ['1', '2']) {
      const version = await store.createModelVersion(nobody, {
        name: project.slug,
        source: 'mlflow-artifacts:/1/r/artifacts/model'
      });
      expect(version.version).toBe(expected);
    }
    expect((await store.getLatestModelVersion(nobody, project.slug))?.version).toBe('2');
    expect(
      (await store.searchModelVersions(nobody, `name = '${project.slug}'`)).map(v => v.version).sort()
    ).toEqual(['1', '2']);
  });

  it("turns the server's errors into MlflowErrors with its codes", async () => {
    const missing = await store.getRun(nobody, 'a'.repeat(32)).catch(err => err);
    expect(missing).toBeInstanceOf(MlflowError);
    expect(missing).toMatchObject({ errorCode: 'RESOURCE_DOES_NOT_EXIST', status: 404 });
    const limits = await store
      .logBatch(nobody, 'a'.repeat(32), {
        metrics: Array.from({ length: 1001 }, (_, i) => ({ key: 'm', value: i, timestamp: 1, step: i }))
      })
      .catch(err => err);
    expect(limits).toMatchObject({ errorCode: 'INVALID_PARAMETER_VALUE', status: 400 });
    const badToken = new RestTrackingStore({ uri: t.url, token: 'not-a-token' });
    try {
      const refused = await badToken.getRun(nobody, 'a'.repeat(32)).catch(err => err);
      expect(refused).toMatchObject({ errorCode: 'UNAUTHENTICATED', status: 401 });
      expect(await badToken.check()).toEqual(
        expect.objectContaining({ state: 'down', backend: 'mlflow' })
      );
    } finally {
      await badToken.close();
    }
  });

  it('reports reachability for the status check, without credentials in messages', async () => {
    expect(await store.check()).toEqual({
      state: 'ok',
      detail: `External MLflow server reachable at ${t.url}.`,
      backend: 'mlflow'
    });
    const closed = await new Promise<http.Server>(resolve => {
      const s = http.createServer();
      s.listen(0, '127.0.0.1', () => resolve(s));
    });
    const port = (closed.address() as AddressInfo).port;
    await new Promise(resolve => closed.close(resolve));
    const unreachable = new RestTrackingStore({
      uri: `http://user:secret@127.0.0.1:${port}`,
      timeoutMs: 2000
    });
    try {
      const health = await unreachable.check();
      expect(health.state).toBe('down');
      expect(health.detail).toContain(`http://127.0.0.1:${port}`);
      expect(health.detail).not.toContain('secret');
      const err = await unreachable.getRun(nobody, 'a'.repeat(32)).catch(e => e);
      expect(err).toMatchObject({ errorCode: 'TEMPORARILY_UNAVAILABLE' });
    } finally {
      await unreachable.close();
    }
  });

  it('reports the built-in tracking as OPTIMAL in the system status', async () => {
    const status = await new StatusService([t.tracking.health], 'test').status();
    expect(status.status).toBe('OPTIMAL');
    expect(status.components.tracking).toEqual({
      state: 'ok',
      detail: 'Built-in MLflow-compatible tracking at /api/2.0/mlflow, artifacts in Storage.',
      backend: 'built-in',
      latency_ms: expect.any(Number)
    });
  });

  describe('a sidecar in external mode', () => {
    let relay: http.Server;
    let relayUrl: string;
    let external: Tracking;

    beforeAll(async () => {
      external = createTracking({
        db: t.db,
        events: t.hub,
        external: { uri: t.url, token: alice.token }
      });
      const app = createApp({
        config: loadConfig({ INSIGHTER_LOG_LEVEL: 'silent' }),
        logger: silentLogger,
        status: new StatusService([external.health], 'test'),
        auth: t.auth,
        tracking: external
      });
      relay = http.createServer(app);
      await new Promise<void>(resolve => relay.listen(0, '127.0.0.1', resolve));
      relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}`;
    });

    afterAll(async () => {
      relay?.closeAllConnections();
      await new Promise(resolve => relay?.close(resolve));
      await external?.external?.close();
    });

    it('relays MLflow calls and artifacts to the external server, for signed-in users only', async () => {
      const bob = await t.user('Bob');
      const headers = { authorization: `Bearer ${bob.token}` };
      const search = await fetch(`${relayUrl}/api/2.0/mlflow/experiments/search`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ max_results: 10 })
      });
      expect(search.status).toBe(200);
      // The external server answers with the tracking token's view (Alice's), not Bob's.
      const body = (await search.json()) as { experiments: { name: string }[] };
      expect(body.experiments.map(e => e.name)).toContain(project.slug);
      const { experiment_id } = await store.getOrCreateProjectExperiment(nobody, project);
      const run = await store.createRun(nobody, { experiment_id });
      const path = `${experiment_id}/${run.info.run_id}/artifacts/notes.txt`;
      const put = await fetch(`${relayUrl}/api/2.0/mlflow-artifacts/artifacts/${path}`, {
        method: 'PUT',
        headers: { ...headers, 'content-type': 'text/plain' },
        body: 'relayed bytes'
      });
      expect(put.status).toBe(200);
      const get = await fetch(`${relayUrl}/api/2.0/mlflow-artifacts/artifacts/${path}`, { headers });
      expect(await get.text()).toBe('relayed bytes');
      const missing = await fetch(`${relayUrl}/api/2.0/mlflow/runs/get?run_id=${'b'.repeat(32)}`, {
        headers
      });
      expect(missing.status).toBe(404);
      expect(((await missing.json()) as { error_code: string }).error_code).toBe(
        'RESOURCE_DOES_NOT_EXIST'
      );
      const anonymous = await fetch(`${relayUrl}/api/2.0/mlflow/experiments/search`);
      expect(anonymous.status).toBe(401);
      expect(((await anonymous.json()) as { error_code: string }).error_code).toBe('UNAUTHENTICATED');
      expect((await external.health.check()).state).toBe('ok');
    });
  });
});
