import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createClient } from '@supabase/supabase-js';
import { loadConfig } from '../../src/config';
import { startSidecar, type RunningSidecar } from '../../src/server';
import {
  scratchPostgresDatabase,
  silentLogger,
  type ScratchDatabase
} from '../support/postgres';

/**
 * The whole sidecar as `npm start` runs it: the database opened and migrated
 * at start, its health in /api/v1/status, embedded auth and /api/v1/teams on
 * top — people sign up with supabase-js, confirm from the outbox, and an
 * invitation is accepted when the invitee confirms.
 */
function sidecarEnv(dataDir: string, extra: Record<string, string> = {}) {
  return loadConfig({
    INSIGHTER_HOST: '127.0.0.1',
    INSIGHTER_API_PORT: '0',
    INSIGHTER_DATA_DIR: dataDir,
    INSIGHTER_LOG_LEVEL: 'silent',
    ...extra
  });
}

async function json(res: Response) {
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

describe('the sidecar on PostgreSQL (DATABASE_URL)', () => {
  let dataDir: string;
  let scratch: ScratchDatabase;
  let sidecar: RunningSidecar;
  let anonKey: string;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-sidecar-'));
    scratch = await scratchPostgresDatabase();
    sidecar = await startSidecar(
      sidecarEnv(dataDir, { DATABASE_URL: scratch.url }),
      silentLogger
    );
    anonKey = (await json(await fetch(`${sidecar.url}/api/v1/config`))).body
      .supabase_anon_key;
  });

  afterAll(async () => {
    await sidecar?.close();
    await scratch?.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const client = () =>
    createClient(sidecar.url, anonKey, {
      auth: {
        persistSession: false,
        autoRefreshToken: false,
        detectSessionInUrl: false
      }
    });

  /** Signs up, confirms from the outbox and signs in; returns the access token. */
  async function signUp(email: string, fullName: string): Promise<string> {
    const supabase = client();
    const password = 'correct-horse-42';
    const { error } = await supabase.auth.signUp({
      email,
      password,
      options: { data: { full_name: fullName } }
    });
    expect(error).toBeNull();
    const { body } = await json(await fetch(`${sidecar.url}/api/v1/outbox`));
    const mail = body.messages.find((m: { to: string }) => m.to === email);
    const confirmed = await fetch(mail.link, { redirect: 'manual' });
    expect(confirmed.status).toBe(303);
    const signIn = await supabase.auth.signInWithPassword({ email, password });
    expect(signIn.error).toBeNull();
    return signIn.data.session!.access_token;
  }

  const api = async (
    token: string | null,
    method: string,
    pathname: string,
    body?: unknown
  ) =>
    json(
      await fetch(`${sidecar.url}${pathname}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body ? { 'content-type': 'application/json' } : {})
        },
        body: body ? JSON.stringify(body) : undefined
      })
    );

  it('reports the database as ok, on postgres', async () => {
    // The details are for signed-in callers.
    const token = await signUp(
      `status.${Date.now()}@example.com`,
      'Stella Status'
    );
    const { body } = await api(token, 'GET', '/api/v1/status');
    expect(body.components.database).toMatchObject({
      state: 'ok',
      backend: 'postgres',
      latency_ms: expect.any(Number)
    });
    expect(body.components.database.detail).not.toContain('postgres@');
  });

  it('serves /api/v1/teams to signed-in people only', async () => {
    expect((await api(null, 'GET', '/api/v1/teams')).status).toBe(401);
  });

  it('lets an invitee in once they confirm their sign-up', async () => {
    const ownerToken = await signUp(
      `owner.${Date.now()}@example.com`,
      'Olivia Owner'
    );
    const created = await api(ownerToken, 'POST', '/api/v1/teams', {
      name: 'Research'
    });
    expect(created.status).toBe(201);
    const inviteeEmail = `invitee.${Date.now()}@example.com`;
    const invited = await api(
      ownerToken,
      'POST',
      `/api/v1/teams/${created.body.id}/invitations`,
      {
        email: inviteeEmail,
        role: 'member'
      }
    );
    expect(invited.status).toBe(201);

    const inviteeToken = await signUp(inviteeEmail, 'Ian Invitee');
    const teams = await api(inviteeToken, 'GET', '/api/v1/teams');
    expect(teams.body.teams).toEqual([
      expect.objectContaining({
        id: created.body.id,
        name: 'Research',
        role: 'member',
        member_count: 2
      })
    ]);
    const members = await api(
      ownerToken,
      'GET',
      `/api/v1/teams/${created.body.id}/members`
    );
    expect(
      members.body.members.map((m: { full_name: string; role: string }) => [
        m.full_name,
        m.role
      ])
    ).toEqual([
      ['Olivia Owner', 'owner'],
      ['Ian Invitee', 'member']
    ]);
  });
});

describe('the sidecar on its embedded database (PGlite in the data dir)', () => {
  it('creates the database on first start, reports it ok, and refuses a second sidecar on the same folder', async () => {
    const dataDir = fs.mkdtempSync(
      path.join(os.tmpdir(), 'insighter-sidecar-')
    );
    const proxySecret = 'jupyter-proxy-secret-0123456789';
    const config = sidecarEnv(dataDir, { INSIGHTER_PROXY_SECRET: proxySecret });
    const sidecar = await startSidecar(config, silentLogger);
    try {
      // As the lab's status bar asks, through the Jupyter proxy.
      const { body } = await json(
        await fetch(`${sidecar.url}/api/v1/status`, {
          headers: { 'x-insighter-proxy-secret': proxySecret }
        })
      );
      expect(body.components.database).toMatchObject({
        state: 'ok',
        backend: 'pglite',
        detail: `PGlite in ${path.join(dataDir, 'db')}`
      });
      await expect(startSidecar(config, silentLogger)).rejects.toThrow(
        `Another Insighter sidecar (pid ${process.pid}) is using ${path.join(dataDir, 'db')}`
      );
    } finally {
      await sidecar.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
