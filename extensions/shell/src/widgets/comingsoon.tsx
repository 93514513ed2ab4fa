import * as React from 'react';
import type { IViewInfo } from '../navigation';
import { InsighterView } from './view';

/**
 * A view whose tool later work delivers. It says so plainly instead of
 * showing sample data that could be mistaken for the user's own.
 */
export class ComingSoonView extends InsighterView {
  constructor(
    private readonly _info: IViewInfo,
    private readonly _explanation: string
  ) {
    super(_info.name);
    this.addClass('jp-insighter-ComingSoonView');
  }

  protected render(): React.ReactElement {
    const Icon = this._info.icon.react;
    return (
      <div className="jp-insighter-View-body">
        <h2 className="jp-insighter-View-title">
          <Icon tag="span" className="jp-insighter-View-titleIcon" />
          {this._info.label}
        </h2>
        <p className="jp-insighter-ComingSoon">{this._explanation}</p>
      </div>
    );
  }
}
