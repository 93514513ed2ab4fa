/**
 * @jest-environment jsdom
 */
import { LabShell, LayoutRestorer } from '@jupyterlab/application';
import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import { VIEW_NAMES, viewInfos } from '../src/navigation';
import { ViewManager } from '../src/viewmanager';
import { ComingSoonView } from '../src/widgets/comingsoon';

const trans = nullTranslator.load('insighter');

/** Lumino delivers activation (and so focus) in a later animation frame. */
function activated(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 50));
}

describe('ViewManager in a real LabShell', () => {
  let shell: LabShell;
  let views: ViewManager;

  beforeEach(async () => {
    shell = new LabShell();
    Widget.attach(shell, document.body);
    // The shell holds widgets back until a layout is restored; an empty one
    // stands in for the layout restorer here.
    const emptyLayout = {
      fetch: async () => ({ fresh: true, mainArea: null })
    };
    await shell.restoreLayout(
      'multiple-document',
      emptyLayout as unknown as LayoutRestorer
    );
    const infos = viewInfos(trans);
    views = new ViewManager({
      shell,
      infos,
      create: name => new ComingSoonView(infos[name], `${name} coming soon`)
    });
  });

  afterEach(() => {
    views.tracker.dispose();
    shell.dispose();
  });

  it('opens each view once in the main area, with a stable id, and activates it', async () => {
    const projects = views.open('projects');
    await activated();
    expect(projects.id).toBe('jp-insighter-view-projects');
    expect(projects.title.label).toBe('Projects');
    expect(shell.currentWidget).toBe(projects);
    expect(views.viewOf(projects)).toBe('projects');

    const data = views.open('data');
    await activated();
    expect(shell.currentWidget).toBe(data);

    // Asking again brings the same tab forward instead of a second one.
    expect(views.open('projects')).toBe(projects);
    await activated();
    expect(shell.currentWidget).toBe(projects);
    expect(Array.from(shell.widgets('main'))).toEqual([projects, data]);
  });

  it('opens a fresh tab after the user closed one', () => {
    const first = views.open('models');
    first.close();
    first.dispose();
    const second = views.open('models');
    expect(second).not.toBe(first);
    expect(second.isAttached).toBe(true);
  });

  it('knows only its own views', () => {
    for (const name of VIEW_NAMES) {
      expect(views.viewOf(views.open(name))).toBe(name);
    }
    expect(views.viewOf(new Widget())).toBeNull();
    expect(views.viewOf(null)).toBeNull();
  });
});
