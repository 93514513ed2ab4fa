import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import { PromiseDelegate } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';
import * as React from 'react';
import { ExternalCommandIDs } from '../commands';
import type { NewProjectField, NewProjectModel } from '../newproject';
import type { IProject } from '../tokens';

export interface INewProjectDialogOptions {
  model: NewProjectModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

/**
 * The "+ New Project" modal. It stays open while the form has problems or
 * the server refuses, showing why next to the field concerned; it closes
 * with the project once created, or with `null` when cancelled. Looks like
 * JupyterLab's own dialogs (their classes), but validates before closing,
 * which `Dialog` cannot.
 */
export class NewProjectDialog extends ReactWidget {
  private readonly _options: INewProjectDialogOptions;
  private readonly _done = new PromiseDelegate<IProject | null>();
  private readonly _opener: Element | null;

  constructor(options: INewProjectDialogOptions) {
    super();
    this._options = options;
    this._opener = document.activeElement;
    this.addClass('jp-Dialog');
    this.addClass('jp-insighter-NewProjectDialog');
    this.id = 'jp-insighter-new-project';
    options.model.changed.connect(this.update, this);
  }

  /** Shows the dialog over the page; resolves when it closes. */
  static open(options: INewProjectDialogOptions): Promise<IProject | null> {
    const dialog = new NewProjectDialog(options);
    Widget.attach(dialog, document.body);
    void options.model.loadTeams();
    return dialog.done;
  }

  get done(): Promise<IProject | null> {
    return this._done.promise;
  }

  /** Closes the dialog, with the project when one was created. */
  finish(project: IProject | null): void {
    if (this.isDisposed) {
      return;
    }
    this._done.resolve(project);
    this.dispose();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._options.model.changed.disconnect(this.update, this);
    this._options.model.dispose();
    this.node.removeEventListener('keydown', this._onKeydown, true);
    if (this.isAttached) {
      Widget.detach(this);
    }
    // Closed without a result: cancelled.
    this._done.resolve(null);
    (this._opener as HTMLElement | null)?.focus?.();
    super.dispose();
  }

  protected onAfterAttach(): void {
    this.node.addEventListener('keydown', this._onKeydown, true);
    this.update();
  }

  protected render(): React.ReactElement {
    return (
      <NewProjectForm
        {...this._options}
        onCancel={() => this.finish(null)}
        onCreated={project => this.finish(project)}
      />
    );
  }

  private readonly _onKeydown = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && !this._options.model.busy) {
      event.preventDefault();
      event.stopPropagation();
      this.finish(null);
    }
  };
}

interface IFormProps extends INewProjectDialogOptions {
  onCancel: () => void;
  onCreated: (project: IProject) => void;
}

function NewProjectForm(props: IFormProps): React.ReactElement {
  const { model, commands, trans, onCancel, onCreated } = props;
  const values = model.values;
  const errors = model.errors;
  const teams = model.teams;
  const noTeams = !model.teamsLoading && teams.length === 0;
  const canOpenTeams = commands.hasCommand(ExternalCommandIDs.openTeams);

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const project = await model.submit();
    if (project) {
      onCreated(project);
    }
  };

  return (
    <form
      className="jp-Dialog-content jp-insighter-NewProject"
      role="dialog"
      aria-modal="true"
      aria-labelledby="jp-insighter-new-project-title"
      noValidate
      onSubmit={event => void submit(event)}
    >
      <div className="jp-Dialog-header" id="jp-insighter-new-project-title">
        {trans.__('New Project')}
      </div>
      <div className="jp-Dialog-body jp-insighter-NewProject-body">
        <label
          className="jp-insighter-NewProject-field"
          htmlFor="jp-insighter-project-name"
        >
          <span>{trans.__('Name')}</span>
          <input
            id="jp-insighter-project-name"
            className="jp-mod-styled"
            type="text"
            autoFocus
            autoComplete="off"
            value={values.name}
            aria-invalid={!!errors.name}
            aria-describedby={errors.name ? errorId('name') : undefined}
            data-testid="insighter-project-name"
            onChange={event => model.set('name', event.target.value)}
          />
        </label>
        <FieldError field="name" message={errors.name} />

        <label
          className="jp-insighter-NewProject-field"
          htmlFor="jp-insighter-project-description"
        >
          <span>{trans.__('Description')}</span>
          <textarea
            id="jp-insighter-project-description"
            className="jp-mod-styled"
            rows={3}
            value={values.description}
            placeholder={trans.__('What is this project about? (optional)')}
            aria-invalid={!!errors.description}
            data-testid="insighter-project-description"
            onChange={event => model.set('description', event.target.value)}
          />
        </label>
        <FieldError field="description" message={errors.description} />

        <label
          className="jp-insighter-NewProject-field"
          htmlFor="jp-insighter-project-visibility"
        >
          <span>{trans.__('Visibility')}</span>
          <select
            id="jp-insighter-project-visibility"
            className="jp-mod-styled"
            value={values.visibility}
            data-testid="insighter-project-visibility"
            onChange={event =>
              model.set(
                'visibility',
                event.target.value === 'team' ? 'team' : 'private'
              )
            }
          >
            <option value="private">{trans.__('Private: only you')}</option>
            <option value="team">
              {trans.__("Team: your team's members")}
            </option>
          </select>
        </label>

        {values.visibility === 'team' && (
          <>
            <label
              className="jp-insighter-NewProject-field"
              htmlFor="jp-insighter-project-team"
            >
              <span>{trans.__('Team')}</span>
              <select
                id="jp-insighter-project-team"
                className="jp-mod-styled"
                value={values.teamId}
                disabled={teams.length === 0}
                aria-invalid={!!errors.team}
                data-testid="insighter-project-team"
                onChange={event => model.set('teamId', event.target.value)}
              >
                {model.teamsLoading && teams.length === 0 && (
                  <option value="">{trans.__('Loading teams…')}</option>
                )}
                {noTeams && <option value="">{trans.__('No team yet')}</option>}
                {teams.map(team => (
                  <option key={team.id} value={team.id}>
                    {team.name}
                  </option>
                ))}
              </select>
            </label>
            {noTeams && (
              <p
                className="jp-insighter-Projects-hint"
                data-testid="insighter-project-team-hint"
              >
                {trans.__(
                  'You are in no team you can add projects to. Create a team in Settings → Teams, then share projects with it.'
                )}{' '}
                {canOpenTeams && (
                  <button
                    type="button"
                    className="jp-insighter-Projects-link"
                    onClick={() => {
                      onCancel();
                      void commands.execute(ExternalCommandIDs.openTeams);
                    }}
                  >
                    {trans.__('Open Settings → Teams')}
                  </button>
                )}
              </p>
            )}
            <FieldError field="team" message={errors.team} />
          </>
        )}

        {model.serverError && (
          <p
            className="jp-insighter-NewProject-error"
            role="alert"
            data-field="server"
            data-testid="insighter-project-error"
          >
            {model.serverError}
          </p>
        )}
      </div>
      <div className="jp-Dialog-footer">
        <button
          type="button"
          className="jp-Dialog-button jp-mod-reject jp-mod-styled"
          disabled={model.busy}
          data-testid="insighter-project-cancel"
          onClick={onCancel}
        >
          <div className="jp-Dialog-buttonLabel">{trans.__('Cancel')}</div>
        </button>
        <button
          type="submit"
          className="jp-Dialog-button jp-mod-accept jp-mod-styled"
          disabled={model.busy}
          data-testid="insighter-project-submit"
        >
          <div className="jp-Dialog-buttonLabel">
            {model.busy ? trans.__('Creating…') : trans.__('Create Project')}
          </div>
        </button>
      </div>
    </form>
  );
}

function errorId(field: NewProjectField | 'server'): string {
  return `jp-insighter-project-${field}-error`;
}

function FieldError(props: {
  field: NewProjectField;
  message: string | undefined;
}): React.ReactElement | null {
  if (!props.message) {
    return null;
  }
  return (
    <p
      id={errorId(props.field)}
      className="jp-insighter-NewProject-error"
      role="alert"
      data-field={props.field}
      data-testid="insighter-project-error"
    >
      {props.message}
    </p>
  );
}
