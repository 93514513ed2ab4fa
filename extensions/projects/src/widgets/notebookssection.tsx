import { NotebooksModel } from '@insighter/shell';
import { Time } from '@jupyterlab/coreutils';
import type { Contents } from '@jupyterlab/services';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { CommandIDs, ExternalCommandIDs } from '../commands';
import { ensureFolder } from '../folders';
import type { IStudioContext } from '../tokens';

export interface INotebooksSectionOptions {
  context: IStudioContext;
  contents: Contents.IManager;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

/**
 * The Studio's Notebooks section: the notebooks in the project's folder,
 * "New notebook" (created there and opened with a kernel), and opening an
 * existing one. The folder is made if it is missing: a teammate on another
 * Jupyter server has none until they first open the project.
 */
export class NotebooksSection extends ReactWidget {
  private readonly _options: INotebooksSectionOptions;
  private readonly _model: NotebooksModel;
  private _folderError: string | null = null;

  constructor(options: INotebooksSectionOptions) {
    super();
    this._options = options;
    this.addClass('jp-insighter-NotebooksSection');
    this._model = new NotebooksModel(options.contents, options.context.folder);
    this._model.changed.connect(this.update, this);
    void this._start();
  }

  get model(): NotebooksModel {
    return this._model;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.dispose();
    super.dispose();
  }

  protected render(): React.ReactElement {
    const { context, commands, trans } = this._options;
    const model = this._model;
    const error = this._folderError ?? model.error;
    return (
      <div data-testid="insighter-studio-notebooks">
        <div className="jp-insighter-Studio-sectionToolbar">
          <h3>{trans.__('Notebooks')}</h3>
          <span className="jp-insighter-Projects-muted">
            {trans.__('in %1/', context.folder)}
          </span>
          <span className="jp-insighter-Studio-spacer" />
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => void model.refresh()}
          >
            {trans.__('Refresh')}
          </button>
          <button
            type="button"
            className="jp-mod-styled jp-mod-accept"
            data-testid="insighter-studio-new-notebook"
            onClick={() =>
              void commands.execute(CommandIDs.newProjectNotebook, {
                slug: context.project.slug
              })
            }
          >
            {trans.__('New notebook')}
          </button>
        </div>
        {error && (
          <p
            className="jp-insighter-Projects-message jp-mod-error"
            role="alert"
          >
            {trans.__('The notebooks could not be listed: %1', error)}
          </p>
        )}
        {!error && model.notebooks.length === 0 && (
          <p
            className="jp-insighter-Projects-muted"
            data-testid="insighter-notebooks-empty"
          >
            {model.loading
              ? trans.__('Looking for notebooks…')
              : trans.__(
                  'No notebook in this project yet. "New notebook" creates one here, with a Python kernel.'
                )}
          </p>
        )}
        {model.notebooks.length > 0 && (
          <ul className="jp-insighter-NotebookList">
            {model.notebooks.map(notebook => (
              <li key={notebook.path}>
                <button
                  type="button"
                  className="jp-insighter-NotebookItem"
                  data-testid="insighter-notebook-item"
                  data-path={notebook.path}
                  onClick={() =>
                    void commands.execute(ExternalCommandIDs.openDocument, {
                      path: notebook.path
                    })
                  }
                >
                  <span className="jp-insighter-NotebookItem-name">
                    {notebook.name}
                  </span>
                  <span
                    className="jp-insighter-Projects-muted"
                    title={Time.format(notebook.lastModified)}
                  >
                    {trans.__(
                      'modified %1',
                      Time.formatHuman(notebook.lastModified)
                    )}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </div>
    );
  }

  private async _start(): Promise<void> {
    try {
      await ensureFolder(this._options.contents, this._options.context.folder);
      this._folderError = null;
    } catch (reason) {
      this._folderError =
        reason instanceof Error ? reason.message : String(reason);
      this.update();
      return;
    }
    if (!this.isDisposed) {
      await this._model.refresh();
    }
  }
}
