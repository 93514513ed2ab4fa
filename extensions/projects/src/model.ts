import type {
  IInsighterBus,
  IProjectCreated,
  IProjectDeleted,
  ISession,
  ISessionChangedArgs,
  ISidecarClient
} from '@insighter/core';
import { SidecarError } from '@insighter/core';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import type {
  INewProject,
  IProject,
  IProjectPatch,
  IProjectsModel,
  ITeam,
  ITeamMember,
  ProjectsStatus
} from './tokens';

const PROJECTS = 'api/v1/projects';
const TEAMS = 'api/v1/teams';

export interface IProjectsModelOptions {
  client: Pick<ISidecarClient, 'request'>;
  bus: IInsighterBus;
  /** Without a session the model lists once `refresh()` is called and never clears itself. */
  session?: ISession | null;
}

/**
 * The projects and teams of the signed-in person (see `IProjectsModel`).
 *
 * Project events on the bus only say *which* project changed; the model asks
 * the sidecar for that project, so what it shows is always what row-level
 * security lets this person read, counts included.
 */
export class ProjectsModel implements IProjectsModel, IDisposable {
  private readonly _client: Pick<ISidecarClient, 'request'>;
  private readonly _bus: IInsighterBus;
  private readonly _session: ISession | null;
  private _status: ProjectsStatus;
  private _projects: IProject[] = [];
  private _teams: ITeam[] = [];
  private _error: string | null = null;
  /** Bumped on sign-out and sign-in: answers for the previous person are dropped. */
  private _generation = 0;
  private _listing: Promise<void> | null = null;
  /** The listing asked for while `_listing` was on its way (see `refresh`). */
  private _relisting: Promise<void> | null = null;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: IProjectsModelOptions) {
    this._client = options.client;
    this._bus = options.bus;
    this._session = options.session ?? null;
    this._status = this._session ? 'signed-out' : 'loading';
    this._bus.projectCreated.connect(this._onProjectCreated, this);
    this._bus.projectUpdated.connect(this._onProjectChanged, this);
    this._bus.projectDeleted.connect(this._onProjectDeleted, this);
    this._bus.eventsReconnected.connect(this._onReconnected, this);
    if (this._session) {
      this._session.changed.connect(this._onSessionChanged, this);
      void this._session.ready.then(() => {
        if (this._session?.isLoggedIn && !this._isDisposed) {
          void this.refresh();
        }
      });
    }
  }

  get status(): ProjectsStatus {
    return this._status;
  }

  get projects(): readonly IProject[] {
    return this._projects;
  }

  get teams(): readonly ITeam[] {
    return this._teams;
  }

  get error(): string | null {
    return this._error;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Lists projects and teams. A call while a listing is on its way gets the
   * next one, started when that ends: the one on its way was asked before
   * whatever made the caller ask again (a project created while the event
   * stream was still connecting is heard of by no event, and must not be
   * missed by the listing either). Calls meanwhile share that next one.
   */
  refresh(): Promise<void> {
    if (!this._listing) {
      return this._startListing();
    }
    if (!this._relisting) {
      const relisting: Promise<void> = this._listing
        .catch(() => undefined)
        .then(() => {
          if (this._relisting !== relisting) {
            return; // Whoever signed in or out since has started their own.
          }
          this._relisting = null;
          return this._listing ?? this._startListing();
        });
      this._relisting = relisting;
    }
    return this._relisting;
  }

  private _startListing(): Promise<void> {
    const listing = this._list().finally(() => {
      if (this._listing === listing) {
        this._listing = null;
      }
    });
    this._listing = listing;
    return listing;
  }

  async refreshTeams(): Promise<void> {
    const generation = this._generation;
    const teams = await this._listTeams();
    if (generation === this._generation && !this._isDisposed) {
      this._teams = teams;
      this._changed.emit();
    }
  }

  find(idOrSlug: string): IProject | undefined {
    return this._projects.find(p => p.id === idOrSlug || p.slug === idOrSlug);
  }

  async fetch(id: string): Promise<IProject> {
    const generation = this._generation;
    const project = normalize(
      await this._client.request<IProject>(
        `${PROJECTS}/${encodeURIComponent(id)}`
      )
    );
    if (generation === this._generation) {
      this._upsert(project);
    }
    return project;
  }

  teamName(teamId: string | null): string | null {
    if (!teamId) {
      return null;
    }
    return this._teams.find(t => t.id === teamId)?.name ?? null;
  }

  async teamMembers(teamId: string): Promise<ITeamMember[]> {
    const answer = await this._client.request<{ members: ITeamMember[] }>(
      `${TEAMS}/${encodeURIComponent(teamId)}/members`
    );
    return answer.members;
  }

  async create(input: INewProject): Promise<IProject> {
    const generation = this._generation;
    const project = normalize(
      await this._client.request<IProject>(PROJECTS, {
        method: 'POST',
        json: {
          name: input.name,
          description: input.description,
          visibility: input.visibility,
          ...(input.visibility === 'team' ? { team_id: input.team_id } : {})
        }
      })
    );
    if (generation === this._generation) {
      this._upsert(project);
    }
    return project;
  }

  async update(id: string, patch: IProjectPatch): Promise<IProject> {
    const generation = this._generation;
    const project = normalize(
      await this._client.request<IProject>(
        `${PROJECTS}/${encodeURIComponent(id)}`,
        { method: 'PATCH', json: patch }
      )
    );
    if (generation === this._generation) {
      this._upsert(project);
    }
    return project;
  }

  async remove(id: string): Promise<void> {
    await this._client.request<void>(`${PROJECTS}/${encodeURIComponent(id)}`, {
      method: 'DELETE'
    });
    this._drop(id);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._generation++;
    this._bus.projectCreated.disconnect(this._onProjectCreated, this);
    this._bus.projectUpdated.disconnect(this._onProjectChanged, this);
    this._bus.projectDeleted.disconnect(this._onProjectDeleted, this);
    this._bus.eventsReconnected.disconnect(this._onReconnected, this);
    this._session?.changed.disconnect(this._onSessionChanged, this);
    Signal.clearData(this);
  }

  private async _list(): Promise<void> {
    const generation = this._generation;
    if (this._status !== 'ready') {
      this._status = 'loading';
      this._changed.emit();
    }
    try {
      const [answer, teams] = await Promise.all([
        this._client.request<{ projects: IProject[] }>(PROJECTS),
        this._listTeams()
      ]);
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._projects = sortByActivity(answer.projects.map(normalize));
      this._teams = teams;
      this._error = null;
      this._status = 'ready';
    } catch (reason) {
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._error = messageOf(reason);
      this._status = 'error';
    }
    // Done: a listener that asks to list again gets a new listing.
    this._listing = null;
    this._changed.emit();
  }

  /** Teams are optional to the dashboard: without them, team sharing is just not offered. */
  private async _listTeams(): Promise<ITeam[]> {
    try {
      const answer = await this._client.request<{ teams: ITeam[] }>(TEAMS);
      return answer.teams;
    } catch (reason) {
      console.warn('Insighter: could not list teams', reason);
      return [];
    }
  }

  private _upsert(project: IProject): void {
    if (this._isDisposed) {
      return;
    }
    const others = this._projects.filter(p => p.id !== project.id);
    this._projects = sortByActivity([...others, project]);
    if (this._status !== 'ready' && this._status !== 'signed-out') {
      this._status = 'ready';
    }
    this._changed.emit();
  }

  private _drop(id: string): void {
    if (this._isDisposed || !this._projects.some(p => p.id === id)) {
      return;
    }
    this._projects = this._projects.filter(p => p.id !== id);
    this._changed.emit();
  }

  private _onProjectCreated(bus: IInsighterBus, event: IProjectCreated): void {
    // Created on this page (or heard of twice): the listed record is fresh.
    if (!this.find(event.projectId)) {
      this._onProjectChanged(bus, event);
    }
  }

  private _onProjectChanged(_: IInsighterBus, event: IProjectCreated): void {
    if (this._status === 'signed-out') {
      return;
    }
    const generation = this._generation;
    this.fetch(event.projectId).catch(reason => {
      if (generation !== this._generation) {
        return;
      }
      if (reason instanceof SidecarError && reason.status === 404) {
        // No longer readable by me (e.g. made private by its owner).
        this._drop(event.projectId);
      } else {
        console.warn(
          `Insighter: could not read project ${event.projectId}`,
          reason
        );
      }
    });
  }

  private _onProjectDeleted(_: IInsighterBus, event: IProjectDeleted): void {
    this._drop(event.projectId);
  }

  /** Whatever happened while the event stream was not open was not heard: list again. */
  private _onReconnected(): void {
    if (this._status !== 'signed-out') {
      void this.refresh();
    }
  }

  private _onSessionChanged(_: ISession, change: ISessionChangedArgs): void {
    switch (change.reason) {
      case 'refreshed':
      case 'profile-updated':
        return;
      case 'signed-out':
        this._generation++;
        this._listing = null;
        this._relisting = null;
        this._projects = [];
        this._teams = [];
        this._error = null;
        this._status = 'signed-out';
        this._changed.emit();
        return;
      default:
        // Signed in, restored, recovering: possibly someone else. Start over.
        this._generation++;
        this._listing = null;
        this._relisting = null;
        this._projects = [];
        this._teams = [];
        this._error = null;
        this._status = change.user ? 'loading' : 'signed-out';
        this._changed.emit();
        if (change.user) {
          void this.refresh();
        }
    }
  }
}

/** Fills what an older sidecar may leave out, so views need no guards. */
function normalize(project: IProject): IProject {
  return {
    ...project,
    description: project.description ?? '',
    team_id: project.team_id ?? null,
    dataset_count: project.dataset_count ?? 0,
    run_count: project.run_count ?? 0,
    model_count: project.model_count ?? 0,
    last_activity_at: project.last_activity_at ?? null
  };
}

/** The time a card shows as "last activity". */
export function activityOf(project: IProject): string {
  return project.last_activity_at ?? project.updated_at ?? project.created_at;
}

function sortByActivity(projects: IProject[]): IProject[] {
  return projects.sort(
    (a, b) =>
      Date.parse(activityOf(b)) - Date.parse(activityOf(a)) ||
      a.name.localeCompare(b.name)
  );
}

function messageOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}
