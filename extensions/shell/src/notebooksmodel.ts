import type { Contents } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

export interface INotebookEntry {
  name: string;
  path: string;
  lastModified: string;
}

/**
 * The notebooks in one folder of the Jupyter contents (the root for now;
 * later the open project's folder), kept fresh on file changes the frontend
 * makes and on demand.
 */
export class NotebooksModel implements IDisposable {
  private _notebooks: INotebookEntry[] = [];
  private _error: string | null = null;
  private _loading = false;
  private _isDisposed = false;
  private _pending: Promise<void> | null = null;
  private readonly _changed = new Signal<this, void>(this);

  constructor(
    private readonly _contents: Contents.IManager,
    readonly folder = ''
  ) {
    this._contents.fileChanged.connect(this._onFileChanged, this);
  }

  get notebooks(): readonly INotebookEntry[] {
    return this._notebooks;
  }

  /** Why listing failed; `null` after a successful listing. */
  get error(): string | null {
    return this._error;
  }

  get loading(): boolean {
    return this._loading;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** List the folder again; concurrent calls share one request. */
  refresh(): Promise<void> {
    if (!this._pending) {
      this._pending = this._list().finally(() => {
        this._pending = null;
      });
    }
    return this._pending;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._contents.fileChanged.disconnect(this._onFileChanged, this);
    Signal.clearData(this);
  }

  private async _list(): Promise<void> {
    this._loading = true;
    this._changed.emit();
    try {
      const listing = await this._contents.get(this.folder, { content: true });
      const items = (listing.content ?? []) as Contents.IModel[];
      this._notebooks = items
        .filter(item => item.type === 'notebook')
        .map(item => ({
          name: item.name,
          path: item.path,
          lastModified: item.last_modified
        }))
        .sort((a, b) => a.name.localeCompare(b.name));
      this._error = null;
    } catch (reason) {
      this._error = reason instanceof Error ? reason.message : String(reason);
    } finally {
      this._loading = false;
    }
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }

  private _onFileChanged(
    _: Contents.IManager,
    change: Contents.IChangedArgs
  ): void {
    const touches = [change.oldValue?.path, change.newValue?.path].some(
      path => typeof path === 'string' && parentOf(path) === this.folder
    );
    if (touches) {
      void this.refresh();
    }
  }
}

function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}
