import { randomBytes } from 'node:crypto';
import type { SignedInUser } from '../projects/harness';
import { BACKENDS } from '../support/postgres';
import { startTrackingTestServer, type TrackingTestServer } from './harness';

/**
 * Who sees and changes tracking data (row-level security by project: a
 * teammate reads and writes, a viewer only reads, an outsider learns
 * nothing), run artifacts kept in Storage through MLflow's proxied
 * artifacts API, and the live events of runs.
 */
describe.each(BACKENDS)('tracking access, artifacts and events on %s', backend => {
  let t: TrackingTestServer;
  let alice: SignedInUser;
  let bob: SignedInUser;
  let vera: SignedInUser;
  let oscar: SignedInUser;
  let project: { id: string; slug: string };
  let experimentId: string;
  let runId: string;

  beforeAll(async () => {
    t = await startTrackingTestServer(backend);
    alice = await t.user('Alice Owner');
    bob = await t.user('Bob Member');
    vera = await t.user('Vera Viewer');
    oscar = await t.user('Oscar Outsider');
    const teamId = await t.team(alice, [
      [bob, 'member'],
      [vera, 'viewer']
    ]);
    project = await t.project(alice, 'Credit Risk Alpha', teamId);
    experimentId = (await t.mlflow(alice, 'POST', 'experiments/create', { name: project.slug })).body
      .experiment_id;
    runId = (await t.mlflow(alice, 'POST', 'runs/create', { experiment_id: experimentId })).body.run
      .info.run_id;
    await t.mlflow(alice, 'POST', 'runs/log-batch', {
      run_id: runId,
      metrics: [{ key: 'auc', value: 0.8, timestamp: 1, step: 0 }],
      params: [{ key: 'depth', value: '4' }]
    });
    await t.mlflow(alice, 'POST', 'registered-models/create', { name: project.slug });
    await t.mlflow(alice, 'POST', 'model-versions/create', {
      name: project.slug,
      source: `runs:/${runId}/model`
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  const status = async (
    user: SignedInUser,
    method: string,
    endpoint: string,
    fields: Record<string, unknown>
  ) => {
    const res = await t.mlflow(user, method, endpoint, fields);
    return res.status === 200 ? 'ok' : res.body.error_code;
  };

  describe('row-level security by project', () => {
    it('lets a teammate read and write', async () => {
      expect(await status(bob, 'GET', 'runs/get', { run_id: runId })).toBe('ok');
      expect(await status(bob, 'GET', 'metrics/get-history', { run_id: runId, metric_key: 'auc' })).toBe('ok');
      expect(await status(bob, 'POST', 'runs/log-metric', { run_id: runId, key: 'auc', value: 0.9, step: 1 })).toBe('ok');
      expect(await status(bob, 'POST', 'runs/create', { experiment_id: experimentId })).toBe('ok');
      expect(await status(bob, 'GET', 'registered-models/get', { name: project.slug })).toBe('ok');
    });

    it('lets a viewer read but not write: PERMISSION_DENIED (403)', async () => {
      expect(await status(vera, 'GET', 'experiments/get', { experiment_id: experimentId })).toBe('ok');
      expect(await status(vera, 'GET', 'runs/get', { run_id: runId })).toBe('ok');
      const denied = await t.mlflow(vera, 'POST', 'runs/log-metric', { run_id: runId, key: 'auc', value: 1 });
      expect(denied.status).toBe(403);
      expect(denied.body).toEqual({
        error_code: 'PERMISSION_DENIED',
        message: expect.stringMatching(/can read this run's project but not change it/)
      });
      for (const [method, endpoint, fields] of [
        ['POST', 'runs/create', { experiment_id: experimentId }],
        ['POST', 'runs/update', { run_id: runId, status: 'KILLED' }],
        ['POST', 'runs/set-tag', { run_id: runId, key: 'k', value: 'v' }],
        ['POST', 'runs/delete', { run_id: runId }],
        ['POST', 'experiments/create', { name: `${project.slug}/mine` }],
        ['POST', 'experiments/update', { experiment_id: experimentId, new_name: 'x' }],
        ['POST', 'model-versions/create', { name: project.slug, source: 's3://b/m' }],
        ['POST', 'registered-models/alias', { name: project.slug, alias: 'champion', version: '1' }],
        ['DELETE', 'registered-models/delete', { name: project.slug }]
      ] as const) {
        expect([endpoint, await status(vera, method, endpoint, fields)]).toEqual([
          endpoint,
          'PERMISSION_DENIED'
        ]);
      }
    });

    it('tells an outsider nothing exists: RESOURCE_DOES_NOT_EXIST (404)', async () => {
      for (const [method, endpoint, fields] of [
        ['GET', 'experiments/get', { experiment_id: experimentId }],
        ['GET', 'experiments/get-by-name', { experiment_name: project.slug }],
        ['GET', 'runs/get', { run_id: runId }],
        ['GET', 'metrics/get-history', { run_id: runId, metric_key: 'auc' }],
        ['POST', 'runs/log-metric', { run_id: runId, key: 'auc', value: 1 }],
        ['POST', 'runs/create', { experiment_id: experimentId }],
        ['GET', 'registered-models/get', { name: project.slug }],
        ['GET', 'model-versions/get', { name: project.slug, version: '1' }],
        ['GET', 'artifacts/list', { run_id: runId }]
      ] as const) {
        expect([endpoint, await status(oscar, method, endpoint, fields)]).toEqual([
          endpoint,
          'RESOURCE_DOES_NOT_EXIST'
        ]);
      }
      const runs = await t.mlflow(oscar, 'POST', 'runs/search', { experiment_ids: [experimentId] });
      expect(runs.body).toEqual({ runs: [] });
      const experiments = await t.mlflow(oscar, 'POST', 'experiments/search', {});
      expect(experiments.body.experiments ?? []).toEqual([]);
      const versions = await t.mlflow(oscar, 'GET', 'model-versions/search', {
        filter: `name = '${project.slug}'`
      });
      expect(versions.body.model_versions ?? []).toEqual([]);
      // The project's name does not give it away either.
      expect(await status(oscar, 'POST', 'experiments/create', { name: `${project.slug}/x` })).toBe(
        'INVALID_PARAMETER_VALUE'
      );
    });

    it('keeps the database rows to the project: RLS, not the routes', async () => {
      const count = (user: SignedInUser, table: string) =>
        t.db
          .withClaims(user.claims, tx =>
            tx.query<{ n: number }>(`select count(*)::int as n from public.${table}`)
          )
          .then(r => r.rows[0].n);
      for (const table of ['experiments', 'runs', 'run_metrics', 'run_params', 'registered_models', 'model_versions']) {
        expect([table, await count(oscar, table)]).toEqual([table, 0]);
        expect([table, (await count(vera, table)) > 0]).toEqual([table, true]);
      }
      const insert = t.db.withClaims(oscar.claims, tx =>
        tx.query(
          `insert into public.run_metrics (run_id, project_id, key, value, timestamp, step)
           values ($1, $2, 'auc', 1, 1, 0)`,
          [runId, project.id]
        )
      );
      await expect(insert).rejects.toThrow(/row-level security/);
    });
  });

  describe('artifacts in Storage', () => {
    const artifactUrl = (path: string) =>
      `${t.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${path}`;
    const put = (user: SignedInUser, path: string, body: Buffer | string, type = 'application/octet-stream') =>
      fetch(artifactUrl(path), {
        method: 'PUT',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': type },
        body
      });
    const get = (user: SignedInUser, path: string, headers: Record<string, string> = {}) =>
      fetch(artifactUrl(path), { headers: { authorization: `Bearer ${user.token}`, ...headers } });

    it('round-trips bytes as MLflow clients upload and download them', async () => {
      const model = randomBytes(300_000);
      const up = await put(alice, 'model/model.xgb', model);
      expect(up.status).toBe(200);
      expect(await up.json()).toEqual({});
      const down = await get(bob, 'model/model.xgb');
      expect(down.status).toBe(200);
      expect(Buffer.from(await down.arrayBuffer()).equals(model)).toBe(true);
      const range = await get(vera, 'model/model.xgb', { range: 'bytes=10-19' });
      expect(range.status).toBe(206);
      expect(Buffer.from(await range.arrayBuffer()).equals(model.subarray(10, 20))).toBe(true);
    });

    it('keeps a JSON file as bytes, whatever its content type', async () => {
      const text = '{"flavors": {"sklearn": {}}}\n';
      expect((await put(alice, 'model/MLmodel.json', text, 'application/json')).status).toBe(200);
      const down = await get(alice, 'model/MLmodel.json');
      expect(down.headers.get('content-type')).toMatch(/application\/json/);
      expect(await down.text()).toBe(text);
    });

    it('lists folders and files, proxied and per run', async () => {
      await t.tracking.store.uploadArtifact(
        alice.claims,
        runId,
        'logs/stdout.txt',
        Buffer.from('line 1\nline 2\n'),
        'text/plain'
      );
      const proxied = await t.api(
        alice,
        'GET',
        `/api/2.0/mlflow-artifacts/artifacts?path=${experimentId}/${runId}/artifacts/model`
      );
      expect(proxied.body).toEqual({
        files: [
          { path: 'MLmodel.json', is_dir: false, file_size: 29 },
          { path: 'model.xgb', is_dir: false, file_size: 300_000 }
        ]
      });
      const root = await t.mlflow(bob, 'GET', 'artifacts/list', { run_id: runId });
      expect(root.body).toEqual({
        root_uri: `mlflow-artifacts:/${experimentId}/${runId}/artifacts`,
        files: [
          { path: 'logs', is_dir: true },
          { path: 'model', is_dir: true }
        ]
      });
      const logs = await t.mlflow(bob, 'GET', 'artifacts/list', { run_id: runId, path: 'logs' });
      expect(logs.body.files).toEqual([{ path: 'logs/stdout.txt', is_dir: false, file_size: 14 }]);
    });

    it('refuses writes of viewers, hides everything from outsiders, and bad paths', async () => {
      const viewer = await put(vera, 'model/evil.bin', 'x');
      expect(viewer.status).toBe(403);
      expect(((await viewer.json()) as { error_code: string }).error_code).toBe('PERMISSION_DENIED');
      const outsiderRead = await get(oscar, 'model/model.xgb');
      expect(outsiderRead.status).toBe(404);
      expect(((await outsiderRead.json()) as { error_code: string }).error_code).toBe('RESOURCE_DOES_NOT_EXIST');
      expect((await put(oscar, 'model/evil.bin', 'x')).status).toBe(404);
      const missing = await get(alice, 'model/none.bin');
      expect(missing.status).toBe(404);
      // fetch() resolves "..": a backslash is what reaches the server unchanged.
      const traversal = await fetch(
        `${t.url}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/..%5C..%5Csecrets`,
        { method: 'PUT', headers: { authorization: `Bearer ${alice.token}` }, body: 'x' }
      );
      expect(traversal.status).toBe(400);
      expect(((await traversal.json()) as { error_code: string }).error_code).toBe('INVALID_PARAMETER_VALUE');
      const noToken = await fetch(artifactUrl('model/model.xgb'));
      expect(noToken.status).toBe(401);
      const objects = await t.db.asService(tx =>
        tx.query<{ name: string }>(
          "select name from storage.objects where bucket_id = 'artifacts' order by name"
        )
      );
      expect(objects.rows.map(r => r.name)).toEqual([
        `${experimentId}/${runId}/artifacts/logs/stdout.txt`,
        `${experimentId}/${runId}/artifacts/model/MLmodel.json`,
        `${experimentId}/${runId}/artifacts/model/model.xgb`
      ]);
    });
  });

  describe('events', () => {
    it('announces run.started, every run.metric and run.finished to readers only', async () => {
      const teammate = await t.events(bob);
      const outsider = await t.events(oscar);
      try {
        const created = await t.mlflow(alice, 'POST', 'runs/create', {
          experiment_id: experimentId,
          run_name: 'live'
        });
        const id = created.body.run.info.run_id;
        await t.mlflow(alice, 'POST', 'runs/log-batch', {
          run_id: id,
          metrics: Array.from({ length: 5 }, (_, step) => ({
            key: 'auc',
            value: 0.5 + step / 10,
            timestamp: 1000 + step,
            step
          }))
        });
        await t.mlflow(alice, 'POST', 'runs/log-metric', { run_id: id, key: 'loss', value: 0.3, timestamp: 2000, step: 0 });
        await t.mlflow(alice, 'POST', 'runs/update', { run_id: id, status: 'FAILED', end_time: 3000 });
        const finished = await teammate.next(e => e.type === 'run.finished' && e.payload.runId === id);
        expect(finished.payload).toEqual({ runId: id, status: 'FAILED', timestamp: expect.any(Number) });
        const mine = teammate.received.filter(e => e.payload.runId === id);
        expect(mine[0]).toEqual({
          type: 'run.started',
          payload: {
            runId: id,
            projectId: project.id,
            experimentId,
            name: 'live',
            timestamp: expect.any(Number)
          }
        });
        expect(
          mine.filter(e => e.type === 'run.metric').map(e => [e.payload.key, e.payload.step, e.payload.value])
        ).toEqual([
          ['auc', 0, 0.5],
          ['auc', 1, 0.6],
          ['auc', 2, 0.7],
          ['auc', 3, 0.8],
          ['auc', 4, 0.9],
          ['loss', 0, 0.3]
        ]);
        // A later status change to another terminal state is not a second finish... of a new kind.
        await t.mlflow(alice, 'POST', 'runs/update', { run_id: id, status: 'FAILED' });
        await new Promise(resolve => setTimeout(resolve, 200));
        expect(outsider.received.filter(e => e.payload.runId === id)).toEqual([]);
        expect(teammate.received.filter(e => e.type === 'run.finished' && e.payload.runId === id)).toHaveLength(1);
      } finally {
        await teammate.close();
        await outsider.close();
      }
    });

    it('carries the error of a failed run from the TrackingStore', async () => {
      const stream = await t.events(alice);
      try {
        const run = await t.tracking.store.createRun(alice.claims, { experiment_id: experimentId });
        await t.tracking.store.updateRun(alice.claims, run.info.run_id, {
          status: 'FAILED',
          end_time: Date.now(),
          error: 'Column "Class" is not in the dataset.'
        });
        const finished = await stream.next(
          e => e.type === 'run.finished' && e.payload.runId === run.info.run_id
        );
        expect(finished.payload.error).toBe('Column "Class" is not in the dataset.');
        const got = await t.tracking.store.getRun(alice.claims, run.info.run_id);
        expect(got.data.tags).toContainEqual({
          key: 'insighter.error',
          value: 'Column "Class" is not in the dataset.'
        });
      } finally {
        await stream.close();
      }
    });
  });
});
