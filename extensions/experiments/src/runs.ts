import type {
  IInsighterBus,
  IJobUpdated,
  IRunFinished,
  IRunMetric,
  IRunStarted,
  JobStatus
} from '@insighter/core';
import { SidecarError } from '@insighter/core';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { BUILTIN_ALGORITHMS } from './algorithms';
import type { TrackingApi } from './api';
import type {
  IDatasetSummary,
  IJob,
  IMlflowRun,
  MlflowRunStatus
} from './tokens';

/** The metrics the runs table has columns for. */
export const TABLE_METRICS = ['accuracy', 'auc', 'rmse'] as const;

export type RunSortKey =
  | 'name'
  | 'status'
  | 'algorithm'
  | 'dataset'
  | 'started'
  | 'duration'
  | (typeof TABLE_METRICS)[number];

export interface IRunSort {
  key: RunSortKey;
  ascending: boolean;
}

/** One row of the runs table: an MLflow run and the job that trains it, either possibly not there yet. */
export interface IRunRow {
  runId: string;
  name: string;
  experimentId: string | null;
  status: JobStatus;
  algorithm: string;
  dataset: string;
  /** The latest value of each metric. */
  metrics: Record<string, number>;
  params: Record<string, string>;
  /** Milliseconds since the epoch; `null` before it started. */
  startTime: number | null;
  endTime: number | null;
  durationMs: number | null;
  job: IJob | null;
  run: IMlflowRun | null;
}

const RUN_STATUS: Record<MlflowRunStatus, JobStatus> = {
  SCHEDULED: 'queued',
  RUNNING: 'running',
  FINISHED: 'succeeded',
  FAILED: 'failed',
  KILLED: 'cancelled'
};

export function algorithmLabel(id: string): string {
  return BUILTIN_ALGORITHMS.find(a => a.id === id)?.label ?? id;
}

function tagOf(run: IMlflowRun | null, key: string): string | undefined {
  return run?.data.tags?.find(tag => tag.key === key)?.value;
}

/** The dataset a run was trained on, as its inputs (or its job) name it. */
export function datasetInputOf(
  run: IMlflowRun | null,
  job?: IJob | null,
  datasets: readonly IDatasetSummary[] = []
): { name: string; version: string | null; digest: string | null } | null {
  const input = run?.inputs?.dataset_inputs?.[0];
  let version: string | null =
    job?.dataset_version != null ? String(job.dataset_version) : null;
  if (input) {
    try {
      const source = JSON.parse(input.dataset.source ?? '');
      if (version === null && source && source.version != null) {
        version = String(source.version);
      }
    } catch {
      // A plain URI as source: the version, if any, comes from the tags.
    }
    version ??=
      input.tags?.find(t => t.key.endsWith('version'))?.value ??
      tagOf(run, 'insighter.dataset_version') ??
      null;
    return {
      name: input.dataset.name,
      version,
      digest: input.dataset.digest || null
    };
  }
  if (job) {
    const known = datasets.find(d => d.id === job.dataset_id);
    return { name: known?.name ?? job.dataset_id, version, digest: null };
  }
  return null;
}

function timeOf(iso: string | null | undefined): number | null {
  if (!iso) {
    return null;
  }
  const time = Date.parse(iso);
  return Number.isNaN(time) ? null : time;
}

/**
 * The table's rows: one per run, joined with its job by run id, and one per
 * job whose run is not listed yet (a queued job). Newest first.
 */
export function runRows(
  runs: readonly IMlflowRun[],
  jobs: readonly IJob[],
  datasets: readonly IDatasetSummary[] = [],
  now = Date.now()
): IRunRow[] {
  const jobByRun = new Map(jobs.map(job => [job.run_id, job]));
  const rows: IRunRow[] = [];
  const seen = new Set<string>();
  const row = (run: IMlflowRun | null, job: IJob | null): IRunRow => {
    const runId = run?.info.run_id ?? job!.run_id;
    const metrics: Record<string, number> = {};
    for (const metric of run?.data.metrics ?? []) {
      metrics[metric.key] = metric.value;
    }
    const params: Record<string, string> = {};
    for (const param of run?.data.params ?? []) {
      params[param.key] = param.value;
    }
    const status: JobStatus =
      job?.status ?? (run ? RUN_STATUS[run.info.status] : 'queued');
    const startTime = run?.info.start_time ?? timeOf(job?.started_at);
    const endTime = run?.info.end_time || timeOf(job?.finished_at) || null;
    const live = status === 'running' || status === 'queued';
    const input = datasetInputOf(run, job, datasets);
    return {
      runId,
      name: run?.info.run_name || tagOf(run, 'mlflow.runName') || runId,
      experimentId: run?.info.experiment_id ?? job?.experiment_id ?? null,
      status,
      algorithm: algorithmLabel(
        job?.algorithm ??
          params.algorithm ??
          tagOf(run, 'insighter.algorithm') ??
          ''
      ),
      dataset: input
        ? input.version
          ? `${input.name} v${input.version}`
          : input.name
        : '',
      metrics,
      params,
      startTime: startTime ?? null,
      endTime,
      durationMs:
        startTime == null
          ? null
          : (endTime ?? (live ? now : startTime)) - startTime,
      job,
      run
    };
  };
  for (const run of runs) {
    seen.add(run.info.run_id);
    rows.push(row(run, jobByRun.get(run.info.run_id) ?? null));
  }
  for (const job of jobs) {
    if (job.run_id && !seen.has(job.run_id)) {
      rows.push(row(null, job));
    }
  }
  return sortRows(rows, { key: 'started', ascending: false });
}

function sortValue(row: IRunRow, key: RunSortKey): string | number | null {
  switch (key) {
    case 'name':
    case 'status':
    case 'algorithm':
    case 'dataset':
      return row[key].toLowerCase() || null;
    case 'started':
      return row.startTime ?? timeOf(row.job?.created_at);
    case 'duration':
      return row.durationMs;
    default:
      return row.metrics[key] ?? null;
  }
}

/** Rows by one column; rows without a value go last either way, ties keep their order. */
export function sortRows(rows: readonly IRunRow[], sort: IRunSort): IRunRow[] {
  const direction = sort.ascending ? 1 : -1;
  return rows
    .map((row, index) => ({ row, index, value: sortValue(row, sort.key) }))
    .sort((a, b) => {
      if (a.value === null || b.value === null) {
        return a.value === b.value
          ? a.index - b.index
          : a.value === null
            ? 1
            : -1;
      }
      const order =
        typeof a.value === 'number' && typeof b.value === 'number'
          ? a.value - b.value
          : String(a.value).localeCompare(String(b.value));
      return order * direction || a.index - b.index;
    })
    .map(entry => entry.row);
}

/**
 * Rows whose name, status, algorithm, dataset or run id contains every word
 * of `text` (ignoring case).
 */
export function filterRows(rows: readonly IRunRow[], text: string): IRunRow[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) {
    return [...rows];
  }
  return rows.filter(row => {
    const haystack = [
      row.name,
      row.status,
      row.algorithm,
      row.dataset,
      row.runId
    ]
      .join(' ')
      .toLowerCase();
    return words.every(word => haystack.includes(word));
  });
}

export type RunsStatus = 'loading' | 'ready' | 'error';

export interface IRunsModelOptions {
  api: Pick<
    TrackingApi,
    'projectExperiments' | 'searchRuns' | 'listJobs' | 'listDatasets'
  >;
  bus: IInsighterBus;
  project: { id: string; slug: string };
  trans?: TranslationBundle;
}

/**
 * One project's runs, from its experiments and its jobs, kept current by the
 * bus: a run or job of the project that starts, ends or changes lists them
 * again; a metric of a listed run updates its row at once. Holds the table's
 * sort, filter and the runs picked for comparison.
 */
export class RunsModel implements IDisposable {
  private readonly _api: IRunsModelOptions['api'];
  private readonly _bus: IInsighterBus;
  private readonly _trans: TranslationBundle;
  private _project: { id: string; slug: string };
  private _status: RunsStatus = 'loading';
  private _error: string | null = null;
  private _rows: IRunRow[] = [];
  private _visible: IRunRow[] | null = null;
  private _datasets: IDatasetSummary[] = [];
  private _experimentIds: string[] = [];
  private _filter = '';
  private _sort: IRunSort = { key: 'started', ascending: false };
  private _picked: string[] = [];
  private _listing: Promise<void> | null = null;
  private _again = false;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IRunsModelOptions) {
    this._api = options.api;
    this._bus = options.bus;
    this._project = options.project;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._bus.runStarted.connect(this._onRunStarted, this);
    this._bus.runFinished.connect(this._onRunFinished, this);
    this._bus.runMetric.connect(this._onRunMetric, this);
    this._bus.jobUpdated.connect(this._onJobUpdated, this);
    this._bus.eventsReconnected.connect(this._onReconnected, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get status(): RunsStatus {
    return this._status;
  }

  get error(): string | null {
    return this._error;
  }

  get project(): { id: string; slug: string } {
    return this._project;
  }

  /** The project's experiments' ids (its default one first, when listed). */
  get experimentIds(): readonly string[] {
    return this._experimentIds;
  }

  get datasets(): readonly IDatasetSummary[] {
    return this._datasets;
  }

  /** Every run, newest first. */
  get rows(): readonly IRunRow[] {
    return this._rows;
  }

  /** The rows the table shows: filtered, then sorted. */
  get visibleRows(): readonly IRunRow[] {
    this._visible ??= sortRows(
      filterRows(this._rows, this._filter),
      this._sort
    );
    return this._visible;
  }

  get filter(): string {
    return this._filter;
  }

  set filter(text: string) {
    if (text !== this._filter) {
      this._filter = text;
      this._visible = null;
      this._changed.emit();
    }
  }

  get sort(): IRunSort {
    return this._sort;
  }

  /** Sorts by `key`; the same key again flips the direction. */
  sortBy(key: RunSortKey): void {
    this._sort =
      this._sort.key === key
        ? { key, ascending: !this._sort.ascending }
        : {
            key,
            ascending:
              key === 'name' ||
              key === 'algorithm' ||
              key === 'dataset' ||
              key === 'status'
          };
    this._visible = null;
    this._changed.emit();
  }

  /** Runs picked for comparison, in the order picked. */
  get picked(): readonly string[] {
    return this._picked;
  }

  togglePicked(runId: string): void {
    this._picked = this._picked.includes(runId)
      ? this._picked.filter(id => id !== runId)
      : [...this._picked, runId];
    this._changed.emit();
  }

  clearPicked(): void {
    this._picked = [];
    this._changed.emit();
  }

  row(runId: string): IRunRow | undefined {
    return this._rows.find(row => row.runId === runId);
  }

  setProject(project: { id: string; slug: string }): void {
    this._project = project;
    void this.refresh();
  }

  /** Lists again; calls while a listing runs share it, plus one more listing after. */
  refresh(): Promise<void> {
    if (this._listing) {
      this._again = true;
      return this._listing;
    }
    const listing = this._listLoop().finally(() => {
      this._listing = null;
    });
    this._listing = listing;
    return listing;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._bus.runStarted.disconnect(this._onRunStarted, this);
    this._bus.runFinished.disconnect(this._onRunFinished, this);
    this._bus.runMetric.disconnect(this._onRunMetric, this);
    this._bus.jobUpdated.disconnect(this._onJobUpdated, this);
    this._bus.eventsReconnected.disconnect(this._onReconnected, this);
    Signal.clearData(this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  private async _listLoop(): Promise<void> {
    do {
      this._again = false;
      await this._list();
    } while (this._again && !this._isDisposed);
  }

  private async _list(): Promise<void> {
    const project = this._project;
    try {
      const [experiments, jobs, datasets] = await Promise.all([
        this._api.projectExperiments(project),
        optional(this._api.listJobs(project.id)),
        optional(this._api.listDatasets(project.id))
      ]);
      const ids = experiments
        .sort((a, b) =>
          a.name === project.slug ? -1 : b.name === project.slug ? 1 : 0
        )
        .map(e => e.experiment_id);
      const runs = await this._api.searchRuns(ids);
      if (this._isDisposed || project !== this._project) {
        return;
      }
      this._experimentIds = ids;
      this._datasets = datasets;
      this._rows = runRows(runs, jobs, datasets);
      this._picked = this._picked.filter(id => this.row(id));
      this._status = 'ready';
      this._error = null;
    } catch (reason) {
      if (this._isDisposed) {
        return;
      }
      this._status = 'error';
      this._error = this._trans.__(
        'The runs could not be listed: %1',
        reason instanceof Error ? reason.message : String(reason)
      );
    }
    this._visible = null;
    this._changed.emit();
  }

  /** Runs started, ended or measured while the event stream was down: list again. */
  private _onReconnected(): void {
    void this.refresh();
  }

  private _onRunStarted(_: IInsighterBus, started: IRunStarted): void {
    if (started.projectId === this._project.id) {
      void this.refresh();
    }
  }

  private _onRunFinished(_: IInsighterBus, finished: IRunFinished): void {
    if (this.row(finished.runId)) {
      void this.refresh();
    }
  }

  private _onJobUpdated(_: IInsighterBus, job: IJobUpdated): void {
    if (job.projectId === this._project.id) {
      void this.refresh();
    }
  }

  private _onRunMetric(_: IInsighterBus, metric: IRunMetric): void {
    const index = this._rows.findIndex(row => row.runId === metric.runId);
    if (index < 0) {
      return;
    }
    const row = this._rows[index];
    this._rows = [...this._rows];
    this._rows[index] = {
      ...row,
      metrics: { ...row.metrics, [metric.key]: metric.value }
    };
    this._visible = null;
    this._changed.emit();
  }
}

/** A list from a route that may not be there (an older sidecar): empty then. */
async function optional<T>(listing: Promise<T[]>): Promise<T[]> {
  try {
    return await listing;
  } catch (reason) {
    if (reason instanceof SidecarError && reason.status === 404) {
      return [];
    }
    throw reason;
  }
}
