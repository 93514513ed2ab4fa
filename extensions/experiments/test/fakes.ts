import type { IInsighterBus } from '@insighter/core';
import type {
  IJob,
  IJobLogLine,
  IMlflowMetric,
  IMlflowRun
} from '../src/tokens';

export function run(
  id: string,
  overrides: {
    name?: string;
    status?: IMlflowRun['info']['status'];
    start?: number;
    end?: number;
    metrics?: Record<string, number>;
    params?: Record<string, string>;
    dataset?: string;
  } = {}
): IMlflowRun {
  return {
    info: {
      run_id: id,
      run_name: overrides.name ?? id,
      experiment_id: '1',
      status: overrides.status ?? 'FINISHED',
      start_time: overrides.start ?? 1_000,
      end_time: overrides.end
    },
    data: {
      metrics: Object.entries(overrides.metrics ?? {}).map(([key, value]) => ({
        key,
        value,
        step: 0,
        timestamp: 1
      })),
      params: Object.entries(overrides.params ?? {}).map(([key, value]) => ({
        key,
        value
      }))
    },
    inputs: overrides.dataset
      ? {
          dataset_inputs: [
            {
              dataset: {
                name: overrides.dataset,
                digest: 'abc123',
                source: JSON.stringify({ dataset_id: 'd1', version: 1 })
              }
            }
          ]
        }
      : undefined
  };
}

export function job(
  id: string,
  runId: string,
  overrides: Partial<IJob> = {}
): IJob {
  return {
    id,
    project_id: 'p1',
    status: 'running',
    error: null,
    run_id: runId,
    experiment_id: '1',
    dataset_id: 'd1',
    dataset_version: 1,
    target: 'Class',
    algorithm: 'xgboost',
    task: 'classification',
    params: {},
    runner: 'process',
    model_name: null,
    model_version: null,
    created_at: '2026-11-01T10:00:00.000Z',
    started_at: '2026-11-01T10:00:01.000Z',
    finished_at: null,
    exit_code: null,
    ...overrides
  };
}

export function line(n: number, text = `line ${n}`): IJobLogLine {
  return { n, stream: 'stdout', text, timestamp: n };
}

export function history(values: number[], from = 0): IMlflowMetric[] {
  return values.map((value, i) => ({
    key: 'validation_auc',
    value,
    step: from + i,
    timestamp: from + i
  }));
}

/** Resolves after pending promise callbacks (the models' awaits) have run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) {
    await Promise.resolve();
  }
  await new Promise(resolve => setTimeout(resolve, 0));
}

/** What the page's event stream announces each time it opens (after a drop, too). */
export function reconnect(bus: Pick<IInsighterBus, 'emit'>): void {
  bus.emit({
    type: 'events.reconnected',
    payload: { downMs: 5000, timestamp: 1 }
  });
}
