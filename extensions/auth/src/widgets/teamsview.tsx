import type { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import type { Message as LuminoMessage } from '@lumino/messaging';
import * as React from 'react';
import { hasRole, TeamsModel } from '../teamsmodel';
import { ITeam, ITeamMember, TEAM_ROLES, TeamRole } from '../types';
import { Field, Form, Message } from './components';

/**
 * Settings → Teams: my teams; create one; for the selected team its members
 * (roles changed, members removed by owners and admins), pending invitations,
 * inviting by email, and leaving. What the server refuses is shown as it says.
 */
export class TeamsView extends ReactWidget {
  constructor(
    private readonly _model: TeamsModel,
    private readonly _trans: TranslationBundle,
    private readonly _confirm: (question: string) => Promise<boolean>
  ) {
    super();
    this.addClass('jp-insighter-View');
    this.addClass('jp-insighter-TeamsView');
    this._model.changed.connect(this._onModelChanged, this);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this._onModelChanged, this);
    super.dispose();
  }

  protected onAfterShow(msg: LuminoMessage): void {
    super.onAfterShow(msg);
    this._load();
  }

  protected onAfterAttach(msg: LuminoMessage): void {
    super.onAfterAttach(msg);
    this._load();
  }

  /** On screen and signed in: fetch the teams afresh. */
  private _load(): void {
    if (this.isVisible && this._model.signedIn && !this._model.busy) {
      void this._model.refresh();
    }
  }

  /** Someone signed in while the view is on screen: show their teams. */
  private _onModelChanged(): void {
    const model = this._model;
    if (
      this.isVisible &&
      model.signedIn &&
      !model.loaded &&
      !model.busy &&
      model.error === null
    ) {
      void model.refresh();
    }
    this.update();
  }

  protected render(): React.ReactElement {
    const model = this._model;
    const trans = this._trans;
    const message = model.error
      ? { kind: 'error' as const, text: model.error }
      : model.notice
        ? { kind: 'success' as const, text: model.notice }
        : null;
    return (
      <div className="jp-insighter-View-body">
        <h2 className="jp-insighter-View-title">{trans.__('Teams')}</h2>
        {!model.signedIn && (
          <p className="jp-insighter-Muted">
            {trans.__('Log in to see and manage your teams.')}
          </p>
        )}
        <Message testId="insighter-teams-message" message={message} />
        {model.signedIn && (
          <div className="jp-insighter-Teams">
            <TeamList model={model} trans={trans} />
            {model.selected ? (
              <TeamDetail
                key={model.selected.id}
                team={model.selected}
                model={model}
                trans={trans}
                confirm={this._confirm}
              />
            ) : (
              model.loaded && (
                <p className="jp-insighter-Muted">
                  {trans.__(
                    'You are not in a team yet. Create one to share projects.'
                  )}
                </p>
              )
            )}
          </div>
        )}
      </div>
    );
  }
}

function roleLabel(role: TeamRole, trans: TranslationBundle): string {
  switch (role) {
    case 'owner':
      return trans.__('Owner');
    case 'admin':
      return trans.__('Admin');
    case 'member':
      return trans.__('Member');
    case 'viewer':
      return trans.__('Viewer');
  }
}

/** The roles `myRole` may hand out: admins never make owners. */
function assignableRoles(myRole: TeamRole | null): TeamRole[] {
  if (myRole === 'owner') {
    return [...TEAM_ROLES];
  }
  if (myRole === 'admin') {
    return TEAM_ROLES.filter(role => role !== 'owner');
  }
  return [];
}

function TeamList(props: {
  model: TeamsModel;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, trans } = props;
  const [name, setName] = React.useState('');
  const [error, setError] = React.useState<string | undefined>();
  return (
    <section
      className="jp-insighter-Section"
      aria-labelledby="jp-insighter-my-teams"
    >
      <h3 id="jp-insighter-my-teams">{trans.__('My teams')}</h3>
      <ul className="jp-insighter-TeamList">
        {model.teams.map(team => (
          <li key={team.id}>
            <button
              type="button"
              className={`jp-insighter-NavItem${
                team.id === model.selected?.id ? ' jp-mod-active' : ''
              }`}
              data-testid="insighter-team-item"
              aria-current={team.id === model.selected?.id ? 'true' : undefined}
              onClick={() => void model.select(team.id)}
            >
              <span className="jp-insighter-NavItem-label">{team.name}</span>
              <span className="jp-insighter-Badge">
                {roleLabel(team.role, trans)}
              </span>
            </button>
          </li>
        ))}
      </ul>
      <Form
        label={trans.__('Create a team')}
        busy={model.busy}
        onSubmit={() => {
          if (!name.trim()) {
            setError(trans.__('Name the team.'));
            return;
          }
          setError(undefined);
          void model.create(name).then(ok => ok && setName(''));
        }}
      >
        <Field
          id="jp-insighter-team-name"
          label={trans.__('New team')}
          type="text"
          value={name}
          onChange={setName}
          error={error}
          testId="insighter-team-name"
        />
        <div className="jp-insighter-FormActions">
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept"
            disabled={model.busy}
            data-testid="insighter-team-create"
          >
            {trans.__('Create team')}
          </button>
        </div>
      </Form>
    </section>
  );
}

function TeamDetail(props: {
  team: ITeam;
  model: TeamsModel;
  trans: TranslationBundle;
  confirm: (question: string) => Promise<boolean>;
}): React.ReactElement {
  const { team, model, trans, confirm } = props;
  const manages = hasRole(team.role, 'admin');
  return (
    <section
      className="jp-insighter-Section"
      aria-labelledby="jp-insighter-team-detail"
      data-testid="insighter-team-detail"
    >
      <h3 id="jp-insighter-team-detail">{team.name}</h3>
      <table className="jp-insighter-MemberTable">
        <thead>
          <tr>
            <th scope="col">{trans.__('Name')}</th>
            <th scope="col">{trans.__('Email')}</th>
            <th scope="col">{trans.__('Role')}</th>
            {manages && <th scope="col">{trans.__('Actions')}</th>}
          </tr>
        </thead>
        <tbody>
          {model.members.map(member => (
            <MemberRow
              key={member.user_id}
              member={member}
              team={team}
              model={model}
              trans={trans}
              confirm={confirm}
            />
          ))}
        </tbody>
      </table>
      {manages && <Invitations team={team} model={model} trans={trans} />}
      <div className="jp-insighter-FormActions">
        <button
          type="button"
          className="jp-mod-styled jp-mod-warn"
          data-testid="insighter-team-leave"
          disabled={model.busy}
          onClick={() =>
            void confirm(trans.__('Leave the team "%1"?', team.name)).then(
              yes => yes && model.leave(team.id)
            )
          }
        >
          {trans.__('Leave team')}
        </button>
      </div>
    </section>
  );
}

function MemberRow(props: {
  member: ITeamMember;
  team: ITeam;
  model: TeamsModel;
  trans: TranslationBundle;
  confirm: (question: string) => Promise<boolean>;
}): React.ReactElement {
  const { member, team, model, trans, confirm } = props;
  const roles = assignableRoles(team.role);
  // Admins do not touch owners; the server says so too.
  const editable =
    roles.length > 0 && (member.role !== 'owner' || team.role === 'owner');
  return (
    <tr data-testid="insighter-team-member" data-user-id={member.user_id}>
      <td>{member.full_name || '—'}</td>
      <td>{member.email}</td>
      <td>
        {editable ? (
          <select
            className="jp-mod-styled"
            aria-label={trans.__('Role of %1', member.email)}
            value={member.role}
            disabled={model.busy}
            onChange={event =>
              void model.changeRole(
                member.user_id,
                event.currentTarget.value as TeamRole
              )
            }
          >
            {roles.map(role => (
              <option key={role} value={role}>
                {roleLabel(role, trans)}
              </option>
            ))}
          </select>
        ) : (
          roleLabel(member.role, trans)
        )}
      </td>
      {hasRole(team.role, 'admin') && (
        <td>
          {editable && (
            <button
              type="button"
              className="jp-mod-styled jp-mod-warn"
              disabled={model.busy}
              onClick={() =>
                void confirm(
                  trans.__('Remove %1 from "%2"?', member.email, team.name)
                ).then(yes => yes && model.remove(member.user_id))
              }
            >
              {trans.__('Remove')}
            </button>
          )}
        </td>
      )}
    </tr>
  );
}

function Invitations(props: {
  team: ITeam;
  model: TeamsModel;
  trans: TranslationBundle;
}): React.ReactElement {
  const { team, model, trans } = props;
  const [email, setEmail] = React.useState('');
  const [role, setRole] = React.useState<TeamRole>('member');
  return (
    <>
      <h4>{trans.__('Invitations')}</h4>
      <p className="jp-insighter-Hint">
        {trans.__(
          'An invitation is accepted when that person signs up or logs in with this email.'
        )}
      </p>
      {model.invitations.length > 0 && (
        <ul className="jp-insighter-InvitationList">
          {model.invitations.map(invitation => (
            <li key={invitation.id} data-testid="insighter-team-invitation">
              <span>{invitation.email}</span>
              <span className="jp-insighter-Badge">
                {roleLabel(invitation.role, trans)}
              </span>
              <button
                type="button"
                className="jp-insighter-LinkButton"
                disabled={model.busy}
                onClick={() => void model.withdraw(invitation.id)}
              >
                {trans.__('Withdraw')}
              </button>
            </li>
          ))}
        </ul>
      )}
      <Form
        label={trans.__('Invite by email')}
        busy={model.busy}
        onSubmit={() =>
          void model.invite(email, role).then(ok => ok && setEmail(''))
        }
      >
        <div className="jp-insighter-InviteRow">
          <Field
            id="jp-insighter-invite-email"
            label={trans.__('Invite by email')}
            type="email"
            value={email}
            onChange={setEmail}
            testId="insighter-invite-email"
          />
          <div className="jp-insighter-Field">
            <label htmlFor="jp-insighter-invite-role">{trans.__('Role')}</label>
            <select
              id="jp-insighter-invite-role"
              className="jp-mod-styled"
              value={role}
              data-testid="insighter-invite-role"
              onChange={event => setRole(event.currentTarget.value as TeamRole)}
            >
              {assignableRoles(team.role).map(r => (
                <option key={r} value={r}>
                  {roleLabel(r, trans)}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div className="jp-insighter-FormActions">
          <button
            type="submit"
            className="jp-mod-styled jp-mod-accept"
            disabled={model.busy}
            data-testid="insighter-invite-submit"
          >
            {trans.__('Send invitation')}
          </button>
        </div>
      </Form>
    </>
  );
}
