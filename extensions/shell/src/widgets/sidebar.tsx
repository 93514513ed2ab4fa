import type { ISession } from '@insighter/core';
import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { ExternalCommandIDs } from '../commands';
import { insighterIcon } from '../icons';
import type { IViewInfo, ViewName } from '../navigation';
import { SignInPrompt } from './sessiongate';

/** The DOM id UI tests look for. */
export const SIDEBAR_ID = 'jp-insighter-sidebar';

/**
 * The left-area panel: Insighter's navigation, one item per view it is
 * given (Projects, the manifest's sidebar tools, Settings). With a
 * session, it shows who is signed in and "Log out" above the navigation, or
 * "Log in or sign up" instead of it.
 */
export class Sidebar extends ReactWidget {
  private _activeView: ViewName | null = null;
  private _sessionKnown = false;

  constructor(
    private readonly _views: readonly IViewInfo[],
    private readonly _commands: CommandRegistry,
    private readonly _trans: TranslationBundle,
    private readonly _session: ISession | null = null
  ) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('jp-insighter-Sidebar');
    this.title.icon = insighterIcon;
    this.title.caption = _trans.__('Insighter');
    if (_session) {
      _session.changed.connect(this._onSessionChanged, this);
      void _session.ready.then(() => {
        this._sessionKnown = true;
        this.update();
      });
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._session?.changed.disconnect(this._onSessionChanged, this);
    super.dispose();
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
        {this._renderBody()}
      </>
    );
  }

  private _renderBody(): React.ReactElement | null {
    const session = this._session;
    const nav = (
      <nav aria-label={this._trans.__('Insighter')}>
        <ul className="jp-insighter-Nav">
          {this._views.map(view => this._renderItem(view))}
        </ul>
      </nav>
    );
    if (!session) {
      return nav;
    }
    if (!this._sessionKnown) {
      return null;
    }
    if (!session.user) {
      return <SignInPrompt commands={this._commands} trans={this._trans} />;
    }
    return (
      <>
        {this._renderAccount(session.user)}
        {nav}
      </>
    );
  }

  private _renderAccount(
    user: NonNullable<ISession['user']>
  ): React.ReactElement {
    const trans = this._trans;
    return (
      <div className="jp-insighter-Account" data-testid="insighter-account">
        <div className="jp-insighter-Account-who">
          <span className="jp-insighter-Account-name">
            {user.fullName || user.email}
          </span>
          <span className="jp-insighter-Account-email">{user.email}</span>
        </div>
        <button
          type="button"
          className="jp-insighter-Account-logout"
          data-testid="insighter-logout"
          onClick={() => void this._commands.execute(ExternalCommandIDs.logout)}
        >
          {trans.__('Log out')}
        </button>
      </div>
    );
  }

  private _onSessionChanged(): void {
    this.update();
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
          onClick={() => void this._commands.execute(view.command)}
        >
          <Icon tag="span" className="jp-insighter-NavItem-icon" />
          <span className="jp-insighter-NavItem-label">{view.label}</span>
        </button>
      </li>
    );
  }
}
