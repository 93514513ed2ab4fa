import type { IInsighterBus } from '@insighter/core';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { TrackingApi } from './api';
import { RunMetrics } from './metrics';
import type { IRunRow } from './runs';

export interface IParamDiffRow {
  key: string;
  /** One value per compared run, in their order; `undefined` where a run has no such parameter. */
  values: (string | undefined)[];
  /** Not every run has the same value. */
  differs: boolean;
}

/** Every parameter of the runs (sorted by name), each with whether the runs disagree on it. */
export function paramDiff(
  runs: readonly Pick<IRunRow, 'params'>[]
): IParamDiffRow[] {
  const keys = new Set<string>();
  for (const run of runs) {
    Object.keys(run.params).forEach(key => keys.add(key));
  }
  return [...keys].sort().map(key => {
    const values = runs.map(run => run.params[key]);
    return { key, values, differs: new Set(values).size > 1 };
  });
}

/** Metric keys at least one run logged, curves (per-round keys) first. */
export function comparableMetrics(
  runs: readonly Pick<IRunRow, 'metrics'>[]
): string[] {
  const keys = new Set<string>();
  for (const run of runs) {
    Object.keys(run.metrics).forEach(key => keys.add(key));
  }
  const perRound = (key: string) =>
    key.startsWith('validation_') || key.startsWith('train_') ? 0 : 1;
  return [...keys].sort(
    (a, b) => perRound(a) - perRound(b) || a.localeCompare(b)
  );
}

export interface ICompareModelOptions {
  api: Pick<TrackingApi, 'metricHistory'>;
  bus: IInsighterBus;
}

/**
 * Runs side by side: one metric's curves overlaid (each run's history, grown
 * live for runs still training) and their parameters diffed.
 */
export class CompareModel implements IDisposable {
  private readonly _api: ICompareModelOptions['api'];
  private readonly _bus: IInsighterBus;
  private _runs: IRunRow[] = [];
  private _metric = '';
  private readonly _metrics = new Map<string, RunMetrics>();
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: ICompareModelOptions) {
    this._api = options.api;
    this._bus = options.bus;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get runs(): readonly IRunRow[] {
    return this._runs;
  }

  get metric(): string {
    return this._metric;
  }

  get metricKeys(): string[] {
    return comparableMetrics(this._runs);
  }

  get paramDiff(): IParamDiffRow[] {
    return paramDiff(this._runs);
  }

  /** The chosen metric's series of a compared run. */
  metricsOf(runId: string): RunMetrics | undefined {
    return this._metrics.get(runId);
  }

  /** Compares these runs (two or more make sense); keeps the metric if they share it. */
  setRuns(runs: readonly IRunRow[]): void {
    this._runs = [...runs];
    const ids = new Set(runs.map(run => run.runId));
    for (const [runId, metrics] of this._metrics) {
      if (!ids.has(runId)) {
        metrics.dispose();
        this._metrics.delete(runId);
      }
    }
    for (const run of runs) {
      if (!this._metrics.has(run.runId)) {
        const metrics = new RunMetrics({
          api: this._api,
          bus: this._bus,
          runId: run.runId
        });
        metrics.changed.connect(this._onMetricsChanged, this);
        this._metrics.set(run.runId, metrics);
      }
    }
    const keys = this.metricKeys;
    if (!keys.includes(this._metric)) {
      this._metric =
        keys.find(key => key === 'validation_auc') ?? keys[0] ?? '';
    }
    this._changed.emit();
    void this._load();
  }

  setMetric(key: string): void {
    if (key !== this._metric) {
      this._metric = key;
      this._changed.emit();
      void this._load();
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    for (const metrics of this._metrics.values()) {
      metrics.dispose();
    }
    this._metrics.clear();
    Signal.clearData(this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  private async _load(): Promise<void> {
    if (!this._metric) {
      return;
    }
    await Promise.all(
      [...this._metrics.values()].map(metrics => metrics.load([this._metric]))
    );
  }

  private _onMetricsChanged(_: RunMetrics, key: string): void {
    if (key === this._metric) {
      this._changed.emit();
    }
  }
}
