import type { ProjectVisibility } from '@insighter/core';
import { Token } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import type { ISignal } from '@lumino/signaling';
import type { Widget } from '@lumino/widgets';

/*
 * Wire types of the sidecar's `/api/v1/projects` and `/api/v1/teams`, as it
 * answers them (server/src/routes/projects.ts, teams.ts). The frontend never
 * invents fields.
 */

/** One project, as `GET /api/v1/projects[/:id]` answers it. */
export interface IProject {
  id: string;
  /** URL- and folder-safe, unique, fixed at creation: the folder is `projects/<slug>/`. */
  slug: string;
  name: string;
  description: string;
  visibility: ProjectVisibility;
  /** The team that shares it; `null` for a private project. */
  team_id: string | null;
  owner_id: string;
  created_at: string;
  updated_at: string;
  dataset_count: number;
  run_count: number;
  model_count: number;
  /** The newest change to the project or anything in it; `null` if none was recorded. */
  last_activity_at: string | null;
}

/** `POST /api/v1/projects`. */
export interface INewProject {
  name: string;
  description: string;
  visibility: ProjectVisibility;
  /** Required for a team project, absent for a private one. */
  team_id?: string | null;
}

/** `PATCH /api/v1/projects/:id`: any of the fields. */
export type IProjectPatch = Partial<INewProject>;

export type TeamRole = 'owner' | 'admin' | 'member' | 'viewer';

/** One of my teams, as `GET /api/v1/teams` answers it. */
export interface ITeam {
  id: string;
  name: string;
  /** My role in it. */
  role: TeamRole;
  member_count: number;
}

/** One member, as `GET /api/v1/teams/:id/members` answers it. */
export interface ITeamMember {
  user_id: string;
  email: string;
  full_name: string | null;
  role: TeamRole;
}

/**
 * - `signed-out`: nobody to list projects for;
 * - `loading`: the first listing since sign-in is under way;
 * - `ready`: `projects` is the list (it may be empty);
 * - `error`: the listing failed; `error` says why.
 */
export type ProjectsStatus = 'signed-out' | 'loading' | 'ready' | 'error';

/**
 * The signed-in person's projects and teams, kept current: listed after
 * sign-in, updated from the bus's project events (which the sidecar pushes
 * for every project row-level security lets this person read), cleared on
 * sign-out. Views render it; none of them asks the sidecar itself.
 */
export interface IProjectsModel {
  readonly status: ProjectsStatus;
  /** Newest activity first. */
  readonly projects: readonly IProject[];
  /** Teams I belong to (any role). */
  readonly teams: readonly ITeam[];
  /** Why the last listing failed; `null` after a successful one. */
  readonly error: string | null;
  /** Fires after every change of any of the above. */
  readonly changed: ISignal<IProjectsModel, void>;

  /** List projects and teams again. */
  refresh(): Promise<void>;
  /** List teams again (e.g. before offering the team picker). */
  refreshTeams(): Promise<void>;
  /** A listed project by id or slug. */
  find(idOrSlug: string): IProject | undefined;
  /** Ask the sidecar for one project (and update the list with it). */
  fetch(id: string): Promise<IProject>;
  /** The name of one of my teams, or `null` when I am not in it. */
  teamName(teamId: string | null): string | null;
  /** The members of one of my teams. */
  teamMembers(teamId: string): Promise<ITeamMember[]>;

  /** Rejects with the sidecar's `SidecarError` (its message is for people). */
  create(input: INewProject): Promise<IProject>;
  update(id: string, patch: IProjectPatch): Promise<IProject>;
  remove(id: string): Promise<void>;
}

export const IProjectsModel = new Token<IProjectsModel>(
  '@insighter/projects:IProjectsModel',
  "The signed-in person's projects and teams, kept current by the sidecar's events."
);

/** What a Studio section knows about the project it shows. */
export interface IStudioContext {
  /** The project, current (it is replaced when the project changes). */
  readonly project: IProject;
  /** Fires when `project` was replaced, e.g. after a rename. */
  readonly projectChanged: ISignal<IStudioContext, IProject>;
  /** The project's folder in the Jupyter contents, e.g. `projects/churn`. */
  readonly folder: string;
}

/** Builds one tool's section of a project's Studio. */
export interface IStudioSectionFactory {
  /** The tool's id in the registry manifest, e.g. `notebooks`. */
  toolId: string;
  /** A new widget for one project's Studio; disposed with the Studio. */
  create(context: IStudioContext): Widget;
}

/**
 * The Studio's sections come from the tool registry; a tool's extension
 * registers here the widget its section shows. A tool nobody registered is
 * shown as "Coming soon".
 */
export interface IStudioSections {
  /** Registers a tool's section; dispose the result to take it away. */
  register(factory: IStudioSectionFactory): IDisposable;
  /** The factory of a tool's section, if its extension registered one. */
  get(toolId: string): IStudioSectionFactory | undefined;
  /** Fires with the tool id when a factory was added or removed. */
  readonly changed: ISignal<IStudioSections, string>;
}

export const IStudioSections = new Token<IStudioSections>(
  '@insighter/projects:IStudioSections',
  "The widgets of a project's Studio sections, registered by each tool's extension."
);
