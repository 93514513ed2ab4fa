import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DiskObjectStore } from '../../src/storage/disk-store';
import { storageHealthCheck } from '../../src/storage/health';
import { BACKENDS } from '../support/postgres';
import { startStorageTestServer, type StorageTestServer } from './harness';

/**
 * What a killed sidecar leaves behind is cleaned at the next start (temp
 * files and files without a row, once they are a few minutes old), and the
 * status bar's storage light tells whether objects can be written.
 */
describe.each(BACKENDS)('storage upkeep on %s', backend => {
  let t: StorageTestServer;

  beforeAll(async () => {
    t = await startStorageTestServer({ backend });
    await t.storage.swept;
  });

  afterAll(async () => {
    await t?.close();
  });

  const root = () => t.storage.store.root;
  const place = (relative: string, ageMs: number) => {
    const file = path.join(root(), relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'leftover');
    const when = new Date(Date.now() - ageMs);
    fs.utimesSync(file, when, when);
    return file;
  };

  it('removes old temp files and files without a row; keeps young ones and real objects', async () => {
    const person = await t.person();
    const key = `${person.id}/${randomUUID()}/kept.csv`;
    const upload = await person.client.storage
      .from('uploads')
      .upload(key, Buffer.from('real'));
    expect(upload.error).toBeNull();
    const real = path.join(root(), 'uploads', ...key.split('/'));
    const hour = 60 * 60 * 1000;
    fs.utimesSync(
      real,
      new Date(Date.now() - hour),
      new Date(Date.now() - hour)
    );

    const oldTemp = place(`.tmp/${randomUUID()}.part`, hour);
    const youngTemp = place(`.tmp/${randomUUID()}.part`, 0);
    const orphanDir = `uploads/${person.id}/${randomUUID()}`;
    const orphan = place(`${orphanDir}/orphan.csv`, hour);
    const youngOrphan = place(
      `uploads/${person.id}/${randomUUID()}/in-flight.csv`,
      0
    );

    expect(await t.storage.service.sweepOrphans()).toEqual({
      tempFiles: 1,
      orphans: 1
    });
    expect(fs.existsSync(oldTemp)).toBe(false);
    expect(fs.existsSync(orphan)).toBe(false);
    expect(fs.existsSync(path.join(root(), orphanDir))).toBe(false);
    expect(fs.existsSync(youngTemp)).toBe(true);
    expect(fs.existsSync(youngOrphan)).toBe(true);
    expect(fs.readFileSync(real, 'utf8')).toBe('real');
    fs.rmSync(youngTemp);
  });

  it('reports storage ok on disk with the free space in /api/v1/status', async () => {
    // The details are for signed-in callers.
    const person = await t.person();
    const res = await fetch(`${t.url}/api/v1/status`, {
      headers: { authorization: `Bearer ${person.token}` }
    });
    const body = (await res.json()) as {
      components: Record<
        string,
        { state: string; backend: string; detail: string }
      >;
    };
    expect(body.components.storage).toMatchObject({
      state: 'ok',
      backend: 'disk'
    });
    expect(body.components.storage.detail).toMatch(
      / (B|KiB|MiB|GiB|TiB) free\.$/
    );
  });
});

describe('the storage health check', () => {
  it('is down, with the reason, when the object folder cannot be written', async () => {
    const blocker = path.join(
      fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-storage-')),
      'file'
    );
    fs.writeFileSync(blocker, 'not a folder');
    const health = await storageHealthCheck(
      new DiskObjectStore(path.join(blocker, 'storage'))
    ).check();
    expect(health).toMatchObject({ state: 'down', backend: 'disk' });
    expect(health.detail).toMatch(/cannot be written: .*(ENOTDIR|ENOENT)/);
    fs.rmSync(path.dirname(blocker), { recursive: true, force: true });
  });
});
