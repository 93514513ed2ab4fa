import { ProjectVisibility, SidecarError } from '@insighter/core';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';
import type { INewProject, IProject, IProjectsModel, ITeam } from './tokens';

/** The server's limits (server/src/routes/projects.ts), checked here first. */
export const NAME_MAX_LENGTH = 100;
export const DESCRIPTION_MAX_LENGTH = 2000;

export type NewProjectField = 'name' | 'description' | 'visibility' | 'team';

export interface INewProjectValues {
  name: string;
  description: string;
  visibility: ProjectVisibility;
  /** The chosen team's id; '' for none. */
  teamId: string;
}

export type NewProjectErrors = Partial<Record<NewProjectField, string>>;

/** Teams I may add projects to: viewers may not (the server answers 403). */
export function eligibleTeams(teams: readonly ITeam[]): ITeam[] {
  return teams.filter(team => team.role !== 'viewer');
}

/** The form's problems, worded like the server's, before anything is sent. */
export function validateNewProject(
  values: INewProjectValues,
  teams: readonly ITeam[],
  trans: TranslationBundle
): NewProjectErrors {
  const errors: NewProjectErrors = {};
  const name = values.name.trim();
  if (!name) {
    errors.name = trans.__('Project name is required.');
  } else if (name.length > NAME_MAX_LENGTH) {
    errors.name = trans.__(
      'Project name must be at most %1 characters.',
      NAME_MAX_LENGTH
    );
  }
  if (values.description.trim().length > DESCRIPTION_MAX_LENGTH) {
    errors.description = trans.__(
      'Project description must be at most %1 characters.',
      DESCRIPTION_MAX_LENGTH
    );
  }
  if (values.visibility === 'team') {
    const allowed = eligibleTeams(teams);
    if (allowed.length === 0) {
      errors.team = trans.__(
        'You are in no team you can add projects to: create a team in Settings → Teams, or keep the project private.'
      );
    } else if (!allowed.some(team => team.id === values.teamId)) {
      errors.team = trans.__('Choose a team for a team project.');
    }
  }
  return errors;
}

export interface INewProjectModelOptions {
  projects: IProjectsModel;
  /** Creates the project (and whatever goes with it); rejects with the sidecar's error. */
  submit: (input: INewProject) => Promise<IProject>;
  trans?: TranslationBundle;
}

/**
 * The "+ New Project" form: its values, the problems found before sending,
 * the server's answer when it refuses, and whether a creation is under way.
 */
export class NewProjectModel {
  private readonly _projects: IProjectsModel;
  private readonly _submit: INewProjectModelOptions['submit'];
  private readonly _trans: TranslationBundle;
  private _values: INewProjectValues = {
    name: '',
    description: '',
    visibility: 'private',
    teamId: ''
  };
  private _errors: NewProjectErrors = {};
  private _serverError: string | null = null;
  private _busy = false;
  private _teamsLoading = false;
  /** Only after a first submit: no red text while someone is still typing. */
  private _submitted = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: INewProjectModelOptions) {
    this._projects = options.projects;
    this._submit = options.submit;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._projects.changed.connect(this._onProjectsChanged, this);
  }

  get values(): Readonly<INewProjectValues> {
    return this._values;
  }

  get errors(): Readonly<NewProjectErrors> {
    return this._errors;
  }

  /** The sidecar's own message when it refused the project. */
  get serverError(): string | null {
    return this._serverError;
  }

  get busy(): boolean {
    return this._busy;
  }

  get teamsLoading(): boolean {
    return this._teamsLoading;
  }

  /** The teams the picker offers. */
  get teams(): ITeam[] {
    return eligibleTeams(this._projects.teams);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Ask for the teams again: one may have been created since the list was made. */
  async loadTeams(): Promise<void> {
    this._teamsLoading = true;
    this._changed.emit();
    try {
      await this._projects.refreshTeams();
    } finally {
      this._teamsLoading = false;
      this._pickDefaultTeam();
      this._revalidate();
      this._changed.emit();
    }
  }

  set<K extends keyof INewProjectValues>(
    field: K,
    value: INewProjectValues[K]
  ): void {
    this._values = { ...this._values, [field]: value };
    if (field === 'visibility') {
      this._pickDefaultTeam();
    }
    this._serverError = null;
    this._revalidate();
    this._changed.emit();
  }

  /**
   * Check the form, then create the project. Resolves with the project, or
   * `null` when the form has problems or the server refused (both shown).
   */
  async submit(): Promise<IProject | null> {
    if (this._busy) {
      return null;
    }
    this._submitted = true;
    this._serverError = null;
    this._errors = this._validate();
    if (Object.keys(this._errors).length > 0) {
      this._changed.emit();
      return null;
    }
    this._busy = true;
    this._changed.emit();
    const values = this._values;
    try {
      return await this._submit({
        name: values.name.trim(),
        description: values.description.trim(),
        visibility: values.visibility,
        team_id: values.visibility === 'team' ? values.teamId : null
      });
    } catch (reason) {
      this._showRefusal(reason);
      return null;
    } finally {
      this._busy = false;
      this._changed.emit();
    }
  }

  dispose(): void {
    this._projects.changed.disconnect(this._onProjectsChanged, this);
    Signal.clearData(this);
  }

  private _validate(): NewProjectErrors {
    return validateNewProject(this._values, this._projects.teams, this._trans);
  }

  private _revalidate(): void {
    if (this._submitted) {
      this._errors = this._validate();
    }
  }

  private _pickDefaultTeam(): void {
    const teams = this.teams;
    if (
      this._values.visibility === 'team' &&
      !teams.some(team => team.id === this._values.teamId)
    ) {
      this._values = { ...this._values, teamId: teams[0]?.id ?? '' };
    }
  }

  /** The server's words, next to the field they are about when it says which. */
  private _showRefusal(reason: unknown): void {
    if (!(reason instanceof SidecarError)) {
      this._serverError =
        reason instanceof Error ? reason.message : String(reason);
      return;
    }
    if (reason.code === 'not_team_member') {
      this._errors = { ...this._errors, team: reason.message };
      return;
    }
    const fields = (reason.details as { fields?: unknown } | undefined)?.fields;
    if (reason.code === 'invalid_input' && Array.isArray(fields)) {
      const errors: NewProjectErrors = {};
      for (const entry of fields as { field?: unknown; message?: unknown }[]) {
        const field = formField(entry.field);
        if (field && typeof entry.message === 'string' && !errors[field]) {
          errors[field] = entry.message;
        }
      }
      if (Object.keys(errors).length > 0) {
        this._errors = { ...this._errors, ...errors };
        return;
      }
    }
    this._serverError = reason.message;
  }

  private _onProjectsChanged(): void {
    this._pickDefaultTeam();
    this._revalidate();
    this._changed.emit();
  }
}

function formField(field: unknown): NewProjectField | null {
  switch (field) {
    case 'name':
    case 'description':
    case 'visibility':
      return field;
    case 'team_id':
      return 'team';
    default:
      return null;
  }
}
