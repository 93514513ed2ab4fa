import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { SignedInUser } from '../projects/harness';
import { startTrackingTestServer, type TrackingTestServer } from './harness';

const run = promisify(execFile);

/**
 * What MLflow's Python client sends for set_experiment, start_run,
 * log_param, log_metric, set_tag, log_artifact and end_run — replayed by a
 * urllib script under Debian's Python — is understood, stored and answered
 * as MLflow does.
 */
describe("MLflow's Python fluent API, replayed with urllib", () => {
  let t: TrackingTestServer;
  let alice: SignedInUser;
  let project: { id: string; slug: string };

  beforeAll(async () => {
    t = await startTrackingTestServer('pglite');
    alice = await t.user('Alice');
    project = await t.project(alice, 'Notebook Project');
  });

  afterAll(async () => {
    await t?.close();
  });

  it('logs a run the sidecar shows as MLflow would', async () => {
    const { stdout } = await run(
      '/usr/bin/python3',
      [path.join(__dirname, 'fixtures', 'mlflow_fluent.py')],
      {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          MLFLOW_TRACKING_URI: t.url,
          MLFLOW_TRACKING_TOKEN: alice.token,
          MLFLOW_EXPERIMENT_NAME: `${project.slug}/from-python`
        },
        timeout: 30_000
      }
    );
    const result = JSON.parse(stdout.trim().split('\n').pop()!);
    expect(result.changed_param).toBe('INVALID_PARAMETER_VALUE');
    const got = await t.mlflow(alice, 'GET', 'runs/get', { run_id: result.run_id });
    expect(got.body.run.info).toEqual(
      expect.objectContaining({ status: 'FINISHED', experiment_id: result.experiment_id })
    );
    expect(got.body.run.data.params).toEqual([{ key: 'max_depth', value: '4' }]);
    expect(got.body.run.data.metrics).toEqual([
      { key: 'auc', value: 0.83, timestamp: expect.any(Number), step: 2 }
    ]);
    expect(got.body.run.data.tags).toEqual(
      expect.arrayContaining([
        { key: 'stage', value: 'test' },
        { key: 'mlflow.source.type', value: 'LOCAL' }
      ])
    );
    const history = await t.mlflow(alice, 'GET', 'metrics/get-history', {
      run_id: result.run_id,
      metric_key: 'auc'
    });
    expect(history.body.metrics.map((m: { value: number }) => m.value)).toEqual([0.71, 0.78, 0.83]);
    const artifacts = await t.mlflow(alice, 'GET', 'artifacts/list', { run_id: result.run_id });
    expect(artifacts.body.files).toEqual([{ path: 'notes.txt', is_dir: false, file_size: 20 }]);
  });
});
