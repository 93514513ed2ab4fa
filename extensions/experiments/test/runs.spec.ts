import { InsighterBus } from '@insighter/core';
import { filterRows, runRows, RunsModel, sortRows } from '../src/runs';
import type { IJob, IMlflowRun } from '../src/tokens';
import { job, reconnect, run, settle } from './fakes';

describe('runRows', () => {
  it('joins runs with their jobs, adds queued jobs without a run (by creation time), newest first', () => {
    const rows = runRows(
      [
        run('r1', {
          start: 1000,
          end: 5000,
          metrics: { accuracy: 0.7 },
          dataset: 'german_credit'
        }),
        run('r2', { start: 2000, status: 'RUNNING' })
      ],
      [
        job('j2', 'r2'),
        job('j3', 'r3', { status: 'queued', started_at: null })
      ],
      [],
      10_000
    );
    expect(rows.map(r => [r.runId, r.status])).toEqual([
      ['r3', 'queued'],
      ['r2', 'running'],
      ['r1', 'succeeded']
    ]);
    expect(rows[2]).toMatchObject({
      dataset: 'german_credit v1',
      durationMs: 4000,
      metrics: { accuracy: 0.7 }
    });
    // A running run's duration counts up to now.
    expect(rows[1]).toMatchObject({ algorithm: 'XGBoost', durationMs: 8000 });
  });
});

describe('sortRows and filterRows', () => {
  const rows = runRows(
    [
      run('a', { name: 'amber', start: 3000, metrics: { auc: 0.8 } }),
      run('b', { name: 'birch', start: 1000, metrics: { auc: 0.9 } }),
      run('c', { name: 'cedar', start: 2000, status: 'FAILED' })
    ],
    []
  );

  it('sorts by a metric either way, rows without it last both times', () => {
    expect(
      sortRows(rows, { key: 'auc', ascending: true }).map(r => r.runId)
    ).toEqual(['a', 'b', 'c']);
    expect(
      sortRows(rows, { key: 'auc', ascending: false }).map(r => r.runId)
    ).toEqual(['b', 'a', 'c']);
  });

  it('sorts by name and start time', () => {
    expect(
      sortRows(rows, { key: 'name', ascending: false }).map(r => r.runId)
    ).toEqual(['c', 'b', 'a']);
    expect(
      sortRows(rows, { key: 'started', ascending: true }).map(r => r.runId)
    ).toEqual(['b', 'c', 'a']);
  });

  it('keeps rows containing every word of the filter, ignoring case', () => {
    expect(filterRows(rows, 'FAILED').map(r => r.runId)).toEqual(['c']);
    expect(filterRows(rows, 'xgboost')).toEqual([]);
    expect(filterRows(rows, '  ').length).toBe(3);
    expect(filterRows(rows, 'birch succeeded').map(r => r.runId)).toEqual([
      'b'
    ]);
  });
});

describe('RunsModel', () => {
  function setup() {
    const bus = new InsighterBus();
    let runs: IMlflowRun[] = [
      run('r1', { name: 'first', metrics: { auc: 0.5 } })
    ];
    let jobs: IJob[] = [job('j1', 'r1', { status: 'running' })];
    const calls: string[] = [];
    const api = {
      projectExperiments: async () => {
        calls.push('experiments');
        return [{ experiment_id: '1', name: 'credit-risk-alpha' }];
      },
      searchRuns: async (ids: string[]) => {
        calls.push(`runs ${ids.join(',')}`);
        return runs;
      },
      listJobs: async () => jobs,
      listDatasets: async () => []
    };
    const model = new RunsModel({
      api,
      bus,
      project: { id: 'p1', slug: 'credit-risk-alpha' }
    });
    return {
      bus,
      model,
      calls,
      setRuns: (r: IMlflowRun[]) => (runs = r),
      setJobs: (j: IJob[]) => (jobs = j)
    };
  }

  it("lists the project's runs, sorts and filters them on request", async () => {
    const { model, calls, setRuns } = setup();
    setRuns([
      run('r1', { name: 'first', metrics: { auc: 0.5 } }),
      run('r2', { name: 'second', metrics: { auc: 0.9 } })
    ]);
    await model.refresh();
    expect(calls).toEqual(['experiments', 'runs 1']);
    model.sortBy('auc');
    expect(model.sort).toEqual({ key: 'auc', ascending: false });
    expect(model.visibleRows.map(r => r.runId)).toEqual(['r2', 'r1']);
    model.sortBy('auc');
    expect(model.visibleRows.map(r => r.runId)).toEqual(['r1', 'r2']);
    model.filter = 'second';
    expect(model.visibleRows.map(r => r.runId)).toEqual(['r2']);
    expect(model.rows).toHaveLength(2);
  });

  it('updates a listed run from run.metric at once, and lists again when a job of the project changes', async () => {
    const { bus, model, calls, setJobs } = setup();
    await model.refresh();
    const changes: number[] = [];
    model.changed.connect(() => changes.push(1));
    bus.emit({
      type: 'run.metric',
      payload: { runId: 'r1', key: 'auc', value: 0.77, step: 0, timestamp: 5 }
    });
    expect(model.row('r1')?.metrics.auc).toBe(0.77);
    expect(changes).toHaveLength(1);
    bus.emit({
      type: 'run.metric',
      payload: { runId: 'other', key: 'auc', value: 0.1, step: 0, timestamp: 5 }
    });
    expect(changes).toHaveLength(1);

    setJobs([job('j1', 'r1', { status: 'succeeded' })]);
    calls.length = 0;
    bus.emit({
      type: 'job.updated',
      payload: {
        jobId: 'j1',
        projectId: 'p1',
        runId: 'r1',
        status: 'succeeded',
        timestamp: 6
      }
    });
    bus.emit({
      type: 'job.updated',
      payload: {
        jobId: 'j9',
        projectId: 'elsewhere',
        runId: 'r9',
        status: 'running',
        timestamp: 6
      }
    });
    await settle();
    expect(calls).toEqual(['experiments', 'runs 1']);
    expect(model.row('r1')?.status).toBe('succeeded');
  });

  it('lists again when the event stream reconnects: a run that ended while it was down shows its end', async () => {
    const { bus, model, calls, setRuns, setJobs } = setup();
    await model.refresh();
    expect(model.row('r1')?.status).toBe('running');
    setRuns([
      run('r1', { name: 'first', metrics: { auc: 0.8 } }),
      run('r2', { name: 'from a notebook' })
    ]);
    setJobs([job('j1', 'r1', { status: 'succeeded' })]);
    calls.length = 0;
    reconnect(bus);
    await settle();
    expect(calls).toEqual(['experiments', 'runs 1']);
    expect(model.row('r1')).toMatchObject({
      status: 'succeeded',
      metrics: { auc: 0.8 }
    });
    expect(model.row('r2')).toBeDefined();
  });

  it('picks runs for comparison and forgets those that are gone', async () => {
    const { model, setRuns, setJobs } = setup();
    setJobs([]);
    setRuns([run('r1'), run('r2')]);
    await model.refresh();
    model.togglePicked('r1');
    model.togglePicked('r2');
    expect(model.picked).toEqual(['r1', 'r2']);
    setRuns([run('r2')]);
    await model.refresh();
    expect(model.picked).toEqual(['r2']);
  });

  it('says why the runs could not be listed', async () => {
    const bus = new InsighterBus();
    const model = new RunsModel({
      api: {
        projectExperiments: async () => {
          throw new Error('Tracking is down.');
        },
        searchRuns: async () => [],
        listJobs: async () => [],
        listDatasets: async () => []
      },
      bus,
      project: { id: 'p1', slug: 's' }
    });
    await model.refresh();
    expect(model.status).toBe('error');
    expect(model.error).toBe('The runs could not be listed: Tracking is down.');
  });
});
