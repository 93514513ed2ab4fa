import { BACKENDS } from '../support/postgres';
import {
  startProjectsTestServer,
  type ProjectsTestServer,
  type SignedInUser
} from './harness';

const UNKNOWN_ID = '3b0c4a52-7f1e-4d0a-9b7c-2f6d8e1a5c90';

describe.each(BACKENDS)('/api/v1/projects on %s', backend => {
  let t: ProjectsTestServer;
  let alice: SignedInUser;
  let bob: SignedInUser;
  let viewer: SignedInUser;
  let outsider: SignedInUser;
  let teamId: string;
  let outsiderTeamId: string;

  beforeAll(async () => {
    t = await startProjectsTestServer({ backend });
    alice = await t.user('Alice');
    bob = await t.user('Bob');
    viewer = await t.user('Vera Viewer');
    outsider = await t.user('Oscar Outsider');
    teamId = await t.team(alice, [
      [bob, 'member'],
      [viewer, 'viewer']
    ]);
    outsiderTeamId = await t.team(outsider);
  });

  afterAll(async () => {
    await t?.close();
  });

  const count = async () =>
    (
      await t.db.asService(tx =>
        tx.query<{ n: number }>(
          'select count(*)::int as n from public.projects'
        )
      )
    ).rows[0].n;

  /** Every bad request: a 4xx with the given message, and nothing created. */
  const refused = async (
    user: SignedInUser,
    body: unknown,
    status: number,
    message: string | RegExp
  ) => {
    const before = await count();
    const res = await t.api(user, 'POST', '/api/v1/projects', body);
    expect(res.status).toBe(status);
    expect(res.body.error.message).toMatch(message);
    expect(await count()).toBe(before);
    return res.body.error;
  };

  describe('creating', () => {
    it('answers 201 with the record, its slug derived from the name', async () => {
      const res = await t.api(alice, 'POST', '/api/v1/projects', {
        name: '  Churn Model — Q3 (Ünïcode) ',
        description: 'Who leaves, and why'
      });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        slug: 'churn-model-q3-unicode',
        name: 'Churn Model — Q3 (Ünïcode)',
        description: 'Who leaves, and why',
        visibility: 'private',
        team_id: null,
        owner_id: alice.id,
        created_at: expect.any(String),
        updated_at: expect.any(String),
        dataset_count: 0,
        run_count: 0,
        model_count: 0,
        last_activity_at: res.body.updated_at
      });
      expect(new Date(res.body.created_at).getTime()).toBeGreaterThan(
        Date.now() - 60_000
      );
    });

    it('gives a second project of the same name a distinct slug, even when the first is invisible', async () => {
      const first = await t.api(outsider, 'POST', '/api/v1/projects', {
        name: 'Fraud Detection'
      });
      const second = await t.api(alice, 'POST', '/api/v1/projects', {
        name: 'fraud detection!'
      });
      const third = await t.api(alice, 'POST', '/api/v1/projects', {
        name: 'Fraud  Detection'
      });
      expect([first.status, second.status, third.status]).toEqual([
        201, 201, 201
      ]);
      // A taken name gets a random suffix, not a count of the projects before.
      expect(first.body.slug).toBe('fraud-detection');
      expect(second.body.slug).toMatch(/^fraud-detection-[a-p]{6}$/);
      expect(third.body.slug).toMatch(/^fraud-detection-[a-p]{6}$/);
      expect(new Set([first.body.slug, second.body.slug, third.body.slug]).size).toBe(3);
    });

    it('gives concurrent projects of one name distinct slugs, never a 500', async () => {
      const answers = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          t.api(i % 2 ? alice : bob, 'POST', '/api/v1/projects', {
            name: 'Race'
          })
        )
      );
      expect(answers.map(a => a.status)).toEqual(Array(6).fill(201));
      expect(new Set(answers.map(a => a.body.slug)).size).toBe(6);
      const slugs = answers.map(a => a.body.slug);
      expect(slugs).toContain('race');
      for (const slug of slugs.filter(s => s !== 'race')) {
        expect(slug).toMatch(/^race-[a-p]{6}$/);
      }
    });

    it('names a project without Latin letters "project"', async () => {
      const res = await t.api(alice, 'POST', '/api/v1/projects', {
        name: '数据分析'
      });
      expect(res.status).toBe(201);
      expect(res.body.slug).toMatch(/^project(-[a-p]{6})?$/);
      expect(res.body.name).toBe('数据分析');
    });

    it('creates a team project for a member of the team', async () => {
      const res = await t.api(bob, 'POST', '/api/v1/projects', {
        name: 'Team forecast',
        visibility: 'team',
        team_id: teamId
      });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({
        visibility: 'team',
        team_id: teamId,
        owner_id: bob.id
      });
    });

    it('refuses an empty, blank or missing name', async () => {
      await refused(alice, { name: '' }, 400, 'Project name is required.');
      await refused(alice, { name: '    ' }, 400, 'Project name is required.');
      const error = await refused(
        alice,
        { description: 'no name' },
        400,
        'Project name is required.'
      );
      expect(error).toMatchObject({
        code: 'invalid_input',
        details: {
          fields: [{ field: 'name', message: 'Project name is required.' }]
        }
      });
    });

    it('refuses a 200-character name, and accepts 100', async () => {
      await refused(
        alice,
        { name: 'n'.repeat(200) },
        400,
        'Project name must be at most 100 characters.'
      );
      await refused(
        alice,
        { name: 'n'.repeat(101) },
        400,
        'Project name must be at most 100 characters.'
      );
      const ok = await t.api(alice, 'POST', '/api/v1/projects', {
        name: 'n'.repeat(100)
      });
      expect(ok.status).toBe(201);
      expect(ok.body.slug.length).toBeLessThanOrEqual(80);
    });

    it('refuses a name that is not text, and a too long description', async () => {
      await refused(alice, { name: 42 }, 400, 'Project name must be text.');
      await refused(
        alice,
        { name: 'Wordy', description: 'd'.repeat(2001) },
        400,
        'Project description must be at most 2000 characters.'
      );
    });

    it('refuses visibility team without a team', async () => {
      await refused(
        alice,
        { name: 'Shared', visibility: 'team' },
        400,
        'Choose a team for a team project.'
      );
      await refused(
        alice,
        { name: 'Shared', visibility: 'team', team_id: null },
        400,
        'Choose a team for a team project.'
      );
    });

    it('refuses a team on a private project, and an unknown visibility', async () => {
      await refused(
        alice,
        { name: 'Mixed', team_id: teamId },
        400,
        /A private project belongs to no team/
      );
      await refused(
        alice,
        { name: 'Public', visibility: 'public' },
        400,
        'Visibility must be "private" or "team".'
      );
    });

    it('refuses a team the user is not in (403), whether or not it exists', async () => {
      const error = await refused(
        alice,
        { name: 'Trespass', visibility: 'team', team_id: outsiderTeamId },
        403,
        'You are not a member of that team.'
      );
      expect(error.code).toBe('not_team_member');
      await refused(
        alice,
        { name: 'Nowhere', visibility: 'team', team_id: UNKNOWN_ID },
        403,
        'You are not a member of that team.'
      );
      await refused(
        alice,
        { name: 'Garbage', visibility: 'team', team_id: 'not-a-uuid' },
        400,
        'team_id must be the id of a team.'
      );
    });

    it('refuses a viewer adding a project to their team', async () => {
      await refused(
        viewer,
        { name: 'Viewer project', visibility: 'team', team_id: teamId },
        403,
        /^Viewers cannot add projects to a team/
      );
    });

    it('refuses fields a client may not set, and bodies that are not objects', async () => {
      await refused(
        alice,
        { name: 'Sneaky', owner_id: outsider.id, slug: 'chosen' },
        400,
        'Unknown field "owner_id", "slug": a project has name, description, visibility and team_id.'
      );
      await refused(alice, ['name'], 400, /^Send the project as a JSON object/);
      const before = await count();
      const broken = await t.api(
        alice,
        'POST',
        '/api/v1/projects',
        '{"name": '
      );
      expect(broken.status).toBe(400);
      expect(broken.body.error.code).toBe('invalid_json');
      expect(await count()).toBe(before);
    });

    it('needs a signed-in user', async () => {
      const before = await count();
      const res = await t.api(null, 'POST', '/api/v1/projects', {
        name: 'Anonymous'
      });
      expect(res.status).toBe(401);
      expect(res.body.error.message).toMatch(/Sign in first/);
      const forged = await t.api(
        { ...alice, token: `${alice.token.slice(0, -4)}AAAA` },
        'GET',
        '/api/v1/projects'
      );
      expect(forged.status).toBe(401);
      expect(await count()).toBe(before);
    });
  });

  describe('reading', () => {
    let privateProject: { id: string };
    let teamProject: { id: string };

    beforeAll(async () => {
      privateProject = (
        await t.api(alice, 'POST', '/api/v1/projects', { name: 'Alice only' })
      ).body;
      teamProject = (
        await t.api(alice, 'POST', '/api/v1/projects', {
          name: 'Everyone in the team',
          visibility: 'team',
          team_id: teamId
        })
      ).body;
    });

    it('lists what the user may see, most recently changed first', async () => {
      const list = async (user: SignedInUser) =>
        (
          (await t.api(user, 'GET', '/api/v1/projects')).body.projects as {
            id: string;
          }[]
        ).map(p => p.id);
      const alices = await list(alice);
      expect(alices).toEqual(
        expect.arrayContaining([privateProject.id, teamProject.id])
      );
      expect(alices.indexOf(teamProject.id)).toBeLessThan(
        alices.indexOf(privateProject.id)
      );
      expect(await list(bob)).toContain(teamProject.id);
      expect(await list(bob)).not.toContain(privateProject.id);
      expect(await list(viewer)).toContain(teamProject.id);
      const outsiders = await list(outsider);
      expect(outsiders).not.toContain(teamProject.id);
      expect(outsiders).not.toContain(privateProject.id);
    });

    it('carries counts and last activity on every listed project', async () => {
      const { body } = await t.api(alice, 'GET', '/api/v1/projects');
      for (const project of body.projects) {
        expect(project).toMatchObject({
          dataset_count: 0,
          run_count: 0,
          model_count: 0
        });
        expect(project.last_activity_at).toBe(project.updated_at);
      }
    });

    it('reads one project by id', async () => {
      const res = await t.api(
        viewer,
        'GET',
        `/api/v1/projects/${teamProject.id}`
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: teamProject.id,
        name: 'Everyone in the team'
      });
    });

    it('answers 404 for unknown ids, malformed ids and other users’ projects', async () => {
      for (const [user, id] of [
        [alice, UNKNOWN_ID],
        [alice, 'not-an-id'],
        [outsider, privateProject.id],
        [outsider, teamProject.id],
        [bob, privateProject.id]
      ] as [SignedInUser, string][]) {
        const res = await t.api(user, 'GET', `/api/v1/projects/${id}`);
        expect(res.status).toBe(404);
        expect(res.body.error).toEqual({
          code: 'not_found',
          message: 'Project not found.'
        });
      }
    });
  });

  describe('changing', () => {
    let project: { id: string; slug: string; updated_at: string };

    beforeEach(async () => {
      project = (
        await t.api(alice, 'POST', '/api/v1/projects', {
          name: 'Editable',
          visibility: 'team',
          team_id: teamId
        })
      ).body;
    });

    it('renames and describes, keeping the slug', async () => {
      const res = await t.api(bob, 'PATCH', `/api/v1/projects/${project.id}`, {
        name: 'Renamed by Bob',
        description: 'now described'
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        name: 'Renamed by Bob',
        description: 'now described',
        slug: project.slug,
        owner_id: alice.id
      });
      expect(new Date(res.body.updated_at).getTime()).toBeGreaterThan(
        new Date(project.updated_at).getTime()
      );
    });

    it('lets the owner make it private, and share it again', async () => {
      const hidden = await t.api(
        alice,
        'PATCH',
        `/api/v1/projects/${project.id}`,
        { visibility: 'private' }
      );
      expect(hidden.status).toBe(200);
      expect(hidden.body).toMatchObject({
        visibility: 'private',
        team_id: null
      });
      expect(
        (await t.api(bob, 'GET', `/api/v1/projects/${project.id}`)).status
      ).toBe(404);
      const shared = await t.api(
        alice,
        'PATCH',
        `/api/v1/projects/${project.id}`,
        {
          visibility: 'team',
          team_id: teamId
        }
      );
      expect(shared.status).toBe(200);
      expect(
        (await t.api(bob, 'GET', `/api/v1/projects/${project.id}`)).status
      ).toBe(200);
    });

    it('refuses bad changes with a clear 4xx and changes nothing', async () => {
      const cases: [SignedInUser, unknown, number, string | RegExp][] = [
        [alice, { name: '' }, 400, 'Project name is required.'],
        [
          alice,
          { name: 'x'.repeat(200) },
          400,
          'Project name must be at most 100 characters.'
        ],
        [alice, {}, 400, /^Nothing to change/],
        [alice, { slug: 'new-slug' }, 400, /^Unknown field "slug"/],
        [
          alice,
          { visibility: 'team', team_id: null },
          400,
          'Choose a team for a team project.'
        ],
        [
          alice,
          { team_id: outsiderTeamId },
          403,
          'You are not a member of that team.'
        ],
        [
          bob,
          { visibility: 'private' },
          403,
          "Only the project's owner can change who it is shared with."
        ],
        [
          viewer,
          { name: 'Viewer edit' },
          403,
          /^You can see this project but not change it/
        ],
        [outsider, { name: 'Outsider edit' }, 404, 'Project not found.']
      ];
      for (const [user, body, status, message] of cases) {
        const res = await t.api(
          user,
          'PATCH',
          `/api/v1/projects/${project.id}`,
          body
        );
        expect([res.status, res.body.error.message]).toEqual([
          status,
          expect.stringMatching(message)
        ]);
      }
      const after = await t.api(alice, 'GET', `/api/v1/projects/${project.id}`);
      expect(after.body).toMatchObject({
        name: 'Editable',
        visibility: 'team',
        team_id: teamId
      });
      expect(after.body.updated_at).toBe(project.updated_at);
    });

    it('answers 404 for unknown ids', async () => {
      const res = await t.api(
        alice,
        'PATCH',
        `/api/v1/projects/${UNKNOWN_ID}`,
        { name: 'Ghost' }
      );
      expect(res.status).toBe(404);
    });
  });

  describe('deleting', () => {
    const teamProject = async (owner: SignedInUser) =>
      (
        await t.api(owner, 'POST', '/api/v1/projects', {
          name: 'Disposable',
          visibility: 'team',
          team_id: teamId
        })
      ).body as { id: string };

    it('lets the owner delete: 204, then 404', async () => {
      const { id } = (
        await t.api(alice, 'POST', '/api/v1/projects', { name: 'Short-lived' })
      ).body;
      const res = await t.api(alice, 'DELETE', `/api/v1/projects/${id}`);
      expect(res.status).toBe(204);
      expect((await t.api(alice, 'GET', `/api/v1/projects/${id}`)).status).toBe(
        404
      );
      expect(
        (await t.api(alice, 'DELETE', `/api/v1/projects/${id}`)).status
      ).toBe(404);
    });

    it('lets the team owner delete a member’s team project', async () => {
      const { id } = await teamProject(bob);
      expect(
        (await t.api(alice, 'DELETE', `/api/v1/projects/${id}`)).status
      ).toBe(204);
    });

    it('refuses members and viewers (403) and outsiders (404), deleting nothing', async () => {
      const { id } = await teamProject(alice);
      const bobs = await t.api(bob, 'DELETE', `/api/v1/projects/${id}`);
      expect(bobs.status).toBe(403);
      expect(bobs.body.error.message).toBe(
        "Only the project's owner or its team's owners and admins can delete it."
      );
      expect(
        (await t.api(viewer, 'DELETE', `/api/v1/projects/${id}`)).status
      ).toBe(403);
      expect(
        (await t.api(outsider, 'DELETE', `/api/v1/projects/${id}`)).body.error
          .message
      ).toBe('Project not found.');
      expect((await t.api(alice, 'GET', `/api/v1/projects/${id}`)).status).toBe(
        200
      );
    });

    it('answers 404 for unknown and malformed ids', async () => {
      expect(
        (await t.api(alice, 'DELETE', `/api/v1/projects/${UNKNOWN_ID}`)).status
      ).toBe(404);
      expect((await t.api(alice, 'DELETE', '/api/v1/projects/42')).status).toBe(
        404
      );
    });
  });
});
