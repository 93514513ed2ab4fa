/**
 * @jest-environment jsdom
 */
import type { ISidecarClient, ISystemStatus } from '@insighter/core';
import { SidecarError } from '@insighter/core';
import { nullTranslator } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import { VIEW_NAMES, viewInfos } from '../src/navigation';
import { OPEN_VIEW_COMMANDS } from '../src/commands';
import { SystemStatusModel } from '../src/statusmodel';
import { Sidebar, SIDEBAR_ID } from '../src/widgets/sidebar';
import { StatusItem, STATUS_ITEM_ID } from '../src/widgets/statusitem';
import { statusBody } from './sidecar-double';

const trans = nullTranslator.load('insighter');

/** A client that answers from a queue, to drive the model step by step. */
class QueuedClient implements Pick<ISidecarClient, 'status'> {
  readonly answers: (ISystemStatus | Error)[] = [];
  async status(): Promise<ISystemStatus> {
    const next = this.answers.shift();
    if (!next) {
      throw new Error('no answer queued');
    }
    if (next instanceof Error) {
      throw next;
    }
    return next;
  }
}

/** Render now and wait until React has committed (it renders asynchronously). */
async function rendered(widget: ReactWidget): Promise<void> {
  MessageLoop.sendMessage(widget, Widget.Msg.UpdateRequest);
  await widget.renderPromise;
}

describe('StatusItem', () => {
  let client: QueuedClient;
  let model: SystemStatusModel;
  let item: StatusItem;
  let opened: number;

  beforeEach(() => {
    client = new QueuedClient();
    model = new SystemStatusModel({ client, trans, autoStart: false });
    opened = 0;
    item = new StatusItem(model, trans, () => opened++);
    Widget.attach(item, document.body);
  });

  afterEach(() => {
    item.dispose();
    model.dispose();
  });

  it('carries the stable id and UNKNOWN before the first check', async () => {
    await rendered(item);
    const node = document.getElementById(STATUS_ITEM_ID);
    expect(node).toBe(item.node);
    expect(node?.dataset.state).toBe('UNKNOWN');
    expect(node?.textContent).toBe('Insighter: checking…');
  });

  it('shows the state, a coloured dot and each component on hover', async () => {
    client.answers.push(statusBody('DEGRADED'));
    await model.refresh();
    await rendered(item);

    expect(item.node.dataset.state).toBe('DEGRADED');
    expect(item.node.textContent).toBe('Insighter: DEGRADED');
    const dot = item.node.querySelector(
      '.jp-insighter-StatusDot'
    ) as HTMLElement;
    expect(dot.dataset.state).toBe('DEGRADED');
    expect(item.node.title.split('\n')).toEqual([
      'Insighter: DEGRADED',
      'Some Insighter services need attention: storage.',
      'Database (pglite): ok — PGlite answers.',
      'Storage (disk): degraded — Disk almost full.',
      'Job engine: not configured — Arrives with training.',
      'Tracking: not configured — Arrives with experiments.',
      'Version 0.1.0',
      'Click for details.'
    ]);
  });

  it('shows DOWN with the unreachable message when the sidecar cannot be asked', async () => {
    client.answers.push(statusBody('OPTIMAL'));
    await model.refresh();
    client.answers.push(SidecarError.unreachable('fetch failed'));
    await model.refresh();
    await rendered(item);

    expect(item.node.dataset.state).toBe('DOWN');
    expect(item.node.textContent).toBe('Insighter: DOWN');
    expect(item.node.title).toContain(
      'The Insighter service is not reachable. It restarts automatically; if this persists, check the Jupyter server log.'
    );
  });

  it('opens the detail on click and on Enter', () => {
    item.node.click();
    item.node.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }));
    expect(opened).toBe(2);
  });
});

describe('Sidebar', () => {
  it('lists the six views with stable selectors, each running its open command', async () => {
    const commands = new CommandRegistry();
    const ran: string[] = [];
    for (const name of VIEW_NAMES) {
      commands.addCommand(OPEN_VIEW_COMMANDS[name], {
        execute: () => {
          ran.push(name);
        }
      });
    }
    const infos = viewInfos(trans);
    const sidebar = new Sidebar(
      VIEW_NAMES.map(name => infos[name]),
      commands,
      trans
    );
    Widget.attach(sidebar, document.body);
    await rendered(sidebar);

    expect(document.getElementById(SIDEBAR_ID)).toBe(sidebar.node);
    const items = Array.from(
      sidebar.node.querySelectorAll<HTMLElement>('[data-insighter-nav]')
    );
    expect(items.map(i => i.dataset.insighterNav)).toEqual([
      'projects',
      'data',
      'notebooks',
      'models',
      'workflow',
      'settings'
    ]);
    expect(items.map(i => i.textContent)).toEqual([
      'Projects',
      'Data',
      'Notebooks',
      'Models',
      'Workflow',
      'Settings'
    ]);

    for (const item of items) {
      item.click();
    }
    await new Promise(resolve => setTimeout(resolve, 0));
    expect(ran).toEqual([...VIEW_NAMES]);

    sidebar.activeView = 'data';
    await rendered(sidebar);
    const active = sidebar.node.querySelector('.jp-mod-active') as HTMLElement;
    expect(active.dataset.insighterNav).toBe('data');
    expect(active.getAttribute('aria-current')).toBe('page');
    sidebar.dispose();
  });
});
