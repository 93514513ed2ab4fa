import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { openDatabase } from '../../src/db/open';
import { pgliteSnapshot, silentLogger } from './postgres';

/**
 * The real sidecar entry point (src/main.ts) in a child process, for tests
 * that kill it: embedded mode on its own port and the given data dir,
 * whatever the caller's environment says.
 */
export interface SidecarProcess {
  process: ChildProcess;
  url: string;
  /** Every JSON log line so far. */
  logs: Record<string, unknown>[];
}

/** Fills `<dataDir>/db` from the run's migrated snapshot: spares the child a first-start initdb. */
export async function seedMigratedDataDir(dataDir: string): Promise<void> {
  const seeded = await openDatabase(
    {
      backend: 'pglite',
      dataDir: path.join(dataDir, 'db'),
      loadFrom: pgliteSnapshot('migrated')
    },
    { logger: silentLogger }
  );
  await seeded.db.close();
}

/** The child's environment: embedded mode on `dataDir`, a port of its own, and `env`. */
export function sidecarProcessEnv(
  dataDir: string,
  env: Record<string, string> = {}
): NodeJS.ProcessEnv {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    INSIGHTER_DATA_DIR: dataDir,
    INSIGHTER_HOST: '127.0.0.1',
    INSIGHTER_API_PORT: '0',
    INSIGHTER_LOG_LEVEL: 'info',
    INSIGHTER_AUTH_RATE_LIMIT_PER_IP: '100000',
    INSIGHTER_AUTH_RATE_LIMIT_PER_EMAIL: '100000'
  };
  for (const name of [
    'INSIGHTER_PUBLIC_URL',
    'DATABASE_URL',
    'SUPABASE_URL',
    'INSIGHTER_SMTP_URL'
  ]) {
    delete childEnv[name];
  }
  return Object.assign(childEnv, env);
}

/** Starts src/main.ts in a child process and waits for "sidecar listening". */
export function startSidecarProcess(
  dataDir: string,
  env: Record<string, string> = {}
): Promise<SidecarProcess> {
  const childEnv = sidecarProcessEnv(dataDir, env);
  const proc = spawn(
    process.execPath,
    [path.join(__dirname, '..', 'auth', 'sidecar-child.js')],
    { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let stderr = '';
  proc.stderr!.on('data', chunk => (stderr += chunk));
  const logs: Record<string, unknown>[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`The sidecar did not start within 60 s: ${stderr}`));
    }, 60_000);
    proc.once('exit', code => {
      clearTimeout(timer);
      reject(
        new Error(`The sidecar exited (${code}) before listening: ${stderr}`)
      );
    });
    readline.createInterface({ input: proc.stdout! }).on('line', line => {
      let entry: { msg?: string; url?: string };
      try {
        entry = JSON.parse(line);
      } catch {
        return; // Not a log line.
      }
      logs.push(entry);
      if (entry.msg === 'sidecar listening' && entry.url) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        resolve({ process: proc, url: entry.url, logs });
      }
    });
  });
}

export function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise(resolve => proc.once('exit', () => resolve()));
}
