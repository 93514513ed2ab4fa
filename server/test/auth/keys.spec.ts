import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jwtVerify } from 'jose';
import { loadJwtKeys, loadOrCreateJwtSecret } from '../../src/auth/keys';

describe('the embedded JWT secret', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-keys-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('is generated once, random, in a 0600 file under secrets/', async () => {
    const secret = await loadOrCreateJwtSecret(dataDir);
    expect(secret.length).toBeGreaterThanOrEqual(64);
    const file = path.join(dataDir, 'secrets', 'jwt-secret');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(await loadOrCreateJwtSecret(dataDir)).toBe(secret);
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-keys-'));
    expect(await loadOrCreateJwtSecret(other)).not.toBe(secret);
    fs.rmSync(other, { recursive: true });
  });

  it('is the same for processes racing on a fresh data dir, with no temp files left', async () => {
    const secrets = await Promise.all(
      Array.from({ length: 8 }, () => loadOrCreateJwtSecret(dataDir))
    );
    expect(new Set(secrets).size).toBe(1);
    expect(fs.readdirSync(path.join(dataDir, 'secrets'))).toEqual([
      'jwt-secret'
    ]);
  });

  it('refuses a secret that is too short instead of signing with it', async () => {
    fs.mkdirSync(path.join(dataDir, 'secrets'));
    fs.writeFileSync(path.join(dataDir, 'secrets', 'jwt-secret'), 'short\n');
    await expect(loadOrCreateJwtSecret(dataDir)).rejects.toThrow(
      /shorter than 32/
    );
  });

  it('signs long-lived anon and service_role keys, the same on every load', async () => {
    const keys = await loadJwtKeys(dataDir);
    const anon = await jwtVerify(keys.anonKey, keys.secret, {
      algorithms: ['HS256']
    });
    const service = await jwtVerify(keys.serviceRoleKey, keys.secret, {
      algorithms: ['HS256']
    });
    expect(anon.payload).toMatchObject({ role: 'anon', iss: 'supabase' });
    expect(service.payload).toMatchObject({
      role: 'service_role',
      iss: 'supabase'
    });
    expect((await loadJwtKeys(dataDir)).anonKey).toBe(keys.anonKey);
  });
});
