/**
 * @jest-environment jsdom
 */
import { InsighterBus, SidecarError } from '@insighter/core';
import type {
  IJob,
  IJobLogLine,
  IJobStats,
  IMlflowExperiment,
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

/** A run as `runs/search` lists it. */
function run(
  id: string,
  status: IMlflowRun['info']['status'],
  tags: Record<string, string> = {},
  experimentId = '1'
): IMlflowRun {
  return {
    info: {
      run_id: id,
      run_name: `name of ${id}`,
      experiment_id: experimentId,
      status,
      start_time: 1_700_000_000_000
    },
    data: { tags: Object.entries(tags).map(([key, value]) => ({ key, value })) }
  };
}

/** The jobs route and tracking of one project, in memory. */
class FakeSidecar {
  jobs: IJob[] = [];
  experiments: IMlflowExperiment[] = [
    {
      experiment_id: '1',
      name: 'credit-risk-alpha',
      tags: [{ key: 'insighter.project_id', value: 'p1' }]
    },
    {
      experiment_id: '2',
      name: 'another-project',
      tags: [{ key: 'insighter.project_id', value: 'p2' }]
    }
  ];
  runs: IMlflowRun[] = [];
  histories = new Map<string, { value: number; step: number }[]>();
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
    metricHistory: async (runId: string, key: string) =>
      this.histories
        .get(runId)
        ?.map(p => ({ key, ...p, timestamp: p.step + 1 })) ?? [
        { key: 'validation_auc', value: 0.55, step: 0, timestamp: 1 },
        { key: 'validation_auc', value: 0.6, step: 1, timestamp: 2 }
      ],
    cancelJob: async () => undefined,
    searchExperiments: async () => [...this.experiments],
    searchRuns: async (experimentIds: string[]) =>
      this.runs.filter(r => experimentIds.includes(r.info.experiment_id))
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

  it('lists again when the event stream reconnects, and reads the log lines and metrics it missed', async () => {
    sidecar.jobs = [job('j1')];
    sidecar.write('j1', 'Loading german_credit');
    await model.refresh();
    await settle();
    expect(model.selected?.id).toBe('j1');

    // While the stream was down: j1 logged on and ended, a notebook started a run.
    sidecar.write('j1', '[0] validation-auc:0.55', 'Registered version 1');
    sidecar.histories.set('run-j1', [
      { value: 0.55, step: 0 },
      { value: 0.6, step: 1 },
      { value: 0.7, step: 2 }
    ]);
    sidecar.jobs = [job('j1', { status: 'succeeded' })];
    sidecar.runs = [run('nb1', 'RUNNING')];
    bus.emit({
      type: 'events.reconnected',
      payload: { downMs: 5000, timestamp: 1 }
    });
    await settle();
    expect(model.selected?.status).toBe('succeeded');
    expect(model.runs.map(r => r.info.run_id)).toEqual(['nb1']);
    expect(model.logs?.buffer.lines.map(l => l.text)).toEqual([
      'Loading german_credit',
      '[0] validation-auc:0.55',
      'Registered version 1'
    ]);
    expect(model.logs?.done).toBe(true);
    expect(model.metrics?.points('validation_auc').map(p => p.step)).toEqual([
      0, 1, 2
    ]);
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

  it('keeps the newest status when reads of the job answer out of order', async () => {
    await model.refresh();
    const queued = job('j1', { status: 'queued', started_at: null });
    const running = job('j1', { status: 'running' });
    const answers: ((value: IJob) => void)[] = [];
    sidecar.api.getJob = () =>
      new Promise<IJob>(resolve => answers.push(resolve));
    const update = (status: 'queued' | 'running') => ({
      type: 'job.updated' as const,
      payload: {
        jobId: 'j1',
        projectId: 'p1',
        runId: 'run-j1',
        status,
        timestamp: 1
      }
    });
    bus.emit(update('queued'));
    bus.emit(update('running'));
    // The second read (running) answers first, the first (queued) after it.
    answers[1](running);
    await settle();
    answers[0](queued);
    await settle();
    expect(model.selected?.status).toBe('running');
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

  describe('runs no job started (a notebook, a script)', () => {
    it("lists the project's runs without a job, and follows one that starts with its curves growing live", async () => {
      sidecar.jobs = [job('old', { status: 'succeeded' })];
      sidecar.runs = [
        run('run-old', 'FINISHED', { 'insighter.job_id': 'old' }),
        run('nb-1', 'FINISHED', { 'mlflow.source.type': 'NOTEBOOK' }),
        run('elsewhere', 'RUNNING', {}, '2')
      ];
      await model.refresh();
      expect(model.jobs.map(j => j.id)).toEqual(['old']);
      expect(model.runs.map(r => r.info.run_id)).toEqual(['nb-1']);
      expect(model.selected?.id).toBe('old');

      sidecar.runs = [run('nb-2', 'RUNNING'), ...sidecar.runs];
      sidecar.histories.set('nb-2', []);
      bus.emit({
        type: 'run.started',
        payload: {
          runId: 'nb-2',
          projectId: 'p1',
          experimentId: '1',
          name: 'name of nb-2',
          timestamp: 1
        }
      });
      await settle();
      expect(model.runs.map(r => r.info.run_id)).toEqual(['nb-2', 'nb-1']);
      expect(model.selected).toBeNull();
      expect(model.selectedRun?.info.run_id).toBe('nb-2');

      for (let step = 0; step < 3; step++) {
        bus.emit({
          type: 'run.metric',
          payload: {
            runId: 'nb-2',
            key: 'loss',
            value: 1 / (step + 1),
            step,
            timestamp: 10 + step
          }
        });
      }
      expect(model.metrics?.runId).toBe('nb-2');
      expect(model.metrics?.points('loss').map(p => p.step)).toEqual([0, 1, 2]);

      // A job's run starting elsewhere in the project does not take it over.
      sidecar.runs = [
        run('nb-3', 'RUNNING', { 'insighter.job_id': 'j9' }),
        ...sidecar.runs
      ];
      bus.emit({
        type: 'run.started',
        payload: { runId: 'nb-3', projectId: 'p1', name: 'x', timestamp: 2 }
      });
      await settle();
      expect(model.runs.map(r => r.info.run_id)).toEqual(['nb-2', 'nb-1']);
      expect(model.selectedRun?.info.run_id).toBe('nb-2');
    });

    it('shows the end from run.finished at once', async () => {
      sidecar.runs = [run('nb-1', 'RUNNING')];
      await model.refresh();
      expect(model.selectedRun?.info.run_id).toBe('nb-1');
      bus.emit({
        type: 'run.finished',
        payload: { runId: 'nb-1', status: 'FAILED', timestamp: 5 }
      });
      expect(model.selectedRun?.info.status).toBe('FAILED');
      expect(model.selectedRun?.info.end_time).toBe(5);
    });

    it("reads a selected run's curves from their history; selecting a job leaves it", async () => {
      sidecar.jobs = [job('j1', { status: 'succeeded' })];
      sidecar.runs = [run('nb-1', 'FINISHED')];
      sidecar.histories.set('nb-1', [
        { value: 0.5, step: 0 },
        { value: 0.7, step: 1 }
      ]);
      await model.refresh();
      expect(model.selected?.id).toBe('j1');
      model.selectRun('nb-1');
      await settle();
      expect(model.selected).toBeNull();
      expect(model.logs).toBeNull();
      expect(model.metrics?.points('validation_auc').map(p => p.value)).toEqual(
        [0.5, 0.7]
      );
      model.select('j1');
      expect(model.selectedRun).toBeNull();
      expect(model.metrics?.runId).toBe('run-j1');
    });
  });
});
