import type {
  IInsighterBus,
  IJobUpdated,
  IRunFinished,
  IRunStarted,
  JobStatus
} from '@insighter/core';
import {
  IJob,
  IJobStats,
  IMlflowRun,
  JobLogFollower,
  MlflowRunStatus,
  RunMetrics,
  TrackingApi
} from '@insighter/experiments';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { DeploymentsApiLike, DeploymentsMonitor } from './deployments';

/** How often a container's CPU and memory are read while its job runs. */
export const STATS_INTERVAL_MS = 2000;

/** A job only moves forward: queued, running, then one of the ends. */
const STATUS_RANK: Record<JobStatus, number> = {
  queued: 0,
  running: 1,
  succeeded: 2,
  failed: 2,
  cancelled: 2
};

export function isLive(status: JobStatus): boolean {
  return status === 'queued' || status === 'running';
}

const RUN_STATUS: Record<MlflowRunStatus, JobStatus> = {
  SCHEDULED: 'queued',
  RUNNING: 'running',
  FINISHED: 'succeeded',
  FAILED: 'failed',
  KILLED: 'cancelled'
};

/** A run's MLflow status in the words jobs use. */
export function runStatus(run: IMlflowRun): JobStatus {
  return RUN_STATUS[run.info.status] ?? 'running';
}

/** The tag the sidecar puts on the run of every job it starts. */
const JOB_TAG = 'insighter.job_id';
/** The tag that ties an experiment to its project. */
const PROJECT_TAG = 'insighter.project_id';

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
    | 'searchExperiments'
    | 'searchRuns'
  >;
  bus: IInsighterBus;
  projectId: string;
  trans?: TranslationBundle;
  statsIntervalMs?: number;
  /** The deployments routes; without them the Monitor lists no deployment. */
  deploymentsApi?: DeploymentsApiLike;
}

/**
 * The Tool Monitor of one project: its running and recent jobs, and for the
 * selected one its live log, its metric curves (grown by `run.metric`
 * events), its status (from `job.updated`) and, for a job in a container,
 * CPU and memory. Runs no job started (logged from a notebook or a script)
 * are listed too, with their curves and status (from `run.finished`). A new
 * job or run of the project is selected when the selected one is not
 * running, so the monitor follows what was just started.
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
  private _runs: IMlflowRun[] = [];
  private _selectedRunId: string | null = null;
  private _logs: JobLogFollower | null = null;
  private _metrics: RunMetrics | null = null;
  private _stats: IJobStats | null = null;
  private _statsPoll: Poll | null = null;
  private _follow = true;
  private _actionError: string | null = null;
  private _isDisposed = false;
  private _showDeployment = false;
  private readonly _deployments: DeploymentsMonitor | null;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IMonitorModelOptions) {
    this._api = options.api;
    this._bus = options.bus;
    this._projectId = options.projectId;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._statsIntervalMs = options.statsIntervalMs ?? STATS_INTERVAL_MS;
    this._bus.jobUpdated.connect(this._onJobUpdated, this);
    this._bus.runStarted.connect(this._onRunStarted, this);
    this._bus.runFinished.connect(this._onRunFinished, this);
    this._bus.eventsReconnected.connect(this._onReconnected, this);
    this._deployments = options.deploymentsApi
      ? new DeploymentsMonitor({
          api: options.deploymentsApi,
          bus: options.bus,
          projectId: options.projectId,
          trans: this._trans
        })
      : null;
    this._deployments?.changed.connect(this._emit, this);
  }

  /** The project's deployments and the selected one's traffic. */
  get deployments(): DeploymentsMonitor | null {
    return this._deployments;
  }

  /** The main area shows the selected deployment rather than a job or run. */
  get showingDeployment(): boolean {
    return this._showDeployment && !!this._deployments?.selected;
  }

  /** Shows one deployment's traffic in the main area. */
  selectDeployment(deploymentId: string): void {
    this._showDeployment = true;
    this._deployments?.select(deploymentId);
    this._emit();
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

  /** Runs of the project that no job started, newest first. */
  get runs(): readonly IMlflowRun[] {
    return this._runs;
  }

  get selectedRun(): IMlflowRun | null {
    return (
      this._runs.find(run => run.info.run_id === this._selectedRunId) ?? null
    );
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

  /**
   * Lists the jobs and the runs without a job; selects a running one, else
   * the newest job, when nothing is selected.
   */
  async refresh(): Promise<void> {
    void this._deployments?.refresh();
    await this._listJobs();
  }

  private async _listJobs(): Promise<void> {
    const projectId = this._projectId;
    try {
      const [jobs, runs] = await Promise.all([
        this._api.listJobs(projectId),
        this._runsWithoutJob(projectId)
      ]);
      if (this._isDisposed || projectId !== this._projectId) {
        return;
      }
      this._jobs = jobs;
      const jobRuns = new Set(jobs.map(job => job.run_id));
      this._runs = runs.filter(run => !jobRuns.has(run.info.run_id));
      this._status = 'ready';
      this._error = null;
      this._changed.emit();
      if (!this.selected && !this.selectedRun) {
        const liveJob = jobs.find(job => isLive(job.status));
        const liveRun = this._runs.find(run => isLive(runStatus(run)));
        if (liveJob || !liveRun) {
          if (jobs.length) {
            this.select((liveJob ?? jobs[0]).id);
          } else if (this._runs.length) {
            this.selectRun(this._runs[0].info.run_id);
          }
        } else {
          this.selectRun(liveRun.info.run_id);
        }
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
      this._runs = [];
      this._unselect();
      this._showDeployment = false;
      this._deployments?.setProject(projectId);
      void this.refresh();
    }
  }

  /** Shows one job: its log read from the start, its curves from their history. */
  select(jobId: string): void {
    this._leaveDeployment();
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

  /** Shows a run no job started: its curves from their history, then live. */
  selectRun(runId: string): void {
    this._leaveDeployment();
    if (runId === this._selectedRunId) {
      return;
    }
    this._unselect();
    this._selectedRunId = runId;
    this._metrics = new RunMetrics({ api: this._api, bus: this._bus, runId });
    this._metrics.changed.connect(this._emit, this);
    this._changed.emit();
    void this._loadMetrics();
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
    this._bus.runFinished.disconnect(this._onRunFinished, this);
    this._bus.eventsReconnected.disconnect(this._onReconnected, this);
    this._deployments?.dispose();
    this._unselect();
    Signal.clearData(this);
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _leaveDeployment(): void {
    if (this._showDeployment) {
      this._showDeployment = false;
      this._emit();
    }
  }

  private _unselect(): void {
    this._selectedId = null;
    this._selectedRunId = null;
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
    if (!metrics) {
      return;
    }
    try {
      const run = await this._api.getRun(metrics.runId);
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
    if (previous && STATUS_RANK[job.status] < STATUS_RANK[previous.status]) {
      // A read answered after a newer one (reads overlap): a job never goes back.
      return;
    }
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
    } else if (
      !previous &&
      (!current || !isLive(current.status)) &&
      !(this.selectedRun && isLive(runStatus(this.selectedRun)))
    ) {
      this.select(job.id);
    }
    this._emit();
  }

  /**
   * Jobs and runs started or ended, log lines and metrics sent while the
   * event stream was down: list again, read the rest of the shown job's log
   * and its curves' histories. (The deployments monitor hears it too.)
   */
  private _onReconnected(): void {
    void this._listJobs().then(() => {
      if (this._isDisposed) {
        return;
      }
      void this._logs?.read();
      void this._loadMetrics();
    });
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

  /**
   * The project's runs that no job started: the sidecar tags a job's run
   * with its job, and a run of a job still being created has that tag too.
   */
  private async _runsWithoutJob(projectId: string): Promise<IMlflowRun[]> {
    const experiments = (await this._api.searchExperiments()).filter(
      experiment =>
        experiment.lifecycle_stage !== 'deleted' &&
        experiment.tags?.some(
          tag => tag.key === PROJECT_TAG && tag.value === projectId
        )
    );
    const runs = await this._api.searchRuns(
      experiments.map(experiment => experiment.experiment_id)
    );
    return runs.filter(run => !run.data.tags?.some(tag => tag.key === JOB_TAG));
  }

  private _onRunStarted(_: IInsighterBus, started: IRunStarted): void {
    if (
      started.projectId !== this._projectId ||
      this._jobs.some(job => job.run_id === started.runId)
    ) {
      return;
    }
    void this.refresh().then(() => {
      const current = this.selected
        ? this.selected.status
        : this.selectedRun && runStatus(this.selectedRun);
      if (
        this._runs.some(run => run.info.run_id === started.runId) &&
        (!current || !isLive(current))
      ) {
        this.selectRun(started.runId);
      }
    });
  }

  private _onRunFinished(_: IInsighterBus, finished: IRunFinished): void {
    const index = this._runs.findIndex(
      run => run.info.run_id === finished.runId
    );
    if (index < 0) {
      return;
    }
    // Show the end at once; the listing brings the final record.
    const run = this._runs[index];
    this._runs = this._runs.map((r, i) =>
      i === index
        ? {
            ...run,
            info: {
              ...run.info,
              status: finished.status,
              end_time: finished.timestamp
            }
          }
        : r
    );
    this._emit();
    void this.refresh();
  }
}
