import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Client } from 'pg';
import {
  startLab,
  type RunningLab
} from '../../../extensions/app/test/support/lab';
import { PrivateNodeFS } from '../../src/db/private-nodefs';
import { LINK_TOKEN_PARAM } from '../../src/auth/service';
import { GERMAN_CREDIT } from '../jobs/harness';
import { PG_BIN } from '../support/pg-cluster';
import {
  BACKENDS,
  scratchPostgresDatabase,
  type ScratchDatabase
} from '../support/postgres';

/**
 * Security issue #12, part 2: "The embedded database's files come out mode
 * 0666 whatever the umask (969 files, incl. the WAL, `pg_hba.conf`,
 * `postgresql.conf`); `logs/sidecar.log` is 0644. As user `nobody`, a live
 * password-recovery link was grepped out of the WAL and used to take over
 * the account." Reproduced with a real start of Insighter Lab (the Jupyter
 * app, which supervises the sidecar) on each backend, over a data dir an
 * earlier version left open, in a folder others may pass through (like a
 * home folder): after a person, a project, an upload and a recovery mail,
 * nothing under the data dir is readable or writable by anyone else, what is
 * made later stays so, and neither the database, its WAL nor a dump holds a
 * usable link. (PGlite's own files: pglite-files below.)
 */
const SIDECAR_COMMAND = `${process.execPath} ${path.join(__dirname, '..', 'auth', 'sidecar-child.js')}`;
const PASSWORD = 'rec0very-test';

describe.each(BACKENDS)('the data dir on %s', backend => {
  let home: string;
  let dataDir: string;
  let database: ScratchDatabase | undefined;
  let lab: RunningLab;
  let api: string;
  let anonKey: string;
  let email: string;
  let token: string;
  let link: string;

  beforeAll(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error(
        'These tests run as root (as CI does): they act as the user nobody through runuser.'
      );
    }
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-home-'));
    fs.chmodSync(home, 0o755);
    dataDir = path.join(home, '.insighter');
    // What an earlier version left: folders, a log and a notebook open to all.
    for (const dir of ['', 'logs', 'settings', 'notebooks']) {
      fs.mkdirSync(path.join(dataDir, dir), { recursive: true });
      fs.chmodSync(path.join(dataDir, dir), 0o755);
    }
    for (const file of ['logs/sidecar.log', 'notebooks/old.ipynb']) {
      fs.writeFileSync(path.join(dataDir, file), '{}\n');
      fs.chmodSync(path.join(dataDir, file), 0o644);
    }
    database =
      backend === 'postgres' ? await scratchPostgresDatabase() : undefined;
    lab = await startLab({
      dataDir,
      token: null,
      sidecarCommand: SIDECAR_COMMAND,
      timeoutMs: 240_000,
      env: {
        DATABASE_URL: database?.url ?? '',
        INSIGHTER_AUTH_AUTOCONFIRM: 'true'
      }
    });
    api = `http://127.0.0.1:${lab.apiPort}`;
    anonKey = (await json(await fetch(`${api}/api/v1/config`)))
      .supabase_anon_key;

    // A real start's work: a person, a project, an upload, a recovery mail.
    email = `owner-${Date.now()}@example.com`;
    const owner = await signUpWithProject(email, 'Credit Risk');
    await upload(owner.bearer, owner.projectId, 'german_credit');
    await json(
      await fetch(`${api}/auth/v1/recover`, {
        method: 'POST',
        headers: { apikey: anonKey, 'content-type': 'application/json' },
        body: JSON.stringify({ email })
      })
    );
    // The mail catcher, as its owner reads it: through the Jupyter proxy.
    const outbox = await json(await lab.fetch('insighter/api/v1/outbox'));
    const mail = outbox.messages.find(
      (m: { to: string; purpose: string }) =>
        m.to === email && m.purpose === 'recovery'
    );
    link = (await json(await lab.fetch(`insighter/api/v1/outbox/${mail.id}`)))
      .link;
    token = new URL(link).searchParams.get(LINK_TOKEN_PARAM)!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  }, 300_000);

  afterAll(async () => {
    await lab?.stop();
    await database?.drop();
    if (home) {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  /** A new account (auto-confirmed) with a project of its own. */
  async function signUpWithProject(address: string, projectName: string) {
    const session = await json(
      await fetch(`${api}/auth/v1/signup`, {
        method: 'POST',
        headers: { apikey: anonKey, 'content-type': 'application/json' },
        body: JSON.stringify({
          email: address,
          password: PASSWORD,
          data: { full_name: 'Owner' }
        })
      })
    );
    const bearer = { authorization: `Bearer ${session.access_token}` };
    const project = await json(
      await fetch(`${api}/api/v1/projects`, {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'application/json' },
        body: JSON.stringify({ name: projectName })
      }),
      201
    );
    return { bearer, projectId: project.id as string };
  }

  async function upload(
    bearer: Record<string, string>,
    projectId: string,
    name: string
  ) {
    const query = new URLSearchParams({ project_id: projectId, name });
    return json(
      await fetch(`${api}/api/v1/datasets?${query}`, {
        method: 'POST',
        headers: { ...bearer, 'content-type': 'text/csv' },
        body: fs.readFileSync(GERMAN_CREDIT)
      }),
      201
    );
  }

  it('leaves nothing under the data dir readable or writable by another user', () => {
    const entries = walk(dataDir);
    expect(entries.length).toBeGreaterThan(backend === 'pglite' ? 900 : 20);
    expect(entries.filter(e => e.mode & 0o077)).toEqual([]);
    expect(modeOf(dataDir)).toBe(0o700);
    expect(modeOf(path.join(dataDir, 'logs', 'sidecar.log'))).toBe(0o600);
    expect(modeOf(path.join(dataDir, 'notebooks', 'old.ipynb'))).toBe(0o600);
    expect(modeOf(path.join(dataDir, 'secrets', 'outbox-key'))).toBe(0o600);
    if (backend === 'pglite') {
      for (const file of ['postgresql.conf', 'pg_hba.conf', 'pg_wal']) {
        expect(modeOf(path.join(dataDir, 'db', file)) & 0o077).toBe(0);
      }
    }
    // As nobody: not one path can be read, written or even listed.
    expect(
      asNobody(
        'import os, sys\n' +
          'for p in sys.stdin.read().split("\\0"):\n' +
          '    if p and os.access(p, os.R_OK) or p and os.access(p, os.W_OK):\n' +
          '        print(p)',
        entries.map(e => e.path).join('\0')
      ).stdout
    ).toBe('');
  });

  it('keeps what is written after the start private', async () => {
    const since = Date.now() - 1000;
    const later = await signUpWithProject(
      `later-${Date.now()}@example.com`,
      'Later Project'
    );
    for (let i = 0; i < 3; i++) {
      await upload(later.bearer, later.projectId, `later-${i}`);
    }
    const written = walk(dataDir).filter(e => e.mtimeMs >= since);
    expect(written.length).toBeGreaterThan(backend === 'pglite' ? 10 : 3);
    expect(written.filter(e => e.mode & 0o077)).toEqual([]);
  });

  it('keeps no usable recovery link in the database, its WAL or a dump, while the mail still gives it to its owner', async () => {
    const hash = createHash('sha256').update(token).digest('hex');
    if (backend === 'pglite') {
      // The database's files, WAL included, hold the token's hash only.
      const files = walk(path.join(dataDir, 'db')).filter(e => e.file);
      expect(files.filter(e => contains(e.path, token))).toEqual([]);
      expect(files.some(e => contains(e.path, hash))).toBe(true);
    } else {
      const admin = new Client({
        connectionString: process.env.INSIGHTER_TEST_DATABASE_URL
      });
      await admin.connect();
      const cluster = (
        await admin.query<{ dir: string }>(
          "select current_setting('data_directory') as dir"
        )
      ).rows[0].dir;
      await admin.end();
      const wal = walk(path.join(cluster, 'pg_wal')).filter(e => e.file);
      expect(wal.length).toBeGreaterThan(0);
      expect(wal.filter(e => contains(e.path, token))).toEqual([]);
      const dump = execFileSync(
        path.join(PG_BIN, 'pg_dump'),
        ['--dbname', database!.url],
        { maxBuffer: 256 * 1024 * 1024 }
      ).toString();
      expect(dump).not.toContain(token);
      expect(dump).toContain(hash);
    }
    // Nor anywhere else under the data dir (logs, storage, spools).
    const all = walk(dataDir).filter(e => e.file);
    expect(all.filter(e => contains(e.path, token))).toEqual([]);
    // The attack, as it was done: nobody greps the data dir for links.
    const grep = spawnSync(
      'runuser',
      ['-u', 'nobody', '--', 'grep', '-r', '-a', '-l', `${LINK_TOKEN_PARAM}=`, dataDir],
      { encoding: 'utf8' }
    );
    expect(grep.stdout).toBe('');
    expect(grep.stderr).toMatch(/Permission denied/);

    // The owner's mail still works, once.
    const followed = await fetch(link, { redirect: 'manual' });
    expect(followed.status).toBe(303);
    expect(followed.headers.get('location')).toMatch(/#access_token=/);
    const again = await fetch(link, { redirect: 'manual' });
    expect(again.headers.get('location')).toMatch(/error_code=otp_expired/);
  });
});

interface Entry {
  path: string;
  mode: number;
  file: boolean;
  mtimeMs: number;
}

/** Every folder and file under `dir` (itself included), as root sees them; links not followed. */
function walk(dir: string): Entry[] {
  const entries: Entry[] = [];
  const visit = (p: string) => {
    const stat = fs.lstatSync(p);
    if (stat.isSymbolicLink()) {
      return;
    }
    entries.push({
      path: p,
      mode: stat.mode & 0o7777,
      file: stat.isFile(),
      mtimeMs: stat.mtimeMs
    });
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(p)) {
        visit(path.join(p, name));
      }
    }
  };
  visit(dir);
  return entries;
}

function modeOf(p: string): number {
  return fs.statSync(p).mode & 0o777;
}

function contains(file: string, text: string): boolean {
  return fs.readFileSync(file).includes(text);
}

function asNobody(script: string, input: string) {
  const result = spawnSync(
    'runuser',
    ['-u', 'nobody', '--', '/usr/bin/python3', '-c', script],
    { input, encoding: 'utf8' }
  );
  if (result.status !== 0) {
    throw new Error(`runuser failed: ${result.stderr}`);
  }
  return result;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function json(res: Response, status = 200): Promise<any> {
  const text = await res.text();
  if (res.status !== status) {
    throw new Error(`${res.url}: ${res.status} ${text}`);
  }
  return text ? JSON.parse(text) : undefined;
}

describe("PGlite's files (db/private-nodefs.ts)", () => {
  it('are 0600 in 0700 folders from initdb on, WAL segments made later included, whatever the umask', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-pglite-'));
    const umask = process.umask(0o022);
    try {
      const db = new PGlite({ fs: new PrivateNodeFS(path.join(dir, 'db')) });
      await db.waitReady;
      const initial = new Set(walk(dir).map(e => e.path));
      await db.exec('create table later (note text)');
      for (let i = 0; i < 2; i++) {
        await db.exec(
          "insert into later select repeat('x', 1000) from generate_series(1, 20000)"
        );
        await db.exec('select pg_switch_wal(); checkpoint');
      }
      await db.close();
      const entries = walk(dir);
      const made = entries.filter(e => !initial.has(e.path));
      expect(
        made.filter(e => e.path.includes('pg_wal')).length
      ).toBeGreaterThan(0);
      expect(entries.filter(e => e.mode & 0o077)).toEqual([]);
      expect(
        entries
          .filter(e => e.path !== dir)
          .map(e => (e.file ? e.mode === 0o600 : e.mode === 0o700))
      ).not.toContain(false);
    } finally {
      process.umask(umask);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
