/**
 * @jest-environment jsdom
 */
import type { ISidecarClient, ISystemStatusModel } from '@insighter/core';
import {
  manifest,
  validateRegistry,
  type ToolEntry,
  type ToolRegistry
} from '@insighter/registry';
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { MainAreaWidget } from '@jupyterlab/apputils';
import type { ILauncher } from '@jupyterlab/launcher';
import { nullTranslator } from '@jupyterlab/translation';
import {
  buildIcon,
  notebookIcon,
  ReactWidget,
  runningIcon,
  spreadsheetIcon,
  tableRowsIcon
} from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { DisposableDelegate } from '@lumino/disposable';
import { MessageLoop } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { createSidebarPlugin } from '../src/index';
import {
  addLauncherCards,
  LAUNCHER_CATEGORY,
  navigation
} from '../src/navigation';
import { Sidebar } from '../src/widgets/sidebar';

const trans = nullTranslator.load('insighter');

// jsdom has no structuredClone, which validateRegistry copies with; a manifest is JSON.
globalThis.structuredClone ??= <T,>(value: T): T =>
  JSON.parse(JSON.stringify(value));

const FEATURE_STORE: ToolEntry = {
  id: 'feature-store',
  label: 'Feature Store',
  icon: 'ui-components:table-rows',
  description: 'Reusable features computed from the project datasets.',
  extension: '@insighter/feature-store',
  status: 'planned',
  command: 'insighter:open-feature-store',
  studio: { section: 'prepare', order: 30 },
  routes: '/api/v1/features',
  sidebar: { order: 25 },
  launcher: true
};

/** The shipped manifest with the feature store added, validated like a deployment's own. */
function withFeatureStore(): ToolRegistry {
  const data = JSON.parse(JSON.stringify(manifest)) as ToolRegistry;
  data.tools.push(FEATURE_STORE);
  return validateRegistry(data);
}

/** A launcher that records its cards. */
class RecordingLauncher {
  readonly items: ILauncher.IItemOptions[] = [];
  add(options: ILauncher.IItemOptions) {
    this.items.push(options);
    return new DisposableDelegate(() => {
      this.items.splice(this.items.indexOf(options), 1);
    });
  }
}

async function rendered(widget: ReactWidget): Promise<void> {
  MessageLoop.sendMessage(widget, Widget.Msg.UpdateRequest);
  await widget.renderPromise;
}

function navIds(sidebar: Sidebar): (string | undefined)[] {
  return Array.from(
    sidebar.node.querySelectorAll<HTMLElement>('[data-insighter-nav]')
  ).map(item => item.dataset.insighterNav);
}

describe('navigation from the tool manifest', () => {
  it("lists the bundled manifest's sidebar tools between Projects and Settings, with its labels and icons", () => {
    const nav = navigation(trans);
    const expected = [
      'projects',
      'data',
      'notebooks',
      'models',
      'workflow',
      'settings'
    ];
    expect(nav.views.map(v => v.name)).toEqual(expected);
    expect(nav.launcher.map(v => v.name)).toEqual(expected);
    expect(nav.views.map(v => v.label)).toEqual([
      'Projects',
      'Data',
      'Notebooks',
      'Models',
      'Workflow',
      'Settings'
    ]);
    expect(nav.views.map(v => v.command)).toEqual(
      expected.map(name => `insighter:open-${name}`)
    );
    expect(nav.views.slice(1, 5).map(v => v.icon)).toEqual([
      spreadsheetIcon,
      notebookIcon,
      buildIcon,
      runningIcon
    ]);
    expect(nav.infos.data.caption).toBe(
      manifest.tools.find(t => t.id === 'data')?.description
    );
  });

  it('shows a tool added to the manifest as a nav item and a launcher card', async () => {
    const nav = navigation(trans, withFeatureStore());
    const commands = new CommandRegistry();
    const ran: string[] = [];
    for (const view of nav.views) {
      commands.addCommand(view.command, {
        execute: () => {
          ran.push(view.command);
        }
      });
    }
    const sidebar = new Sidebar(nav.views, commands, trans);
    Widget.attach(sidebar, document.body);
    await rendered(sidebar);
    expect(navIds(sidebar)).toEqual([
      'projects',
      'data',
      'notebooks',
      'feature-store',
      'models',
      'workflow',
      'settings'
    ]);
    const item = sidebar.node.querySelector<HTMLElement>(
      '[data-insighter-nav="feature-store"]'
    )!;
    expect(item.textContent).toBe('Feature Store');
    expect(item.title).toBe(FEATURE_STORE.description);
    item.click();
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(ran).toEqual(['insighter:open-feature-store']);
    sidebar.dispose();

    const launcher = new RecordingLauncher();
    addLauncherCards(launcher as unknown as ILauncher, nav.launcher);
    expect(launcher.items).toContainEqual({
      command: 'insighter:open-feature-store',
      category: LAUNCHER_CATEGORY,
      rank: 3
    });
    expect(nav.infos['feature-store'].icon).toBe(tableRowsIcon);
  });

  it('gives a launcher card, without a nav item, to a tool only the launcher names', () => {
    const registry = withFeatureStore();
    delete registry.tools.find(t => t.id === 'feature-store')!.sidebar;
    const nav = navigation(trans, registry);
    expect(nav.views.map(v => v.name)).not.toContain('feature-store');
    expect(nav.launcher.map(v => v.name)).toEqual([
      'projects',
      'data',
      'notebooks',
      'models',
      'workflow',
      'feature-store',
      'settings'
    ]);
  });
});

describe('the sidebar plugin for a manifest', () => {
  it("adds the manifest's tools to the sidebar and launcher, a planned one opening a view that says it is coming", async () => {
    const commands = new CommandRegistry();
    const added: { widget: Widget; area?: string }[] = [];
    const app = {
      commands,
      shell: {
        add: (widget: Widget, area?: string) => {
          added.push({ widget, area });
          if (area === 'main') {
            Widget.attach(widget, document.body);
          }
        },
        activateById: () => undefined
      },
      serviceManager: {
        contents: { fileChanged: new Signal<unknown, unknown>({}) }
      }
    } as unknown as JupyterFrontEnd;
    const launcher = new RecordingLauncher();
    const plugin = createSidebarPlugin(withFeatureStore());
    expect(plugin.activate.name).toMatch(/^activate[A-Z]/);
    await plugin.activate(
      app,
      {} as ISystemStatusModel,
      { baseUrl: '/insighter' } as ISidecarClient,
      null,
      null,
      launcher as unknown as ILauncher,
      null,
      null,
      null
    );

    const sidebar = added.find(a => a.area === 'left')?.widget as Sidebar;
    expect(sidebar).toBeInstanceOf(Sidebar);
    await rendered(sidebar);
    Widget.attach(sidebar, document.body);
    expect(navIds(sidebar)).toContain('feature-store');
    expect(launcher.items.map(i => i.command)).toEqual([
      'insighter:open-projects',
      'insighter:open-data',
      'insighter:open-notebooks',
      'insighter:open-feature-store',
      'insighter:open-models',
      'insighter:open-workflow',
      'insighter:open-settings'
    ]);
    expect(launcher.items.every(i => i.category === 'Insighter')).toBe(true);
    expect(commands.label('insighter:open-feature-store')).toBe(
      'Feature Store'
    );
    expect(commands.caption('insighter:open-feature-store')).toBe(
      FEATURE_STORE.description
    );

    await commands.execute('insighter:open-feature-store');
    const view = added.find(a => a.area === 'main')?.widget as Widget;
    expect(view.id).toBe('jp-insighter-view-feature-store');
    const content = (view as MainAreaWidget<ReactWidget>).content;
    await rendered(content);
    // React commits a view it renders for the first time a moment later
    // (longer on a busy machine): wait for what the DOM shows.
    for (
      let waited = 0;
      !content.node.textContent && waited < 5000;
      waited += 25
    ) {
      await new Promise(resolve => setTimeout(resolve, 25));
    }
    expect(content.node.textContent).toContain(
      `Coming soon: Feature Store. ${FEATURE_STORE.description}`
    );
    view.dispose();
    sidebar.dispose();
  });
});
