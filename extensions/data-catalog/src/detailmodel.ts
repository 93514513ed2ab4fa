import type {
  IDatasetDeleted,
  IDatasetUpdated,
  IInsighterBus
} from '@insighter/core';
import { SidecarError } from '@insighter/core';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type {
  IDataCatalog,
  IDataset,
  IDatasetPatch,
  IDatasetPreview
} from './tokens';

/** How many rows the preview grid shows unless the settings say otherwise. */
export const DEFAULT_PREVIEW_ROWS = 50;

/**
 * - `loading`: the dataset is being read;
 * - `ready`: `dataset` is the version shown;
 * - `missing`: deleted, or not readable by this person;
 * - `error`: it could not be read; `error` says why.
 */
export type DetailStatus = 'loading' | 'ready' | 'missing' | 'error';

export interface IDatasetDetailModelOptions {
  catalog: IDataCatalog;
  bus: IInsighterBus;
  datasetId: string;
  previewRows?: number;
}

/**
 * One dataset as its detail view shows it: a version (the latest unless
 * one was chosen) with its columns and statistics, and its first rows.
 * Kept current by the bus's dataset events; every change goes through the
 * catalog, which the sidecar answers.
 */
export class DatasetDetailModel implements IDisposable {
  readonly datasetId: string;
  private readonly _catalog: IDataCatalog;
  private readonly _bus: IInsighterBus;
  private _previewRows: number;
  private _version: number | null = null;
  private _dataset: IDataset | null = null;
  private _preview: IDatasetPreview | null = null;
  private _previewError: string | null = null;
  private _status: DetailStatus = 'loading';
  private _error: string | null = null;
  /** Bumped by every read: an answer for an earlier choice is dropped. */
  private _generation = 0;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IDatasetDetailModelOptions) {
    this.datasetId = options.datasetId;
    this._catalog = options.catalog;
    this._bus = options.bus;
    this._previewRows = options.previewRows ?? DEFAULT_PREVIEW_ROWS;
    this._bus.datasetUploaded.connect(this._onChanged, this);
    this._bus.datasetUpdated.connect(this._onChanged, this);
    this._bus.datasetDeleted.connect(this._onDeleted, this);
    this._bus.eventsReconnected.connect(this._onReconnected, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get status(): DetailStatus {
    return this._status;
  }

  get error(): string | null {
    return this._error;
  }

  /** The version shown, as read; `null` before the first answer. */
  get dataset(): IDataset | null {
    return this._dataset;
  }

  /** The version chosen; `null` follows the latest. */
  get version(): number | null {
    return this._version;
  }

  /** The latest version's number, once read. */
  get latestVersion(): number | null {
    const versions = this._dataset?.versions.map(v => v.version) ?? [];
    return versions.length ? Math.max(...versions) : null;
  }

  get preview(): IDatasetPreview | null {
    return this._preview;
  }

  get previewError(): string | null {
    return this._previewError;
  }

  get previewRows(): number {
    return this._previewRows;
  }

  set previewRows(rows: number) {
    if (rows !== this._previewRows) {
      this._previewRows = rows;
      void this.load();
    }
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Reads the chosen version and its first rows. */
  async load(): Promise<void> {
    const generation = ++this._generation;
    try {
      const dataset = await this._catalog.fetch(this.datasetId, this._version);
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._dataset = dataset;
      this._status = 'ready';
      this._error = null;
      this._changed.emit();
    } catch (reason) {
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      if (reason instanceof SidecarError && reason.status === 404) {
        this._status = 'missing';
        this._dataset = null;
      } else {
        this._status = 'error';
        this._error = messageOf(reason);
      }
      this._changed.emit();
      return;
    }
    await this._loadPreview(generation);
  }

  /** Shows another version (`null`: the latest). */
  showVersion(version: number | null): Promise<void> {
    this._version = version === this.latestVersion ? null : version;
    this._preview = null;
    this._previewError = null;
    this._changed.emit();
    return this.load();
  }

  /** Rejects with the sidecar's error, e.g. for a name that is taken. */
  async update(patch: IDatasetPatch): Promise<void> {
    const updated = await this._catalog.update(this.datasetId, patch);
    if (this._isDisposed) {
      return;
    }
    // The answer describes the latest version; a past one shown keeps its facts.
    this._dataset = this._dataset
      ? {
          ...this._dataset,
          name: updated.name,
          description: updated.description,
          updated_at: updated.updated_at
        }
      : updated;
    this._changed.emit();
  }

  remove(): Promise<void> {
    return this._catalog.remove(this.datasetId);
  }

  async removeVersion(version: number): Promise<void> {
    await this._catalog.removeVersion(this.datasetId, version);
    if (version === this._version) {
      this._version = null;
    }
    await this.load();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._bus.datasetUploaded.disconnect(this._onChanged, this);
    this._bus.datasetUpdated.disconnect(this._onChanged, this);
    this._bus.datasetDeleted.disconnect(this._onDeleted, this);
    this._bus.eventsReconnected.disconnect(this._onReconnected, this);
    Signal.clearData(this);
  }

  private async _loadPreview(generation: number): Promise<void> {
    try {
      const preview = await this._catalog.preview(this.datasetId, {
        version: this._version,
        limit: this._previewRows
      });
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._preview = preview;
      this._previewError = null;
    } catch (reason) {
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      // The statistics stand on their own: only the grid says it failed.
      this._preview = null;
      this._previewError = messageOf(reason);
    }
    this._changed.emit();
  }

  private _onChanged(_: IInsighterBus, event: IDatasetUpdated): void {
    if (event.datasetId === this.datasetId && this._status !== 'missing') {
      void this.load();
    }
  }

  /** A new version, an edit or a deletion may have gone unheard: read it again. */
  private _onReconnected(): void {
    if (this._status !== 'missing') {
      void this.load();
    }
  }

  private _onDeleted(_: IInsighterBus, event: IDatasetDeleted): void {
    if (event.datasetId !== this.datasetId) {
      return;
    }
    if (event.version === undefined) {
      this._generation++;
      this._status = 'missing';
      this._dataset = null;
      this._preview = null;
      this._changed.emit();
      return;
    }
    if (event.version === this._version) {
      this._version = null; // The version shown is gone: show the latest.
    }
    void this.load();
  }
}

function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
