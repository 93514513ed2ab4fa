/**
 * @jest-environment jsdom
 */
import { InsighterBus, type ISidecarClient } from '@insighter/core';
import type {
  IStudioSectionFactory,
  IStudioSections
} from '@insighter/projects';
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { ServerConnection } from '@jupyterlab/services';
import { CommandRegistry } from '@lumino/commands';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import plugins from '../src';

/** What the plugins need of JupyterLab: commands, a shell and the server settings. */
function fakeApp() {
  const commands = new CommandRegistry();
  const added: Widget[] = [];
  const app = {
    commands,
    shell: {
      add: (widget: Widget) => {
        added.push(widget);
        Widget.attach(widget, document.body);
      },
      activateById: () => undefined
    },
    // Downloads only: no request is made here.
    serviceManager: { serverSettings: {} as ServerConnection.ISettings }
  } as unknown as JupyterFrontEnd;
  return { app, commands, added };
}

class FakeSections {
  readonly factories = new Map<string, IStudioSectionFactory>();
  readonly changed = new Signal<IStudioSections, string>(
    this as unknown as IStudioSections
  );
  register(factory: IStudioSectionFactory) {
    this.factories.set(factory.toolId, factory);
    return { dispose: () => undefined, isDisposed: false };
  }
  get(toolId: string) {
    return this.factories.get(toolId);
  }
}

const client = {
  baseUrl: 'http://localhost/insighter/',
  accessTokenProvider: null,
  request: async () => {
    throw new Error('offline');
  }
} as unknown as ISidecarClient;

describe('the plugins the package exports', () => {
  it('are the Experiments and the Models plugins, with ids under the package', () => {
    expect(plugins.map(p => p.id)).toEqual([
      '@insighter/experiments:plugin',
      '@insighter/experiments:models'
    ]);
    for (const plugin of plugins) {
      expect(plugin.autoStart).toBe(true);
      expect(plugin.description).toEqual(expect.any(String));
      expect(plugin.activate.name).toMatch(/^activate[A-Z]/);
    }
  });

  it("register the Studio's Experiments and Models sections, and open a project's Studio on them", async () => {
    const { app, commands, added } = fakeApp();
    const bus = new InsighterBus();
    const sections = new FakeSections();
    const selected: [unknown, string][] = [];
    commands.addCommand('insighter:open-studio', {
      execute: args => ({
        node: { dataset: { projectId: args.id ?? 'from-slug' } },
        content: { select: (tool: string) => selected.push([args, tool]) }
      })
    });
    const [experiments, models] = plugins;
    await experiments.activate(app, client, bus, sections, null, null);
    await models.activate(
      app,
      client,
      bus,
      sections,
      null,
      null,
      null,
      null,
      null
    );
    expect([...sections.factories.keys()]).toEqual(['experiments', 'models']);

    // Without a project there is nothing to open: said in words.
    await expect(
      commands.execute('insighter:open-experiments')
    ).rejects.toThrow('Open a project first');
    await commands.execute('insighter:open-experiments', { slug: 'churn' });
    // The project a Studio announced is the one used when none is given.
    bus.emit({
      type: 'project.selected',
      payload: {
        project: {
          projectId: 'p1',
          name: 'Credit Risk Alpha',
          slug: 'credit-risk-alpha'
        },
        timestamp: 1
      }
    });
    await commands.execute('insighter:open-experiments');
    expect(selected).toEqual([
      [{ slug: 'churn' }, 'experiments'],
      [{ id: 'p1' }, 'experiments']
    ]);

    // The Models view is one main-area view, named for the sidebar.
    const first = await commands.execute('insighter:open-models');
    const again = await commands.execute('insighter:open-models');
    expect(first).toBe(again);
    expect(added).toHaveLength(1);
    expect(added[0].id).toBe('jp-insighter-view-models');
    expect(added[0].node.dataset.insighterView).toBe('models');
    expect(commands.label('insighter:open-models')).toBe('Models');
    added[0].dispose();
  });
});
