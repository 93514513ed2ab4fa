import { connectEvents, type EventClient } from '../projects/harness';
import { BACKENDS } from '../support/postgres';
import {
  startDatasetsTestServer,
  type DatasetsTestServer,
  type Person
} from './harness';

/**
 * Versions, rename, description and delete, and who may do what: a team
 * project's members read and change its datasets (files included, through
 * Storage's own policies), viewers only read, outsiders learn nothing.
 */
const csv = (rows: number, seed = 0) =>
  'id,amount,city\n' +
  Array.from(
    { length: rows },
    (_, i) =>
      `${i},${(i * 7 + seed) % 100}.5,${['Oslo', 'Rome', 'Lima'][i % 3]}`
  ).join('\n') +
  '\n';

describe.each(BACKENDS)('dataset versions and sharing on %s', backend => {
  let t: DatasetsTestServer;
  let owner: Person;
  let member: Person;
  let viewer: Person;
  let outsider: Person;
  let projectId: string;
  let viewerEvents: EventClient;

  beforeAll(async () => {
    t = await startDatasetsTestServer({ backend });
    [owner, member, viewer, outsider] = await Promise.all([
      t.person('Olga Owner'),
      t.person('Mike Member'),
      t.person('Vera Viewer'),
      t.person('Oscar Outsider')
    ]);
    const teamId = await t.team(owner, [
      [member, 'member'],
      [viewer, 'viewer']
    ]);
    projectId = await t.project(owner, teamId);
    viewerEvents = await connectEvents(t.url, {
      header: `Bearer ${viewer.token}`
    });
  });

  afterAll(async () => {
    await viewerEvents?.close();
    await t?.close();
  });

  const upload = async (person: Person, name: string, body: string) => {
    const res = await t.upload(person, { project_id: projectId, name }, body);
    expect(res.status).toBe(201);
    return res.body;
  };
  const objectsOf = async (datasetId: string) =>
    (await t.holdings()).objects.filter(o => o.split('/')[1] === datasetId);

  it('keeps every version; the record shows the newest, or the one asked for', async () => {
    const v1 = await upload(owner, 'sales', csv(10));
    const v2 = await upload(member, 'sales', csv(20, 1));
    expect(v2).toMatchObject({
      id: v1.id,
      version: 2,
      row_count: 20,
      owner_id: owner.id
    });
    expect(v2.versions).toEqual([
      expect.objectContaining({
        version: 1,
        uploaded_by: owner.id,
        row_count: 10
      }),
      expect.objectContaining({
        version: 2,
        uploaded_by: member.id,
        row_count: 20
      })
    ]);
    expect((await objectsOf(v1.id)).sort()).toEqual(
      [
        `${owner.id}/${v1.id}/sales.csv`,
        `${member.id}/${v1.id}/v2/sales.csv`
      ].sort()
    );
    const first = await t.api(
      viewer,
      'GET',
      `/api/v1/datasets/${v1.id}?version=1`
    );
    expect(first.body).toMatchObject({ version: 1, row_count: 10 });
    const content = await t.api(
      viewer,
      'GET',
      `/api/v1/datasets/${v1.id}/content?version=1`
    );
    expect(content.body).toBe(csv(10));
    const missing = await t.api(
      owner,
      'GET',
      `/api/v1/datasets/${v1.id}?version=9`
    );
    expect(missing.status).toBe(404);
    const bad = await t.api(
      owner,
      'GET',
      `/api/v1/datasets/${v1.id}?version=two`
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_input');
  });

  it('renames and describes (members), keeping versions; a taken name is 409', async () => {
    const data = await upload(owner, 'leads', csv(5));
    await upload(owner, 'leads', csv(6));
    await upload(owner, 'customers', csv(5));
    const renamed = await t.api(
      member,
      'PATCH',
      `/api/v1/datasets/${data.id}`,
      {
        name: 'Qualified leads',
        description: 'From the spring campaign'
      }
    );
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({
      id: data.id,
      name: 'Qualified leads',
      description: 'From the spring campaign',
      version: 2
    });
    expect(renamed.body.versions).toHaveLength(2);
    const event = await viewerEvents.next(
      e => e.type === 'dataset.updated' && e.payload.datasetId === data.id
    );
    expect(event.payload).toEqual({
      datasetId: data.id,
      projectId,
      name: 'Qualified leads',
      timestamp: expect.any(Number)
    });
    const taken = await t.api(owner, 'PATCH', `/api/v1/datasets/${data.id}`, {
      name: 'customers'
    });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({
      code: 'conflict',
      message: 'Another dataset in this project already has that name.'
    });
    for (const [body, message] of [
      [{ name: '../../etc/passwd' }, /must not contain "\/"/],
      [{ name: 'a\u0007b' }, /control characters/],
      [{}, /Nothing to change/],
      [{ owner_id: outsider.id }, /Unknown field "owner_id"/]
    ] as const) {
      const res = await t.api(
        owner,
        'PATCH',
        `/api/v1/datasets/${data.id}`,
        body
      );
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
    }
    const byViewer = await t.api(
      viewer,
      'PATCH',
      `/api/v1/datasets/${data.id}`,
      {
        description: 'mine now'
      }
    );
    expect(byViewer.status).toBe(403);
    expect(byViewer.body.error.code).toBe('forbidden');
  });

  it('deletes one version with its file; deleting the last deletes the dataset', async () => {
    const data = await upload(owner, 'churn', csv(3));
    await upload(member, 'churn', csv(4));
    const byViewer = await t.api(
      viewer,
      'DELETE',
      `/api/v1/datasets/${data.id}/versions/1`
    );
    expect(byViewer.status).toBe(403);

    const gone = await t.api(
      member,
      'DELETE',
      `/api/v1/datasets/${data.id}/versions/1`
    );
    expect(gone.status).toBe(204);
    expect(await objectsOf(data.id)).toEqual([
      `${member.id}/${data.id}/v2/churn.csv`
    ]);
    const after = await t.api(owner, 'GET', `/api/v1/datasets/${data.id}`);
    expect(
      after.body.versions.map((v: { version: number }) => v.version)
    ).toEqual([2]);
    expect(
      (
        await viewerEvents.next(
          e => e.type === 'dataset.deleted' && e.payload.datasetId === data.id
        )
      ).payload
    ).toEqual({
      datasetId: data.id,
      projectId,
      name: 'churn',
      version: 1,
      timestamp: expect.any(Number)
    });
    const again = await t.api(
      member,
      'DELETE',
      `/api/v1/datasets/${data.id}/versions/1`
    );
    expect(again.status).toBe(404);

    const last = await t.api(
      owner,
      'DELETE',
      `/api/v1/datasets/${data.id}/versions/2`
    );
    expect(last.status).toBe(204);
    expect(
      (await t.api(owner, 'GET', `/api/v1/datasets/${data.id}`)).status
    ).toBe(404);
    expect(await objectsOf(data.id)).toEqual([]);
  });

  it("deletes a dataset with every version's file, also another person's (a member)", async () => {
    const data = await upload(owner, 'transactions', csv(8));
    await upload(member, 'transactions', csv(9));
    await upload(owner, 'transactions', csv(10));
    expect(await objectsOf(data.id)).toHaveLength(3);
    const byViewer = await t.api(
      viewer,
      'DELETE',
      `/api/v1/datasets/${data.id}`
    );
    expect(byViewer.status).toBe(403);
    const byOutsider = await t.api(
      outsider,
      'DELETE',
      `/api/v1/datasets/${data.id}`
    );
    expect(byOutsider.status).toBe(404);
    expect(await objectsOf(data.id)).toHaveLength(3);

    const res = await t.api(member, 'DELETE', `/api/v1/datasets/${data.id}`);
    expect(res.status).toBe(204);
    expect(await objectsOf(data.id)).toEqual([]);
    const holdings = await t.holdings();
    expect(holdings.files.filter(f => f.includes(data.id))).toEqual([]);
    expect(
      (await t.api(owner, 'GET', `/api/v1/datasets/${data.id}`)).status
    ).toBe(404);
    const event = await viewerEvents.next(
      e => e.type === 'dataset.deleted' && e.payload.datasetId === data.id
    );
    expect(event.payload).toEqual({
      datasetId: data.id,
      projectId,
      name: 'transactions',
      timestamp: expect.any(Number)
    });
    expect(
      (await t.api(member, 'DELETE', `/api/v1/datasets/${data.id}`)).status
    ).toBe(404);
  });

  it('lets readers read, viewers not upload, and outsiders see nothing', async () => {
    const data = await upload(member, 'scores', csv(12));
    const asViewer = await t.api(viewer, 'GET', `/api/v1/datasets/${data.id}`);
    expect(asViewer.status).toBe(200);
    // The file is in the member's folder: Storage lets the viewer read it as a project reader.
    const content = await t.api(
      viewer,
      'GET',
      `/api/v1/datasets/${data.id}/content`
    );
    expect(content.status).toBe(200);
    expect(content.body).toBe(csv(12));

    const refused = await t.upload(
      viewer,
      { project_id: projectId, name: 'scores' },
      csv(2)
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');

    for (const pathname of [
      `/api/v1/datasets/${data.id}`,
      `/api/v1/datasets/${data.id}/content`,
      `/api/v1/datasets/${data.id}/preview`
    ]) {
      const res = await t.api(outsider, 'GET', pathname);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    const list = await t.api(
      outsider,
      'GET',
      `/api/v1/datasets?project_id=${projectId}`
    );
    expect(list.body).toEqual({ datasets: [] });
    expect((await t.api(outsider, 'GET', '/api/v1/datasets')).body).toEqual({
      datasets: []
    });
    const upload404 = await t.upload(
      outsider,
      { project_id: projectId, name: 'x' },
      csv(2)
    );
    expect(upload404.status).toBe(404);
    // The outsider's own supabase-js cannot fetch the file either.
    const direct = await fetch(
      `${t.url}/storage/v1/object/uploads/${member.id}/${data.id}/scores.csv`,
      { headers: { authorization: `Bearer ${outsider.token}` } }
    );
    expect(direct.status).toBe(404);
    const malformed = await t.api(
      outsider,
      'GET',
      '/api/v1/datasets?project_id=42'
    );
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.message).toBe(
      'project_id must be the id of a project.'
    );
    const unauthenticated = await t.api(null, 'GET', '/api/v1/datasets');
    expect(unauthenticated.status).toBe(401);
  });
});
