import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway Docker engine for the test run (Debian's docker.io), as
 * scripts/services.sh starts one for `npm test`: its own data root, exec
 * root, PID file and socket in a temp dir; no default bridge and no iptables
 * rules (jobs and model servers run without a network), so it never meets another engine.
 */
export const DOCKERD_BIN = ['/usr/sbin/dockerd', '/usr/bin/dockerd'].find(
  file => fs.existsSync(file)
);

/** Set by the global setup when no engine could be had; Docker suites fail with it. */
export const DOCKER_MISSING_ENV = 'INSIGHTER_TEST_DOCKER_MISSING';

export interface TestDockerd {
  dir: string;
  /** `unix://<socket>`, as DOCKER_HOST takes it. */
  host: string;
  stop(): void;
}

export async function startDockerd(): Promise<TestDockerd> {
  if (!DOCKERD_BIN) {
    throw new Error(
      'dockerd is not installed: apt-get install -y docker.io (with a policy-rc.d that exits 101, ' +
        'see scripts/lib.sh), or set DOCKER_HOST to an engine the tests may use.'
    );
  }
  // Short: containerd's sockets live under the exec root (108-byte limit).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-dockerd-'));
  const socket = path.join(dir, 'docker.sock');
  const log = fs.openSync(path.join(dir, 'dockerd.log'), 'a');
  const child = spawn(
    DOCKERD_BIN,
    [
      `--data-root=${path.join(dir, 'data')}`,
      `--exec-root=${path.join(dir, 'exec')}`,
      `--pidfile=${path.join(dir, 'dockerd.pid')}`,
      `--host=unix://${socket}`,
      '--bridge=none',
      '--iptables=false',
      '--ip-masq=false'
    ],
    { stdio: ['ignore', log, log], detached: true }
  );
  fs.closeSync(log);
  child.unref();
  let stopped = false;
  const stop = () => {
    if (stopped) {
      return;
    }
    stopped = true;
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
      // dockerd stops its containers and containerd before it exits.
      spawnSync(
        'bash',
        [
          '-c',
          `for i in $(seq 1 100); do kill -0 ${child.pid} 2>/dev/null || exit 0; sleep 0.1; done; kill -KILL ${child.pid}`
        ],
        { stdio: 'ignore' }
      );
    }
    // dockerd leaves its network namespace mounted under the exec root.
    const mounts = fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map(line => line.split(' ')[1])
      .filter(point => point?.startsWith(`${dir}/`))
      .sort()
      .reverse();
    for (const point of mounts) {
      spawnSync('umount', ['-l', point], { stdio: 'ignore' });
    }
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // A leftover of the engine's in a temp dir must not fail the run.
    }
  };
  process.once('exit', stop);
  const deadline = Date.now() + 20_000;
  while (!(await ping(socket))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const tail = fs
        .readFileSync(path.join(dir, 'dockerd.log'), 'utf8')
        .split('\n')
        .slice(-15)
        .join('\n');
      stop();
      throw new Error(`dockerd did not start:\n${tail}`);
    }
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  return { dir, host: `unix://${socket}`, stop };
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise(resolve => {
    const req = http.get({ socketPath, path: '/_ping', timeout: 1000 }, res => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/**
 * The engine the Docker tests use. Never a silent skip: without one, the
 * suite fails with the reason the global setup recorded.
 */
export function testDockerHost(): string {
  const host = process.env.DOCKER_HOST;
  if (!host) {
    throw new Error(
      process.env[DOCKER_MISSING_ENV] ??
        'No Docker engine for the tests: run them through jest with the server config ' +
          '(the global setup starts dockerd), or set DOCKER_HOST.'
    );
  }
  return host;
}
