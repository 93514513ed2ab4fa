/**
 * @jest-environment jsdom
 */
import {
  IInsighterBus,
  ISidecarClient,
  ISystemStatusModel
} from '@insighter/core';
import * as fs from 'node:fs';
import * as path from 'node:path';
import plugins from '../src';
import { DEFAULT_POLL_TIMING } from '../src/statusmodel';

const root = path.resolve(__dirname, '..');
const packageJson = JSON.parse(
  fs.readFileSync(path.join(root, 'package.json'), 'utf8')
);

describe('the plugins the package exports', () => {
  it('are the bus, client, status and sidebar plugins, with ids under the package', () => {
    expect(plugins.map(p => p.id)).toEqual([
      '@insighter/shell:bus',
      '@insighter/shell:client',
      '@insighter/shell:status',
      '@insighter/shell:sidebar'
    ]);
    for (const plugin of plugins) {
      expect(plugin.autoStart).toBe(true);
      expect(plugin.description).toEqual(expect.any(String));
      // Named activate functions, as in JupyterLab's own packages.
      expect(plugin.activate.name).toMatch(/^activate[A-Z]/);
    }
  });

  it('provide the core tokens', () => {
    const byId = new Map(plugins.map(p => [p.id, p]));
    expect(byId.get('@insighter/shell:bus')?.provides).toBe(IInsighterBus);
    expect(byId.get('@insighter/shell:client')?.provides).toBe(ISidecarClient);
    expect(byId.get('@insighter/shell:status')?.provides).toBe(
      ISystemStatusModel
    );
  });

  it('declare themselves a JupyterLab extension with its schema folder', () => {
    expect(packageJson.jupyterlab).toEqual({
      extension: true,
      schemaDir: 'schema'
    });
  });
});

describe('the status settings schema', () => {
  const schema = JSON.parse(
    fs.readFileSync(path.join(root, 'schema', 'status.json'), 'utf8')
  );

  it('belongs to a plugin the package exports', () => {
    expect(plugins.map(p => p.id)).toContain('@insighter/shell:status');
  });

  it("defaults to the model's own timing", () => {
    expect(schema.properties.pollInterval.default).toBe(
      DEFAULT_POLL_TIMING.interval
    );
    expect(schema.properties.retryInterval.default).toBe(
      DEFAULT_POLL_TIMING.retryInterval
    );
    expect(schema.properties.maxRetryInterval.default).toBe(
      DEFAULT_POLL_TIMING.maxRetryInterval
    );
    expect(schema.additionalProperties).toBe(false);
  });
});
