import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * A throwaway PostgreSQL 15 cluster for the test run (Debian's
 * postgresql-15). Its server refuses to run as root, so as root the cluster
 * belongs to the `postgres` user.
 */
export const PG_BIN =
  process.env.INSIGHTER_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PgCluster {
  dir: string;
  port: number;
  url: string;
  stop(): void;
}

/**
 * `fsync: true` keeps PostgreSQL's own default (benchmarks that weigh what
 * durability costs); tests run without it, as nothing here outlives a run.
 */
export async function startPgCluster(
  options: { fsync?: boolean } = {}
): Promise<PgCluster> {
  if (!fs.existsSync(path.join(PG_BIN, 'initdb'))) {
    throw new Error(
      `PostgreSQL 15 is not installed (${PG_BIN}/initdb is missing): apt-get install -y postgresql-15, ` +
        'or set INSIGHTER_TEST_DATABASE_URL to a Postgres 15+ server the tests may create databases on.'
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-test-pg-'));
  const asRoot = process.getuid?.() === 0;
  const run = (bin: string, args: string[]) => {
    const [cmd, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args]]
      : [path.join(PG_BIN, bin), args];
    return execFileSync(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dir
    });
  };
  if (asRoot) {
    execFileSync('chown', ['postgres:postgres', dir]);
  }
  const data = path.join(dir, 'data');
  run('initdb', [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--no-sync'
  ]);
  const port = await freePort();
  run('pg_ctl', [
    '-D',
    data,
    '-l',
    path.join(dir, 'server.log'),
    '-w',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=${options.fsync ? 'on' : 'off'} -c max_connections=200`,
    'start'
  ]);
  let stopped = false;
  const stop = () => {
    if (stopped) {
      return;
    }
    stopped = true;
    const [cmd, argv] = asRoot
      ? [
          'runuser',
          [
            '-u',
            'postgres',
            '--',
            path.join(PG_BIN, 'pg_ctl'),
            '-D',
            data,
            '-m',
            'immediate',
            'stop'
          ]
        ]
      : [path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']];
    spawnSync(cmd, argv as string[], { stdio: 'ignore', cwd: '/' });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // Also when the run is interrupted before the teardown.
  process.once('exit', stop);
  return {
    dir,
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
