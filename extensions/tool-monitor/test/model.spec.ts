/**
 * @jest-environment jsdom
 */
import { InsighterBus, SidecarError } from '@insighter/core';
import type {
  IJob,
  IJobLogLine,
  IJobStats,
  IMlflowRun
} from '@insighter/experiments';
import { MonitorModel } from '../src/model';

function job(id: string, overrides: Partial<IJob> = {}): IJob {
  return {
    id,
    project_id: 'p1',
    status: 'running',
    error: null,
    run_id: `run-${id}`,
    experiment_id: '1',
    dataset_id: 'd1',
    dataset_version: 1,
    target: 'Class',
    algorithm: 'xgboost',
    task: 'classification',
    params: {},
    runner: 'docker',
    model_name: null,
    model_version: null,
    created_at: '2026-11-01T10:00:00.000Z',
    started_at: '2026-11-01T10:00:01.000Z',
    finished_at: null,
    exit_code: null,
    ...overrides
  };
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
  await new Promise(resolve => setTimeout(resolve, 0));
}

/** The jobs route and tracking of one project, in memory. */
class FakeSidecar {
  jobs: IJob[] = [];
  logs = new Map<string, IJobLogLine[]>();
  stats: IJobStats | null = null;
  statsCalls = 0;
  readonly api = {
    listJobs: async () => [...this.jobs],
    getJob: async (id: string) => {
      const found = this.jobs.find(j => j.id === id);
      if (!found) {
        throw new SidecarError({
          kind: 'response',
          status: 404,
          code: 'not_found',
          message: 'No job.'
        });
      }
      return found;
    },
    jobLogs: async (id: string, since?: number) => ({
      lines: (this.logs.get(id) ?? []).filter(
        l => since === undefined || l.n >= since
      ),
      done: this.jobs.find(j => j.id === id)?.status === 'succeeded'
    }),
    jobStats: async () => {
      this.statsCalls++;
      return this.stats;
    },
    getRun: async (runId: string): Promise<IMlflowRun> => ({
      info: { run_id: runId, experiment_id: '1', status: 'RUNNING' },
      data: {
        metrics: [{ key: 'validation_auc', value: 0.6, step: 1, timestamp: 2 }]
      }
    }),
    metricHistory: async () => [
      { key: 'validation_auc', value: 0.55, step: 0, timestamp: 1 },
      { key: 'validation_auc', value: 0.6, step: 1, timestamp: 2 }
    ],
    cancelJob: async () => undefined
  };

  write(jobId: string, ...texts: string[]): void {
    const lines = this.logs.get(jobId) ?? [];
    for (const text of texts) {
      lines.push({
        n: lines.length,
        stream: 'stdout',
        text,
        timestamp: lines.length
      });
    }
    this.logs.set(jobId, lines);
  }
}

describe('MonitorModel', () => {
  let bus: InsighterBus;
  let sidecar: FakeSidecar;
  let model: MonitorModel;

  beforeEach(() => {
    bus = new InsighterBus();
    sidecar = new FakeSidecar();
    model = new MonitorModel({
      api: sidecar.api,
      bus,
      projectId: 'p1',
      statsIntervalMs: 10
    });
  });

  afterEach(() => model.dispose());

  it('selects the running job and shows its log, its curves growing with run.metric events', async () => {
    sidecar.jobs = [job('old', { status: 'succeeded' }), job('j1')];
    sidecar.write('j1', 'Loading german_credit', '[0] validation-auc:0.55');
    await model.refresh();
    await settle();
    expect(model.selected?.id).toBe('j1');
    expect(model.logs?.buffer.lines.map(l => l.text)).toEqual([
      'Loading german_credit',
      '[0] validation-auc:0.55'
    ]);
    expect(model.metrics?.points('validation_auc')).toHaveLength(2);

    for (let step = 2; step < 5; step++) {
      bus.emit({
        type: 'run.metric',
        payload: {
          runId: 'run-j1',
          key: 'validation_auc',
          value: 0.6 + step / 100,
          step,
          timestamp: 10 + step
        }
      });
    }
    expect(model.metrics?.points('validation_auc').map(p => p.step)).toEqual([
      0, 1, 2, 3, 4
    ]);

    sidecar.write('j1', '[1] validation-auc:0.60');
    bus.emit({
      type: 'run.log',
      payload: {
        runId: 'run-j1',
        lines: ['[1] validation-auc:0.60'],
        stream: 'stdout',
        timestamp: 3
      }
    });
    await settle();
    expect(model.logs?.buffer.lines).toHaveLength(3);
    model.logs!.buffer.search = 'AUC';
    expect(model.logs!.buffer.visible.map(l => l.n)).toEqual([1, 2]);
  });

  it('follows a newly started job of the project, and shows its status from job.updated', async () => {
    sidecar.jobs = [job('old', { status: 'succeeded' })];
    await model.refresh();
    expect(model.selected?.id).toBe('old');

    sidecar.jobs = [
      job('j2', { status: 'queued', created_at: '2026-11-02T00:00:00.000Z' }),
      ...sidecar.jobs
    ];
    bus.emit({
      type: 'job.updated',
      payload: {
        jobId: 'j2',
        projectId: 'p1',
        runId: 'run-j2',
        status: 'queued',
        timestamp: 1
      }
    });
    bus.emit({
      type: 'job.updated',
      payload: {
        jobId: 'x',
        projectId: 'another',
        runId: 'run-x',
        status: 'queued',
        timestamp: 1
      }
    });
    await settle();
    expect(model.jobs.map(j => j.id)).toEqual(['j2', 'old']);
    expect(model.selected?.id).toBe('j2');

    sidecar.jobs[0] = {
      ...sidecar.jobs[0],
      status: 'failed',
      error: 'Column "Klass" is not in the dataset.'
    };
    bus.emit({
      type: 'job.updated',
      payload: {
        jobId: 'j2',
        projectId: 'p1',
        runId: 'run-j2',
        status: 'failed',
        error: 'Column "Klass" is not in the dataset.',
        timestamp: 2
      }
    });
    expect(model.selected?.status).toBe('failed');
    expect(model.selected?.error).toBe('Column "Klass" is not in the dataset.');
  });

  it("reads a container job's CPU and memory while it runs, and stops where the sidecar has none", async () => {
    sidecar.jobs = [job('j1')];
    sidecar.stats = {
      cpu_percent: 87.5,
      memory_bytes: 200 * 2 ** 20,
      memory_limit_bytes: 2 ** 30
    };
    await model.refresh();
    await new Promise(resolve => setTimeout(resolve, 60));
    expect(model.stats).toEqual(sidecar.stats);

    sidecar.stats = null; // 404: not in a container (or an older sidecar)
    await new Promise(resolve => setTimeout(resolve, 60));
    expect(model.stats).toBeNull();
    const calls = sidecar.statsCalls;
    await new Promise(resolve => setTimeout(resolve, 60));
    expect(sidecar.statsCalls).toBe(calls);
  });

  it('starts reading container stats when a queued job starts running', async () => {
    sidecar.jobs = [job('j1', { status: 'queued', started_at: null })];
    sidecar.stats = {
      cpu_percent: 12,
      memory_bytes: 1024,
      memory_limit_bytes: null
    };
    await model.refresh();
    await new Promise(resolve => setTimeout(resolve, 40));
    expect(sidecar.statsCalls).toBe(0);
    sidecar.jobs = [job('j1', { status: 'running' })];
    bus.emit({
      type: 'job.updated',
      payload: {
        jobId: 'j1',
        projectId: 'p1',
        runId: 'run-j1',
        status: 'running',
        timestamp: 1
      }
    });
    await new Promise(resolve => setTimeout(resolve, 60));
    expect(sidecar.statsCalls).toBeGreaterThan(0);
    expect(model.stats).toEqual(sidecar.stats);
  });

  it("shows a finished job's whole log from the job's log route", async () => {
    sidecar.jobs = [
      job('done', {
        status: 'succeeded',
        finished_at: '2026-11-01T10:00:09.000Z'
      })
    ];
    sidecar.write('done', 'a', 'b', 'c');
    await model.refresh();
    await settle();
    expect(model.logs?.buffer.lines.map(l => l.text)).toEqual(['a', 'b', 'c']);
    expect(model.logs?.done).toBe(true);
    expect(model.stats).toBeNull();
    expect(sidecar.statsCalls).toBe(0);
  });
});
