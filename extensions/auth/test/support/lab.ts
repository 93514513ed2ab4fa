import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * The real sidecar (`server/lib/main.js`, a child process with its own
 * PGlite data dir) behind a small stand-in for the Jupyter server's proxy
 * that does what the real one promises: it admits only requests carrying the
 * Jupyter token, hands `X-Insighter-Authorization` to the sidecar as
 * `Authorization`, and adds the proxy secret. The session code under test
 * talks to it exactly as it talks to Jupyter in the browser.
 */
export interface ITestLab {
  /** The "Jupyter server" root, ending in `/`. */
  baseUrl: string;
  /** Where the proxied sidecar lives: `<baseUrl>insighter/`. */
  apiUrl: string;
  /** The lab page mail links lead back to. */
  labUrl: string;
  jupyterToken: string;
  /** Requests the proxy turned away for lack of the Jupyter token. */
  refused: string[];
  stop(): Promise<void>;
}

const REPO_ROOT = path.resolve(__dirname, '../../../..');
const SIDECAR_MAIN = path.join(REPO_ROOT, 'server/lib/main.js');
const PROXY_SECRET_HEADER = 'x-insighter-proxy-secret';
const ACCESS_TOKEN_HEADER = 'x-insighter-authorization';

export async function startTestLab(): Promise<ITestLab> {
  if (!fs.existsSync(SIDECAR_MAIN)) {
    throw new Error(
      `${SIDECAR_MAIN} is missing: build the sidecar first (npx tsc -b server).`
    );
  }
  const jupyterToken = randomBytes(16).toString('hex');
  const proxySecret = randomBytes(24).toString('hex');
  const dataDir = fs.mkdtempSync(
    path.join(os.tmpdir(), 'insighter-auth-test-')
  );
  const sidecarPort = await freePort();
  const refused: string[] = [];

  const proxy = http.createServer((req, res) =>
    forward(req, res, sidecarPort, jupyterToken, proxySecret, refused)
  );
  await new Promise<void>(resolve => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${proxyPort}/`;
  const apiUrl = `${baseUrl}insighter/`;

  const sidecar = spawn(process.execPath, [SIDECAR_MAIN], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      INSIGHTER_HOST: '127.0.0.1',
      INSIGHTER_API_PORT: String(sidecarPort),
      INSIGHTER_DATA_DIR: dataDir,
      INSIGHTER_PROXY_URL: `${baseUrl}insighter`,
      INSIGHTER_PROXY_SECRET: proxySecret,
      INSIGHTER_LOG_LEVEL: 'warn'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  });
  const output: string[] = [];
  sidecar.stdout!.on('data', chunk => output.push(String(chunk)));
  sidecar.stderr!.on('data', chunk => output.push(String(chunk)));
  try {
    await waitForHealth(sidecarPort, sidecar, output);
  } catch (error) {
    await stopProcess(sidecar);
    proxy.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }

  return {
    baseUrl,
    apiUrl,
    labUrl: `${baseUrl}lab`,
    jupyterToken,
    refused,
    stop: async () => {
      await stopProcess(sidecar);
      await new Promise<void>(resolve => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      });
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  };
}

function forward(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  sidecarPort: number,
  jupyterToken: string,
  proxySecret: string,
  refused: string[]
): void {
  const prefix = '/insighter';
  if (!req.url?.startsWith(`${prefix}/`)) {
    res.writeHead(404).end();
    return;
  }
  if (req.headers.authorization !== `token ${jupyterToken}`) {
    refused.push(`${req.method} ${req.url}`);
    res.writeHead(403, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: 'Forbidden: not logged in to Jupyter' }));
    return;
  }
  const headers = { ...req.headers };
  delete headers.authorization;
  const bearer = headers[ACCESS_TOKEN_HEADER];
  delete headers[ACCESS_TOKEN_HEADER];
  if (typeof bearer === 'string') {
    headers.authorization = bearer;
  }
  headers[PROXY_SECRET_HEADER] = proxySecret;
  headers.host = `127.0.0.1:${sidecarPort}`;
  const upstream = http.request(
    {
      host: '127.0.0.1',
      port: sidecarPort,
      method: req.method,
      path: req.url.slice(prefix.length),
      headers
    },
    answer => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    }
  );
  upstream.on('error', error => {
    res.writeHead(502, { 'Content-Type': 'application/json' });
    res.end(
      JSON.stringify({
        error: { code: 'sidecar_unreachable', message: error.message }
      })
    );
  });
  req.pipe(upstream);
}

async function waitForHealth(
  port: number,
  child: ChildProcess,
  output: string[]
): Promise<void> {
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `The sidecar exited (${child.exitCode}):\n${output.join('')}`
      );
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      if (response.ok) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  throw new Error(
    `The sidecar did not answer within 45 s:\n${output.join('')}`
  );
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise(resolve => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = http.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
