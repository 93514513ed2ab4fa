/**
 * Starts and stops a real Insighter Lab server (`/usr/bin/python3 -m
 * insighter_lab`) for tests: free ports, a fresh data dir, readiness, and a
 * clean stop. Jest suites here and the browser tests in ui-tests/ use it.
 *
 *   const lab = await startLab();                  // real sidecar, random token
 *   const res = await lab.fetch('insighter/health');
 *   await lab.stop();
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The repository root (this file is extensions/app/test/support/lab.ts). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');
/** The stand-in sidecar the proxy tests use (see upstream.js). */
export const TEST_UPSTREAM = path.join(__dirname, 'upstream.js');

export interface LabOptions {
  /**
   * Jupyter's token: a string to use it, `null` for no token at all
   * (INSIGHTER_TOKEN=""; what browser tests use), `undefined` to let the lab
   * generate one (read back from its start-up line).
   */
  token?: string | null;
  /** Data dir; default a fresh temporary one, removed by `stop()`. */
  dataDir?: string;
  /** Sidecar command (INSIGHTER_SIDECAR_COMMAND); default the real sidecar. */
  sidecarCommand?: string;
  /** Extra environment for the server (and so for the sidecar). */
  env?: Record<string, string>;
  /** Wait until the sidecar answers through the proxy (default true). */
  waitForSidecar?: boolean;
  /** How long start-up may take, in ms (default 120 s: a first PGlite start takes seconds, more on a busy machine). */
  timeoutMs?: number;
  /** Python interpreter (default /usr/bin/python3, the one with Debian's Jupyter). */
  python?: string;
  /** What to run instead of `<python> -m insighter_lab`, e.g. `['npm', 'start']`. */
  command?: string[];
  /** Jupyter's and the sidecar's ports (default two free ones). */
  ports?: [number, number];
  /** Start it as the leader of a process group of its own (to signal the group). */
  detached?: boolean;
}

export interface RunningLab {
  /** Server root with a trailing slash, e.g. http://127.0.0.1:40123/ */
  readonly url: string;
  /** The page to open, token included when there is one. */
  readonly labUrl: string;
  /** Jupyter's token ('' when authentication is off). */
  readonly token: string;
  readonly port: number;
  readonly apiPort: number;
  readonly dataDir: string;
  readonly process: ChildProcess;
  /** Everything the server printed so far (stdout and stderr). */
  output(): string;
  /** Headers that authenticate to Jupyter ({} without a token). */
  authHeaders(): Record<string, string>;
  /** fetch() relative to the server root, authenticated unless `auth: false`. */
  fetch(
    relative: string,
    init?: RequestInit & { auth?: boolean }
  ): Promise<Response>;
  /** The sidecar's PID as the supervisor recorded it, or null. */
  sidecarPid(): number | null;
  /** Stops the server (SIGTERM, then SIGKILL) and removes a temporary data dir. */
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

/** Whether a process with this PID exists (zombies included). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Polls `check` until it returns a value other than undefined/false, or throws on timeout. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30000,
  intervalMs = 100
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError}` : ''}`
  );
}

const RUNNING_LINE = /^Insighter Lab is running at (\S+)$/m;

export async function startLab(options: LabOptions = {}): Promise<RunningLab> {
  const timeoutMs = options.timeoutMs ?? 120000;
  const ownDataDir = options.dataDir === undefined;
  const dataDir =
    options.dataDir ??
    mkdtempSync(path.join(os.tmpdir(), 'insighter-lab-test-'));
  const [port, apiPort] = options.ports ?? (await twoFreePorts());

  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PYTHONPATH: [path.join(REPO_ROOT, 'jupyter-config'), process.env.PYTHONPATH]
      .filter(Boolean)
      .join(path.delimiter),
    INSIGHTER_HOST: '127.0.0.1',
    INSIGHTER_PORT: String(port),
    INSIGHTER_API_PORT: String(apiPort),
    INSIGHTER_DATA_DIR: dataDir,
    ...options.env
  };
  if (options.token === null) env.INSIGHTER_TOKEN = '';
  else if (options.token !== undefined) env.INSIGHTER_TOKEN = options.token;
  else delete env.INSIGHTER_TOKEN;
  if (options.sidecarCommand)
    env.INSIGHTER_SIDECAR_COMMAND = options.sidecarCommand;

  const [command, ...args] = options.command ?? [
    options.python ?? '/usr/bin/python3',
    '-m',
    'insighter_lab'
  ];
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false
  });
  let output = '';
  child.stdout!.on('data', chunk => (output += chunk));
  child.stderr!.on('data', chunk => (output += chunk));
  const exited = new Promise<number | null>(resolve =>
    child.once('exit', code => resolve(code))
  );
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const url = `http://127.0.0.1:${port}/`;
  let token = '';
  let labUrl = '';

  const stop = async () => {
    if (!hasExited) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 20000);
      await exited;
      clearTimeout(killer);
    }
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    labUrl = await waitFor(
      'the "Insighter Lab is running at" line',
      () => {
        if (hasExited) throw new Error(`the server exited:\n${output}`);
        const match = RUNNING_LINE.exec(output);
        return match ? match[1] : undefined;
      },
      timeoutMs
    );
    token = new URL(labUrl).searchParams.get('token') ?? '';
    const headers: Record<string, string> = token
      ? { Authorization: `token ${token}` }
      : {};
    await waitFor(
      'the Jupyter API',
      async () => (await fetch(`${url}api/status`, { headers })).ok,
      timeoutMs
    );
    if (options.waitForSidecar ?? true) {
      await waitFor(
        'the sidecar behind the proxy',
        async () =>
          (await fetch(`${url}insighter/health`, { headers })).status === 200,
        timeoutMs
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const authHeaders = (): Record<string, string> =>
    token ? { Authorization: `token ${token}` } : {};
  return {
    url,
    labUrl,
    token,
    port,
    apiPort,
    dataDir,
    process: child,
    output: () => output,
    authHeaders,
    fetch: (relative, init = {}) => {
      const { auth = true, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (auth)
        for (const [k, v] of Object.entries(authHeaders()))
          if (!headers.has(k)) headers.set(k, v);
      return fetch(new URL(relative, url), { ...rest, headers });
    },
    sidecarPid: () => {
      try {
        return (
          Number(
            readFileSync(
              path.join(dataDir, 'run', 'sidecar.pid'),
              'utf8'
            ).trim()
          ) || null
        );
      } catch {
        return null;
      }
    },
    stop
  };
}

async function twoFreePorts(): Promise<[number, number]> {
  const first = await freePort();
  let second = await freePort();
  while (second === first) second = await freePort();
  return [first, second];
}

/** A random Jupyter token for tests that want to know it up front. */
export function randomToken(): string {
  return randomBytes(24).toString('hex');
}
