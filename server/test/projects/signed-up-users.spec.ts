import { randomUUID } from 'node:crypto';
import {
  EVENTS_PROTOCOL,
  BEARER_PROTOCOL_PREFIX
} from '../../src/events/stream';
import { makeClient, uniqueEmail, GOOD_PASSWORD } from '../auth/support';
import {
  connectEvents,
  startProjectsTestServer,
  type ProjectsTestServer
} from './harness';

/**
 * The acceptance path with nothing minted by the test: accounts signed up
 * through `/auth/v1` with supabase-js, a teammate who joins by invitation,
 * their real access tokens on the REST API and the event stream.
 */
describe('signed-up users, a team and a live team project', () => {
  let t: ProjectsTestServer;

  beforeAll(async () => {
    t = await startProjectsTestServer({
      env: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' }
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  const signUp = async (fullName: string, email = uniqueEmail()) => {
    const { data, error } = await makeClient(
      t.url,
      t.auth.publicConfig().supabase_anon_key
    ).auth.signUp({
      email,
      password: GOOD_PASSWORD,
      options: { data: { full_name: fullName } }
    });
    if (error || !data.session) {
      throw (
        error ?? new Error('sign-up returned no session (is autoconfirm on?)')
      );
    }
    return {
      id: data.user!.id,
      email: data.user!.email!,
      token: data.session.access_token
    };
  };

  const api = async (
    token: string,
    method: string,
    pathname: string,
    body?: unknown
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<{ status: number; body: any }> => {
    const res = await fetch(`${t.url}${pathname}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json'
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    });
    return {
      status: res.status,
      body: res.status === 204 ? undefined : await res.json()
    };
  };

  it('shows the teammate the project and its events live, and the other user neither', async () => {
    const owner = await signUp('Olivia Owner');
    const ownerClaims = await t.auth.verifier.verify(owner.token);
    const teamId = randomUUID();
    const teammateEmail = uniqueEmail('teammate');
    await t.db.withClaims(ownerClaims, async tx => {
      await tx.query(
        "insert into public.teams (id, name) values ($1, 'Forecasting')",
        [teamId]
      );
      await tx.query(
        "insert into public.team_invitations (team_id, email, role) values ($1, $2, 'member')",
        [teamId, teammateEmail]
      );
    });
    // Signing up with the invited address accepts the invitation.
    const teammate = await signUp('Tara Teammate', teammateEmail);
    const other = await signUp('Oscar Other');

    const teammateEvents = await connectEvents(t.url, {
      protocols: [EVENTS_PROTOCOL, `${BEARER_PROTOCOL_PREFIX}${teammate.token}`]
    });
    const otherEvents = await connectEvents(t.url, {
      protocols: [EVENTS_PROTOCOL, `${BEARER_PROTOCOL_PREFIX}${other.token}`]
    });
    try {
      const created = await api(owner.token, 'POST', '/api/v1/projects', {
        name: 'Demand forecast',
        description: 'Weekly demand per store',
        visibility: 'team',
        team_id: teamId
      });
      expect(created.status).toBe(201);
      const event = await teammateEvents.next(
        e => e.type === 'project.created'
      );
      expect(event.payload).toMatchObject({
        projectId: created.body.id,
        slug: 'demand-forecast'
      });

      const teammateList = await api(teammate.token, 'GET', '/api/v1/projects');
      expect(
        teammateList.body.projects.map((p: { id: string }) => p.id)
      ).toEqual([created.body.id]);
      const otherList = await api(other.token, 'GET', '/api/v1/projects');
      expect(otherList.body.projects).toEqual([]);
      expect(
        (await api(other.token, 'GET', `/api/v1/projects/${created.body.id}`))
          .status
      ).toBe(404);

      // The other user's own project is the sentinel: it arrives, the team's never did.
      const own = await api(other.token, 'POST', '/api/v1/projects', {
        name: 'Mine'
      });
      await otherEvents.next(e => e.payload.projectId === own.body.id);
      await new Promise(resolve => setTimeout(resolve, 300));
      expect(otherEvents.received.map(e => e.payload.projectId)).toEqual([
        own.body.id
      ]);
    } finally {
      await teammateEvents.close();
      await otherEvents.close();
    }
  });
});
