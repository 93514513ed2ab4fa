import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  acquireDataDirLock,
  DataDirLockedError
} from '../../src/db/data-dir-lock';
import { openDatabase } from '../../src/db/open';
import { createUser, pgliteSnapshot, silentLogger } from '../support/postgres';

/** The embedded database in a real folder: it persists, and one sidecar owns it. */
describe('PGlite in the data dir', () => {
  let root: string;
  let dataDir: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-data-'));
    dataDir = path.join(root, 'nested', 'db');
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  // Starting from the pristine snapshot skips initdb (≈ 5 s); the folder is real.
  const open = (loadFrom?: Blob) =>
    openDatabase(
      { backend: 'pglite', dataDir, loadFrom },
      { logger: silentLogger }
    );

  it('keeps committed data across a restart, and the restart applies no migration', async () => {
    const first = await open(pgliteSnapshot('pristine'));
    expect(first.migrations.applied.length).toBeGreaterThan(0);
    const user = await createUser(first.db, { fullName: 'Ada Lovelace' });
    await first.db.close();

    const second = await open();
    try {
      expect(second.migrations.applied).toEqual([]);
      const { rows } = await second.db.withClaims(user.claims, tx =>
        tx.query('select full_name from public.profiles where id = $1', [
          user.id
        ])
      );
      expect(rows).toEqual([{ full_name: 'Ada Lovelace' }]);
    } finally {
      await second.db.close();
    }
  });

  it('refuses a second open of the same folder while the first is open, then frees it', async () => {
    const first = await open(pgliteSnapshot('migrated'));
    const lockFile = `${dataDir}.lock`;
    expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(process.pid));
    await expect(open()).rejects.toThrow(
      `Another Insighter sidecar (pid ${process.pid}) is using ${dataDir}`
    );
    // The refused open changed nothing: the first still works.
    await expect(first.db.ping()).resolves.toBeUndefined();
    await first.db.close();
    expect(fs.existsSync(lockFile)).toBe(false);
    const again = await open();
    await again.db.close();
  });
});

describe('the data dir lock', () => {
  let root: string;
  let lockFile: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-lock-'));
    lockFile = path.join(root, 'db.lock');
  });

  afterEach(() => {
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('is refused while another live process holds it, naming that process', async () => {
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(lockFile, `${holder.pid}\n`);
      let error: unknown;
      try {
        acquireDataDirLock(lockFile, '/some/data/db');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(DataDirLockedError);
      expect((error as Error).message).toBe(
        `Another Insighter sidecar (pid ${holder.pid}) is using /some/data/db. ` +
          'Stop it first, or point INSIGHTER_DATA_DIR at another folder.'
      );
      expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(holder.pid));
    } finally {
      holder.kill();
    }
  });

  it('takes over a lock left by a process that is gone', () => {
    const gone = spawnSync('true');
    fs.writeFileSync(lockFile, `${gone.pid}\n`);
    const lock = acquireDataDirLock(lockFile, '/some/data/db');
    expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(process.pid));
    lock.release();
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it('takes over a lock whose pid now belongs to a process started after it was written', () => {
    // PIDs wrap (at 32768 here) and a restarted container hands out the same
    // ones again: a live process that started later is not the lock's owner.
    const later = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(lockFile, `${later.pid}\n`);
      const anHourAgo = new Date(Date.now() - 3_600_000);
      fs.utimesSync(lockFile, anHourAgo, anHourAgo);
      const lock = acquireDataDirLock(lockFile, '/some/data/db');
      expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(
        String(process.pid)
      );
      lock.release();
    } finally {
      later.kill();
    }
  });

  it('takes over an unreadable (half-written) lock', () => {
    fs.writeFileSync(lockFile, '');
    const lock = acquireDataDirLock(lockFile, '/some/data/db');
    expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });

  it('never removes a lock it does not hold', () => {
    const lock = acquireDataDirLock(lockFile, '/some/data/db');
    fs.writeFileSync(lockFile, '999999\n');
    lock.release();
    expect(fs.readFileSync(lockFile, 'utf8').trim()).toBe('999999');
  });
});
