import { ISession, ISessionChangedArgs, SidecarError } from '@insighter/core';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { projectFolder } from './folders';
import type { IProject, IProjectsModel, IStudioContext } from './tokens';

/**
 * - `loading`: the project is being read;
 * - `ready`: `project` is set;
 * - `missing`: no such project for this person (deleted, or no longer shared);
 * - `signed-out`: nobody signed in to read it for;
 * - `error`: it could not be read; `error` says why.
 */
export type StudioStatus =
  'loading' | 'ready' | 'missing' | 'signed-out' | 'error';

export interface IStudioModelOptions {
  projectId: string;
  projects: IProjectsModel;
  session?: ISession | null;
  trans?: TranslationBundle;
}

/**
 * One project's Studio: the project (kept current from the projects model)
 * and the facts its header shows. It is the `IStudioContext` the sections get.
 */
export class StudioModel implements IStudioContext, IDisposable {
  readonly projectId: string;
  private readonly _projects: IProjectsModel;
  private readonly _session: ISession | null;
  private readonly _trans: TranslationBundle;
  private _project: IProject | null = null;
  private _status: StudioStatus = 'loading';
  private _error: string | null = null;
  private _owner: string | null = null;
  private _generation = 0;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);
  private readonly _projectChanged = new Signal<this, IProject>(this);

  constructor(options: IStudioModelOptions) {
    this.projectId = options.projectId;
    this._projects = options.projects;
    this._session = options.session ?? null;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._projects.changed.connect(this._onProjectsChanged, this);
    this._session?.changed.connect(this._onSessionChanged, this);
  }

  get status(): StudioStatus {
    return this._status;
  }

  get error(): string | null {
    return this._error;
  }

  /** The project; throws before it is loaded (sections are only made once it is). */
  get project(): IProject {
    if (!this._project) {
      throw new Error(`Project ${this.projectId} is not loaded.`);
    }
    return this._project;
  }

  /** The project, or `null` while it is not (or no longer) there. */
  get currentProject(): IProject | null {
    return this._project;
  }

  get folder(): string {
    return projectFolder(this.project.slug);
  }

  /** Who owns the project, as people read it ("You", a teammate's name). */
  get owner(): string | null {
    return this._owner;
  }

  get teamName(): string | null {
    return this._projects.teamName(this._project?.team_id ?? null);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get projectChanged(): ISignal<this, IProject> {
    return this._projectChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Read the project for whoever is signed in. */
  async load(): Promise<void> {
    const generation = ++this._generation;
    await this._session?.ready;
    if (generation !== this._generation || this._isDisposed) {
      return;
    }
    if (this._session && !this._session.isLoggedIn) {
      this._set(null, 'signed-out');
      return;
    }
    const listed = this._projects.find(this.projectId);
    if (listed) {
      this._set(listed, 'ready');
    } else {
      this._status = 'loading';
      this._changed.emit();
      try {
        const project = await this._projects.fetch(this.projectId);
        if (generation !== this._generation || this._isDisposed) {
          return;
        }
        this._set(project, 'ready');
      } catch (reason) {
        if (generation !== this._generation || this._isDisposed) {
          return;
        }
        if (reason instanceof SidecarError && reason.status === 404) {
          this._set(null, 'missing');
        } else {
          this._error =
            reason instanceof Error ? reason.message : String(reason);
          this._set(null, 'error');
        }
        return;
      }
    }
    void this._loadOwner(generation);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._projects.changed.disconnect(this._onProjectsChanged, this);
    this._session?.changed.disconnect(this._onSessionChanged, this);
    Signal.clearData(this);
  }

  private _set(project: IProject | null, status: StudioStatus): void {
    const previous = this._project;
    this._project = project;
    this._status = status;
    if (status !== 'error') {
      this._error = null;
    }
    this._changed.emit();
    if (project && project !== previous) {
      this._projectChanged.emit(project);
    }
  }

  private async _loadOwner(generation: number): Promise<void> {
    const project = this._project;
    const me = this._session?.user;
    if (!project) {
      return;
    }
    let owner: string | null = null;
    if (me && project.owner_id === me.id) {
      owner = this._trans.__('You');
    } else if (project.team_id) {
      try {
        const members = await this._projects.teamMembers(project.team_id);
        const member = members.find(m => m.user_id === project.owner_id);
        owner = member ? member.full_name || member.email : null;
      } catch {
        owner = null; // The header then leaves the owner out; nothing else depends on it.
      }
    }
    if (generation === this._generation && !this._isDisposed) {
      this._owner = owner;
      this._changed.emit();
    }
  }

  private _onProjectsChanged(): void {
    if (this._status === 'loading' || this._status === 'signed-out') {
      return;
    }
    const listed = this._projects.find(this.projectId);
    if (listed) {
      if (listed !== this._project) {
        this._set(listed, 'ready');
      }
    } else if (this._projects.status === 'ready' && this._project) {
      // Deleted, or its owner stopped sharing it with me.
      this._set(null, 'missing');
    } else {
      // Team names may have arrived.
      this._changed.emit();
    }
  }

  private _onSessionChanged(_: ISession, change: ISessionChangedArgs): void {
    if (change.reason === 'refreshed' || change.reason === 'profile-updated') {
      return;
    }
    void this.load();
  }
}
