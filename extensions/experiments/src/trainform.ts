import type {
  IDatasetDeleted,
  IDatasetUpdated,
  IDatasetUploaded,
  IInsighterBus
} from '@insighter/core';
import { SidecarError } from '@insighter/core';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import {
  BUILTIN_ALGORITHMS,
  checkParam,
  defaultParamTexts
} from './algorithms';
import type { TrackingApi } from './api';
import type {
  IAlgorithmSpec,
  IDatasetColumn,
  IDatasetSummary,
  IJobCreated,
  INewTrainJob,
  ParamValue,
  TrainAlgorithm,
  TrainTask
} from './tokens';

/** The dataset status whose rows can be trained on. */
const READY = 'ready';

export interface ITrainFormOptions {
  api: Pick<
    TrackingApi,
    'algorithms' | 'listDatasets' | 'getDataset' | 'createJob'
  >;
  bus: IInsighterBus;
  projectId: string;
  trans?: TranslationBundle;
}

/**
 * The training form: algorithm, its hyperparameters (checked against the
 * bounds the jobs route enforces, as it describes them when it can), the
 * project's ready datasets and the target picked from the chosen one's
 * columns. `submit` starts the job; the server's refusal lands in `serverError`
 * (and in `errors` for the fields it names).
 */
export class TrainFormModel implements IDisposable {
  private readonly _api: ITrainFormOptions['api'];
  private readonly _bus: IInsighterBus;
  private readonly _trans: TranslationBundle;
  private _projectId: string;
  private _algorithms: IAlgorithmSpec[] = BUILTIN_ALGORITHMS;
  private _algorithm: TrainAlgorithm = 'xgboost';
  private _task: TrainTask | '' = '';
  private _texts: Record<string, Record<string, string>> = {};
  private _datasets: IDatasetSummary[] = [];
  private _datasetsError: string | null = null;
  private _datasetId = '';
  private _columns: IDatasetColumn[] = [];
  private _target = '';
  private _submitting = false;
  private _serverError: string | null = null;
  private _serverFieldErrors: Record<string, string> = {};
  private _touched = false;
  private _lastJob: IJobCreated | null = null;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: ITrainFormOptions) {
    this._api = options.api;
    this._bus = options.bus;
    this._projectId = options.projectId;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._bus.datasetUploaded.connect(this._onDatasetsChanged, this);
    this._bus.datasetUpdated.connect(this._onDatasetsChanged, this);
    this._bus.datasetDeleted.connect(this._onDatasetsChanged, this);
    this._bus.eventsReconnected.connect(this._onReconnected, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get algorithms(): readonly IAlgorithmSpec[] {
    return this._algorithms;
  }

  get algorithm(): TrainAlgorithm {
    return this._algorithm;
  }

  set algorithm(id: TrainAlgorithm) {
    if (id !== this._algorithm && this._spec(id)) {
      this._algorithm = id;
      if (this._task && !this.spec.tasks.includes(this._task)) {
        this._task = '';
      }
      this._clearServerError();
      this._changed.emit();
    }
  }

  get spec(): IAlgorithmSpec {
    return this._spec(this._algorithm) ?? this._algorithms[0];
  }

  /** `''`: the job decides from the target (text or few values: classification). */
  get task(): TrainTask | '' {
    return this._task;
  }

  set task(task: TrainTask | '') {
    this._task = task;
    this._clearServerError();
    this._changed.emit();
  }

  /** The text typed for each parameter of the current algorithm. */
  get paramTexts(): Record<string, string> {
    const id = this._algorithm;
    this._texts[id] ??= defaultParamTexts(this.spec);
    return this._texts[id];
  }

  setParam(name: string, text: string): void {
    this._texts[this._algorithm] = { ...this.paramTexts, [name]: text };
    delete this._serverFieldErrors[name];
    this._changed.emit();
  }

  resetParams(): void {
    this._texts[this._algorithm] = defaultParamTexts(this.spec);
    this._serverFieldErrors = {};
    this._changed.emit();
  }

  /** The datasets that can be trained on (status ready), newest version of each name. */
  get datasets(): readonly IDatasetSummary[] {
    return this._datasets;
  }

  get datasetsError(): string | null {
    return this._datasetsError;
  }

  get datasetId(): string {
    return this._datasetId;
  }

  get dataset(): IDatasetSummary | undefined {
    return this._datasets.find(d => d.id === this._datasetId);
  }

  /** Picks a dataset and reads its columns for the target picker. */
  async selectDataset(id: string): Promise<void> {
    this._datasetId = id;
    this._columns = this.dataset?.columns ?? [];
    if (!this._columns.some(c => c.name === this._target)) {
      this._target = '';
    }
    this._clearServerError();
    this._changed.emit();
    if (!id) {
      return;
    }
    try {
      const record = await this._api.getDataset(id);
      if (this._isDisposed || this._datasetId !== id) {
        return;
      }
      this._columns = record.columns ?? this._columns;
      if (!this._target) {
        // The last column is where most tabular data keeps its label.
        this._target = this._columns[this._columns.length - 1]?.name ?? '';
      }
    } catch (reason) {
      this._datasetsError = this._trans.__(
        'The columns of the dataset could not be read: %1',
        reason instanceof Error ? reason.message : String(reason)
      );
    }
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  get columns(): readonly IDatasetColumn[] {
    return this._columns;
  }

  get target(): string {
    return this._target;
  }

  set target(name: string) {
    this._target = name;
    delete this._serverFieldErrors.target;
    this._clearServerError();
    this._changed.emit();
  }

  get submitting(): boolean {
    return this._submitting;
  }

  /** The server's refusal of the last submit, in its words. */
  get serverError(): string | null {
    return this._serverError;
  }

  /** The job the last successful submit started. */
  get lastJob(): IJobCreated | null {
    return this._lastJob;
  }

  /**
   * What is wrong, by field (`dataset`, `target`, each parameter): the form's
   * own checks once someone tried to submit, and what the server named.
   */
  get errors(): Record<string, string> {
    const errors: Record<string, string> = {};
    for (const param of this.spec.params) {
      const check = checkParam(
        param,
        this.paramTexts[param.name] ?? '',
        this._trans
      );
      if (!check.ok) {
        errors[param.name] = check.error;
      }
    }
    if (this._touched) {
      if (!this._datasetId) {
        errors.dataset = this._trans.__('Choose a dataset.');
      }
      if (!this._target) {
        errors.target = this._trans.__('Choose the target column.');
      }
    }
    return { ...this._serverFieldErrors, ...errors };
  }

  /** Reads the algorithms and the datasets; the built-in algorithms stay when the route is missing. */
  async load(): Promise<void> {
    await Promise.all([this._loadAlgorithms(), this.refreshDatasets()]);
  }

  async refreshDatasets(): Promise<void> {
    try {
      const all = await this._api.listDatasets(this._projectId);
      if (this._isDisposed) {
        return;
      }
      this._datasets = readyDatasets(all);
      this._datasetsError = null;
      if (!this.dataset) {
        // The chosen one is gone (or none was chosen): offer the first.
        void this.selectDataset(this._datasets[0]?.id ?? '');
      }
    } catch (reason) {
      if (this._isDisposed) {
        return;
      }
      this._datasetsError = this._trans.__(
        'The datasets could not be listed: %1',
        reason instanceof Error ? reason.message : String(reason)
      );
    }
    this._changed.emit();
  }

  /** The job the form describes, or `null` while something is wrong. */
  job(): INewTrainJob | null {
    this._touched = true;
    if (Object.keys(this.errors).length > 0) {
      this._changed.emit();
      return null;
    }
    const params: Record<string, ParamValue> = {};
    for (const param of this.spec.params) {
      const check = checkParam(
        param,
        this.paramTexts[param.name] ?? '',
        this._trans
      );
      if (check.ok) {
        params[param.name] = check.value;
      }
    }
    const dataset = this.dataset;
    return {
      kind: 'train',
      project_id: this._projectId,
      dataset_id: this._datasetId,
      ...(dataset ? { dataset_version: dataset.version } : {}),
      target: this._target,
      algorithm: this._algorithm,
      ...(this._task ? { task: this._task } : {}),
      params
    };
  }

  /** Starts the job; `null` when the form or the server refused it (the reason is shown). */
  async submit(): Promise<IJobCreated | null> {
    const job = this.job();
    if (!job || this._submitting) {
      return null;
    }
    this._submitting = true;
    this._clearServerError();
    this._changed.emit();
    try {
      const created = await this._api.createJob(job);
      this._lastJob = created;
      return created;
    } catch (reason) {
      this._serverError =
        reason instanceof Error ? reason.message : String(reason);
      if (reason instanceof SidecarError) {
        this._serverFieldErrors = fieldErrors(reason.details, this.spec);
      }
      return null;
    } finally {
      this._submitting = false;
      if (!this._isDisposed) {
        this._changed.emit();
      }
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._bus.datasetUploaded.disconnect(this._onDatasetsChanged, this);
    this._bus.datasetUpdated.disconnect(this._onDatasetsChanged, this);
    this._bus.datasetDeleted.disconnect(this._onDatasetsChanged, this);
    this._bus.eventsReconnected.disconnect(this._onReconnected, this);
    Signal.clearData(this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  private _spec(id: string): IAlgorithmSpec | undefined {
    return this._algorithms.find(a => a.id === id);
  }

  private async _loadAlgorithms(): Promise<void> {
    try {
      const algorithms = await this._api.algorithms();
      if (this._isDisposed || algorithms.length === 0) {
        return;
      }
      this._algorithms = algorithms;
      if (!this._spec(this._algorithm)) {
        this._algorithm = algorithms[0].id;
      }
      // Defaults may differ from the built-in ones: untouched fields follow them.
      this._texts = {};
      this._changed.emit();
    } catch {
      // An older sidecar without the route: the built-in table mirrors its checks.
    }
  }

  private _clearServerError(): void {
    this._serverError = null;
  }

  /** Datasets uploaded or removed while the event stream was down: list the choice again. */
  private _onReconnected(): void {
    void this.refreshDatasets();
  }

  private _onDatasetsChanged(
    _: IInsighterBus,
    change: IDatasetUploaded | IDatasetUpdated | IDatasetDeleted
  ): void {
    if (change.projectId === this._projectId) {
      void this.refreshDatasets();
    }
  }
}

/** Ready datasets only, the newest version of each name, by name. */
export function readyDatasets(
  datasets: readonly IDatasetSummary[]
): IDatasetSummary[] {
  const newest = new Map<string, IDatasetSummary>();
  for (const dataset of datasets) {
    if (String(dataset.status).toLowerCase() !== READY) {
      continue;
    }
    const known = newest.get(dataset.name);
    if (!known || dataset.version > known.version) {
      newest.set(dataset.name, dataset);
    }
  }
  return [...newest.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The fields a server refusal names: `details` as `{field: message}`, as
 * zod-style issues `[{path, message}]`, or as `{fieldErrors: {…}}`.
 */
export function fieldErrors(
  details: unknown,
  spec: IAlgorithmSpec
): Record<string, string> {
  const fields = new Set([
    'target',
    'dataset',
    ...spec.params.map(p => p.name)
  ]);
  const errors: Record<string, string> = {};
  const put = (path: unknown, message: unknown) => {
    const parts = Array.isArray(path)
      ? path.map(String)
      : String(path).split('.');
    const field =
      [...parts].reverse().find(part => fields.has(part)) ??
      (parts.includes('dataset_id') ? 'dataset' : undefined);
    if (field && typeof message === 'string') {
      errors[field] = message;
    }
  };
  if (Array.isArray(details)) {
    for (const issue of details) {
      put(issue?.path ?? issue?.field, issue?.message);
    }
  } else if (details && typeof details === 'object') {
    const record = details as Record<string, unknown>;
    const nested = (record.fieldErrors ?? record.fields ?? record) as Record<
      string,
      unknown
    >;
    for (const [key, value] of Object.entries(nested)) {
      put(key, Array.isArray(value) ? value[0] : value);
    }
    if (Array.isArray(record.issues)) {
      for (const issue of record.issues) {
        put(issue?.path, issue?.message);
      }
    }
  }
  return errors;
}
