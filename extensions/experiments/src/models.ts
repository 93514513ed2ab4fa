import type {
  IInsighterBus,
  IJobUpdated,
  IModelVersionRegistered
} from '@insighter/core';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { filterLiteral, TrackingApi } from './api';
import { datasetInputOf } from './runs';
import type {
  IMlflowFileInfo,
  IMlflowRun,
  IModelVersion,
  IRegisteredModel
} from './tokens';

/** One version of a registered model, with what its run says about it. */
export interface IVersionRow {
  model: string;
  version: string;
  runId: string | null;
  runName: string | null;
  experimentId: string | null;
  metrics: Record<string, number>;
  params: Record<string, string>;
  dataset: {
    name: string;
    version: string | null;
    digest: string | null;
  } | null;
  stage: string;
  aliases: string[];
  /** Milliseconds since the epoch. */
  created: number;
  status: string;
  source: string | null;
}

export interface IModelEntry {
  model: IRegisteredModel;
  /** Newest first. */
  versions: IVersionRow[];
}

/** Aliases of each version: from the versions themselves and from the model's alias list. */
export function aliasesByVersion(
  model: IRegisteredModel,
  versions: readonly IModelVersion[]
): Map<string, string[]> {
  const aliases = new Map<string, Set<string>>();
  const add = (version: string, alias: string) => {
    const set = aliases.get(version) ?? new Set<string>();
    set.add(alias);
    aliases.set(version, set);
  };
  for (const version of versions) {
    version.aliases?.forEach(alias => add(String(version.version), alias));
  }
  model.aliases?.forEach(a => add(String(a.version), a.alias));
  return new Map(
    [...aliases].map(([version, set]) => [version, [...set].sort()])
  );
}

export function versionRow(
  model: IRegisteredModel,
  version: IModelVersion,
  run: IMlflowRun | null,
  aliases: string[]
): IVersionRow {
  const metrics: Record<string, number> = {};
  for (const metric of run?.data.metrics ?? []) {
    metrics[metric.key] = metric.value;
  }
  const params: Record<string, string> = {};
  for (const param of run?.data.params ?? []) {
    params[param.key] = param.value;
  }
  return {
    model: model.name,
    version: String(version.version),
    runId: version.run_id || null,
    runName: run?.info.run_name ?? null,
    experimentId: run?.info.experiment_id ?? null,
    metrics,
    params,
    dataset: datasetInputOf(run),
    stage: version.current_stage || 'None',
    aliases,
    created: Number(version.creation_timestamp),
    status: version.status ?? 'READY',
    source: version.source ?? null
  };
}

export type ModelsStatus = 'loading' | 'ready' | 'error';

export interface IModelsModelOptions {
  api: Pick<
    TrackingApi,
    | 'searchRegisteredModels'
    | 'modelVersions'
    | 'getRun'
    | 'listAllArtifacts'
    | 'setAlias'
    | 'deleteAlias'
    | 'transitionStage'
    | 'artifactPath'
    | 'download'
  >;
  bus: IInsighterBus;
  /** One project's model (named after its slug); all readable models without it. */
  project?: { id: string; slug: string } | null;
  trans?: TranslationBundle;
}

/**
 * Registered models with their versions, each joined with its run (metrics,
 * dataset input), kept current by the bus: a newly registered version lists
 * them again. Holds the selected version and its artifacts.
 */
export class ModelsModel implements IDisposable {
  private readonly _api: IModelsModelOptions['api'];
  private readonly _bus: IInsighterBus;
  private readonly _trans: TranslationBundle;
  private _project: { id: string; slug: string } | null;
  private _status: ModelsStatus = 'loading';
  private _error: string | null = null;
  private _models: IModelEntry[] = [];
  private _selected: { model: string; version: string } | null = null;
  private _artifacts: IMlflowFileInfo[] = [];
  private _artifactsError: string | null = null;
  private _actionError: string | null = null;
  private _listing: Promise<void> | null = null;
  private _again = false;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IModelsModelOptions) {
    this._api = options.api;
    this._bus = options.bus;
    this._project = options.project ?? null;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._bus.modelVersionRegistered.connect(this._onRegistered, this);
    this._bus.jobUpdated.connect(this._onJobUpdated, this);
    this._bus.eventsReconnected.connect(this._onReconnected, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get status(): ModelsStatus {
    return this._status;
  }

  get error(): string | null {
    return this._error;
  }

  get models(): readonly IModelEntry[] {
    return this._models;
  }

  get project(): { id: string; slug: string } | null {
    return this._project;
  }

  get selected(): IVersionRow | null {
    if (!this._selected) {
      return null;
    }
    const { model, version } = this._selected;
    return (
      this._models
        .find(entry => entry.model.name === model)
        ?.versions.find(v => v.version === version) ?? null
    );
  }

  /** The selected version's artifact files. */
  get artifacts(): readonly IMlflowFileInfo[] {
    return this._artifacts;
  }

  get artifactsError(): string | null {
    return this._artifactsError;
  }

  /** Why the last alias change failed. */
  get actionError(): string | null {
    return this._actionError;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  setProject(project: { id: string; slug: string } | null): void {
    this._project = project;
    void this.refresh();
  }

  refresh(): Promise<void> {
    if (this._listing) {
      this._again = true;
      return this._listing;
    }
    const listing = (async () => {
      do {
        this._again = false;
        await this._list();
      } while (this._again && !this._isDisposed);
    })().finally(() => {
      this._listing = null;
    });
    this._listing = listing;
    return listing;
  }

  /** Shows one version's artifacts. */
  async select(model: string, version: string): Promise<void> {
    this._selected = { model, version };
    this._artifacts = [];
    this._artifactsError = null;
    this._changed.emit();
    const row = this.selected;
    if (!row?.runId) {
      return;
    }
    try {
      const files = await this._api.listAllArtifacts(row.runId);
      if (
        this._selected?.model === model &&
        this._selected.version === version
      ) {
        this._artifacts = files;
      }
    } catch (reason) {
      this._artifactsError = this._trans.__(
        'The artifacts could not be listed: %1',
        reason instanceof Error ? reason.message : String(reason)
      );
    }
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  /** Points `alias` (e.g. `champion`) at a version; an alias names one version at a time. */
  async setAlias(
    model: string,
    alias: string,
    version: string
  ): Promise<boolean> {
    return this._act(() => this._api.setAlias(model, alias.trim(), version));
  }

  async removeAlias(model: string, alias: string): Promise<boolean> {
    return this._act(() => this._api.deleteAlias(model, alias));
  }

  /** Moves a version to MLflow's stage `None`, `Staging`, `Production` or `Archived`. */
  async setStage(
    model: string,
    version: string,
    stage: string
  ): Promise<boolean> {
    return this._act(async () => {
      await this._api.transitionStage(model, version, stage);
    });
  }

  async download(row: IVersionRow, path: string): Promise<Blob> {
    if (!row.experimentId || !row.runId) {
      throw new Error(
        this._trans.__('This version has no run to download from.')
      );
    }
    return this._api.download(
      this._api.artifactPath(row.experimentId, row.runId, path)
    );
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._bus.modelVersionRegistered.disconnect(this._onRegistered, this);
    this._bus.jobUpdated.disconnect(this._onJobUpdated, this);
    this._bus.eventsReconnected.disconnect(this._onReconnected, this);
    Signal.clearData(this);
  }

  private async _act(action: () => Promise<void>): Promise<boolean> {
    this._actionError = null;
    try {
      await action();
    } catch (reason) {
      this._actionError =
        reason instanceof Error ? reason.message : String(reason);
      this._changed.emit();
      return false;
    }
    await this.refresh();
    return true;
  }

  private async _list(): Promise<void> {
    const project = this._project;
    try {
      const models = await this._api.searchRegisteredModels(
        project ? `name = ${filterLiteral(project.slug)}` : undefined
      );
      const entries = await Promise.all(
        models
          .filter(model => !project || model.name === project.slug)
          .map(model => this._entry(model))
      );
      if (this._isDisposed || project !== this._project) {
        return;
      }
      this._models = entries.sort((a, b) =>
        a.model.name.localeCompare(b.model.name)
      );
      this._status = 'ready';
      this._error = null;
    } catch (reason) {
      if (this._isDisposed) {
        return;
      }
      this._status = 'error';
      this._error = this._trans.__(
        'The registered models could not be listed: %1',
        reason instanceof Error ? reason.message : String(reason)
      );
    }
    this._changed.emit();
  }

  private async _entry(model: IRegisteredModel): Promise<IModelEntry> {
    const versions = await this._api.modelVersions(model.name);
    const aliases = aliasesByVersion(model, versions);
    const runs = await Promise.all(
      versions.map(version =>
        version.run_id
          ? this._api.getRun(version.run_id).catch(() => null)
          : Promise.resolve(null)
      )
    );
    const rows = versions.map((version, i) =>
      versionRow(
        model,
        version,
        runs[i],
        aliases.get(String(version.version)) ?? []
      )
    );
    rows.sort((a, b) => Number(b.version) - Number(a.version));
    return { model, versions: rows };
  }

  /** Versions registered while the event stream was down: list again. */
  private _onReconnected(): void {
    void this.refresh();
  }

  private _onRegistered(
    _: IInsighterBus,
    registered: IModelVersionRegistered
  ): void {
    if (!this._project || registered.projectId === this._project.id) {
      void this.refresh();
    }
  }

  private _onJobUpdated(_: IInsighterBus, job: IJobUpdated): void {
    if (
      job.modelVersion != null &&
      (!this._project || job.projectId === this._project.id)
    ) {
      void this.refresh();
    }
  }
}
