import { InsighterBus } from '@insighter/core';
import { ProjectsModel } from '../src/model';
import type { IProject } from '../src/tokens';
import {
  ADA,
  GRACE,
  project,
  refusal,
  SessionStub,
  SidecarStub,
  TEAM,
  until
} from './support';

describe('ProjectsModel', () => {
  let sidecar: SidecarStub;
  let bus: InsighterBus;
  let session: SessionStub;
  let model: ProjectsModel;
  let listed: IProject[];

  beforeEach(() => {
    listed = [];
    sidecar = new SidecarStub()
      .on('GET api/v1/projects', () => ({ projects: listed }))
      .on('GET api/v1/teams', () => ({ teams: [TEAM] }));
    bus = new InsighterBus();
    session = new SessionStub();
    model = new ProjectsModel({
      client: sidecar,
      bus,
      session: session.asSession()
    });
  });

  afterEach(() => {
    model.dispose();
    bus.dispose();
  });

  async function signedInWith(projects: IProject[]): Promise<void> {
    listed = projects;
    session.signIn(ADA);
    await until(model.changed, () => model.status === 'ready');
  }

  it('waits for someone to sign in, then lists projects (newest activity first) and teams', async () => {
    await session.ready;
    expect(model.status).toBe('signed-out');
    expect(sidecar.calls).toEqual([]);

    const old = project({ last_activity_at: '2026-10-01T00:00:00.000Z' });
    const recent = project({ last_activity_at: '2026-11-20T00:00:00.000Z' });
    await signedInWith([old, recent]);

    expect(model.projects.map(p => p.id)).toEqual([recent.id, old.id]);
    expect(model.teams).toEqual([TEAM]);
    expect(model.teamName(TEAM.id)).toBe('Risk');
    expect(model.find(old.slug)).toBe(model.find(old.id));
  });

  it('says why when the listing fails, and recovers on refresh', async () => {
    sidecar.on('GET api/v1/projects', () => {
      throw refusal(500, 'internal_error', 'The database is down.');
    });
    session.signIn(ADA);
    await until(model.changed, () => model.status === 'error');
    expect(model.error).toBe('The database is down.');

    sidecar.on('GET api/v1/projects', () => ({ projects: [] }));
    await model.refresh();
    expect(model.status).toBe('ready');
    expect(model.error).toBeNull();
  });

  it('still lists projects when teams cannot be listed', async () => {
    sidecar.on('GET api/v1/teams', () => {
      throw refusal(503, 'sidecar_unreachable', 'gone');
    });
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {});
    await signedInWith([project()]);
    expect(model.projects).toHaveLength(1);
    expect(model.teams).toEqual([]);
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });

  it('lists again when asked while a listing is on its way, so a project made meanwhile is not missed', async () => {
    // The dashboard's first listing is on its way when a teammate creates a
    // project and only then does the event stream open (and ask to list):
    // no event tells of that project, so the second listing must.
    let arrived!: () => void;
    const asked = new Promise<void>(resolve => (arrived = resolve));
    let release!: () => void;
    const answered = new Promise<void>(resolve => (release = resolve));
    sidecar.on('GET api/v1/projects', () => {
      const atThatMoment = [...listed];
      arrived();
      return answered.then(() => ({ projects: atThatMoment }));
    });
    session.signIn(ADA);
    await asked;
    const meanwhile = project({ name: 'Made meanwhile' });
    listed = [meanwhile];
    const again = model.refresh();
    release();
    await again;
    expect(model.projects.map(p => p.id)).toEqual([meanwhile.id]);
    expect(
      sidecar.calls.filter(call => call === 'GET api/v1/projects')
    ).toHaveLength(2);
    // However many ask meanwhile, they share that one next listing.
    await Promise.all([model.refresh(), model.refresh(), model.refresh()]);
    expect(
      sidecar.calls.filter(call => call === 'GET api/v1/projects')
    ).toHaveLength(4);
  });

  it('adds the project it created at once, sending only what the server accepts', async () => {
    await signedInWith([]);
    let body: unknown;
    const created = project({
      name: 'Credit Risk Alpha',
      visibility: 'team',
      team_id: TEAM.id
    });
    sidecar.on('POST api/v1/projects', init => {
      body = init.json;
      return created;
    });
    const result = await model.create({
      name: 'Credit Risk Alpha',
      description: '',
      visibility: 'team',
      team_id: TEAM.id
    });
    expect(result).toEqual(created);
    expect(body).toEqual({
      name: 'Credit Risk Alpha',
      description: '',
      visibility: 'team',
      team_id: TEAM.id
    });
    expect(model.projects.map(p => p.id)).toEqual([created.id]);

    await model.create({
      name: 'Solo',
      description: '',
      visibility: 'private',
      team_id: null
    });
    expect(body).toEqual({
      name: 'Solo',
      description: '',
      visibility: 'private'
    });
  });

  it('reads a project announced on the bus and adds it; one it knows already is not read again', async () => {
    await signedInWith([]);
    const shared = project({
      name: 'Shared by a teammate',
      visibility: 'team',
      team_id: TEAM.id
    });
    sidecar.on(`GET api/v1/projects/${shared.id}`, () => shared);

    bus.emit({
      type: 'project.created',
      payload: {
        projectId: shared.id,
        name: shared.name,
        slug: shared.slug,
        visibility: 'team',
        timestamp: 1
      }
    });
    await until(model.changed, () => model.find(shared.id) !== undefined);
    const reads = sidecar.calls.filter(c => c.endsWith(shared.id)).length;
    expect(reads).toBe(1);

    bus.emit({
      type: 'project.created',
      payload: {
        projectId: shared.id,
        name: shared.name,
        slug: shared.slug,
        visibility: 'team',
        timestamp: 2
      }
    });
    await Promise.resolve();
    expect(sidecar.calls.filter(c => c.endsWith(shared.id)).length).toBe(reads);
  });

  it('replaces a project on project.updated, and drops it when it can no longer be read', async () => {
    const shared = project({
      name: 'Before',
      visibility: 'team',
      team_id: TEAM.id
    });
    await signedInWith([shared]);
    sidecar.on(`GET api/v1/projects/${shared.id}`, () => ({
      ...shared,
      name: 'After'
    }));
    bus.emit({
      type: 'project.updated',
      payload: {
        projectId: shared.id,
        name: 'After',
        slug: shared.slug,
        visibility: 'team',
        timestamp: 1
      }
    });
    await until(model.changed, () => model.find(shared.id)?.name === 'After');

    // Its owner made it private: the sidecar now answers 404 for me.
    sidecar.on(`GET api/v1/projects/${shared.id}`, () => {
      throw refusal(404, 'not_found', 'Project not found.');
    });
    bus.emit({
      type: 'project.updated',
      payload: {
        projectId: shared.id,
        name: 'After',
        slug: shared.slug,
        visibility: 'private',
        timestamp: 2
      }
    });
    await until(model.changed, () => model.find(shared.id) === undefined);
    expect(model.projects).toEqual([]);
  });

  it('drops a project on project.deleted', async () => {
    const doomed = project();
    const kept = project();
    await signedInWith([doomed, kept]);
    bus.emit({
      type: 'project.deleted',
      payload: {
        projectId: doomed.id,
        name: doomed.name,
        slug: doomed.slug,
        timestamp: 1
      }
    });
    expect(model.projects.map(p => p.id)).toEqual([kept.id]);
  });

  it('forgets everything on sign-out and ignores answers meant for the previous person', async () => {
    await signedInWith([project()]);
    let answer!: (value: unknown) => void;
    const late = project({ name: "Ada's late project" });
    sidecar.on(
      `GET api/v1/projects/${late.id}`,
      () => new Promise(resolve => (answer = resolve))
    );
    bus.emit({
      type: 'project.created',
      payload: {
        projectId: late.id,
        name: late.name,
        slug: late.slug,
        visibility: 'private',
        timestamp: 1
      }
    });
    while (!answer) {
      await new Promise(resolve => setTimeout(resolve, 0));
    }

    session.signOut();
    expect(model.status).toBe('signed-out');
    expect(model.projects).toEqual([]);
    expect(model.teams).toEqual([]);

    answer(late);
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(model.projects).toEqual([]);

    // Events about projects are not read for nobody.
    const calls = sidecar.calls.length;
    bus.emit({
      type: 'project.created',
      payload: {
        projectId: late.id,
        name: late.name,
        slug: late.slug,
        visibility: 'private',
        timestamp: 2
      }
    });
    await Promise.resolve();
    expect(sidecar.calls.length).toBe(calls);
  });

  it('lists again for whoever signs in next', async () => {
    await signedInWith([project({ name: "Ada's" })]);
    session.signOut();
    listed = [project({ name: "Grace's" })];
    session.signIn(GRACE);
    await until(model.changed, () => model.status === 'ready');
    expect(model.projects.map(p => p.name)).toEqual(["Grace's"]);
  });

  it('lists again when the event stream reconnects: what happened while it was down shows', async () => {
    const kept = project();
    const gone = project();
    await signedInWith([kept, gone]);
    // While the stream was down: one project made elsewhere, one deleted.
    const made = project({ last_activity_at: '2026-11-30T00:00:00.000Z' });
    listed = [made, kept];
    const calls = sidecar.calls.length;
    bus.emit({
      type: 'events.reconnected',
      payload: { downMs: 5000, timestamp: 1 }
    });
    await until(model.changed, () => model.find(made.id) !== undefined);
    expect(model.projects.map(p => p.id)).toEqual([made.id, kept.id]);
    expect(sidecar.calls.slice(calls)).toContain('GET api/v1/projects');

    // Nobody signed in: nothing to list.
    session.signOut();
    const after = sidecar.calls.length;
    bus.emit({
      type: 'events.reconnected',
      payload: { downMs: 5000, timestamp: 2 }
    });
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(sidecar.calls.length).toBe(after);
  });
});
