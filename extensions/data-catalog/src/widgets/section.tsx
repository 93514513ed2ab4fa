import type { IStudioContext } from '@insighter/projects';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import type { Message } from '@lumino/messaging';
import * as React from 'react';
import type { IDataCatalog } from '../tokens';
import { DatasetsPanel } from './datasetspanel';

export interface IDataSectionOptions {
  context: IStudioContext;
  catalog: IDataCatalog;
  commands: CommandRegistry;
  trans: TranslationBundle;
}

/**
 * The Studio's Data section: the project's datasets, and uploads into it by
 * drag and drop or the file picker.
 */
export class DataSection extends ReactWidget {
  private readonly _options: IDataSectionOptions;

  constructor(options: IDataSectionOptions) {
    super();
    this._options = options;
    this.addClass('jp-insighter-DataSection');
    options.catalog.changed.connect(this.update, this);
    void options.catalog.refresh(options.context.project.id);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._options.catalog.changed.disconnect(this.update, this);
    super.dispose();
  }

  /** Shown again after a while: list again, in case events were missed while the stream was down. */
  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    const { catalog, context } = this._options;
    if (catalog.statusOf(context.project.id) !== 'loading') {
      void catalog.refresh(context.project.id);
    }
  }

  protected render(): React.ReactElement {
    const { catalog, commands, context, trans } = this._options;
    const projectId = context.project.id;
    return (
      <div data-testid="insighter-studio-data" data-project-id={projectId}>
        <div className="jp-insighter-Studio-sectionToolbar">
          <h3>{trans.__('Data')}</h3>
          <span className="jp-insighter-Data-muted">
            {trans._n(
              '%1 dataset',
              '%1 datasets',
              catalog.datasetsOf(projectId).length
            )}
          </span>
          <span className="jp-insighter-Data-spacer" />
          <button
            type="button"
            className="jp-mod-styled"
            onClick={() => void catalog.refresh(projectId)}
          >
            {trans.__('Refresh')}
          </button>
        </div>
        <DatasetsPanel
          catalog={catalog}
          commands={commands}
          trans={trans}
          projectId={projectId}
          uploadInto={projectId}
        />
      </div>
    );
  }
}
