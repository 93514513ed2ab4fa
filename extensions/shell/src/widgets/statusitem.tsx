import type { ISystemStatusModel } from '@insighter/core';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import { statusLabel, statusTitle } from '../statustext';

/** The DOM id UI tests look for; its `data-state` holds the state. */
export const STATUS_ITEM_ID = 'jp-insighter-status';

/**
 * The status bar item: a coloured dot and "Insighter: <state>". The state and
 * hover text live on the widget node itself, so they are there even before
 * React renders.
 */
export class StatusItem extends ReactWidget {
  constructor(
    private readonly _model: ISystemStatusModel,
    private readonly _trans: TranslationBundle,
    private readonly _onOpen: () => void
  ) {
    super();
    this.id = STATUS_ITEM_ID;
    this.addClass('jp-insighter-StatusItem');
    this.node.setAttribute('role', 'button');
    this.node.tabIndex = 0;
    this.node.addEventListener('click', this._open);
    this.node.addEventListener('keydown', this._onKeyDown);
    this._model.changed.connect(this._sync, this);
    this._sync();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.node.removeEventListener('click', this._open);
    this.node.removeEventListener('keydown', this._onKeyDown);
    this._model.changed.disconnect(this._sync, this);
    super.dispose();
  }

  protected render(): React.ReactElement {
    return (
      <>
        <span
          className="jp-insighter-StatusDot"
          data-state={this._model.state}
          aria-hidden="true"
        />
        <span className="jp-StatusBar-TextItem jp-insighter-StatusItem-label">
          {statusLabel(this._model, this._trans)}
        </span>
      </>
    );
  }

  private _sync(): void {
    this.node.dataset.state = this._model.state;
    this.node.title = statusTitle(this._model, this._trans);
    this.node.setAttribute('aria-label', this.node.title);
    this.update();
  }

  private readonly _open = (): void => {
    this._onOpen();
  };

  private readonly _onKeyDown = (event: KeyboardEvent): void => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      this._onOpen();
    }
  };
}
