import WebSocket from 'ws';
import {
  BEARER_PROTOCOL_PREFIX,
  CloseCodes,
  EVENTS_PATH,
  EVENTS_PROTOCOL
} from '../../src/events/stream';
import { BACKENDS } from '../support/postgres';
import {
  connectEvents,
  startProjectsTestServer,
  type EventClient,
  type ProjectsTestServer,
  type SignedInUser
} from '../projects/harness';

/** Long enough for a stray event to arrive after the sentinel it would precede. */
const QUIET_MS = 300;

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

describe.each(BACKENDS)('the /api/v1/events stream on %s', backend => {
  let t: ProjectsTestServer;
  let owner: SignedInUser;
  let teammate: SignedInUser;
  let viewer: SignedInUser;
  let outsider: SignedInUser;
  let teamId: string;
  const clients: EventClient[] = [];

  const connect = async (
    user: SignedInUser,
    how: 'header' | 'protocol' = 'header'
  ) => {
    const client = await connectEvents(
      t.url,
      how === 'header'
        ? { header: `Bearer ${user.token}` }
        : {
            protocols: [
              EVENTS_PROTOCOL,
              `${BEARER_PROTOCOL_PREFIX}${user.token}`
            ]
          }
    );
    clients.push(client);
    return client;
  };

  const create = async (user: SignedInUser, body: Record<string, unknown>) => {
    const res = await t.api(user, 'POST', '/api/v1/projects', body);
    expect(res.status).toBe(201);
    return res.body as { id: string; name: string; slug: string };
  };

  /** A private project of `user`: an event only they may see, sent after the one under test. */
  const sentinel = async (user: SignedInUser, client: EventClient) => {
    const project = await create(user, {
      name: `Sentinel of ${user.fullName}`
    });
    await client.next(e => e.payload.projectId === project.id);
    await sleep(QUIET_MS);
  };

  const aboutProject = (client: EventClient, projectId: string) =>
    client.received.filter(e => e.payload.projectId === projectId);

  beforeAll(async () => {
    t = await startProjectsTestServer({ backend });
    owner = await t.user('Olga Owner');
    teammate = await t.user('Tim Teammate');
    viewer = await t.user('Vic Viewer');
    outsider = await t.user('Otto Outsider');
    teamId = await t.team(owner, [
      [teammate, 'member'],
      [viewer, 'viewer']
    ]);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map(c => c.close()));
  });

  afterAll(async () => {
    await t?.close();
  });

  it('delivers a team project’s creation live to teammates, and nothing to an outsider', async () => {
    const teammates = await connect(teammate);
    const viewers = await connect(viewer, 'protocol');
    const outsiders = await connect(outsider);
    const project = await create(owner, {
      name: 'Live team project',
      visibility: 'team',
      team_id: teamId
    });

    for (const client of [teammates, viewers]) {
      const event = await client.next(
        e => e.type === 'project.created' && e.payload.projectId === project.id
      );
      expect(event).toEqual({
        type: 'project.created',
        payload: {
          projectId: project.id,
          name: 'Live team project',
          slug: project.slug,
          visibility: 'team',
          timestamp: expect.any(Number)
        }
      });
      expect(
        Math.abs((event.payload.timestamp as number) - Date.now())
      ).toBeLessThan(10_000);
    }
    await sentinel(outsider, outsiders);
    expect(aboutProject(outsiders, project.id)).toEqual([]);

    // …and the API agrees: the teammate sees the project, the outsider does not.
    expect(
      (await t.api(teammate, 'GET', `/api/v1/projects/${project.id}`)).status
    ).toBe(200);
    expect(
      (await t.api(outsider, 'GET', `/api/v1/projects/${project.id}`)).status
    ).toBe(404);
    const outsiderList = (await t.api(outsider, 'GET', '/api/v1/projects')).body
      .projects as { id: string }[];
    expect(outsiderList.map(p => p.id)).not.toContain(project.id);
  });

  it('keeps private projects to their owner, on every open tab', async () => {
    const tab1 = await connect(owner);
    const tab2 = await connect(owner, 'protocol');
    const teammates = await connect(teammate);
    const project = await create(owner, { name: 'Owner only' });
    await tab1.next(e => e.payload.projectId === project.id);
    await tab2.next(e => e.payload.projectId === project.id);
    await sentinel(teammate, teammates);
    expect(aboutProject(teammates, project.id)).toEqual([]);
  });

  it('tells former readers about a delete, and only them', async () => {
    const project = await create(owner, {
      name: 'Soon gone',
      visibility: 'team',
      team_id: teamId
    });
    const teammates = await connect(teammate);
    const outsiders = await connect(outsider);
    expect(
      (await t.api(owner, 'DELETE', `/api/v1/projects/${project.id}`)).status
    ).toBe(204);
    const event = await teammates.next(e => e.type === 'project.deleted');
    expect(event.payload).toEqual({
      projectId: project.id,
      name: 'Soon gone',
      slug: project.slug,
      timestamp: expect.any(Number)
    });
    await sentinel(outsider, outsiders);
    expect(aboutProject(outsiders, project.id)).toEqual([]);
  });

  it('tells teammates a project was made private, then nothing more about it', async () => {
    const project = await create(owner, {
      name: 'Going private',
      visibility: 'team',
      team_id: teamId
    });
    const teammates = await connect(teammate);
    const update = (body: unknown) =>
      t.api(owner, 'PATCH', `/api/v1/projects/${project.id}`, body);
    expect((await update({ visibility: 'private' })).status).toBe(200);
    const event = await teammates.next(e => e.type === 'project.updated');
    expect(event.payload).toMatchObject({
      projectId: project.id,
      visibility: 'private'
    });
    expect((await update({ name: 'Private now' })).status).toBe(200);
    await sentinel(teammate, teammates);
    expect(aboutProject(teammates, project.id).map(e => e.type)).toEqual([
      'project.updated'
    ]);
  });

  it('delivers one user’s events in the order they happened', async () => {
    const teammates = await connect(teammate);
    const project = await create(owner, {
      name: 'Order 0',
      visibility: 'team',
      team_id: teamId
    });
    for (let i = 1; i <= 5; i++) {
      await t.api(owner, 'PATCH', `/api/v1/projects/${project.id}`, {
        name: `Order ${i}`
      });
    }
    await teammates.next(e => e.payload.name === 'Order 5');
    expect(
      aboutProject(teammates, project.id).map(e => e.payload.name)
    ).toEqual([
      'Order 0',
      'Order 1',
      'Order 2',
      'Order 3',
      'Order 4',
      'Order 5'
    ]);
  });

  it('selects the events subprotocol and never echoes the token', async () => {
    const client = await connect(owner, 'protocol');
    expect(client.protocol).toBe(EVENTS_PROTOCOL);
  });

  it('closes 4401 without a token, with a bad one, or with an API key', async () => {
    const attempts = [
      {},
      { header: 'Bearer not-a-jwt' },
      {
        protocols: [
          EVENTS_PROTOCOL,
          `${BEARER_PROTOCOL_PREFIX}${owner.token.slice(0, -3)}abc`
        ]
      },
      { header: `Bearer ${t.auth.apiKeys[0]}` }
    ];
    for (const auth of attempts) {
      const client = await connectEvents(t.url, auth);
      const closed = await client.closed();
      expect(closed.code).toBe(CloseCodes.unauthorized);
      expect(closed.reason).toMatch(
        /^(Sign in first|Your session is not valid)/
      );
    }
    expect(t.stream.connections).toBe(0);
  });

  it('closes 4401 when the token expires, unless it was refreshed', async () => {
    // Two seconds of validity (one to two after rounding to whole seconds): enough to connect.
    const expiring = await connectEvents(t.url, {
      header: `Bearer ${await t.tokenFor(teammate, 2)}`
    });
    const refreshed = await connectEvents(t.url, {
      header: `Bearer ${await t.tokenFor(teammate, 2)}`
    });
    clients.push(expiring, refreshed);
    refreshed.ws.send(
      JSON.stringify({ type: 'auth.refresh', access_token: teammate.token })
    );
    const closed = await expiring.closed(5000);
    expect(closed).toEqual({
      code: CloseCodes.unauthorized,
      reason: 'Your session expired: reconnect with a fresh access token.'
    });
    const project = await create(owner, {
      name: 'After expiry',
      visibility: 'team',
      team_id: teamId
    });
    await refreshed.next(e => e.payload.projectId === project.id);
    expect(refreshed.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('closes 4403 when a refresh brings another user’s token', async () => {
    const client = await connect(teammate);
    client.ws.send(
      JSON.stringify({ type: 'auth.refresh', access_token: outsider.token })
    );
    expect(await client.closed()).toEqual({
      code: CloseCodes.forbidden,
      reason: 'This stream belongs to another user.'
    });
  });

  it('ignores unknown message types and closes on non-JSON', async () => {
    const client = await connect(teammate);
    client.ws.send(JSON.stringify({ type: 'hello.from-the-future' }));
    const project = await create(teammate, { name: 'Still listening' });
    await client.next(e => e.payload.projectId === project.id);
    client.ws.send('not json');
    expect((await client.closed()).code).toBe(CloseCodes.unsupportedData);
  });

  it('refuses WebSockets on other paths', async () => {
    const ws = new WebSocket(
      `${t.url.replace(/^http/, 'ws')}/api/v1/somewhere`
    );
    const status = await new Promise<number | undefined>(resolve => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.on('error', () => resolve(undefined));
    });
    expect(status).toBe(404);
    expect(EVENTS_PATH).toBe('/api/v1/events');
  });
});

describe('heartbeat and shutdown', () => {
  let t: ProjectsTestServer;

  beforeAll(async () => {
    t = await startProjectsTestServer({ heartbeatMs: 100 });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('drops a client that stops answering pings, keeps one that answers', async () => {
    const user = await t.user();
    const url = `${t.url.replace(/^http/, 'ws')}${EVENTS_PATH}`;
    const silent = new WebSocket(url, {
      headers: { authorization: `Bearer ${user.token}` },
      autoPong: false
    });
    const alive = await connectEvents(t.url, {
      header: `Bearer ${user.token}`
    });
    const code = await new Promise<number>(resolve =>
      silent.on('close', c => resolve(c))
    );
    expect(code).toBe(1006); // terminated: no close frame
    await new Promise(resolve => setTimeout(resolve, 300));
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    expect(t.stream.connections).toBe(1);
    await alive.close();
  });

  it('closes every socket with 1001 when the server stops', async () => {
    const user = await t.user();
    const client = await connectEvents(t.url, {
      header: `Bearer ${user.token}`
    });
    await t.stream.close();
    expect(await client.closed()).toEqual({
      code: CloseCodes.goingAway,
      reason: 'The server is shutting down.'
    });
  });
});
