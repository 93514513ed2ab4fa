import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {
  seedMigratedDataDir,
  sidecarProcessEnv,
  startSidecarProcess
} from '../support/sidecar-process';

/**
 * The sidecar process (src/main.ts in a child) on its own: a taken port is
 * named with the variable that moves it, and it never outlives its parent —
 * it stops in order when its parent dies, and its watchdog thread kills it
 * when its main thread is stuck in a computation (no signal reaches
 * JavaScript then). Here the parent is a shell that started it, killed with
 * SIGKILL (no parent-death signal is set up: the watchdog alone notices).
 */
const SIDECAR_CHILD = path.join(__dirname, '..', 'auth', 'sidecar-child.js');
const BUSY_MAIN_THREAD = path.join(
  __dirname,
  '..',
  'support',
  'busy-main-thread.js'
);

describe('the sidecar process', () => {
  const dataDir = fs.mkdtempSync(
    path.join(os.tmpdir(), 'insighter-sidecar-lifecycle-')
  );
  const started: ChildProcess[] = [];
  let sidecarPid: number | undefined;

  beforeAll(() => seedMigratedDataDir(dataDir));

  afterEach(() => {
    for (const pid of [sidecarPid, ...started.map(child => child.pid)]) {
      if (pid && running(pid)) process.kill(pid, 'SIGKILL');
    }
    started.length = 0;
    sidecarPid = undefined;
  });

  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  /** Not gone and not a zombie (one waiting to be reaped holds nothing). */
  const running = (pid: number) => {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  };

  /** The sidecar as a shell's child; resolves with its pid and log lines once it listens. */
  const startUnderShell = (nodeArgs: string[]) =>
    new Promise<{ shell: ChildProcess; pid: number; logs: string[] }>(
      (resolve, reject) => {
        const shell = spawn(
          'sh',
          [
            '-c',
            `"${process.execPath}" "$@" & echo "$!"; wait`,
            'sh',
            ...nodeArgs
          ],
          {
            env: sidecarProcessEnv(dataDir),
            stdio: ['ignore', 'pipe', 'pipe']
          }
        );
        started.push(shell);
        const logs: string[] = [];
        let pid: number | undefined;
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no "sidecar listening" within 60 s: ${logs.join('\n')}`
              )
            ),
          60_000
        );
        readline.createInterface({ input: shell.stdout! }).on('line', line => {
          if (/^\d+$/.test(line)) {
            pid = sidecarPid = Number(line);
            return;
          }
          logs.push(line);
          if (line.includes('"sidecar listening"') && pid) {
            clearTimeout(timer);
            resolve({ shell, pid, logs });
          }
        });
      }
    );

  const gone = async (pid: number, withinMs: number) => {
    const since = Date.now();
    while (running(pid) && Date.now() - since < withinMs + 10_000) {
      await new Promise(resolve => setTimeout(resolve, 50));
    }
    return { gone: !running(pid), ms: Date.now() - since };
  };

  it('refuses a taken port, naming INSIGHTER_API_PORT', async () => {
    const taken = net.createServer();
    await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      await expect(
        startSidecarProcess(dataDir, { INSIGHTER_API_PORT: String(port) })
      ).rejects.toThrow(
        `Insighter sidecar failed to start: Port ${port} on 127.0.0.1 is in use by another program: stop it, or set INSIGHTER_API_PORT to a free port.`
      );
    } finally {
      taken.close();
    }
  }, 90_000);

  it('stops in order when its parent dies', async () => {
    const { shell, pid, logs } = await startUnderShell([SIDECAR_CHILD]);
    shell.kill('SIGKILL');
    const outcome = await gone(pid, 5000);
    expect(outcome.gone).toBe(true);
    expect(outcome.ms).toBeLessThanOrEqual(5000);
    expect(logs.some(line => line.includes('the parent process is gone'))).toBe(
      true
    );
    // Not the watchdog's kill: an orderly stop released the database lock.
    expect(fs.existsSync(path.join(dataDir, 'db.lock'))).toBe(false);
  }, 90_000);

  it('is killed by its watchdog when its parent dies while its main thread is stuck', async () => {
    const { shell, pid } = await startUnderShell([
      '-r',
      BUSY_MAIN_THREAD,
      SIDECAR_CHILD
    ]);
    process.kill(pid, 'SIGUSR2');
    // Stuck: not even SIGTERM gets through.
    process.kill(pid, 'SIGTERM');
    await new Promise(resolve => setTimeout(resolve, 1000));
    expect(running(pid)).toBe(true);
    shell.kill('SIGKILL');
    const outcome = await gone(pid, 5000);
    expect(outcome.gone).toBe(true);
    // Noticed within 0.2 s, killed 4 s later.
    expect(outcome.ms).toBeLessThanOrEqual(5000);
  }, 90_000);
});
