import type { TranslationBundle } from '@jupyterlab/translation';
import { notebookIcon } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import * as React from 'react';
import { CommandIDs, ExternalCommandIDs } from '../commands';
import type { IViewInfo } from '../navigation';
import type { INotebookEntry, NotebooksModel } from '../notebooksmodel';
import { InsighterView } from './view';

/** Lists the notebooks of a folder and offers to create one. */
export class NotebooksView extends InsighterView {
  constructor(
    private readonly _info: IViewInfo,
    private readonly _model: NotebooksModel,
    private readonly _commands: CommandRegistry,
    private readonly _trans: TranslationBundle
  ) {
    super(_info.name);
    this.addClass('jp-insighter-NotebooksView');
    this._model.changed.connect(this.update, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this.update, this);
    super.dispose();
  }

  /** Notebooks written by kernels or other tabs show up whenever the view is shown again. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    void this._model.refresh();
  }

  protected render(): React.ReactElement {
    const trans = this._trans;
    const Icon = this._info.icon.react;
    return (
      <div className="jp-insighter-View-body">
        <h2 className="jp-insighter-View-title">
          <Icon tag="span" className="jp-insighter-View-titleIcon" />
          {this._info.label}
        </h2>
        <div className="jp-insighter-Toolbar">
          <button
            className="jp-mod-styled jp-mod-accept"
            data-insighter-action="new-notebook"
            disabled={
              !this._commands.hasCommand(ExternalCommandIDs.createNotebook)
            }
            onClick={() => void this._commands.execute(CommandIDs.newNotebook)}
          >
            {trans.__('New notebook')}
          </button>
          <button
            className="jp-mod-styled"
            data-insighter-action="refresh-notebooks"
            onClick={() =>
              void this._commands.execute(CommandIDs.refreshNotebooks)
            }
          >
            {trans.__('Refresh')}
          </button>
        </div>
        <p className="jp-insighter-View-hint">
          {trans.__('Notebooks in the Jupyter root folder.')}
        </p>
        {this._renderList()}
      </div>
    );
  }

  private _renderList(): React.ReactElement {
    const trans = this._trans;
    const { error, loading, notebooks } = this._model;
    if (error) {
      return (
        <p className="jp-insighter-Notice jp-mod-error" role="alert">
          {trans.__('Could not list the notebooks: %1', error)}
        </p>
      );
    }
    if (notebooks.length === 0) {
      return (
        <p className="jp-insighter-Empty">
          {loading
            ? trans.__('Looking for notebooks…')
            : trans.__('No notebooks yet. Create one to start exploring.')}
        </p>
      );
    }
    return (
      <ul
        className="jp-insighter-NotebookList"
        aria-label={trans.__('Notebooks')}
      >
        {notebooks.map(entry => this._renderEntry(entry))}
      </ul>
    );
  }

  private _renderEntry(entry: INotebookEntry): React.ReactElement {
    const modified = new Date(entry.lastModified);
    return (
      <li key={entry.path}>
        <button
          className="jp-insighter-NotebookList-item"
          data-insighter-notebook={entry.path}
          title={entry.path}
          onClick={() =>
            void this._commands.execute(ExternalCommandIDs.openDocument, {
              path: entry.path
            })
          }
        >
          <notebookIcon.react
            tag="span"
            className="jp-insighter-NotebookList-icon"
          />
          <span className="jp-insighter-NotebookList-name">{entry.name}</span>
          <span className="jp-insighter-NotebookList-modified">
            {isNaN(modified.getTime()) ? '' : modified.toLocaleString()}
          </span>
        </button>
      </li>
    );
  }
}
