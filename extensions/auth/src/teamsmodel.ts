import type { ISession, ISidecarClient } from '@insighter/core';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import {
  IInvitationList,
  IMemberList,
  ITeam,
  ITeamInvitation,
  ITeamList,
  ITeamMember,
  TEAM_ROLES,
  TeamRole
} from './types';

const TEAMS_PATH = 'api/v1/teams';

/** Whether `role` is at least `minimum` (viewer < member < admin < owner). */
export function hasRole(
  role: TeamRole | null | undefined,
  minimum: TeamRole
): boolean {
  return role ? TEAM_ROLES.indexOf(role) >= TEAM_ROLES.indexOf(minimum) : false;
}

export interface ITeamsModelOptions {
  client: Pick<ISidecarClient, 'request'>;
  session: Pick<ISession, 'user' | 'changed'>;
  trans?: TranslationBundle;
}

/**
 * My teams and, for the one selected, its members and pending invitations.
 * Every change goes to the sidecar (`/api/v1/teams`), whose row-level
 * security decides what is allowed; its refusals become `error`.
 */
export class TeamsModel implements IDisposable {
  private readonly _client: Pick<ISidecarClient, 'request'>;
  private readonly _session: Pick<ISession, 'user' | 'changed'>;
  private readonly _trans: TranslationBundle;
  private _userId: string | null;
  private _teams: ITeam[] = [];
  private _selectedId: string | null = null;
  private _members: ITeamMember[] = [];
  private _invitations: ITeamInvitation[] = [];
  private _error: string | null = null;
  private _notice: string | null = null;
  private _busy = false;
  private _loaded = false;
  private _isDisposed = false;
  private readonly _changed = new Signal<this, void>(this);

  constructor(options: ITeamsModelOptions) {
    this._client = options.client;
    this._session = options.session;
    this._trans = options.trans ?? nullTranslator.load('insighter');
    this._userId = options.session.user?.id ?? null;
    this._session.changed.connect(this._onSessionChanged, this);
  }

  get teams(): readonly ITeam[] {
    return this._teams;
  }

  get selected(): ITeam | null {
    return this._teams.find(team => team.id === this._selectedId) ?? null;
  }

  get members(): readonly ITeamMember[] {
    return this._members;
  }

  /** Pending invitations of the selected team (owners and admins see them). */
  get invitations(): readonly ITeamInvitation[] {
    return this._invitations;
  }

  /** The server's words about the last failed action; `null` after a success. */
  get error(): string | null {
    return this._error;
  }

  /** What the last action did, for people (e.g. "Invitation sent"). */
  get notice(): string | null {
    return this._notice;
  }

  get busy(): boolean {
    return this._busy;
  }

  get loaded(): boolean {
    return this._loaded;
  }

  /** Teams are someone's: without a signed-in user there are none to show. */
  get signedIn(): boolean {
    return this._session.user !== null;
  }

  /** My role in the selected team. */
  get myRole(): TeamRole | null {
    return this.selected?.role ?? null;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  async refresh(): Promise<void> {
    await this._run(null, () => this._reload());
  }

  async select(teamId: string | null): Promise<void> {
    this._selectedId = teamId;
    this._members = [];
    this._invitations = [];
    this._notice = null;
    this._error = null;
    this._emit();
    await this._run(null, () => this._loadSelected());
  }

  async create(name: string): Promise<boolean> {
    return this._run(
      this._trans.__('Team "%1" created.', name.trim()),
      async () => {
        const team = await this._client.request<ITeam>(TEAMS_PATH, {
          method: 'POST',
          json: { name: name.trim() }
        });
        this._selectedId = team.id;
        await this._reload();
      }
    );
  }

  async invite(email: string, role: TeamRole): Promise<boolean> {
    const team = this._requireSelected();
    return this._run(
      this._trans.__('Invitation sent to %1.', email.trim()),
      async () => {
        await this._client.request(`${this._teamPath(team.id)}/invitations`, {
          method: 'POST',
          json: { email: email.trim(), role }
        });
        await this._loadSelected();
      }
    );
  }

  async withdraw(invitationId: string): Promise<boolean> {
    const team = this._requireSelected();
    return this._run(this._trans.__('Invitation withdrawn.'), async () => {
      await this._client.request(
        `${this._teamPath(team.id)}/invitations/${encodeURIComponent(invitationId)}`,
        { method: 'DELETE' }
      );
      await this._loadSelected();
    });
  }

  async changeRole(userId: string, role: TeamRole): Promise<boolean> {
    const team = this._requireSelected();
    return this._run(this._trans.__('Role changed.'), async () => {
      await this._client.request(
        `${this._teamPath(team.id)}/members/${encodeURIComponent(userId)}`,
        { method: 'PATCH', json: { role } }
      );
      await this._reload();
    });
  }

  async remove(userId: string): Promise<boolean> {
    const team = this._requireSelected();
    return this._run(this._trans.__('Member removed.'), async () => {
      await this._client.request(
        `${this._teamPath(team.id)}/members/${encodeURIComponent(userId)}`,
        { method: 'DELETE' }
      );
      await this._loadSelected();
    });
  }

  async leave(teamId: string): Promise<boolean> {
    return this._run(this._trans.__('You left the team.'), async () => {
      await this._client.request(`${this._teamPath(teamId)}/leave`, {
        method: 'POST'
      });
      if (this._selectedId === teamId) {
        this._selectedId = null;
      }
      await this._reload();
    });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._session.changed.disconnect(this._onSessionChanged, this);
    Signal.clearData(this);
  }

  private _teamPath(teamId: string): string {
    return `${TEAMS_PATH}/${encodeURIComponent(teamId)}`;
  }

  private _requireSelected(): ITeam {
    const team = this.selected;
    if (!team) {
      throw new Error('Select a team first.');
    }
    return team;
  }

  private async _reload(): Promise<void> {
    const { teams } = await this._client.request<ITeamList>(TEAMS_PATH);
    this._teams = [...teams].sort((a, b) => a.name.localeCompare(b.name));
    this._loaded = true;
    if (!this.selected) {
      this._selectedId = this._teams[0]?.id ?? null;
    }
    await this._loadSelected();
  }

  private async _loadSelected(): Promise<void> {
    const team = this.selected;
    if (!team) {
      this._members = [];
      this._invitations = [];
      return;
    }
    const path = this._teamPath(team.id);
    const { members } = await this._client.request<IMemberList>(
      `${path}/members`
    );
    this._members = members;
    // Only owners and admins may read invitations; others are not asked.
    this._invitations = hasRole(team.role, 'admin')
      ? (await this._client.request<IInvitationList>(`${path}/invitations`))
          .invitations
      : [];
  }

  private async _run(
    notice: string | null,
    action: () => Promise<void>
  ): Promise<boolean> {
    this._busy = true;
    this._error = null;
    this._notice = null;
    this._emit();
    let ok = false;
    try {
      await action();
      this._notice = notice;
      ok = true;
    } catch (reason) {
      this._error = reason instanceof Error ? reason.message : String(reason);
    } finally {
      this._busy = false;
    }
    this._emit();
    return ok;
  }

  /** Another person signed in (or nobody is): forget the previous one's teams. */
  private _onSessionChanged(): void {
    const userId = this._session.user?.id ?? null;
    if (userId === this._userId) {
      return;
    }
    this._userId = userId;
    this._teams = [];
    this._members = [];
    this._invitations = [];
    this._selectedId = null;
    this._loaded = false;
    this._error = null;
    this._notice = null;
    this._emit();
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._changed.emit();
    }
  }
}
