/**
 * @jest-environment jsdom
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { manifest } from '@insighter/registry';
import plugins, { CommandIDs, IDataCatalog } from '../src';

const root = path.resolve(__dirname, '..');

describe('the plugins the package exports', () => {
  it('include the catalog plugin, providing the catalog, under the package id', () => {
    const plugin = plugins.find(p => p.id === '@insighter/data-catalog:plugin');
    expect(plugin?.provides).toBe(IDataCatalog);
    for (const each of plugins) {
      expect(each.id).toMatch(/^@insighter\/data-catalog:/);
      expect(each.autoStart).toBe(true);
      expect(each.description).toEqual(expect.any(String));
      expect(each.activate.name).toMatch(/^activate[A-Z]/);
    }
  });

  it("open the registry's data tool with its command", () => {
    const tool = manifest.tools.find(t => t.id === 'data');
    expect(tool).toMatchObject({
      extension: '@insighter/data-catalog',
      status: 'available',
      command: CommandIDs.openData
    });
  });

  it('have a settings schema for the catalog plugin: the preview size the sidecar allows', () => {
    expect(fs.readdirSync(path.join(root, 'schema'))).toContain('plugin.json');
    const schema = JSON.parse(
      fs.readFileSync(path.join(root, 'schema', 'plugin.json'), 'utf8')
    );
    expect(schema.properties.previewRows).toMatchObject({
      default: 50,
      minimum: 1,
      maximum: 100
    });
    expect(schema.additionalProperties).toBe(false);
  });
});
