import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { OPEN_VIEW_COMMANDS } from '../commands';
import { insighterIcon } from '../icons';
import type { IViewInfo, ViewName } from '../navigation';

/** The DOM id UI tests look for. */
export const SIDEBAR_ID = 'jp-insighter-sidebar';

/** The left-area panel: Insighter's navigation, one item per view. */
export class Sidebar extends ReactWidget {
  private _activeView: ViewName | null = null;

  constructor(
    private readonly _views: readonly IViewInfo[],
    private readonly _commands: CommandRegistry,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('jp-insighter-Sidebar');
    this.title.icon = insighterIcon;
    this.title.caption = _trans.__('Insighter');
  }

  /** The view shown in the main area, highlighted in the list. */
  get activeView(): ViewName | null {
    return this._activeView;
  }

  set activeView(view: ViewName | null) {
    if (view !== this._activeView) {
      this._activeView = view;
      this.update();
    }
  }

  protected render(): React.ReactElement {
    const trans = this._trans;
    return (
      <>
        <header className="jp-insighter-Sidebar-header">
          <insighterIcon.react
            tag="span"
            className="jp-insighter-Sidebar-logo"
          />
          <h2>{trans.__('Insighter')}</h2>
        </header>
        <nav aria-label={trans.__('Insighter')}>
          <ul className="jp-insighter-Nav">
            {this._views.map(view => this._renderItem(view))}
          </ul>
        </nav>
      </>
    );
  }

  private _renderItem(view: IViewInfo): React.ReactElement {
    const active = view.name === this._activeView;
    const Icon = view.icon.react;
    return (
      <li key={view.name}>
        <button
          className={`jp-insighter-NavItem${active ? ' jp-mod-active' : ''}`}
          data-insighter-nav={view.name}
          aria-current={active ? 'page' : undefined}
          title={view.caption}
          onClick={() =>
            void this._commands.execute(OPEN_VIEW_COMMANDS[view.name])
          }
        >
          <Icon tag="span" className="jp-insighter-NavItem-icon" />
          <span className="jp-insighter-NavItem-label">{view.label}</span>
        </button>
      </li>
    );
  }
}
