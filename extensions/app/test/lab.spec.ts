/**
 * Insighter Lab with the real sidecar (server/lib/main.js): start-up line,
 * page, page config, shims, settings location, sidecar health and shutdown.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';

import {
  processExists,
  REPO_ROOT,
  RunningLab,
  startLab,
  TEST_UPSTREAM,
  waitFor
} from './support/lab';

const BUILD = path.join(REPO_ROOT, 'extensions', 'app', 'build');

function pageConfig(html: string): Record<string, unknown> {
  const match =
    /<script id="jupyter-config-data" type="application\/json">([\s\S]*?)<\/script>/.exec(
      html
    );
  expect(match).not.toBeNull();
  return JSON.parse(match![1]);
}

describe('with the real sidecar', () => {
  let lab: RunningLab;
  // INSIGHTER_NODE names the node the sidecar runs on: here a wrapper that
  // notes its arguments, then becomes the tests' own node.
  const nodeDir = mkdtempSync(path.join(os.tmpdir(), 'insighter-node-'));
  const nodeCalls = path.join(nodeDir, 'calls');
  const nodeWrapper = path.join(nodeDir, 'node');

  beforeAll(async () => {
    writeFileSync(
      nodeWrapper,
      `#!/bin/sh\necho "$@" >> '${nodeCalls}'\nexec '${process.execPath}' "$@"\n`,
      { mode: 0o755 }
    );
    lab = await startLab({ env: { INSIGHTER_NODE: nodeWrapper } });
  });

  afterAll(async () => {
    await lab?.stop();
    rmSync(nodeDir, { recursive: true, force: true });
  });

  it('prints one line with the URL and a generated token', () => {
    const lines = lab
      .output()
      .split('\n')
      .filter(line => line.includes('Insighter Lab is running at'));
    expect(lines).toEqual([
      `Insighter Lab is running at http://127.0.0.1:${lab.port}/lab?token=${lab.token}`
    ]);
    expect(lab.token).toMatch(/^[0-9a-f]{48}$/);
  });

  it('proxies the sidecar, which also answers on its own port', async () => {
    const proxied = await lab.fetch('insighter/health');
    expect(proxied.status).toBe(200);
    expect(await proxied.json()).toEqual({ status: 'ok' });
    expect((await lab.fetch('insighter/health', { auth: false })).status).toBe(
      403
    );

    const direct = await fetch(`http://127.0.0.1:${lab.apiPort}/health`);
    expect(direct.status).toBe(200);

    const status = await lab.fetch('insighter/api/v1/status');
    expect(status.status).toBe(200);
    expect(await status.json()).toHaveProperty('components');
  });

  it('runs the sidecar on INSIGHTER_NODE, a supported Node.js', () => {
    expect(readFileSync(nodeCalls, 'utf8')).toContain(
      path.join(REPO_ROOT, 'server', 'lib', 'main.js')
    );
    const pid = lab.sidecarPid()!;
    expect(realpathSync(`/proc/${pid}/exe`)).toBe(
      realpathSync(process.execPath)
    );
    // npm test brings Node 24 LTS when the machine's node is older than 22.
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(
      22
    );
  });

  it('serves the app page with Insighter page config', async () => {
    const res = await lab.fetch('lab');
    expect(res.status).toBe(200);
    const config = pageConfig(await res.text());
    expect(config).toMatchObject({
      appName: 'Insighter Lab',
      insighterApiUrl: '/insighter/',
      insighterDirectUrl: `http://127.0.0.1:${lab.apiPort}`,
      fullStaticUrl: '/static/insighter_lab',
      userSettingsDir: path.join(lab.dataDir, 'settings'),
      workspacesDir: path.join(lab.dataDir, 'workspaces'),
      serverRoot: path.join(lab.dataDir, 'notebooks')
    });
    if (existsSync(path.join(BUILD, 'bundle.js'))) {
      const bundle = await lab.fetch('static/insighter_lab/bundle.js');
      expect(bundle.status).toBe(200);
    }
  });

  it('answers the shims JupyterLab 4 expects: /api/me and the events socket', async () => {
    const me = await lab.fetch(
      'api/me?permissions=' +
        encodeURIComponent('{"contents":["read","write"]}')
    );
    expect(me.status).toBe(200);
    const body = await me.json();
    expect(body.identity).toMatchObject({
      username: expect.any(String),
      name: expect.any(String)
    });
    expect(body.permissions).toEqual({ contents: ['read', 'write'] });
    expect((await lab.fetch('api/me', { auth: false })).status).toBe(403);

    const socket = new WebSocket(
      `ws://127.0.0.1:${lab.port}/api/events/subscribe?token=${lab.token}`
    );
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.close();
  });

  it('keeps user settings in the data dir, never in the build output', async () => {
    const id = '@jupyterlab/apputils-extension:themes';
    const put = await lab.fetch(`lab/api/settings/${id}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ raw: '{"theme": "JupyterLab Dark"}' })
    });
    expect(put.status).toBe(204);
    const saved = path.join(
      lab.dataDir,
      'settings',
      '@jupyterlab',
      'apputils-extension',
      'themes.jupyterlab-settings'
    );
    expect(readFileSync(saved, 'utf8')).toContain('JupyterLab Dark');
  });

  it('lists the schemas of every extension in the build', async () => {
    if (!existsSync(path.join(BUILD, 'schemas'))) return; // no build in this checkout
    const res = await lab.fetch('lab/api/settings');
    expect(res.status).toBe(200);
    const ids: string[] = (await res.json()).settings.map(
      (s: { id: string }) => s.id
    );
    expect(ids).toEqual(
      expect.arrayContaining([
        '@jupyterlab/notebook-extension:tracker',
        '@jupyterlab/apputils-extension:themes'
      ])
    );
    const pkg = JSON.parse(
      readFileSync(
        path.join(REPO_ROOT, 'extensions', 'app', 'package.json'),
        'utf8'
      )
    );
    for (const name of pkg.insighter.extensions as string[]) {
      const schemaDir = path.join(BUILD, 'schemas', name);
      if (existsSync(schemaDir)) {
        for (const file of readdirSync(schemaDir).filter(
          f => f.endsWith('.json') && f !== 'package.json.orig'
        )) {
          expect(ids).toContain(`${name}:${file.replace(/\.json$/, '')}`);
        }
      }
    }
  });

  it('runs Python code on a real kernel', async () => {
    const res = await lab.fetch('api/kernelspecs');
    expect(res.status).toBe(200);
    const specs = await res.json();
    expect(specs.kernelspecs.python3.spec.argv[0]).toBe('/usr/bin/python3');
  });

  it('stops the real sidecar on shutdown', async () => {
    const own = await startLab();
    const pid = own.sidecarPid()!;
    expect(processExists(pid)).toBe(true);
    await own.stop();
    await waitFor('the sidecar to be gone', () => !processExists(pid), 5000);
  });
});

describe('without a token (INSIGHTER_TOKEN="")', () => {
  it('needs no authentication and says so in its URL', async () => {
    // Jupyter's authentication is the subject here: the quick stand-in sidecar will do.
    const lab = await startLab({
      token: null,
      sidecarCommand: `node ${TEST_UPSTREAM}`
    });
    try {
      expect(lab.token).toBe('');
      expect(lab.labUrl).toBe(`http://127.0.0.1:${lab.port}/lab`);
      expect(
        (await lab.fetch('insighter/health', { auth: false })).status
      ).toBe(200);
    } finally {
      await lab.stop();
    }
  });
});

describe('when the sidecar cannot start', () => {
  it('still runs Jupyter, answers 503 and logs why', async () => {
    const lab = await startLab({
      sidecarCommand: '/nonexistent/insighter-sidecar --flag',
      waitForSidecar: false
    });
    try {
      expect((await lab.fetch('api/status')).status).toBe(200);
      const res = await lab.fetch('insighter/health');
      expect(res.status).toBe(503);
      expect((await res.json()).error.code).toBe('sidecar_unavailable');
      await waitFor(
        'the reason in the log',
        () => /sidecar could not be started .*nonexistent/i.test(lab.output()),
        5000
      );
    } finally {
      await lab.stop();
    }
  });
});

describe('configuration errors', () => {
  it('refuses an invalid port with a clear message', () => {
    const result = spawnSync('/usr/bin/python3', ['-m', 'insighter_lab'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PYTHONPATH: path.join(REPO_ROOT, 'jupyter-config'),
        INSIGHTER_PORT: 'eighty'
      },
      encoding: 'utf8',
      timeout: 30000
    });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(
      "Insighter Lab: INSIGHTER_PORT must be a port number, not 'eighty'"
    );
  });
});
