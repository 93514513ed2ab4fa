import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundledManifestPath, type ToolEntry } from '@insighter/registry';
import express, { Router } from 'express';
import { routePaths } from '../../src/routes/tools';
import {
  startProjectsTestServer,
  type ProjectsTestServer
} from '../projects/harness';

/**
 * `GET /api/v1/tools`, and the README's promise: a tool added as one more
 * manifest entry appears there.
 */
describe('GET /api/v1/tools', () => {
  let t: ProjectsTestServer;
  let dir: string;

  const featureStore: ToolEntry = {
    id: 'feature-store',
    label: 'Feature Store',
    icon: 'ui-components:table-rows',
    description: 'Reusable features computed from the project’s datasets.',
    extension: '@insighter/feature-store',
    status: 'planned',
    command: 'insighter:open-feature-store',
    studio: { section: 'prepare', order: 30 },
    routes: '/api/v1/features'
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-tools-'));
    // The README's recipe: a copy of the manifest with one more entry.
    const manifest = JSON.parse(fs.readFileSync(bundledManifestPath(), 'utf8'));
    manifest.tools.push(featureStore);
    // …and one whose routes this sidecar already serves.
    manifest.tools.push({
      ...featureStore,
      id: 'portfolio',
      label: 'Portfolio',
      extension: '@insighter/portfolio',
      command: 'insighter:open-portfolio',
      studio: { section: 'operate', order: 5 },
      routes: '/api/v1/projects'
    });
    const file = path.join(dir, 'tools.json');
    fs.writeFileSync(file, JSON.stringify(manifest, null, 2));
    // The sidecar reads the manifest path from its config, as in production.
    t = await startProjectsTestServer({
      env: { INSIGHTER_TOOLS_MANIFEST: file }
    });
  });

  afterAll(async () => {
    await t?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists the manifest’s tools in Studio order, with the added one, mounted or not', async () => {
    const user = await t.user();
    const res = await t.api(user, 'GET', '/api/v1/tools');
    expect(res.status).toBe(200);
    expect(res.body.sections.map((s: { id: string }) => s.id)).toEqual([
      'prepare',
      'train',
      'operate'
    ]);
    const tools = res.body.tools as (ToolEntry & { mounted: boolean })[];
    expect(tools.map(tool => tool.id)).toEqual([
      'data',
      'notebooks',
      'feature-store',
      'experiments',
      'models',
      'portfolio',
      'deployments',
      'monitor',
      'workflow'
    ]);
    expect(tools.find(tool => tool.id === 'feature-store')).toEqual({
      ...featureStore,
      mounted: false
    });
    expect(tools.find(tool => tool.id === 'portfolio')?.mounted).toBe(true);
    expect(tools.find(tool => tool.id === 'data')).toMatchObject({
      label: 'Data',
      extension: '@insighter/data-catalog',
      routes: '/api/v1/datasets',
      status: 'available'
    });
  });

  it('needs a signed-in user', async () => {
    const res = await t.api(null, 'GET', '/api/v1/tools');
    expect(res.status).toBe(401);
  });
});

describe('routePaths', () => {
  it('finds routes on the app, in path-less and mounted routers, nested', () => {
    const app = express();
    app.use(express.json());
    app.get('/health', (_req, res) => res.end());
    const flat = Router();
    flat.get('/api/v1/projects', (_req, res) => res.end());
    flat.patch('/api/v1/projects/:id', (_req, res) => res.end());
    app.use(flat);
    const mounted = Router();
    const nested = Router();
    nested.post('/:id/versions', (_req, res) => res.end());
    mounted.get('/', (_req, res) => res.end());
    mounted.use('/models', nested);
    app.use('/api/v1', mounted);
    app.route('/api/v1/datasets').get((_req, res) => res.end());
    // A dispatcher mounted at prefixes (as MLflow's API is) serves all below.
    const dispatch = Router();
    dispatch.use(['/api/2.0/mlflow', '/ajax-api/2.0/mlflow'], (_req, res) =>
      res.end()
    );
    app.use(dispatch);
    app.use((_req, res) => res.status(404).end());
    expect(routePaths(app).sort()).toEqual(
      [
        '/health',
        '/api/v1/projects',
        '/api/v1/projects/:id',
        '/api/v1/',
        '/api/v1/models/:id/versions',
        '/api/v1/datasets',
        '/api/2.0/mlflow/*',
        '/ajax-api/2.0/mlflow/*'
      ].sort()
    );
  });
});
