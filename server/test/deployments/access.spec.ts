import { BACKENDS } from '../support/postgres';
import {
  creditRows,
  startDeploymentsTestServer,
  type DeploymentsTestServer,
  type SignedInUser
} from './harness';

/**
 * Who may do what, enforced by row-level security on PGlite and PostgreSQL
 * 15: a team project's members deploy and manage keys, its viewers only
 * read and predict, outsiders see nothing (not even by id). API keys: shown
 * once, stored hashed, listed by prefix, usable in both headers, working
 * across versions of the endpoint, refused once revoked.
 */
describe.each(BACKENDS)('deployment access on %s', backend => {
  let t: DeploymentsTestServer;
  let owner: SignedInUser;
  let member: SignedInUser;
  let viewer: SignedInUser;
  let outsider: SignedInUser;
  let project: { id: string; slug: string };
  let deploymentId: string;
  const body = JSON.stringify({ dataframe_split: creditRows(2) });
  const json = { 'content-type': 'application/json' };

  beforeAll(async () => {
    t = await startDeploymentsTestServer({ backend });
    owner = await t.user('Olga Owner');
    member = await t.user('Max Member');
    viewer = await t.user('Vera Viewer');
    outsider = await t.user('Oscar Outsider');
    const teamId = await t.team(owner, [
      [member, 'member'],
      [viewer, 'viewer']
    ]);
    project = await t.project(owner, 'Credit Risk Alpha', ['logistic', 'logistic'], {
      visibility: 'team',
      team_id: teamId
    });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('lets a member deploy; viewers and outsiders may not', async () => {
    const byViewer = await t.api(viewer, 'POST', '/api/v1/deployments', { project_id: project.id, version: 1 });
    expect(byViewer.status).toBe(403);
    expect(byViewer.body.error.message).toMatch(/not viewers/);
    const byOutsider = await t.api(outsider, 'POST', '/api/v1/deployments', { project_id: project.id, version: 1 });
    expect(byOutsider.status).toBe(404);
    const byMember = await t.api(member, 'POST', '/api/v1/deployments', { project_id: project.id, version: 1 });
    expect(byMember.status).toBe(201);
    deploymentId = byMember.body.id;
    await t.waitFor(member, deploymentId, ['ready']);
  }, 90_000);

  it('shows deployments to the project readers only', async () => {
    for (const reader of [owner, member, viewer]) {
      const one = await t.api(reader, 'GET', `/api/v1/deployments/${deploymentId}`);
      expect(one.status).toBe(200);
      const list = await t.api(reader, 'GET', '/api/v1/deployments');
      expect(list.body.deployments.map((d: { id: string }) => d.id)).toContain(deploymentId);
    }
    expect((await t.api(outsider, 'GET', `/api/v1/deployments/${deploymentId}`)).status).toBe(404);
    expect((await t.api(outsider, 'GET', `/api/v1/deployments/${deploymentId}/metrics`)).status).toBe(404);
    expect((await t.api(outsider, 'GET', '/api/v1/deployments')).body.deployments).toEqual([]);
    expect((await t.api(outsider, 'DELETE', `/api/v1/deployments/${deploymentId}`)).status).toBe(404);
    expect((await t.api(viewer, 'DELETE', `/api/v1/deployments/${deploymentId}`)).status).toBe(403);
    expect((await t.api(null, 'GET', '/api/v1/deployments')).status).toBe(401);
  });

  it('lets readers predict with their own token; outsiders get 404', async () => {
    const asViewer = await t.predict(project.slug, body, { authorization: `Bearer ${viewer.token}`, ...json });
    expect(asViewer.status).toBe(200);
    const asOutsider = await t.predict(project.slug, body, { authorization: `Bearer ${outsider.token}`, ...json });
    expect(asOutsider.status).toBe(404);
  });

  it('manages API keys: shown once, hashed, by prefix, across versions, revoked', async () => {
    expect((await t.api(viewer, 'POST', `/api/v1/deployments/${deploymentId}/keys`, {})).status).toBe(403);
    expect((await t.api(viewer, 'GET', `/api/v1/deployments/${deploymentId}/keys`)).status).toBe(403);
    expect((await t.api(outsider, 'GET', `/api/v1/deployments/${deploymentId}/keys`)).status).toBe(404);

    const created = await t.api(member, 'POST', `/api/v1/deployments/${deploymentId}/keys`, { name: 'billing service' });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^ink_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({ name: 'billing service', prefix: key.slice(0, 12), revoked_at: null });
    const stored = await t.db.asService(tx =>
      tx.query<{ key_hash: string }>('select key_hash from public.deployment_keys where id = $1', [created.body.id])
    );
    expect(stored.rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(stored.rows[0].key_hash).not.toContain(key);

    const listed = await t.api(owner, 'GET', `/api/v1/deployments/${deploymentId}/keys`);
    expect(listed.body.keys).toEqual([expect.objectContaining({ id: created.body.id, prefix: key.slice(0, 12) })]);
    expect(JSON.stringify(listed.body)).not.toContain(key);
    // Nobody reads the hash through the API's role either.
    await expect(
      t.db.withClaims(owner.claims, tx => tx.query('select key_hash from public.deployment_keys'))
    ).rejects.toThrow(/permission denied/);

    expect((await t.predict(project.slug, body, { 'x-api-key': key, ...json })).status).toBe(200);
    expect((await t.predict(project.slug, body, { authorization: `Bearer ${key}`, ...json })).status).toBe(200);

    // The key belongs to the endpoint: it keeps working for the next version.
    const v2 = await t.api(owner, 'POST', '/api/v1/deployments', { project_id: project.id, version: 2 });
    await t.waitFor(owner, v2.body.id, ['ready']);
    expect((await t.predict(project.slug, body, { 'x-api-key': key, ...json })).status).toBe(200);
    const viaNew = await t.api(owner, 'GET', `/api/v1/deployments/${v2.body.id}/keys`);
    expect(viaNew.body.keys.map((k: { id: string }) => k.id)).toEqual([created.body.id]);

    expect((await t.api(viewer, 'DELETE', `/api/v1/deployments/${v2.body.id}/keys/${created.body.id}`)).status).toBe(403);
    const revoked = await t.api(member, 'DELETE', `/api/v1/deployments/${v2.body.id}/keys/${created.body.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revoked_at).toEqual(expect.any(String));
    const refused = await t.predict(project.slug, body, { 'x-api-key': key, ...json });
    expect(refused.status).toBe(401);
    expect((await t.api(member, 'DELETE', `/api/v1/deployments/${v2.body.id}/keys/not-a-key`)).status).toBe(404);
  }, 90_000);

  it('refuses bad deploy requests with the field named', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{ version: 1 }, 400, /project_id is required/],
      [{ project_id: 'x', version: 1 }, 400, /project_id must be a project's id/],
      [{ project_id: project.id }, 400, /version is required/],
      [{ project_id: project.id, version: 0 }, 400, /version must be 1 or more/],
      [{ project_id: project.id, version: 1.5 }, 400, /whole number/],
      [{ project_id: project.id, version: 1, image: 'x' }, 400, /Unknown field "image"/],
      [{ project_id: project.id, version: 9 }, 404, /Model "credit-risk-alpha" has no version 9/],
      [{ project_id: project.id, model_name: 'other', version: 1 }, 404, /Model "other" has no version 1/],
      ['not json', 400, /not valid JSON/]
    ];
    for (const [input, status, message] of cases) {
      const res = await t.api(owner, 'POST', '/api/v1/deployments', input);
      expect({ input, status: res.status, message: res.body.error.message }).toEqual({
        input,
        status,
        message: expect.stringMatching(message)
      });
    }
    expect((await t.api(owner, 'GET', '/api/v1/deployments/not-an-id')).status).toBe(404);
  });
});
