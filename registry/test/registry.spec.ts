import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  bundledManifestPath,
  launcherTools,
  loadRegistry,
  manifest,
  RegistryError,
  sidebarTools,
  studioLayout,
  toolsInOrder,
  validateRegistry,
  type ToolEntry,
  type ToolRegistry
} from '../src';

const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** A deep copy of the shipped manifest to break in one place. */
function copy(): ToolRegistry & Record<string, unknown> {
  return JSON.parse(JSON.stringify(manifest));
}

function problemsOf(data: unknown): string[] {
  try {
    validateRegistry(data, 'test.json');
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    return (err as RegistryError).problems;
  }
  throw new Error('expected the manifest to be refused');
}

function workspacePackageNames(): Set<string> {
  const root = JSON.parse(
    fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')
  );
  const names = new Set<string>();
  for (const ws of root.workspaces as string[]) {
    const file = path.join(REPO_ROOT, ws, 'package.json');
    if (fs.existsSync(file)) {
      names.add(JSON.parse(fs.readFileSync(file, 'utf8')).name);
    }
  }
  return names;
}

describe('the shipped manifest', () => {
  it('is valid and lists the seven tools in Studio order', () => {
    const registry = loadRegistry();
    expect(toolsInOrder(registry).map(t => [t.id, t.label])).toEqual([
      ['data', 'Data'],
      ['notebooks', 'Notebooks'],
      ['experiments', 'Experiments'],
      ['models', 'Models'],
      ['deployments', 'Deployments'],
      ['monitor', 'Tool Monitor'],
      ['workflow', 'Workflow']
    ]);
  });

  it('is the same from the file as from the bundle', () => {
    expect(loadRegistry(bundledManifestPath())).toEqual(loadRegistry());
  });

  it('names the extension package of every tool, and only existing ones as available', () => {
    const packages = workspacePackageNames();
    for (const tool of manifest.tools) {
      expect(tool.extension).toMatch(/^@insighter\//);
      if (tool.status === 'available') {
        // An available tool whose package is not in the workspace would be a broken sidebar entry.
        expect(packages).toContain(tool.extension);
      }
    }
    expect(manifest.tools.find(t => t.id === 'data')).toMatchObject({
      extension: '@insighter/data-catalog',
      routes: '/api/v1/datasets',
      command: 'insighter:open-data',
      status: 'available'
    });
    expect(manifest.tools.find(t => t.id === 'deployments')).toMatchObject({
      extension: '@insighter/deployment',
      routes: '/api/v1/deployments',
      command: 'insighter:open-deployments',
      status: 'available'
    });
  });

  it('groups tools into sections in order', () => {
    const layout = studioLayout(loadRegistry());
    expect(layout.map(s => [s.id, s.tools.map(t => t.id)])).toEqual([
      ['prepare', ['data', 'notebooks']],
      ['train', ['experiments', 'models']],
      ['operate', ['deployments', 'monitor', 'workflow']]
    ]);
  });

  it('puts data, notebooks, models and workflow in the sidebar and the launcher, in that order', () => {
    const registry = loadRegistry();
    const ids = ['data', 'notebooks', 'models', 'workflow'];
    expect(sidebarTools(registry).map(t => t.id)).toEqual(ids);
    expect(launcherTools(registry).map(t => t.id)).toEqual(ids);
  });

  it('lists the Notebooks tool as available in @insighter/projects', () => {
    expect(manifest.tools.find(t => t.id === 'notebooks')).toMatchObject({
      extension: '@insighter/projects',
      status: 'available'
    });
  });

  it('returns a copy, so callers cannot change the next load', () => {
    const first = loadRegistry();
    first.tools[0].label = 'Changed';
    expect(loadRegistry().tools[0].label).toBe('Data');
  });
});

describe('validateRegistry', () => {
  it('accepts a new tool entry', () => {
    const data = copy();
    const tool: ToolEntry = {
      id: 'feature-store',
      label: 'Feature Store',
      icon: 'ui-components:table-rows',
      description: 'Reusable features.',
      extension: '@insighter/feature-store',
      status: 'planned',
      command: 'insighter:open-feature-store',
      studio: { section: 'prepare', order: 30 },
      routes: '/api/v1/features'
    };
    data.tools.push(tool);
    expect(validateRegistry(data).tools).toContainEqual(tool);
  });

  it('orders sidebar entries by their order, then id, and launcher cards after them by Studio order', () => {
    const data = copy();
    data.tools.find(t => t.id === 'workflow')!.sidebar = { order: 5 };
    data.tools.find(t => t.id === 'experiments')!.launcher = true;
    data.tools.find(t => t.id === 'data')!.launcher = false;
    const registry = validateRegistry(data);
    expect(sidebarTools(registry).map(t => t.id)).toEqual([
      'workflow',
      'data',
      'notebooks',
      'models'
    ]);
    expect(launcherTools(registry).map(t => t.id)).toEqual([
      'workflow',
      'notebooks',
      'models',
      'experiments'
    ]);
  });

  it('refuses a bad sidebar entry or launcher flag', () => {
    const data = copy() as unknown as {
      tools: Record<string, unknown>[];
    };
    data.tools[0].sidebar = { order: 'first' };
    data.tools[1].sidebar = { order: 10, rank: 2 };
    data.tools[2].launcher = 'yes';
    expect(problemsOf(data)).toEqual([
      'tool "data" (tools[0]): "sidebar.order" must be integer',
      'tool "notebooks" (tools[1]): "sidebar" has an unknown field "rank"',
      'tool "experiments" (tools[2]): "launcher" must be boolean'
    ]);
  });

  it('names the entry and the missing field', () => {
    const data = copy();
    delete (data.tools[2] as Partial<ToolEntry>).label;
    expect(problemsOf(data)).toEqual([
      'tool "experiments" (tools[2]): is missing "label"'
    ]);
  });

  it('refuses unknown fields, naming them', () => {
    const data = copy();
    (data.tools[0] as unknown as Record<string, unknown>).colour = 'red';
    expect(problemsOf(data)).toEqual([
      'tool "data" (tools[0]): has an unknown field "colour"'
    ]);
  });

  it('explains a bad route prefix with the rule', () => {
    const data = copy();
    data.tools[3].routes = 'api/models';
    const [problem] = problemsOf(data);
    expect(problem).toMatch(
      /^tool "models" \(tools\[3\]\): "routes" must match /
    );
    expect(problem).toContain('e.g. "/api/v1/datasets"');
  });

  it('refuses bad ids, icons, commands, packages, statuses and orders', () => {
    const data = copy();
    data.tools[0].id = 'Data Tool';
    data.tools[1].icon = 'notebook';
    data.tools[2].command = 'open-experiments';
    data.tools[3].extension = 'models-extension';
    (data.tools[4] as { status: string }).status = 'beta';
    data.tools[5].studio.order = -1;
    const problems = problemsOf(data);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^tool "Data Tool" \(tools\[0\]\): "id" must match/
        ),
        expect.stringMatching(
          /^tool "notebooks" \(tools\[1\]\): "icon" must match/
        ),
        expect.stringMatching(
          /^tool "experiments" \(tools\[2\]\): "command" must match/
        ),
        expect.stringMatching(
          /^tool "models" \(tools\[3\]\): "extension" must match/
        ),
        'tool "deployments" (tools[4]): "status" must be one of "available", "planned"',
        expect.stringMatching(
          /^tool "monitor" \(tools\[5\]\): "studio.order" must be >= 0/
        )
      ])
    );
    expect(problems).toHaveLength(6);
  });

  it('refuses a duplicate id, command or route prefix, naming both entries', () => {
    const data = copy();
    data.tools.push({ ...data.tools[0], label: 'Data again' });
    expect(problemsOf(data)).toEqual([
      'tool "data" (tools[7]): the id "data" is already used by tool "data" (tools[0])',
      'tool "data" (tools[7]): the command "insighter:open-data" is already used by tool "data" (tools[0])',
      'tool "data" (tools[7]): the route prefix "/api/v1/datasets" is already used by tool "data" (tools[0])'
    ]);
  });

  it('refuses a tool in a section that does not exist', () => {
    const data = copy();
    data.tools[6].studio.section = 'deploy';
    expect(problemsOf(data)).toEqual([
      'tool "workflow" (tools[6]): "studio.section" is "deploy", which is not one of the sections ("prepare", "train", "operate")'
    ]);
  });

  it('refuses another format version and a manifest without tools', () => {
    expect(problemsOf({ ...copy(), version: 2 })).toEqual([
      'the manifest: "version" must be 1'
    ]);
    expect(problemsOf({ version: 1, sections: manifest.sections })).toEqual([
      'the manifest: is missing "tools"'
    ]);
    expect(problemsOf([])).toEqual(['the manifest: must be object']);
  });

  it('says which file was bad in the message', () => {
    expect(() => validateRegistry({}, '/etc/insighter/tools.json')).toThrow(
      /^The tool manifest \/etc\/insighter\/tools.json is invalid:\n- the manifest: is missing "version"/
    );
  });
});

describe('loadRegistry(file)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-registry-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads and validates a manifest file', () => {
    const file = path.join(dir, 'tools.json');
    const data = copy();
    data.tools = data.tools.filter(t => t.id !== 'workflow');
    fs.writeFileSync(file, JSON.stringify(data));
    expect(loadRegistry(file).tools.map(t => t.id)).not.toContain('workflow');
  });

  it('says when the file is not JSON', () => {
    const file = path.join(dir, 'broken.json');
    fs.writeFileSync(file, '{"version": 1,');
    expect(() => loadRegistry(file)).toThrow(
      `The tool manifest ${file} is invalid:\n- is not valid JSON`
    );
  });

  it('says when the file cannot be read', () => {
    const file = path.join(dir, 'missing.json');
    expect(() => loadRegistry(file)).toThrow(
      new RegExp(
        `^The tool manifest ${file} is invalid:\\n- cannot be read: ENOENT`
      )
    );
  });
});
