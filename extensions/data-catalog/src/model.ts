import type {
  IDatasetDeleted,
  IDatasetRef,
  IDatasetUpdated,
  IInsighterBus,
  IProjectDeleted,
  ISession,
  ISessionChangedArgs,
  ISidecarClient
} from '@insighter/core';
import { SidecarError } from '@insighter/core';
import type { IProjectsModel } from '@insighter/projects';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type {
  IDataCatalog,
  IDataset,
  IDatasetColumn,
  IDatasetPatch,
  IDatasetPreview,
  IUpload,
  IUploadRequest,
  ListingStatus
} from './tokens';
import {
  DATASETS_PATH,
  type IDatasetUploadHandle,
  type IDatasetUploadOptions,
  isAbort
} from './upload';

/** What the model needs to start an upload; `uploadDataset` bound to the client. */
export type Uploader = (
  options: Pick<
    IDatasetUploadOptions,
    'projectId' | 'file' | 'name' | 'description' | 'onProgress'
  >
) => IDatasetUploadHandle;

export interface IDataCatalogOptions {
  client: Pick<ISidecarClient, 'request'>;
  bus: IInsighterBus;
  upload: Uploader;
  /** Without a session the model never clears itself. */
  session?: ISession | null;
  /** For owners' names (team members); without it only "You" is known. */
  projects?: Pick<IProjectsModel, 'find' | 'teamMembers'> | null;
  /** "You", in the person's language. */
  you?: string;
}

/** The key of the listing of all datasets; project listings use the project's id. */
const ALL = '*';

interface IListing {
  status: ListingStatus;
  error: string | null;
}

interface IRunningUpload extends IUpload {
  handle: IDatasetUploadHandle | null;
}

/**
 * The catalog of datasets and uploads (see `IDataCatalog`).
 *
 * Dataset events on the bus only say *which* dataset changed; the model asks
 * the sidecar for it, so what it shows is what row-level security lets this
 * person read. It never polls: listings happen when a view asks.
 */
export class DataCatalogModel implements IDataCatalog, IDisposable {
  private readonly _client: Pick<ISidecarClient, 'request'>;
  private readonly _bus: IInsighterBus;
  private readonly _uploader: Uploader;
  private readonly _session: ISession | null;
  private readonly _projects: IDataCatalogOptions['projects'];
  private readonly _you: string;
  private _datasets = new Map<string, IDataset>();
  private _sorted: IDataset[] | null = null;
  private _uploads: IRunningUpload[] = [];
  private _selected: IDatasetRef | null = null;
  private readonly _listings = new Map<string, IListing>();
  private readonly _running = new Map<string, Promise<void>>();
  /** Team members' names by team id, once asked. */
  private readonly _members = new Map<string, Map<string, string> | null>();
  /** Bumped on sign-out and sign-in: answers for the previous person are dropped. */
  private _generation = 0;
  private _uploadCount = 0;
  /** Whether everything was listed before a sign-out, to list it again after the next sign-in. */
  private _wantsAll = false;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IDataCatalogOptions) {
    this._client = options.client;
    this._bus = options.bus;
    this._uploader = options.upload;
    this._session = options.session ?? null;
    this._projects = options.projects ?? null;
    this._you = options.you ?? 'You';
    this._bus.datasetUploaded.connect(this._onDatasetChanged, this);
    this._bus.datasetUpdated.connect(this._onDatasetChanged, this);
    this._bus.datasetDeleted.connect(this._onDatasetDeleted, this);
    this._bus.projectDeleted.connect(this._onProjectDeleted, this);
    this._bus.eventsReconnected.connect(this._onReconnected, this);
    this._session?.changed.connect(this._onSessionChanged, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get datasets(): readonly IDataset[] {
    this._sorted ??= [...this._datasets.values()].sort(
      (a, b) =>
        Date.parse(b.updated_at) - Date.parse(a.updated_at) ||
        a.name.localeCompare(b.name)
    );
    return this._sorted;
  }

  get uploads(): readonly IUpload[] {
    return this._uploads;
  }

  get selected(): IDatasetRef | null {
    return this._selected;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  datasetsOf(projectId: string | null): readonly IDataset[] {
    return projectId === null
      ? this.datasets
      : this.datasets.filter(d => d.project_id === projectId);
  }

  uploadsOf(projectId: string | null): readonly IUpload[] {
    return projectId === null
      ? this._uploads
      : this._uploads.filter(u => u.projectId === projectId);
  }

  find(datasetId: string): IDataset | undefined {
    return this._datasets.get(datasetId);
  }

  statusOf(projectId: string | null): ListingStatus {
    const all = this._listings.get(ALL);
    const own = projectId === null ? all : this._listings.get(projectId);
    if (all?.status === 'ready' && own?.status !== 'error') {
      return 'ready'; // Everything readable is listed, this project's too.
    }
    return own?.status ?? 'idle';
  }

  errorOf(projectId: string | null): string | null {
    return this._listings.get(projectId ?? ALL)?.error ?? null;
  }

  ownerName(dataset: Pick<IDataset, 'owner_id' | 'project_id'>): string | null {
    const me = this._session?.user;
    if (me && dataset.owner_id === me.id) {
      return this._you;
    }
    const teamId = this._projects?.find(dataset.project_id)?.team_id;
    if (!teamId) {
      return null;
    }
    if (!this._members.has(teamId)) {
      this._members.set(teamId, null);
      void this._loadMembers(teamId);
    }
    return this._members.get(teamId)?.get(dataset.owner_id) ?? null;
  }

  /** Lists again; concurrent calls for the same listing share one request. */
  refresh(projectId: string | null = null): Promise<void> {
    const key = projectId ?? ALL;
    let running = this._running.get(key);
    if (!running) {
      running = this._list(key).finally(() => {
        if (this._running.get(key) === running) {
          this._running.delete(key);
        }
      });
      this._running.set(key, running);
    }
    return running;
  }

  async fetch(datasetId: string, version?: number | null): Promise<IDataset> {
    const generation = this._generation;
    const query = version ? `?version=${version}` : '';
    const dataset = normalize(
      await this._client.request<IDataset>(
        `${DATASETS_PATH}/${encodeURIComponent(datasetId)}${query}`
      )
    );
    if (generation === this._generation) {
      // A past version is shown, never listed: the list holds the latest.
      const latest = Math.max(
        dataset.version,
        ...dataset.versions.map(v => v.version)
      );
      if (dataset.version === latest) {
        this._upsert(dataset);
      }
    }
    return dataset;
  }

  async preview(
    datasetId: string,
    options: { version?: number | null; limit?: number } = {}
  ): Promise<IDatasetPreview> {
    const query = new URLSearchParams();
    if (options.version) {
      query.set('version', String(options.version));
    }
    if (options.limit) {
      query.set('limit', String(options.limit));
    }
    const suffix = query.toString() ? `?${query}` : '';
    const answer = await this._client.request<{
      columns: (string | { name: string })[];
      rows: IDatasetPreview['rows'];
    }>(`${DATASETS_PATH}/${encodeURIComponent(datasetId)}/preview${suffix}`);
    return {
      columns: answer.columns.map(c => (typeof c === 'string' ? c : c.name)),
      rows: answer.rows
    };
  }

  upload(request: IUploadRequest): Promise<IDataset> {
    const id = `upload-${++this._uploadCount}`;
    const generation = this._generation;
    let entry: IRunningUpload = {
      id,
      projectId: request.projectId,
      fileName: request.file.name,
      total: request.file.size,
      loaded: 0,
      state: 'uploading',
      error: null,
      handle: null
    };
    const replace = (next: Partial<IRunningUpload>) => {
      if (this._isDisposed || !this._uploads.some(u => u.id === id)) {
        return; // cancelled or dismissed meanwhile
      }
      entry = { ...entry, ...next };
      this._uploads = this._uploads.map(u => (u.id === id ? entry : u));
      this._changed.emit();
    };
    const handle = this._uploader({
      projectId: request.projectId,
      file: request.file,
      name: request.name,
      description: request.description,
      onProgress: (loaded, total) =>
        replace({
          loaded,
          total,
          // Every byte is out: the sidecar now validates and profiles them.
          state: loaded >= total ? 'processing' : 'uploading'
        })
    });
    entry.handle = handle;
    this._uploads = [...this._uploads, entry];
    this._changed.emit();
    return handle.done.then(
      answer => {
        const dataset = normalize(answer);
        this._dropUpload(id);
        if (generation === this._generation) {
          this._upsert(dataset);
        }
        return dataset;
      },
      reason => {
        if (!isAbort(reason)) {
          replace({ state: 'failed', error: messageOf(reason), handle: null });
        }
        throw reason;
      }
    );
  }

  cancelUpload(uploadId: string): void {
    const upload = this._uploads.find(u => u.id === uploadId);
    if (upload) {
      this._dropUpload(uploadId);
      upload.handle?.abort();
    }
  }

  dismissUpload(uploadId: string): void {
    this._dropUpload(uploadId);
  }

  async update(datasetId: string, patch: IDatasetPatch): Promise<IDataset> {
    const generation = this._generation;
    const dataset = normalize(
      await this._client.request<IDataset>(
        `${DATASETS_PATH}/${encodeURIComponent(datasetId)}`,
        { method: 'PATCH', json: patch }
      )
    );
    if (generation === this._generation) {
      this._upsert(dataset);
    }
    return dataset;
  }

  async remove(datasetId: string): Promise<void> {
    await this._client.request<void>(
      `${DATASETS_PATH}/${encodeURIComponent(datasetId)}`,
      { method: 'DELETE' }
    );
    this._drop(datasetId);
  }

  async removeVersion(datasetId: string, version: number): Promise<void> {
    await this._client.request<void>(
      `${DATASETS_PATH}/${encodeURIComponent(datasetId)}/versions/${version}`,
      { method: 'DELETE' }
    );
    await this._reread(datasetId);
  }

  select(dataset: Pick<IDataset, 'id' | 'project_id' | 'name'> | null): void {
    const ref: IDatasetRef | null = dataset
      ? {
          datasetId: dataset.id,
          projectId: dataset.project_id,
          name: dataset.name
        }
      : null;
    if (
      ref?.datasetId === this._selected?.datasetId &&
      ref?.name === this._selected?.name
    ) {
      return;
    }
    this._selected = ref;
    this._changed.emit();
    this._bus.emit({
      type: 'dataset.selected',
      payload: { dataset: ref, timestamp: Date.now() }
    });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    for (const upload of this._uploads) {
      upload.handle?.abort();
    }
    this._isDisposed = true;
    this._generation++;
    this._bus.datasetUploaded.disconnect(this._onDatasetChanged, this);
    this._bus.datasetUpdated.disconnect(this._onDatasetChanged, this);
    this._bus.datasetDeleted.disconnect(this._onDatasetDeleted, this);
    this._bus.projectDeleted.disconnect(this._onProjectDeleted, this);
    this._bus.eventsReconnected.disconnect(this._onReconnected, this);
    this._session?.changed.disconnect(this._onSessionChanged, this);
    Signal.clearData(this);
  }

  private async _list(key: string): Promise<void> {
    const generation = this._generation;
    const previous = this._listings.get(key);
    if (previous?.status !== 'ready') {
      this._listings.set(key, { status: 'loading', error: null });
      this._changed.emit();
    }
    const query = key === ALL ? '' : `?project_id=${encodeURIComponent(key)}`;
    try {
      const answer = await this._client.request<{ datasets: IDataset[] }>(
        `${DATASETS_PATH}${query}`
      );
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      const listed = answer.datasets.map(normalize);
      // What the listing covers is replaced: a dataset gone from it is gone.
      for (const [id, dataset] of this._datasets) {
        if (key === ALL || dataset.project_id === key) {
          this._datasets.delete(id);
        }
      }
      for (const dataset of listed) {
        // A listing may leave the columns out; keep those read before.
        const known = this._datasets.get(dataset.id);
        this._datasets.set(dataset.id, withColumnsOf(dataset, known));
      }
      this._sorted = null;
      this._listings.set(key, { status: 'ready', error: null });
    } catch (reason) {
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._listings.set(key, { status: 'error', error: messageOf(reason) });
    }
    this._changed.emit();
  }

  private async _loadMembers(teamId: string): Promise<void> {
    const generation = this._generation;
    try {
      const members = await this._projects!.teamMembers(teamId);
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._members.set(
        teamId,
        new Map(members.map(m => [m.user_id, m.full_name || m.email]))
      );
      this._changed.emit();
    } catch {
      // The owner column stays empty for this team; nothing depends on it.
    }
  }

  /** Reads a dataset again after a change; gone (404) means dropped. */
  private async _reread(datasetId: string): Promise<void> {
    const generation = this._generation;
    try {
      await this.fetch(datasetId);
    } catch (reason) {
      if (generation !== this._generation) {
        return;
      }
      if (reason instanceof SidecarError && reason.status === 404) {
        this._drop(datasetId);
      } else {
        console.warn(`Insighter: could not read dataset ${datasetId}`, reason);
      }
    }
  }

  private _upsert(dataset: IDataset): void {
    if (this._isDisposed) {
      return;
    }
    const known = this._datasets.get(dataset.id);
    this._datasets.set(dataset.id, withColumnsOf(dataset, known));
    this._sorted = null;
    if (this._selected?.datasetId === dataset.id) {
      this._selected = { ...this._selected, name: dataset.name };
    }
    this._changed.emit();
  }

  private _drop(datasetId: string): void {
    if (this._isDisposed || !this._datasets.delete(datasetId)) {
      return;
    }
    this._sorted = null;
    if (this._selected?.datasetId === datasetId) {
      this.select(null);
    }
    this._changed.emit();
  }

  private _dropUpload(uploadId: string): void {
    const before = this._uploads.length;
    this._uploads = this._uploads.filter(u => u.id !== uploadId);
    if (this._uploads.length !== before && !this._isDisposed) {
      this._changed.emit();
    }
  }

  private _onDatasetChanged(_: IInsighterBus, event: IDatasetUpdated): void {
    if (this._session && !this._session.isLoggedIn) {
      return;
    }
    void this._reread(event.datasetId);
  }

  private _onDatasetDeleted(_: IInsighterBus, event: IDatasetDeleted): void {
    if (event.version === undefined) {
      this._drop(event.datasetId);
    } else if (this._datasets.has(event.datasetId)) {
      // One version went: the latest may be another one now.
      void this._reread(event.datasetId);
    }
  }

  private _onProjectDeleted(_: IInsighterBus, event: IProjectDeleted): void {
    for (const dataset of this.datasetsOf(event.projectId)) {
      this._drop(dataset.id);
    }
  }

  /**
   * Uploads, edits and deletions announced while the event stream was down
   * were not heard: every listing made is made again, after the one on its
   * way (asked before the stream came back).
   */
  private _onReconnected(): void {
    if (this._session && !this._session.isLoggedIn) {
      return;
    }
    const generation = this._generation;
    for (const key of this._listings.keys()) {
      const projectId = key === ALL ? null : key;
      const running = this._running.get(key) ?? Promise.resolve();
      void running.then(() =>
        generation === this._generation && !this._isDisposed
          ? this.refresh(projectId)
          : undefined
      );
    }
  }

  private _onSessionChanged(_: ISession, change: ISessionChangedArgs): void {
    if (change.reason === 'refreshed' || change.reason === 'profile-updated') {
      return;
    }
    // Signed out, or possibly someone else signed in: nothing carries over.
    const listedAll = this._listings.has(ALL) || this._wantsAll;
    this._wantsAll = listedAll;
    this._generation++;
    for (const upload of this._uploads) {
      upload.handle?.abort();
    }
    this._uploads = [];
    this._datasets.clear();
    this._sorted = null;
    this._listings.clear();
    this._running.clear();
    this._members.clear();
    this._selected = null;
    this._changed.emit();
    if (change.user && listedAll) {
      // The Data view stays open across sign-ins: it lists for the person
      // now here. Studio sections go with their Studio on sign-out.
      void this.refresh();
    }
  }
}

/** Fills what an older sidecar may leave out, so views need no guards. */
export function normalize(dataset: IDataset): IDataset {
  return {
    ...dataset,
    description: dataset.description ?? '',
    error: dataset.error ?? null,
    sha256: dataset.sha256 ?? null,
    row_count: dataset.row_count ?? null,
    column_count: dataset.column_count ?? null,
    profiled_at: dataset.profiled_at ?? null,
    versions: dataset.versions ?? [],
    ...(dataset.columns
      ? { columns: dataset.columns.map(normalizeColumn) }
      : {})
  };
}

function normalizeColumn(column: IDatasetColumn): IDatasetColumn {
  // The profiler's own field names, should a sidecar pass them through.
  const raw = column as Omit<IDatasetColumn, 'histogram'> & {
    distinct_approx?: number;
    histogram?:
      IDatasetColumn['histogram'] | { bins: IDatasetColumn['histogram'] };
  };
  const histogram = raw.histogram;
  return {
    ...column,
    distinct_count: column.distinct_count ?? raw.distinct_approx ?? 0,
    top_values: column.top_values ?? [],
    histogram: Array.isArray(histogram) ? histogram : (histogram?.bins ?? [])
  };
}

function withColumnsOf(dataset: IDataset, known?: IDataset): IDataset {
  if (dataset.columns || !known?.columns || known.version !== dataset.version) {
    return dataset;
  }
  return { ...dataset, columns: known.columns };
}

function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
