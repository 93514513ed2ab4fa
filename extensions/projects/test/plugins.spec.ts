/**
 * @jest-environment jsdom
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import plugins, { IProjectsModel, IStudioSections } from '../src';

const root = path.resolve(__dirname, '..');

describe('the plugins the package exports', () => {
  it('are the model, events, dashboard, studio and notebooks plugins, with ids under the package', () => {
    expect(plugins.map(p => p.id)).toEqual([
      '@insighter/projects:model',
      '@insighter/projects:events',
      '@insighter/projects:dashboard',
      '@insighter/projects:studio',
      '@insighter/projects:notebooks'
    ]);
    for (const plugin of plugins) {
      expect(plugin.autoStart).toBe(true);
      expect(plugin.description).toEqual(expect.any(String));
      expect(plugin.activate.name).toMatch(/^activate[A-Z]/);
    }
  });

  it('provide the package tokens', () => {
    const byId = new Map(plugins.map(p => [p.id, p]));
    expect(byId.get('@insighter/projects:model')?.provides).toBe(
      IProjectsModel
    );
    expect(byId.get('@insighter/projects:studio')?.provides).toBe(
      IStudioSections
    );
  });

  it('have a settings schema for each plugin with settings, and only those', () => {
    const schemas = fs
      .readdirSync(path.join(root, 'schema'))
      .map(file => `@insighter/projects:${file.replace(/\.json$/, '')}`);
    expect(schemas).toEqual(['@insighter/projects:notebooks']);
    const schema = JSON.parse(
      fs.readFileSync(path.join(root, 'schema', 'notebooks.json'), 'utf8')
    );
    expect(schema.properties.kernelName.default).toBe('python3');
    expect(schema.additionalProperties).toBe(false);
  });
});
