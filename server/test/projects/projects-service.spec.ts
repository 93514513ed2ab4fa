import { EventHub, type ServerEvent } from '../../src/events/hub';
import { HttpError } from '../../src/http/errors';
import { ProjectsService, slugify } from '../../src/services/projects';
import {
  createUser,
  freshDatabase,
  type TestDatabase,
  type TestUser
} from '../support/postgres';

describe('slugify', () => {
  it.each([
    ['Churn Model', 'churn-model'],
    ['  Churn   model  ', 'churn-model'],
    ['Ünïcödé Crème Brûlée', 'unicode-creme-brulee'],
    ['Straße & Smørrebrød', 'strasse-smorrebrod'],
    ['Q3/2024: revenue (v2)', 'q3-2024-revenue-v2'],
    ['---', 'project'],
    ['数据分析', 'project'],
    ['ﬁnance', 'finance']
  ])('%j → %j', (name, slug) => {
    expect(slugify(name)).toBe(slug);
  });

  it('keeps slugs within 60 characters, cut at a word boundary', () => {
    const slug = slugify('word '.repeat(30));
    expect(slug.length).toBeLessThanOrEqual(60);
    expect(slug).toMatch(/^word(-word)+$/);
    expect(slugify('x'.repeat(100))).toBe('x'.repeat(60));
  });

  it('always makes what the database accepts', () => {
    for (const name of [
      'A',
      'a--b',
      '-a-',
      'É',
      'x'.repeat(100),
      '!!',
      'a b c'
    ]) {
      expect(slugify(name)).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    }
  });
});

/** The service on a real database, with the hub recording what it publishes. */
describe('ProjectsService', () => {
  let t: TestDatabase;
  let service: ProjectsService;
  let alice: TestUser;
  let bob: TestUser;
  const published: ServerEvent[] = [];

  beforeAll(async () => {
    t = await freshDatabase('pglite');
    const hub = new EventHub();
    hub.subscribe({ onEvent: event => published.push(event) });
    service = new ProjectsService(t.db, hub);
    alice = await createUser(t.db);
    bob = await createUser(t.db);
  });

  beforeEach(() => {
    published.length = 0;
  });

  afterAll(async () => {
    await t?.close();
  });

  const input = (name: string) => ({
    name,
    description: '',
    visibility: 'private' as const,
    team_id: null
  });

  it('publishes project.created after the insert committed', async () => {
    const project = await service.create(alice.claims, input('Published'));
    expect(published).toEqual([
      {
        type: 'project.created',
        payload: {
          projectId: project.id,
          name: 'Published',
          slug: 'published',
          visibility: 'private',
          timestamp: expect.any(Number)
        },
        resource: { table: 'projects', id: project.id }
      }
    ]);
    // Published means committed: another transaction already sees the row.
    const seen = await t.db.asService(tx =>
      tx.query('select 1 from public.projects where id = $1', [project.id])
    );
    expect(seen.rowCount).toBe(1);
  });

  it('publishes nothing when a change is refused', async () => {
    const project = await service.create(alice.claims, input('Guarded'));
    published.length = 0;
    await expect(
      service.update(bob.claims, project.id, { name: 'Taken over' })
    ).rejects.toMatchObject({
      status: 404
    });
    await expect(service.remove(bob.claims, project.id)).rejects.toBeInstanceOf(
      HttpError
    );
    await expect(
      service.create(alice.claims, {
        ...input('Team'),
        visibility: 'team',
        team_id: null
      })
    ).rejects.toMatchObject({
      status: 400,
      message: 'Choose a team for a team project.'
    });
    expect(published).toEqual([]);
  });

  it('marks deletes as gone, for the readers from before', async () => {
    const project = await service.create(alice.claims, input('Deleted'));
    published.length = 0;
    await service.remove(alice.claims, project.id);
    expect(published).toEqual([
      expect.objectContaining({
        type: 'project.deleted',
        rowGone: true,
        formerReaders: new Set(),
        resource: { table: 'projects', id: project.id }
      })
    ]);
  });

  it('takes another free slug when two users create the same name at once', async () => {
    const projects = await Promise.all([
      service.create(alice.claims, input('Twin')),
      service.create(bob.claims, input('Twin'))
    ]);
    const slugs = projects.map(p => p.slug).sort();
    expect(slugs[0]).toBe('twin');
    expect(slugs[1]).toMatch(/^twin-[a-p]{6}$/);
  });

  it('lists what the user may read, newest change first', async () => {
    const first = await service.create(bob.claims, input('Older'));
    const second = await service.create(bob.claims, input('Newer'));
    await service.update(bob.claims, first.id, { description: 'touched last' });
    const ids = (await service.list(bob.claims)).map(p => p.id);
    expect(ids.indexOf(first.id)).toBeLessThan(ids.indexOf(second.id));
    expect((await service.list(alice.claims)).map(p => p.id)).not.toContain(
      first.id
    );
  });
});
