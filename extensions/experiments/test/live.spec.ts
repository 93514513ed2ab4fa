import { InsighterBus } from '@insighter/core';
import { CompareModel, paramDiff } from '../src/compare';
import { filterLines, JobLogFollower, LogBuffer } from '../src/logs';
import { mergePoints, RunMetrics } from '../src/metrics';
import { runRows } from '../src/runs';
import type { IJobLogs } from '../src/tokens';
import { history, line, run, settle } from './fakes';

function metric(runId: string, value: number, step: number) {
  return {
    type: 'run.metric' as const,
    payload: {
      runId,
      key: 'validation_auc',
      value,
      step,
      timestamp: 100 + step
    }
  };
}

describe('metric series', () => {
  it('merges points by step, the later value winning, in step order', () => {
    const merged = mergePoints(
      [
        { step: 0, value: 0.5, timestamp: 1 },
        { step: 2, value: 0.7, timestamp: 3 }
      ],
      [
        { step: 1, value: 0.6, timestamp: 2 },
        { step: 2, value: 0.71, timestamp: 4 }
      ]
    );
    expect(merged.map(p => [p.step, p.value])).toEqual([
      [0, 0.5],
      [1, 0.6],
      [2, 0.71]
    ]);
  });

  it("grows a run's curve from its history and then from run.metric events, each step once", async () => {
    const bus = new InsighterBus();
    let release!: () => void;
    const gate = new Promise<void>(resolve => (release = resolve));
    const api = {
      metricHistory: async () => {
        await gate;
        return history([0.6, 0.65, 0.7]);
      }
    };
    const metrics = new RunMetrics({ api, bus, runId: 'r1' });
    const seen: number[] = [];
    metrics.changed.connect(() =>
      seen.push(metrics.points('validation_auc').length)
    );
    const loading = metrics.load(['validation_auc']);
    // A live point crossing the history read: step 2 arrives from both.
    bus.emit(metric('r1', 0.7, 2));
    bus.emit(metric('other-run', 0.1, 3));
    release();
    await loading;
    bus.emit(metric('r1', 0.72, 3));
    expect(metrics.points('validation_auc').map(p => p.step)).toEqual([
      0, 1, 2, 3
    ]);
    expect(seen).toEqual([1, 3, 4]);
    expect(metrics.latest('validation_auc')).toBe(0.72);
    expect(metrics.curveKeys).toEqual(['validation_auc']);
    metrics.dispose();
    bus.emit(metric('r1', 0.8, 4));
    expect(metrics.points('validation_auc')).toHaveLength(4);
  });
});

describe('log buffer', () => {
  it('keeps each numbered line once, in order, and drops the oldest past its limit', () => {
    const buffer = new LogBuffer(3);
    expect(buffer.append([line(1), line(0)])).toBe(2);
    expect(buffer.append([line(1), line(2)])).toBe(1);
    expect(buffer.lines.map(l => l.n)).toEqual([0, 1, 2]);
    buffer.append([line(3), line(4)]);
    expect(buffer.lines.map(l => l.n)).toEqual([2, 3, 4]);
    expect(buffer.dropped).toBe(2);
    expect(buffer.lastN).toBe(4);
  });

  it('shows only the lines matching the search, ignoring case, and all of them again when cleared', () => {
    const buffer = new LogBuffer();
    buffer.append([
      line(0, '[0] validation-auc:0.61'),
      line(1, 'Loading german_credit.csv'),
      line(2, '[1] validation-AUC:0.66')
    ]);
    buffer.search = 'auc';
    expect(buffer.visible.map(l => l.n)).toEqual([0, 2]);
    buffer.append([
      line(3, '[2] validation-auc:0.70'),
      line(4, 'saving model')
    ]);
    expect(buffer.visible.map(l => l.n)).toEqual([0, 2, 3]);
    buffer.search = '';
    expect(buffer.visible).toHaveLength(5);
    expect(filterLines(buffer.lines, 'MODEL').map(l => l.n)).toEqual([4]);
  });

  it("follows a job's log: all lines first, then the lines after the last held on each run.log event, one read at a time", async () => {
    const bus = new InsighterBus();
    const server = [line(0), line(1)];
    const reads: (number | undefined)[] = [];
    let done = false;
    const api = {
      jobLogs: async (_id: string, since?: number): Promise<IJobLogs> => {
        reads.push(since);
        await Promise.resolve();
        return {
          lines: server.filter(l => since === undefined || l.n >= since),
          done
        };
      }
    };
    const follower = new JobLogFollower({ api, bus, jobId: 'j1', runId: 'r1' });
    await follower.read();
    expect(follower.buffer.lines.map(l => l.n)).toEqual([0, 1]);

    server.push(line(2), line(3));
    const log = (runId: string) => ({
      type: 'run.log' as const,
      payload: { runId, lines: ['x'], stream: 'stdout' as const, timestamp: 1 }
    });
    bus.emit(log('r1'));
    bus.emit(log('r1'));
    bus.emit(log('r1'));
    bus.emit(log('another-run'));
    await settle();
    // The first event reads; the two during it are served by one more read.
    expect(reads).toEqual([undefined, 1, 3]);
    expect(follower.buffer.lines.map(l => l.n)).toEqual([0, 1, 2, 3]);

    done = true;
    server.push(line(4));
    await follower.read();
    expect(follower.done).toBe(true);
    expect(follower.buffer.lines.map(l => l.n)).toEqual([0, 1, 2, 3, 4]);
    follower.dispose();
  });
});

describe('comparing runs', () => {
  it('lists every parameter once, marking those the runs disagree on', () => {
    const diff = paramDiff([
      {
        params: { max_depth: '6', learning_rate: '0.3', algorithm: 'xgboost' }
      },
      {
        params: { max_depth: '4', learning_rate: '0.3', algorithm: 'xgboost' }
      },
      { params: { max_depth: '6', algorithm: 'xgboost' } }
    ]);
    expect(diff).toEqual([
      {
        key: 'algorithm',
        values: ['xgboost', 'xgboost', 'xgboost'],
        differs: false
      },
      {
        key: 'learning_rate',
        values: ['0.3', '0.3', undefined],
        differs: true
      },
      { key: 'max_depth', values: ['6', '4', '6'], differs: true }
    ]);
  });

  it('overlays the chosen metric of each run, read from its history and grown live', async () => {
    const bus = new InsighterBus();
    const histories: Record<string, number[]> = { r1: [0.6, 0.7], r2: [0.5] };
    const api = {
      metricHistory: async (runId: string, key: string) =>
        key === 'validation_auc' ? history(histories[runId]) : []
    };
    const rows = runRows(
      [
        run('r1', { metrics: { validation_auc: 0.7, accuracy: 0.8 } }),
        run('r2', { metrics: { validation_auc: 0.5 }, status: 'RUNNING' })
      ],
      []
    );
    const compare = new CompareModel({ api, bus });
    compare.setRuns(rows);
    expect(compare.metric).toBe('validation_auc');
    expect(compare.metricKeys).toEqual(['validation_auc', 'accuracy']);
    await settle();
    expect(compare.metricsOf('r1')?.points('validation_auc')).toHaveLength(2);
    bus.emit(metric('r2', 0.55, 1));
    expect(
      compare
        .metricsOf('r2')
        ?.points('validation_auc')
        .map(p => p.value)
    ).toEqual([0.5, 0.55]);
    compare.setRuns(rows.slice(0, 1));
    expect(compare.metricsOf('r2')).toBeUndefined();
    compare.dispose();
  });
});
