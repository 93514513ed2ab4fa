import type { ISession } from '@insighter/core';
import type { IProjectsModel } from '@insighter/projects';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget, spreadsheetIcon } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import * as React from 'react';
import { CommandIDs, ExternalCommandIDs } from '../commands';
import type { IDataCatalog } from '../tokens';
import { DatasetsPanel } from './datasetspanel';

/** The class of the Data view's content (its tab's id is `jp-insighter-data`). */
export const DATA_VIEW_CLASS = 'jp-insighter-DataView';

export interface IDataViewOptions {
  catalog: IDataCatalog;
  /** For the project filter and names; without it the view lists without them. */
  projects: IProjectsModel | null;
  session: ISession | null;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

/**
 * The Data view: every dataset the person may read, filtered by project.
 * Files dropped here go into the project chosen in the filter.
 */
export class DataView extends ReactWidget {
  private readonly _options: IDataViewOptions;
  private _projectId: string | null = null;

  constructor(options: IDataViewOptions) {
    super();
    this._options = options;
    this.addClass(DATA_VIEW_CLASS);
    options.catalog.changed.connect(this.update, this);
    options.projects?.changed.connect(this.update, this);
    options.session?.changed.connect(this.update, this);
    void options.session?.ready.then(() => this.update());
  }

  /** The project the view is filtered to; `null` for all. */
  get projectId(): string | null {
    return this._projectId;
  }

  set projectId(projectId: string | null) {
    this._projectId = projectId;
    this.update();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    const { catalog, projects, session } = this._options;
    catalog.changed.disconnect(this.update, this);
    projects?.changed.disconnect(this.update, this);
    session?.changed.disconnect(this.update, this);
    super.dispose();
  }

  /** Shown (again): list everything, in case events were missed meanwhile. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    const { catalog, session } = this._options;
    if (
      (!session || session.isLoggedIn) &&
      catalog.statusOf(null) !== 'loading'
    ) {
      void catalog.refresh();
    }
  }

  protected render(): React.ReactElement {
    const { catalog, projects, session, commands, trans } = this._options;
    if (session && !session.user) {
      return (
        <div className="jp-insighter-DataView-body">
          <div
            className="jp-insighter-Data-empty"
            data-testid="insighter-signin-prompt"
          >
            <p>{trans.__('Log in to see your datasets.')}</p>
            <button
              type="button"
              className="jp-mod-styled jp-mod-accept"
              onClick={() => void commands.execute(ExternalCommandIDs.login)}
            >
              {trans.__('Log in')}
            </button>
          </div>
        </div>
      );
    }
    const listed = projects?.projects ?? [];
    // A filter on a project that went away falls back to all.
    const projectId = listed.some(p => p.id === this._projectId)
      ? this._projectId
      : null;
    const projectName = (id: string) =>
      projects?.find(id)?.name ?? trans.__('(unknown project)');
    return (
      <div className="jp-insighter-DataView-body">
        <header className="jp-insighter-DataView-header">
          <h2 className="jp-insighter-DataView-title">
            <spreadsheetIcon.react tag="span" />
            {trans.__('Data')}
          </h2>
          <span className="jp-insighter-Data-spacer" />
          {projects && (
            <label className="jp-insighter-DataView-filter">
              {trans.__('Project')}
              <select
                className="jp-mod-styled"
                data-testid="insighter-data-project-filter"
                value={projectId ?? ''}
                onChange={event =>
                  (this.projectId = event.currentTarget.value || null)
                }
              >
                <option value="">{trans.__('All projects')}</option>
                {listed.map(project => (
                  <option key={project.id} value={project.id}>
                    {project.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => void commands.execute(CommandIDs.refreshDatasets)}
          >
            {trans.__('Refresh')}
          </button>
        </header>
        <DatasetsPanel
          catalog={catalog}
          commands={commands}
          trans={trans}
          projectId={projectId}
          uploadInto={projectId}
          uploadHint={
            listed.length
              ? trans.__('Choose a project above to upload files into it.')
              : trans.__('Create a project to upload datasets into it.')
          }
          projectName={projectId ? undefined : projectName}
        />
      </div>
    );
  }
}
