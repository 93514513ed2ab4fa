import type {
  IInsighterBus,
  IJobUpdated,
  IRunStarted,
  JobStatus
} from '@insighter/core';
import {
  IJob,
  IJobStats,
  JobLogFollower,
  RunMetrics,
  TrackingApi
} from '@insighter/experiments';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

/** How often a container's CPU and memory are read while its job runs. */
export const STATS_INTERVAL_MS = 2000;

export function isLive(status: JobStatus): boolean {
  return status === 'queued' || status === 'running';
}

export type MonitorStatus = 'loading' | 'ready' | 'error';

export interface IMonitorModelOptions {
  api: Pick<
    TrackingApi,
    | 'listJobs'
    | 'getJob'
    | 'jobLogs'
    | 'jobStats'
    | 'getRun'
    | 'metricHistory'
    | 'cancelJob'
  >;
  bus: IInsighterBus;
  projectId: string;
  trans?: TranslationBundle;
  statsIntervalMs?: number;
}

/**
 * The Tool Monitor of one project: its running and recent jobs, and for the
 * selected one its live log, its metric curves (grown by `run.metric`
 * events), its status (from `job.updated`) and, for a job in a container,
 * CPU and memory. A new job of the project is selected when the selected one
 * is not running, so the monitor follows what was just started.
 */
export class MonitorModel implements IDisposable {
  private readonly _api: IMonitorModelOptions['api'];
  private readonly _bus: IInsighterBus;
  private readonly _trans: TranslationBundle;
  private readonly _statsIntervalMs: number;
  private _projectId: string;
  private _status: MonitorStatus = 'loading';
  private _error: string | null = null;
  private _jobs: IJob[] = [];
  private _selectedId: string | null = null;
  private _logs: JobLogFollower | null = null;
  private _metrics: RunMetrics | null = null;
  private _stats: IJobStats | null = null;
  private _statsPoll: Poll | null = null;
  private _follow = true;
  private _actionError: string | null = null;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IMonitorModelOptions) {
    this._api = options.api;
    this._bus = options.bus;
    this._projectId = options.projectId;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._statsIntervalMs = options.statsIntervalMs ?? STATS_INTERVAL_MS;
    this._bus.jobUpdated.connect(this._onJobUpdated, this);
    this._bus.runStarted.connect(this._onRunStarted, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get status(): MonitorStatus {
    return this._status;
  }

  get error(): string | null {
    return this._error;
  }

  get projectId(): string {
    return this._projectId;
  }

  /** Newest first. */
  get jobs(): readonly IJob[] {
    return this._jobs;
  }

  get selected(): IJob | null {
    return this._jobs.find(job => job.id === this._selectedId) ?? null;
  }

  get logs(): JobLogFollower | null {
    return this._logs;
  }

  get metrics(): RunMetrics | null {
    return this._metrics;
  }

  /** The selected job's container use; `null` when it has none to report. */
  get stats(): IJobStats | null {
    return this._stats;
  }

  /** Keep the newest log line in view. */
  get follow(): boolean {
    return this._follow;
  }

  set follow(follow: boolean) {
    if (follow !== this._follow) {
      this._follow = follow;
      this._changed.emit();
    }
  }

  get actionError(): string | null {
    return this._actionError;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Lists the jobs; selects the newest when none is selected. */
  async refresh(): Promise<void> {
    try {
      const jobs = await this._api.listJobs(this._projectId);
      if (this._isDisposed) {
        return;
      }
      this._jobs = jobs;
      this._status = 'ready';
      this._error = null;
      this._changed.emit();
      if (!this.selected && jobs.length) {
        this.select((jobs.find(job => isLive(job.status)) ?? jobs[0]).id);
      }
    } catch (reason) {
      if (this._isDisposed) {
        return;
      }
      this._status = 'error';
      this._error = this._trans.__(
        'The jobs could not be listed: %1',
        reason instanceof Error ? reason.message : String(reason)
      );
      this._changed.emit();
    }
  }

  setProject(projectId: string): void {
    if (projectId !== this._projectId) {
      this._projectId = projectId;
      this._jobs = [];
      this._unselect();
      void this.refresh();
    }
  }

  /** Shows one job: its log read from the start, its curves from their history. */
  select(jobId: string): void {
    if (jobId === this._selectedId) {
      return;
    }
    this._unselect();
    this._selectedId = jobId;
    const job = this.selected;
    this._changed.emit();
    if (!job) {
      // Not listed yet (just started): the listing brings it.
      void this._fetchJob(jobId);
      return;
    }
    this._follow = true;
    this._logs = new JobLogFollower({
      api: this._api,
      bus: this._bus,
      jobId: job.id,
      runId: job.run_id
    });
    this._logs.changed.connect(this._emit, this);
    this._logs.buffer.changed.connect(this._emit, this);
    this._metrics = new RunMetrics({
      api: this._api,
      bus: this._bus,
      runId: job.run_id
    });
    this._metrics.changed.connect(this._emit, this);
    void this._logs.read();
    void this._loadMetrics();
    this._watchStats(job);
  }

  async cancel(jobId: string): Promise<void> {
    this._actionError = null;
    try {
      await this._api.cancelJob(jobId);
    } catch (reason) {
      this._actionError =
        reason instanceof Error ? reason.message : String(reason);
    }
    await this._fetchJob(jobId);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._bus.jobUpdated.disconnect(this._onJobUpdated, this);
    this._bus.runStarted.disconnect(this._onRunStarted, this);
    this._unselect();
    Signal.clearData(this);
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _unselect(): void {
    this._selectedId = null;
    this._logs?.dispose();
    this._logs = null;
    this._metrics?.dispose();
    this._metrics = null;
    this._statsPoll?.dispose();
    this._statsPoll = null;
    this._stats = null;
  }

  /** The run's metric keys come from the run itself; each key's history then. */
  private async _loadMetrics(): Promise<void> {
    const metrics = this._metrics;
    const job = this.selected;
    if (!metrics || !job) {
      return;
    }
    try {
      const run = await this._api.getRun(job.run_id);
      const keys = (run.data.metrics ?? []).map(m => m.key);
      if (metrics === this._metrics) {
        await metrics.load(keys, true);
      }
    } catch {
      // A queued job has no run yet: its events fill the curves as it trains.
    }
  }

  private _watchStats(job: IJob): void {
    // Only a running job has a reading; a queued one starts this when it runs.
    if (job.status !== 'running' || this._statsPoll) {
      return;
    }
    const poll = new Poll({
      factory: async () => {
        const stats = await this._api.jobStats(job.id);
        if (poll !== this._statsPoll) {
          return;
        }
        this._stats = stats;
        this._emit();
        if (stats === null) {
          // No container behind this job (or a sidecar without the route): nothing to show.
          poll.dispose();
        }
      },
      frequency: {
        interval: this._statsIntervalMs,
        backoff: true,
        max: 30_000
      },
      standby: 'when-hidden'
    });
    this._statsPoll = poll;
  }

  private async _fetchJob(jobId: string): Promise<void> {
    let job: IJob;
    try {
      job = await this._api.getJob(jobId);
    } catch {
      return;
    }
    if (this._isDisposed || job.project_id !== this._projectId) {
      return;
    }
    this._upsert(job);
  }

  private _upsert(job: IJob): void {
    const index = this._jobs.findIndex(j => j.id === job.id);
    const previous = index >= 0 ? this._jobs[index] : null;
    this._jobs =
      index >= 0
        ? this._jobs.map(j => (j.id === job.id ? job : j))
        : [job, ...this._jobs];
    const current = this.selected;
    if (job.id === this._selectedId) {
      if (!previous || !this._logs) {
        // Selected before it was listed: start showing it now.
        this._selectedId = null;
        this.select(job.id);
      } else if (previous.status !== 'running' && job.status === 'running') {
        this._watchStats(job);
      } else if (isLive(previous.status) && !isLive(job.status)) {
        // It ended: the rest of its log, its final metrics; no more stats.
        this._statsPoll?.dispose();
        this._statsPoll = null;
        this._stats = null;
        void this._logs?.read();
        void this._loadMetrics();
      }
    } else if (!previous && (!current || !isLive(current.status))) {
      this.select(job.id);
    }
    this._emit();
  }

  private _onJobUpdated(_: IInsighterBus, update: IJobUpdated): void {
    if (update.projectId !== this._projectId) {
      return;
    }
    const known = this._jobs.find(job => job.id === update.jobId);
    if (known) {
      // Show the new status at once; the full record follows.
      this._upsert({
        ...known,
        status: update.status,
        error: update.error ?? known.error,
        model_version: update.modelVersion ?? known.model_version
      });
    }
    void this._fetchJob(update.jobId);
  }

  private _onRunStarted(_: IInsighterBus, started: IRunStarted): void {
    if (
      started.projectId === this._projectId &&
      !this._jobs.some(job => job.run_id === started.runId)
    ) {
      void this.refresh();
    }
  }
}
