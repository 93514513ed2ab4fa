import { InsighterBus, SidecarError } from '@insighter/core';
import { RunDetailModel } from '../src/rundetail';
import type { IJob, IMlflowRun } from '../src/tokens';
import { history, job, line, reconnect, run, settle } from './fakes';

function setup(overrides: { getJob?: (id: string) => Promise<IJob> } = {}) {
  const bus = new InsighterBus();
  let current: IMlflowRun = run('r1', {
    status: 'RUNNING',
    params: { max_depth: '4', algorithm: 'xgboost' },
    metrics: { validation_auc: 0.7 }
  });
  const downloads: string[] = [];
  let log = { lines: [line(0, 'loading'), line(1, 'round 1')], done: false };
  const api = {
    getRun: async () => current,
    getJob: overrides.getJob ?? (async () => job('j1', 'r1')),
    metricHistory: async () => history([0.6, 0.65, 0.7]),
    listAllArtifacts: async () => [
      { path: 'model/MLmodel', is_dir: false, file_size: 300 }
    ],
    jobLogs: async () => log,
    artifactPath: (experimentId: string, runId: string, path: string) =>
      `api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${path}`,
    download: async (path: string) => {
      downloads.push(path);
      return new Blob(['flavors: {}']);
    }
  };
  const detail = new RunDetailModel({ api, bus, runId: 'r1', jobId: 'j1' });
  return {
    bus,
    detail,
    downloads,
    setRun: (r: IMlflowRun) => (current = r),
    setLog: (l: typeof log) => (log = l)
  };
}

describe('RunDetailModel', () => {
  it("reads the run's parameters, metrics, curves, artifacts and its job's log", async () => {
    const { detail, downloads } = setup();
    await detail.load();
    expect(detail.params).toEqual([
      ['algorithm', 'xgboost'],
      ['max_depth', '4']
    ]);
    expect(detail.finalMetrics).toEqual({ validation_auc: 0.7 });
    expect(detail.metrics.points('validation_auc')).toHaveLength(3);
    expect(detail.metrics.curveKeys).toEqual(['validation_auc']);
    expect(detail.artifacts.map(a => a.path)).toEqual(['model/MLmodel']);
    expect(detail.logs?.buffer.lines.map(l => l.text)).toEqual([
      'loading',
      'round 1'
    ]);
    await detail.download('model/MLmodel');
    expect(downloads).toEqual([
      'api/2.0/mlflow-artifacts/artifacts/1/r1/artifacts/model/MLmodel'
    ]);
    detail.dispose();
  });

  it('grows while the run trains and reads itself again when its job ends', async () => {
    const { bus, detail, setRun } = setup();
    await detail.load();
    bus.emit({
      type: 'run.metric',
      payload: {
        runId: 'r1',
        key: 'validation_auc',
        value: 0.72,
        step: 3,
        timestamp: 9
      }
    });
    expect(detail.metrics.points('validation_auc')).toHaveLength(4);
    expect(detail.finalMetrics.validation_auc).toBe(0.72);

    setRun(
      run('r1', {
        metrics: { validation_auc: 0.72, accuracy: 0.75, auc: 0.79 }
      })
    );
    bus.emit({
      type: 'job.updated',
      payload: {
        jobId: 'j1',
        projectId: 'p1',
        runId: 'r1',
        status: 'succeeded',
        modelVersion: 1,
        timestamp: 10
      }
    });
    await settle();
    expect(detail.run?.info.status).toBe('FINISHED');
    expect(detail.finalMetrics).toMatchObject({ accuracy: 0.75, auc: 0.79 });
    detail.dispose();
  });

  it('reads itself again when the event stream reconnects: the end, metrics and log lines it missed show', async () => {
    const { bus, detail, setRun, setLog } = setup();
    await detail.load();
    setRun(run('r1', { metrics: { validation_auc: 0.74, accuracy: 0.75 } }));
    setLog({
      lines: [line(1, 'round 1'), line(2, 'round 2'), line(3, 'done')],
      done: true
    });
    reconnect(bus);
    await settle();
    expect(detail.run?.info.status).toBe('FINISHED');
    expect(detail.finalMetrics).toEqual({
      validation_auc: 0.74,
      accuracy: 0.75
    });
    expect(detail.metrics.keys).toEqual(['accuracy', 'validation_auc']);
    expect(detail.logs?.buffer.lines.map(l => l.text)).toEqual([
      'loading',
      'round 1',
      'round 2',
      'done'
    ]);
    expect(detail.logs?.done).toBe(true);
    detail.dispose();
  });

  it('keeps the newest job when loads answer out of order', async () => {
    const answers: ((value: IJob) => void)[] = [];
    const { detail } = setup({
      getJob: () => new Promise<IJob>(resolve => answers.push(resolve))
    });
    const first = detail.load();
    const second = detail.load();
    answers[1](job('j1', 'r1', { status: 'succeeded', model_version: 1 }));
    await second;
    answers[0](job('j1', 'r1', { status: 'running' }));
    await first;
    expect(detail.job).toMatchObject({ status: 'succeeded', model_version: 1 });
    detail.dispose();
  });

  it('waits for the run of a queued job instead of calling it an error', async () => {
    const bus = new InsighterBus();
    const detail = new RunDetailModel({
      api: {
        getRun: async () => {
          throw new SidecarError({
            kind: 'response',
            status: 404,
            code: 'RESOURCE_DOES_NOT_EXIST',
            message: 'No run.'
          });
        },
        getJob: async () => job('j1', 'r1', { status: 'queued' }),
        metricHistory: async () => [],
        listAllArtifacts: async () => [],
        jobLogs: async () => ({ lines: [], done: false }),
        artifactPath: () => '',
        download: async () => new Blob()
      },
      bus,
      runId: 'r1',
      jobId: 'j1'
    });
    await detail.load();
    expect(detail.pending).toBe(true);
    expect(detail.error).toBeNull();
    detail.dispose();
  });
});
