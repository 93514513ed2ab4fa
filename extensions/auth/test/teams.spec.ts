import { SidecarClient } from '@insighter/core';
import { ServerConnection } from '@jupyterlab/services';
import WebSocket from 'ws';
import { OutboxModel } from '../src/outboxmodel';
import { SessionModel } from '../src/sessionmodel';
import { MemoryStorage } from '../src/storage';
import { TeamsModel } from '../src/teamsmodel';
import { ITestLab, startTestLab } from './support/lab';

/**
 * The teams model against the real sidecar: what Settings → Teams does, as
 * two people (Ada owns the team, Bob is invited before he has an account).
 */
let lab: ITestLab;
const disposables: { dispose(): void }[] = [];

beforeAll(async () => {
  lab = await startTestLab();
}, 90_000);

afterAll(async () => {
  for (const item of disposables.splice(0)) {
    item.dispose();
  }
  await lab?.stop();
});

interface IPerson {
  email: string;
  password: string;
  session: SessionModel;
  teams: TeamsModel;
}

function settings(): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: lab.baseUrl,
    token: lab.jupyterToken,
    fetch: (input, init) => fetch(input, init),
    Request,
    Headers,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
  });
}

function client(): SidecarClient {
  return new SidecarClient({ serverSettings: settings(), baseUrl: lab.apiUrl });
}

/** A browser of one person: session, sidecar client with its token, teams model. */
async function person(name: string): Promise<IPerson> {
  const sidecar = client();
  const session = new SessionModel({
    client: sidecar,
    serverSettings: settings(),
    storage: new MemoryStorage(),
    redirectTo: lab.labUrl
  });
  sidecar.accessTokenProvider = () => session.getAccessToken();
  await session.start();
  const teams = new TeamsModel({ client: sidecar, session });
  disposables.push(teams, session);
  return {
    email: `${name}.${Date.now()}@example.com`,
    password: `${name}pass1843`,
    session,
    teams
  };
}

/** Sign up, open the confirmation link, log in. */
async function join(who: IPerson, fullName: string): Promise<void> {
  await who.session.signUp({
    fullName,
    email: who.email,
    password: who.password
  });
  const outbox = new OutboxModel({ client: client(), pollInterval: 0 });
  await outbox.refresh();
  const mail = outbox.messages.find(m => m.to === who.email);
  await outbox.open(mail!.id);
  outbox.dispose();
  const confirmed = await fetch(outbox.selected!.link!, {
    redirect: 'manual',
    headers: { Authorization: `token ${lab.jupyterToken}` }
  });
  expect(confirmed.status).toBe(303);
  await who.session.signIn(who.email, who.password);
}

describe('TeamsModel against the real sidecar', () => {
  it('creates a team, invites by email, and manages members', async () => {
    const ada = await person('ada');
    const bob = await person('bob');
    await join(ada, 'Ada Lovelace');

    await ada.teams.refresh();
    expect(ada.teams.error).toBeNull();
    expect(ada.teams.teams).toEqual([]);
    expect(await ada.teams.create('Research')).toBe(true);
    expect(ada.teams.notice).toBe('Team "Research" created.');
    expect(ada.teams.selected).toMatchObject({
      name: 'Research',
      role: 'owner'
    });
    expect(ada.teams.members.map(m => [m.email, m.role])).toEqual([
      [ada.email, 'owner']
    ]);
    const teamId = ada.teams.selected!.id;

    // Bob has no account yet: the invitation waits for him.
    expect(await ada.teams.invite(bob.email, 'member')).toBe(true);
    expect(ada.teams.invitations.map(i => [i.email, i.role])).toEqual([
      [bob.email, 'member']
    ]);
    await join(bob, 'Bob Babbage');
    await bob.teams.refresh();
    expect(bob.teams.teams.map(t => [t.name, t.role])).toEqual([
      ['Research', 'member']
    ]);

    await ada.teams.select(teamId);
    expect(ada.teams.invitations).toEqual([]);
    expect(
      ada.teams.members.map(m => [m.email, m.full_name, m.role]).sort()
    ).toEqual(
      [
        [ada.email, 'Ada Lovelace', 'owner'],
        [bob.email, 'Bob Babbage', 'member']
      ].sort()
    );

    // A member may not invite: the server says so, the model shows it.
    expect(await bob.teams.invite('carol@example.com', 'viewer')).toBe(false);
    expect(bob.teams.error).toMatch(/owner|admin/i);

    const bobId = bob.session.user!.id;
    expect(await ada.teams.changeRole(bobId, 'admin')).toBe(true);
    expect(ada.teams.members.find(m => m.user_id === bobId)?.role).toBe(
      'admin'
    );

    expect(await ada.teams.remove(bobId)).toBe(true);
    expect(ada.teams.members.map(m => m.email)).toEqual([ada.email]);
    await bob.teams.refresh();
    expect(bob.teams.teams).toEqual([]);

    // The last owner cannot leave.
    expect(await ada.teams.leave(teamId)).toBe(false);
    expect(ada.teams.error).toMatch(/owner/);

    // Invited again, Bob joins at his next log-in, then leaves.
    expect(await ada.teams.invite(bob.email, 'viewer')).toBe(true);
    await bob.session.signOut();
    await bob.session.signIn(bob.email, bob.password);
    await bob.teams.refresh();
    expect(bob.teams.teams.map(t => t.role)).toEqual(['viewer']);
    expect(await bob.teams.leave(teamId)).toBe(true);
    expect(bob.teams.notice).toBe('You left the team.');
    expect(bob.teams.teams).toEqual([]);
  });

  it('forgets the teams of whoever signed out', async () => {
    const grace = await person('grace');
    await join(grace, 'Grace Hopper');
    expect(await grace.teams.create('Compilers')).toBe(true);
    expect(grace.teams.teams).toHaveLength(1);
    await grace.session.signOut();
    expect(grace.teams.teams).toEqual([]);
    expect(grace.teams.loaded).toBe(false);
  });
});
