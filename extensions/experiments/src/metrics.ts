import type { IInsighterBus, IRunMetric } from '@insighter/core';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { TrackingApi } from './api';
import type { IMlflowMetric } from './tokens';

export interface IMetricPoint {
  step: number;
  value: number;
  timestamp: number;
}

/**
 * `points` with `added` merged in, one point per step, in step order. A step
 * logged twice keeps the later value, so the same point arriving from the
 * history and from the bus (they overlap while a run is live) counts once.
 */
export function mergePoints(
  points: readonly IMetricPoint[],
  added: readonly IMetricPoint[]
): IMetricPoint[] {
  const byStep = new Map<number, IMetricPoint>();
  for (const point of [...points, ...added]) {
    const known = byStep.get(point.step);
    if (!known || point.timestamp >= known.timestamp) {
      byStep.set(point.step, {
        step: point.step,
        value: point.value,
        timestamp: point.timestamp
      });
    }
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** Keys a run logs once per boosting round or epoch: drawn as curves. */
export function isCurveKey(
  key: string,
  points: readonly IMetricPoint[]
): boolean {
  return (
    points.length > 1 ||
    key.startsWith('validation_') ||
    key.startsWith('train_') ||
    points.some(point => point.step > 0)
  );
}

function pointOf(metric: IMlflowMetric | IRunMetric): IMetricPoint {
  return {
    step: Number(metric.step ?? 0),
    value: Number(metric.value),
    timestamp: Number(metric.timestamp ?? 0)
  };
}

export interface IRunMetricsOptions {
  api: Pick<TrackingApi, 'metricHistory'>;
  bus: IInsighterBus;
  runId: string;
}

/**
 * The metrics of one run as series per key: each key's history read once,
 * then grown by the bus's `run.metric` events for the run, so a chart of a
 * live run grows as the job logs. Views render it.
 */
export class RunMetrics implements IDisposable {
  readonly runId: string;
  private readonly _api: IRunMetricsOptions['api'];
  private readonly _bus: IInsighterBus;
  private readonly _series = new Map<string, IMetricPoint[]>();
  private readonly _loaded = new Set<string>();
  private _error: string | null = null;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, string>(this);

  constructor(options: IRunMetricsOptions) {
    this.runId = options.runId;
    this._api = options.api;
    this._bus = options.bus;
    this._bus.runMetric.connect(this._onMetric, this);
  }

  /** Fires with the key whose series changed. */
  get changed(): ISignal<this, string> {
    return this._changed;
  }

  get keys(): string[] {
    return [...this._series.keys()].sort();
  }

  /** Keys drawn as curves (logged per round), in name order. */
  get curveKeys(): string[] {
    return this.keys.filter(key => isCurveKey(key, this.points(key)));
  }

  /** Why the last history could not be read; `null` when it could. */
  get error(): string | null {
    return this._error;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  points(key: string): IMetricPoint[] {
    return this._series.get(key) ?? [];
  }

  /** The value at the highest step, as MLflow's `run.data.metrics` reports it. */
  latest(key: string): number | undefined {
    const points = this.points(key);
    return points.length ? points[points.length - 1].value : undefined;
  }

  /** Reads the history of each key not read yet (all of them with `force`). */
  async load(keys: readonly string[], force = false): Promise<void> {
    await Promise.all(
      keys
        .filter(key => force || !this._loaded.has(key))
        .map(async key => {
          try {
            const history = await this._api.metricHistory(this.runId, key);
            if (this._isDisposed) {
              return;
            }
            this._loaded.add(key);
            this._add(key, history.map(pointOf));
            this._error = null;
          } catch (reason) {
            this._error =
              reason instanceof Error ? reason.message : String(reason);
            if (!this._isDisposed) {
              this._changed.emit(key);
            }
          }
        })
    );
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._bus.runMetric.disconnect(this._onMetric, this);
    Signal.clearData(this);
  }

  private _add(key: string, points: IMetricPoint[]): void {
    this._series.set(key, mergePoints(this.points(key), points));
    this._changed.emit(key);
  }

  private _onMetric(_: IInsighterBus, metric: IRunMetric): void {
    if (metric.runId === this.runId) {
      this._add(metric.key, [pointOf(metric)]);
    }
  }
}
