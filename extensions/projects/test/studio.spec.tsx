/**
 * @jest-environment jsdom
 */
import { InsighterBus } from '@insighter/core';
import { manifest, studioLayout } from '@insighter/registry';
import { nullTranslator } from '@jupyterlab/translation';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { ProjectsModel } from '../src/model';
import { StudioSections } from '../src/sections';
import { StudioModel } from '../src/studiomodel';
import type { IStudioContext } from '../src/tokens';
import { StudioView } from '../src/widgets/studio';
import {
  ADA,
  project,
  refusal,
  SessionStub,
  SidecarStub,
  TEAM,
  until
} from './support';

const trans = nullTranslator.load('insighter');

/**
 * React renders in a later frame: resolves once the DOM shows what
 * `predicate` looks for (the test's timeout ends the wait otherwise).
 */
async function shows(predicate: () => boolean): Promise<void> {
  MessageLoop.flush();
  while (!predicate()) {
    await new Promise(resolve => setTimeout(resolve, 5));
    MessageLoop.flush();
  }
}

describe('StudioView', () => {
  const credit = project({
    name: 'Credit Risk Alpha',
    slug: 'credit-risk-alpha',
    visibility: 'team',
    team_id: TEAM.id,
    owner_id: ADA.id,
    description: 'Scores loan applications.'
  });
  let sidecar: SidecarStub;
  let bus: InsighterBus;
  let session: SessionStub;
  let projects: ProjectsModel;
  let sections: StudioSections;
  let model: StudioModel;
  let view: StudioView;

  beforeEach(async () => {
    sidecar = new SidecarStub()
      .on('GET api/v1/projects', () => ({ projects: [credit] }))
      .on('GET api/v1/teams', () => ({ teams: [TEAM] }));
    bus = new InsighterBus();
    session = new SessionStub();
    session.signIn(ADA);
    projects = new ProjectsModel({
      client: sidecar,
      bus,
      session: session.asSession()
    });
    await until(projects.changed, () => projects.status === 'ready');
    sections = new StudioSections();
  });

  afterEach(() => {
    view?.dispose();
    model?.dispose();
    projects.dispose();
    bus.dispose();
  });

  async function open(projectId = credit.id): Promise<void> {
    model = new StudioModel({
      projectId,
      projects,
      session: session.asSession(),
      trans
    });
    view = new StudioView({
      model,
      sections,
      layout: studioLayout(manifest),
      trans
    });
    Widget.attach(view, document.body);
    await model.load();
    await shows(
      () =>
        model.status !== 'ready' ||
        view.node.querySelector('[role="tab"]') !== null
    );
  }

  const text = (testId: string) =>
    view.node.querySelector(`[data-testid="${testId}"]`)?.textContent ?? null;

  it("shows the project's facts in its header", async () => {
    await open();
    await shows(() => text('insighter-studio-owner') !== null);
    expect(text('insighter-studio-name')).toBe('Credit Risk Alpha');
    expect(text('insighter-studio-visibility')).toBe('Team · Risk');
    expect(text('insighter-studio-slug')).toBe('credit-risk-alpha');
    expect(text('insighter-studio-folder')).toBe('projects/credit-risk-alpha/');
    expect(text('insighter-studio-owner')).toBe('You');
    expect(text('insighter-studio-created')).toBeTruthy();
  });

  it("lists the registry's tools by section, in the manifest's order", async () => {
    await open();
    const tabs = [...view.node.querySelectorAll('[role="tab"]')].map(tab =>
      tab.getAttribute('data-testid')?.replace('insighter-studio-tab-', '')
    );
    expect(tabs).toEqual(
      studioLayout(manifest).flatMap(s => s.tools.map(t => t.id))
    );
    expect(tabs).toEqual([
      'data',
      'notebooks',
      'experiments',
      'models',
      'deployments',
      'monitor',
      'workflow'
    ]);
    const titles = [
      ...view.node.querySelectorAll('.jp-insighter-Studio-navTitle')
    ].map(h => h.textContent);
    expect(titles).toEqual(['Prepare', 'Train', 'Operate']);
  });

  it('says plainly that a tool nobody built yet is coming, and shows nothing made up', async () => {
    await open();
    view.select('experiments');
    await shows(() =>
      Boolean(
        view.node
          .querySelector('[data-tool="experiments"]')
          ?.textContent?.includes('Coming soon')
      )
    );
    const section = view.node.querySelector('[data-tool="experiments"]')!;
    expect(section.textContent).toContain('Coming soon: Experiments');
    expect(section.querySelectorAll('table, li')).toHaveLength(0);
  });

  it("shows a registered tool's own widget, opens on the first built tool, and builds it once", async () => {
    const contexts: IStudioContext[] = [];
    sections.register({
      toolId: 'notebooks',
      create: context => {
        contexts.push(context);
        const widget = new Widget();
        widget.node.textContent = `notebooks of ${context.folder}`;
        return widget;
      }
    });
    await open();
    expect(view.currentTool).toBe('notebooks');
    const section = view.node.querySelector(
      '[data-tool="notebooks"]'
    ) as HTMLElement;
    expect(section.textContent).toBe('notebooks of projects/credit-risk-alpha');
    expect(contexts[0].project.id).toBe(credit.id);

    // Hiding and showing are synchronous in Lumino: no wait needed.
    view.select('data');
    expect(section.classList.contains('lm-mod-hidden')).toBe(true);
    view.select('notebooks');
    expect(section.classList.contains('lm-mod-hidden')).toBe(false);
    expect(contexts).toHaveLength(1);
  });

  it('says so and drops its sections when the project is gone', async () => {
    await open();
    bus.emit({
      type: 'project.deleted',
      payload: {
        projectId: credit.id,
        name: credit.name,
        slug: credit.slug,
        timestamp: 1
      }
    });
    expect(model.status).toBe('missing');
    await shows(() => text('insighter-studio-message') !== null);
    expect(text('insighter-studio-message')).toMatch(/does not exist any more/);
    expect(view.node.querySelector('.jp-insighter-Studio-section')).toBeNull();
  });

  it('opens a project that is not listed by reading it, and says when it cannot be read', async () => {
    const unknown = '99999999-9999-4999-8999-999999999999';
    sidecar.on(`GET api/v1/projects/${unknown}`, () => {
      throw refusal(404, 'not_found', 'Project not found.');
    });
    await open(unknown);
    expect(model.status).toBe('missing');
    await shows(() => text('insighter-studio-message') !== null);
    expect(text('insighter-studio-message')).toMatch(
      /no longer shared with you/
    );
  });
});
