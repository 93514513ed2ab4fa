import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { SignJWT } from 'jose';
import { secretTokenVerifier } from '../../src/auth/token-verifier';
import { errorHandler, notFound } from '../../src/http/errors';
import { requireUser } from '../../src/http/require-user';
import { teamRoutes } from '../../src/routes/teams';
import { TeamsService } from '../../src/services/teams';
import {
  BACKENDS,
  createUser,
  freshDatabase,
  silentLogger,
  type TestDatabase,
  type TestUser
} from '../support/postgres';

/**
 * `/api/v1/teams` over real HTTP, with real access tokens (HS256, verified
 * by the sidecar's own requireUser) and a real database.
 */
describe.each(BACKENDS)('/api/v1/teams on %s', backend => {
  const secret = randomBytes(32);
  let t: TestDatabase;
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    t = await freshDatabase(backend);
    const app = express();
    app.use(express.json());
    app.use(
      teamRoutes(
        new TeamsService(t.db),
        requireUser(secretTokenVerifier(secret))
      )
    );
    app.use(notFound);
    app.use(errorHandler(silentLogger));
    server = http.createServer(app);
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise(resolve => server?.close(resolve));
    await t?.close();
  });

  const tokenFor = (user: TestUser) =>
    new SignJWT({ ...user.claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(secret);

  async function call(
    user: TestUser | null,
    method: string,
    path: string,
    body?: unknown,
    raw?: string
  ): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (user) headers.authorization = `Bearer ${await tokenFor(user)}`;
    if (body !== undefined || raw !== undefined)
      headers['content-type'] = 'application/json';
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: raw ?? (body === undefined ? undefined : JSON.stringify(body))
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  const teamCount = async () =>
    (
      await t.db.asService(tx =>
        tx.query<{ n: number }>('select count(*)::int as n from public.teams')
      )
    ).rows[0].n;
  const invitationCount = async () =>
    (
      await t.db.asService(tx =>
        tx.query<{ n: number }>(
          'select count(*)::int as n from public.team_invitations'
        )
      )
    ).rows[0].n;

  it('needs a signed-in user', async () => {
    const res = await call(null, 'GET', '/api/v1/teams');
    expect(res.status).toBe(401);
    expect(res.body.error.message).toMatch(/Sign in first/);
  });

  it('walks through a team’s life: create, invite, join, roles, leave, delete', async () => {
    const owner = await createUser(t.db, { fullName: 'Olivia Owner' });
    const created = await call(owner, 'POST', '/api/v1/teams', {
      name: '  Research  '
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Research',
      role: 'owner',
      member_count: 1,
      created_by: owner.id
    });
    expect(created.body.created_at).toEqual(expect.any(String));
    const id = created.body.id as string;

    const list = await call(owner, 'GET', '/api/v1/teams');
    expect(list).toEqual({ status: 200, body: { teams: [created.body] } });
    expect(await call(owner, 'GET', `/api/v1/teams/${id}`)).toEqual({
      status: 200,
      body: created.body
    });

    const invited = await call(
      owner,
      'POST',
      `/api/v1/teams/${id}/invitations`,
      {
        email: 'Ada@Example.com',
        role: 'admin'
      }
    );
    expect(invited.status).toBe(201);
    expect(invited.body).toMatchObject({
      team_id: id,
      email: 'ada@example.com',
      role: 'admin',
      invited_by: owner.id
    });
    expect(
      (await call(owner, 'GET', `/api/v1/teams/${id}/invitations`)).body
    ).toEqual({
      invitations: [invited.body]
    });

    // Ada signs up: the invitation is accepted.
    const ada = await createUser(t.db, {
      email: 'ada@example.com',
      fullName: 'Ada Admin'
    });
    expect(
      (await call(owner, 'GET', `/api/v1/teams/${id}/invitations`)).body
    ).toEqual({ invitations: [] });
    const members = await call(ada, 'GET', `/api/v1/teams/${id}/members`);
    expect(members.status).toBe(200);
    expect(members.body.members).toEqual([
      {
        user_id: owner.id,
        email: owner.email,
        full_name: 'Olivia Owner',
        avatar_url: null,
        role: 'owner',
        created_at: expect.any(String)
      },
      {
        user_id: ada.id,
        email: 'ada@example.com',
        full_name: 'Ada Admin',
        avatar_url: null,
        role: 'admin',
        created_at: expect.any(String)
      }
    ]);

    const promoted = await call(
      owner,
      'PATCH',
      `/api/v1/teams/${id}/members/${ada.id}`,
      { role: 'owner' }
    );
    expect(promoted.status).toBe(200);
    expect(promoted.body).toMatchObject({ user_id: ada.id, role: 'owner' });

    expect(
      (await call(owner, 'POST', `/api/v1/teams/${id}/leave`)).status
    ).toBe(204);
    expect((await call(owner, 'GET', `/api/v1/teams/${id}`)).status).toBe(404);

    const renamed = await call(ada, 'PATCH', `/api/v1/teams/${id}`, {
      name: 'Lab'
    });
    expect(renamed.body).toMatchObject({
      name: 'Lab',
      role: 'owner',
      member_count: 1
    });
    expect((await call(ada, 'DELETE', `/api/v1/teams/${id}`)).status).toBe(204);
    expect((await call(ada, 'GET', '/api/v1/teams')).body).toEqual({
      teams: []
    });
  });

  it('answers 404 for other people’s teams and unknown ids, 403 with a reason for roles', async () => {
    const owner = await createUser(t.db);
    const stranger = await createUser(t.db);
    const { body: team } = await call(owner, 'POST', '/api/v1/teams', {
      name: 'Closed'
    });
    for (const [method, path, body] of [
      ['GET', `/api/v1/teams/${team.id}`],
      ['GET', `/api/v1/teams/${team.id}/members`],
      ['GET', `/api/v1/teams/${team.id}/invitations`],
      [
        'POST',
        `/api/v1/teams/${team.id}/invitations`,
        { email: 'x@example.com' }
      ],
      ['PATCH', `/api/v1/teams/${team.id}`, { name: 'Mine now' }],
      ['DELETE', `/api/v1/teams/${team.id}`],
      ['POST', `/api/v1/teams/${team.id}/leave`],
      [
        'PATCH',
        `/api/v1/teams/${team.id}/members/${owner.id}`,
        { role: 'viewer' }
      ],
      ['DELETE', `/api/v1/teams/${team.id}/members/${owner.id}`],
      ['GET', '/api/v1/teams/00000000-0000-4000-8000-000000000000'],
      ['GET', '/api/v1/teams/not-a-team']
    ] as const) {
      const res = await call(stranger, method, path, body);
      expect(`${method} ${path} ${res.status} ${res.body.error.code}`).toBe(
        `${method} ${path} 404 not_found`
      );
    }
    expect(
      (await call(owner, 'GET', `/api/v1/teams/${team.id}`)).body.name
    ).toBe('Closed');

    await call(owner, 'POST', `/api/v1/teams/${team.id}/invitations`, {
      email: stranger.email,
      role: 'viewer'
    });
    await t.db.asService(tx =>
      tx.query('update auth.users set last_sign_in_at = now() where id = $1', [
        stranger.id
      ])
    );
    const denied = await call(
      stranger,
      'POST',
      `/api/v1/teams/${team.id}/invitations`,
      { email: 'y@example.com' }
    );
    expect(denied).toEqual({
      status: 403,
      body: {
        error: {
          code: 'forbidden',
          message: "Only the team's owners and admins can invite people."
        }
      }
    });
    const lastOwner = await call(
      owner,
      'POST',
      `/api/v1/teams/${team.id}/leave`
    );
    expect(lastOwner.status).toBe(409);
    expect(lastOwner.body.error.code).toBe('last_owner');
  });

  it('rejects bad input with 400 and a clear message, creating nothing', async () => {
    const owner = await createUser(t.db);
    const { body: team } = await call(owner, 'POST', '/api/v1/teams', {
      name: 'Valid'
    });
    const teamsBefore = await teamCount();
    const invitationsBefore = await invitationCount();
    const cases: [string, string, unknown, RegExp, string?][] = [
      ['POST', '/api/v1/teams', {}, /^Team name is required\.$/],
      ['POST', '/api/v1/teams', { name: '   ' }, /^Team name is required\.$/],
      ['POST', '/api/v1/teams', { name: 42 }, /^Team name must be text\.$/],
      [
        'POST',
        '/api/v1/teams',
        { name: 'x'.repeat(101) },
        /at most 100 characters/
      ],
      [
        'POST',
        '/api/v1/teams',
        { name: 'Ok', owner: 'me' },
        /Unknown field "owner"/
      ],
      ['POST', '/api/v1/teams', ['Research'], /Send a JSON object/],
      ['POST', '/api/v1/teams', undefined, /not valid JSON/, '{"name": '],
      [
        'POST',
        `/api/v1/teams/${team.id}/invitations`,
        { email: 'nope' },
        /valid email address/
      ],
      [
        'POST',
        `/api/v1/teams/${team.id}/invitations`,
        {},
        /^Email is required\.$/
      ],
      [
        'POST',
        `/api/v1/teams/${team.id}/invitations`,
        { email: 'a@example.com', role: 'boss' },
        /Role must be one of "viewer", "member", "admin", "owner"/
      ],
      [
        'PATCH',
        `/api/v1/teams/${team.id}/members/${owner.id}`,
        {},
        /^Role is required\.$/
      ],
      [
        'PATCH',
        `/api/v1/teams/${team.id}`,
        { name: '' },
        /^Team name is required\.$/
      ]
    ];
    for (const [method, path, body, message, raw] of cases) {
      const res = await call(owner, method, path, body, raw);
      expect(
        `${method} ${path} ${JSON.stringify(body ?? raw)} -> ${res.status}`
      ).toBe(`${method} ${path} ${JSON.stringify(body ?? raw)} -> 400`);
      expect(res.body.error.message).toMatch(message);
    }
    expect(await teamCount()).toBe(teamsBefore);
    expect(await invitationCount()).toBe(invitationsBefore);
    expect(
      (await call(owner, 'GET', `/api/v1/teams/${team.id}`)).body.name
    ).toBe('Valid');
  });

  it('answers a duplicate invitation with 409', async () => {
    const owner = await createUser(t.db);
    const { body: team } = await call(owner, 'POST', '/api/v1/teams', {
      name: 'Dupes'
    });
    await call(owner, 'POST', `/api/v1/teams/${team.id}/invitations`, {
      email: 'same@example.com'
    });
    const again = await call(
      owner,
      'POST',
      `/api/v1/teams/${team.id}/invitations`,
      { email: 'SAME@example.com' }
    );
    expect(again).toEqual({
      status: 409,
      body: {
        error: {
          code: 'already_invited',
          message:
            'same@example.com already has a pending invitation to this team.'
        }
      }
    });
    const mine = await call(
      owner,
      'POST',
      `/api/v1/teams/${team.id}/invitations`,
      { email: owner.email }
    );
    expect(mine.status).toBe(409);
    expect(mine.body.error.code).toBe('already_member');
  });
});
