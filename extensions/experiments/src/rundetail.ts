import type {
  IInsighterBus,
  IJobUpdated,
  IRunFinished,
  IRunMetric
} from '@insighter/core';
import { SidecarError } from '@insighter/core';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type { TrackingApi } from './api';
import { JobLogFollower } from './logs';
import { RunMetrics } from './metrics';
import type { IJob, IMlflowFileInfo, IMlflowRun } from './tokens';

export interface IRunDetailOptions {
  api: Pick<
    TrackingApi,
    | 'getRun'
    | 'metricHistory'
    | 'listAllArtifacts'
    | 'getJob'
    | 'jobLogs'
    | 'artifactPath'
    | 'download'
  >;
  bus: IInsighterBus;
  runId: string;
  /** The job that trains the run, when there is one (runs logged from a notebook have none). */
  jobId?: string | null;
  trans?: TranslationBundle;
}

/**
 * One run in full: parameters, final metrics, metric curves (live while it
 * trains), its artifacts and its job's log. Read when opened; read again when
 * the run or its job ends.
 */
export class RunDetailModel implements IDisposable {
  readonly runId: string;
  readonly metrics: RunMetrics;
  private readonly _api: IRunDetailOptions['api'];
  private readonly _bus: IInsighterBus;
  private readonly _trans: TranslationBundle;
  private _jobId: string | null;
  private _run: IMlflowRun | null = null;
  private _job: IJob | null = null;
  private _artifacts: IMlflowFileInfo[] = [];
  private _artifactsError: string | null = null;
  private _logs: JobLogFollower | null = null;
  private _error: string | null = null;
  private _loading = true;
  private _pending = false;
  private _generation = 0;
  private _final: Record<string, number> = {};
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IRunDetailOptions) {
    this.runId = options.runId;
    this._api = options.api;
    this._bus = options.bus;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._jobId = options.jobId ?? null;
    this.metrics = new RunMetrics({
      api: options.api,
      bus: options.bus,
      runId: options.runId
    });
    this.metrics.changed.connect(this._emit, this);
    this._bus.runMetric.connect(this._onMetric, this);
    this._bus.runFinished.connect(this._onRunFinished, this);
    this._bus.jobUpdated.connect(this._onJobUpdated, this);
    this._bus.eventsReconnected.connect(this._onReconnected, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get loading(): boolean {
    return this._loading;
  }

  get error(): string | null {
    return this._error;
  }

  /** The run is not there yet: its job is queued. */
  get pending(): boolean {
    return this._pending;
  }

  get run(): IMlflowRun | null {
    return this._run;
  }

  get job(): IJob | null {
    return this._job;
  }

  get params(): [string, string][] {
    return (this._run?.data.params ?? [])
      .map(p => [p.key, p.value] as [string, string])
      .sort((a, b) => a[0].localeCompare(b[0]));
  }

  /** The latest value of every metric, those logged live included. */
  get finalMetrics(): Record<string, number> {
    return this._final;
  }

  get artifacts(): readonly IMlflowFileInfo[] {
    return this._artifacts;
  }

  get artifactsError(): string | null {
    return this._artifactsError;
  }

  /** The job's log, or `null` for a run without a job. */
  get logs(): JobLogFollower | null {
    return this._logs;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  async load(): Promise<void> {
    // Loads overlap (one per event): only the newest one's answers count.
    const generation = ++this._generation;
    const stale = () => this._isDisposed || generation !== this._generation;
    if (this._jobId) {
      let job: IJob | null = null;
      try {
        job = await this._api.getJob(this._jobId);
      } catch {
        // The run still shows; the job's facts and log are what is missing.
      }
      if (stale()) {
        return;
      }
      this._job = job ?? this._job;
      if (this._job && !this._logs) {
        this._logs = new JobLogFollower({
          api: this._api,
          bus: this._bus,
          jobId: this._job.id,
          runId: this.runId
        });
        this._logs.changed.connect(this._emit, this);
        this._logs.buffer.changed.connect(this._emit, this);
      }
    }
    try {
      const run = await this._api.getRun(this.runId);
      if (stale()) {
        return;
      }
      this._run = run;
      this._pending = false;
      this._error = null;
      for (const metric of run.data.metrics ?? []) {
        this._final[metric.key] = metric.value;
      }
    } catch (reason) {
      if (stale()) {
        return;
      }
      if (
        this._job &&
        reason instanceof SidecarError &&
        reason.status === 404
      ) {
        // A queued job has not made its run yet; its job.updated reloads this.
        this._pending = true;
      } else {
        this._error = this._trans.__(
          'The run could not be read: %1',
          reason instanceof Error ? reason.message : String(reason)
        );
      }
    }
    this._loading = false;
    this._emit();
    await Promise.all([
      this._run
        ? this.metrics.load(Object.keys(this._final), true)
        : Promise.resolve(),
      this._run ? this._loadArtifacts() : Promise.resolve(),
      this._logs?.read()
    ]);
  }

  /** The artifact's bytes, for the browser to save. */
  async download(path: string): Promise<Blob> {
    const experimentId = this._run?.info.experiment_id;
    if (!experimentId) {
      throw new Error(this._trans.__('The run is not loaded.'));
    }
    return this._api.download(
      this._api.artifactPath(experimentId, this.runId, path)
    );
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._bus.runMetric.disconnect(this._onMetric, this);
    this._bus.runFinished.disconnect(this._onRunFinished, this);
    this._bus.jobUpdated.disconnect(this._onJobUpdated, this);
    this._bus.eventsReconnected.disconnect(this._onReconnected, this);
    this.metrics.dispose();
    this._logs?.dispose();
    Signal.clearData(this);
  }

  private async _loadArtifacts(): Promise<void> {
    try {
      this._artifacts = await this._api.listAllArtifacts(this.runId);
      this._artifactsError = null;
    } catch (reason) {
      this._artifactsError = this._trans.__(
        'The artifacts could not be listed: %1',
        reason instanceof Error ? reason.message : String(reason)
      );
    }
    this._emit();
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _onMetric(_: IInsighterBus, metric: IRunMetric): void {
    if (metric.runId === this.runId) {
      this._final[metric.key] = metric.value;
      // RunMetrics emits for its series; the table of final values follows it.
    }
  }

  /**
   * Metrics, log lines, the end or an artifact may have gone unheard while
   * the event stream was down: the run, its metrics' histories, its
   * artifacts and the rest of its log are read again.
   */
  private _onReconnected(): void {
    void this.load();
  }

  private _onRunFinished(_: IInsighterBus, finished: IRunFinished): void {
    if (finished.runId === this.runId) {
      void this.load();
    }
  }

  private _onJobUpdated(_: IInsighterBus, job: IJobUpdated): void {
    if (job.runId === this.runId) {
      this._jobId ??= job.jobId;
      void this.load();
    }
  }
}
