import type { ISystemStatusModel } from '@insighter/core';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { CommandRegistry } from '@lumino/commands';
import * as React from 'react';
import { CommandIDs, ExternalCommandIDs } from '../commands';
import type { IViewInfo } from '../navigation';
import {
  componentLabel,
  componentStateLabel,
  orderedComponents
} from '../statustext';
import { InsighterView } from './view';

/** System status in detail (each component) and the version. */
export class SettingsView extends InsighterView {
  constructor(
    private readonly _info: IViewInfo,
    private readonly _model: ISystemStatusModel,
    private readonly _commands: CommandRegistry,
    private readonly _trans: TranslationBundle,
    private readonly _serviceUrl: string
  ) {
    super(_info.name);
    this.addClass('jp-insighter-SettingsView');
    this._model.changed.connect(this.update, this);
    // Account sections appear once @insighter/auth registers its commands.
    this._commands.commandChanged.connect(this._onCommandChanged, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this.update, this);
    this._commands.commandChanged.disconnect(this._onCommandChanged, this);
    super.dispose();
  }

  protected render(): React.ReactElement {
    const trans = this._trans;
    const model = this._model;
    const Icon = this._info.icon.react;
    return (
      <div className="jp-insighter-View-body">
        <h2 className="jp-insighter-View-title">
          <Icon tag="span" className="jp-insighter-View-titleIcon" />
          {this._info.label}
        </h2>
        <section
          className="jp-insighter-Section"
          aria-labelledby="jp-insighter-system-status"
        >
          <h3 id="jp-insighter-system-status">{trans.__('System status')}</h3>
          <p
            className="jp-insighter-SettingsView-state"
            data-state={model.state}
          >
            <span
              className="jp-insighter-StatusDot"
              data-state={model.state}
              aria-hidden="true"
            />
            <strong>
              {model.state === 'UNKNOWN' ? trans.__('Checking…') : model.state}
            </strong>
          </p>
          <p
            className={
              model.error
                ? 'jp-insighter-Notice jp-mod-error'
                : 'jp-insighter-StatusMessage'
            }
            role={model.error ? 'alert' : undefined}
          >
            {model.message}
          </p>
          {this._renderComponents()}
          <button
            className="jp-mod-styled"
            data-insighter-action="refresh-status"
            onClick={() =>
              void this._commands.execute(CommandIDs.refreshStatus)
            }
          >
            {trans.__('Check now')}
          </button>
        </section>
        {this._renderAccount()}
        <section
          className="jp-insighter-Section"
          aria-labelledby="jp-insighter-about"
        >
          <h3 id="jp-insighter-about">{trans.__('About')}</h3>
          {this._renderAbout()}
        </section>
      </div>
    );
  }

  /** Settings → Profile and Teams, when the account extension provides them. */
  private _renderAccount(): React.ReactElement | null {
    const trans = this._trans;
    const entries = [
      {
        command: ExternalCommandIDs.openProfile,
        label: trans.__('Profile'),
        action: 'open-profile'
      },
      {
        command: ExternalCommandIDs.openTeams,
        label: trans.__('Teams'),
        action: 'open-teams'
      }
    ].filter(entry => this._commands.hasCommand(entry.command));
    if (entries.length === 0) {
      return null;
    }
    return (
      <section
        className="jp-insighter-Section"
        aria-labelledby="jp-insighter-account-settings"
      >
        <h3 id="jp-insighter-account-settings">{trans.__('Account')}</h3>
        <div className="jp-insighter-Toolbar">
          {entries.map(entry => (
            <button
              key={entry.command}
              className="jp-mod-styled"
              data-insighter-action={entry.action}
              onClick={() => void this._commands.execute(entry.command)}
            >
              {entry.label}
            </button>
          ))}
        </div>
      </section>
    );
  }

  private _onCommandChanged(
    _: CommandRegistry,
    change: CommandRegistry.ICommandChangedArgs
  ): void {
    if (
      change.id === ExternalCommandIDs.openProfile ||
      change.id === ExternalCommandIDs.openTeams
    ) {
      this.update();
    }
  }

  private _renderComponents(): React.ReactElement | null {
    const trans = this._trans;
    const status = this._model.status;
    if (!status) {
      return null;
    }
    return (
      <table className="jp-insighter-ComponentTable">
        <thead>
          <tr>
            <th scope="col">{trans.__('Component')}</th>
            <th scope="col">{trans.__('State')}</th>
            <th scope="col">{trans.__('Backend')}</th>
            <th scope="col">{trans.__('Response time')}</th>
            <th scope="col">{trans.__('Detail')}</th>
          </tr>
        </thead>
        <tbody>
          {orderedComponents(status.components).map(([name, health]) => (
            <tr
              key={name}
              data-insighter-component={name}
              data-state={health.state}
            >
              <th scope="row">{componentLabel(name, trans)}</th>
              <td>
                <span
                  className="jp-insighter-StatusDot"
                  data-state={health.state}
                  aria-hidden="true"
                />
                {componentStateLabel(health.state, trans)}
              </td>
              <td>{health.backend ?? '—'}</td>
              <td>
                {health.latency_ms === undefined
                  ? '—'
                  : trans.__('%1 ms', health.latency_ms)}
              </td>
              <td>{health.detail}</td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }

  private _renderAbout(): React.ReactElement {
    const trans = this._trans;
    const status = this._model.status;
    return (
      <dl className="jp-insighter-About">
        <dt>{trans.__('Version')}</dt>
        <dd data-insighter-field="version">
          {status
            ? status.version
            : trans.__('unknown (the service did not answer)')}
        </dd>
        {status && (
          <>
            <dt>{trans.__('Running for')}</dt>
            <dd>{formatDuration(status.uptime_s, trans)}</dd>
            <dt>{trans.__('Last checked')}</dt>
            <dd>{new Date(status.checked_at).toLocaleString()}</dd>
          </>
        )}
        <dt>{trans.__('Service address')}</dt>
        <dd>
          <code>{this._serviceUrl}</code>
        </dd>
      </dl>
    );
  }
}

function formatDuration(seconds: number, trans: TranslationBundle): string {
  if (seconds < 60) {
    return trans._n('%1 second', '%1 seconds', seconds);
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return trans._n('%1 minute', '%1 minutes', minutes);
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    return trans._n('%1 hour', '%1 hours', hours);
  }
  return trans._n('%1 day', '%1 days', Math.floor(hours / 24));
}
