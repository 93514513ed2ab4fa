import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { jwtVerify, SignJWT } from 'jose';
import { createApp } from '../../src/app';
import { createAuth } from '../../src/auth';
import { loadConfig } from '../../src/config';
import { StatusService } from '../../src/services/status';
import { silentLogger } from '../support/postgres';
import {
  GOOD_PASSWORD,
  startAuthTestServer,
  uniqueEmail,
  type AuthTestServer
} from './support';

describe('GET /api/v1/config in embedded mode', () => {
  let t: AuthTestServer;
  beforeAll(async () => {
    t = await startAuthTestServer();
  });
  afterAll(() => t?.close());

  it('publishes the URL and anon key supabase-js needs, like a Supabase project', async () => {
    const res = await fetch(`${t.url}/api/v1/config`);
    expect(res.status).toBe(200);
    const config = (await res.json()) as Record<string, unknown>;
    expect(config).toEqual({
      supabase_url: t.url,
      supabase_anon_key: expect.any(String),
      mode: 'embedded',
      autoconfirm: false
    });
    const { payload, protectedHeader } = await jwtVerify(
      config.supabase_anon_key as string,
      secretOf(t)
    );
    expect(protectedHeader.alg).toBe('HS256');
    expect(payload).toMatchObject({ role: 'anon', iss: 'supabase' });
    expect(payload.exp! - payload.iat!).toBeGreaterThan(5 * 365 * 24 * 3600);
  });

  it('keeps the same keys across restarts on one data dir', async () => {
    const again = await createAuth({
      config: t.config.auth,
      dataDir: t.dataDir,
      publicUrl: () => t.url,
      logger: silentLogger,
      db: t.db
    });
    expect(again.publicConfig().supabase_anon_key).toBe(t.anonKey);
    expect(again.apiKeys).toEqual(t.auth.apiKeys);
  });
});

describe('GET /api/v1/config names a URL the asker can use', () => {
  const secret = 'proxy-secret-0123456789abcdef';
  const fromTheLab = {
    'x-insighter-proxy-secret': secret,
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'hub.example.org',
    'x-forwarded-prefix': '/user/ada/insighter'
  };
  const advertised = async (
    t: AuthTestServer,
    headers: Record<string, string> = {},
    origin = t.url
  ) =>
    (
      (await (await fetch(`${origin}/api/v1/config`, { headers })).json()) as {
        supabase_url: string;
      }
    ).supabase_url;

  describe('without INSIGHTER_PUBLIC_URL', () => {
    let t: AuthTestServer;
    beforeAll(async () => {
      t = await startAuthTestServer({
        env: {
          INSIGHTER_PROXY_SECRET: secret,
          INSIGHTER_PROXY_URL: 'http://127.0.0.1:8888/insighter'
        }
      });
    });
    afterAll(() => t?.close());

    it("gives a script on the sidecar's own port that port, under the name it used", async () => {
      expect(await advertised(t)).toBe(t.url);
      const port = new URL(t.url).port;
      expect(await advertised(t, {}, `http://localhost:${port}`)).toBe(
        `http://localhost:${port}`
      );
    });

    it('gives the browser in the lab the Jupyter proxy as it reached it', async () => {
      expect(await advertised(t, fromTheLab)).toBe(
        'https://hub.example.org/user/ada/insighter'
      );
      // A lab request that does not say where it came from: the proxy's own URL.
      expect(await advertised(t, { 'x-insighter-proxy-secret': secret })).toBe(
        'http://127.0.0.1:8888/insighter'
      );
    });

    it('takes no forwarding headers from anyone without the secret', async () => {
      const { 'x-insighter-proxy-secret': _, ...forged } = fromTheLab;
      expect(await advertised(t, forged)).toBe(t.url);
      expect(
        await advertised(t, { ...fromTheLab, 'x-insighter-proxy-secret': 'no' })
      ).toBe(t.url);
    });

    it('ignores a forwarded prefix or host that is not a plain path or host name', async () => {
      expect(
        await advertised(t, {
          ...fromTheLab,
          'x-forwarded-host': 'evil.example/path',
          'x-forwarded-prefix': '//evil.example'
        })
      ).toBe(`https://127.0.0.1:${new URL(t.url).port}`);
    });
  });

  describe('with INSIGHTER_PUBLIC_URL', () => {
    let t: AuthTestServer;
    beforeAll(async () => {
      t = await startAuthTestServer({
        env: {
          INSIGHTER_PROXY_SECRET: secret,
          INSIGHTER_PUBLIC_URL: 'https://insighter.example.org/api/'
        }
      });
    });
    afterAll(() => t?.close());

    it('gives everyone outside the lab the configured URL, and the lab its proxy', async () => {
      expect(await advertised(t)).toBe('https://insighter.example.org/api');
      expect(await advertised(t, fromTheLab)).toBe(
        'https://hub.example.org/user/ada/insighter'
      );
      // A lab request that does not say where it came from, and no proxy URL known.
      expect(await advertised(t, { 'x-insighter-proxy-secret': secret })).toBe(
        'https://insighter.example.org/api'
      );
    });
  });

  it('sends mail links to the configured URL, else the Jupyter proxy, else the sidecar itself', () => {
    const env = { INSIGHTER_HOST: '127.0.0.1', INSIGHTER_API_PORT: '8000' };
    const proxy = 'http://127.0.0.1:8888/insighter';
    const own = loadConfig(env);
    expect([own.publicUrl, own.linkUrl]).toEqual([
      'http://127.0.0.1:8000',
      'http://127.0.0.1:8000'
    ]);
    const lab = loadConfig({ ...env, INSIGHTER_PROXY_URL: proxy });
    expect([lab.publicUrl, lab.linkUrl, lab.proxyUrl]).toEqual([
      'http://127.0.0.1:8000',
      proxy,
      proxy
    ]);
    const configured = loadConfig({
      ...env,
      INSIGHTER_PROXY_URL: proxy,
      INSIGHTER_PUBLIC_URL: 'https://insighter.example.org'
    });
    expect([configured.publicUrl, configured.linkUrl]).toEqual([
      'https://insighter.example.org',
      'https://insighter.example.org'
    ]);
  });
});

describe('the outbox', () => {
  const secret = 'proxy-secret-0123456789abcdef';
  let t: AuthTestServer;
  beforeAll(async () => {
    t = await startAuthTestServer({ env: { INSIGHTER_PROXY_SECRET: secret } });
  });
  afterAll(() => t?.close());

  const get = (pathname: string, headers: Record<string, string> = {}) =>
    fetch(`${t.url}${pathname}`, { headers });

  it('is readable only with the proxy secret when one is configured', async () => {
    expect((await get('/api/v1/outbox')).status).toBe(403);
    const wrong = await get('/api/v1/outbox', {
      'x-insighter-proxy-secret': 'nope'
    });
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({
      error: { message: expect.stringMatching(/Jupyter/) }
    });
    const right = await get('/api/v1/outbox', {
      'x-insighter-proxy-secret': secret
    });
    expect(right.status).toBe(200);
  });

  it('lists newest first and shows each mail in full', async () => {
    const emails = [uniqueEmail('first'), uniqueEmail('second')];
    for (const email of emails) {
      await t.client().auth.signUp({
        email,
        password: GOOD_PASSWORD,
        options: { data: { full_name: 'Mail <Reader>' } }
      });
    }
    const headers = { 'x-insighter-proxy-secret': secret };
    const list = (await (await get('/api/v1/outbox', headers)).json()) as {
      messages: Array<Record<string, unknown>>;
    };
    expect(list.messages.map(m => m.to).slice(0, 2)).toEqual([
      emails[1],
      emails[0]
    ]);
    expect(list.messages[0]).not.toHaveProperty('html');
    const id = list.messages[0].id as string;
    const mail = (await (
      await get(`/api/v1/outbox/${id}`, headers)
    ).json()) as Record<string, string>;
    expect(mail).toMatchObject({
      id,
      to: emails[1],
      purpose: 'signup',
      subject: 'Confirm your Insighter account',
      status: 'stored'
    });
    expect(mail.text).toContain(mail.link);
    expect(mail.html).toContain('Mail &lt;Reader&gt;');
    expect(mail.html).toContain(mail.link.replace(/&/g, '&amp;'));

    const limited = (await (
      await get('/api/v1/outbox?limit=1', headers)
    ).json()) as {
      messages: unknown[];
    };
    expect(limited.messages).toHaveLength(1);
    expect(
      (
        await get(
          '/api/v1/outbox/00000000-0000-4000-8000-000000000000',
          headers
        )
      ).status
    ).toBe(404);
    expect((await get('/api/v1/outbox/not-a-uuid', headers)).status).toBe(400);
    expect((await get('/api/v1/outbox?limit=0', headers)).status).toBe(400);
  });
});

describe('the outbox without a proxy secret', () => {
  let t: AuthTestServer;
  beforeAll(async () => {
    t = await startAuthTestServer();
  });
  afterAll(() => t?.close());

  it('serves loopback clients, but not a remote client forwarded by a local proxy', async () => {
    expect((await fetch(`${t.url}/api/v1/outbox`)).status).toBe(200);
    const forwarded = await fetch(`${t.url}/api/v1/outbox`, {
      headers: { 'x-forwarded-for': '203.0.113.7' }
    });
    expect(forwarded.status).toBe(403);
  });
});

describe('hosted mode (SUPABASE_URL)', () => {
  const jwtSecret = 'hosted-project-jwt-secret-with-32-chars!!';
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    const config = loadConfig({
      INSIGHTER_LOG_LEVEL: 'silent',
      INSIGHTER_DATA_DIR: '/nonexistent-never-written',
      SUPABASE_URL: 'https://project-ref.supabase.co/',
      SUPABASE_ANON_KEY: 'hosted-anon-key-0123456789',
      SUPABASE_SERVICE_ROLE_KEY: 'hosted-service-key-0123456789',
      SUPABASE_JWT_SECRET: jwtSecret
    });
    const auth = await createAuth({
      config: config.auth,
      dataDir: config.dataDir,
      publicUrl: () => config.publicUrl,
      logger: silentLogger
    });
    server = http.createServer(
      createApp({
        config,
        logger: silentLogger,
        status: new StatusService([], 'test'),
        auth
      })
    );
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));

  it('points clients at the Supabase project', async () => {
    expect(await (await fetch(`${url}/api/v1/config`)).json()).toEqual({
      supabase_url: 'https://project-ref.supabase.co',
      supabase_anon_key: 'hosted-anon-key-0123456789',
      mode: 'hosted',
      autoconfirm: null
    });
  });

  it('serves no /auth/v1 and no outbox of its own', async () => {
    expect((await fetch(`${url}/auth/v1/settings`)).status).toBe(404);
    const outbox = await fetch(`${url}/api/v1/outbox`);
    expect(outbox.status).toBe(404);
    expect(await outbox.json()).toMatchObject({
      error: { message: expect.stringMatching(/hosted Supabase/) }
    });
  });

  it('refuses SUPABASE_URL without its keys', () => {
    expect(() => loadConfig({ SUPABASE_URL: 'https://x.supabase.co' })).toThrow(
      /SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY/
    );
  });

  it('verifies the project’s tokens with SUPABASE_JWT_SECRET', async () => {
    const config = loadConfig({
      SUPABASE_URL: 'https://project-ref.supabase.co',
      SUPABASE_ANON_KEY: 'hosted-anon-key-0123456789',
      SUPABASE_SERVICE_ROLE_KEY: 'hosted-service-key-0123456789',
      SUPABASE_JWT_SECRET: jwtSecret
    });
    const auth = await createAuth({
      config: config.auth,
      dataDir: config.dataDir,
      publicUrl: () => config.publicUrl,
      logger: silentLogger
    });
    const signed = (issuer: string) =>
      new SignJWT({ role: 'authenticated', aud: 'authenticated' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuer(issuer)
        .setSubject('3f7c1a56-1111-4222-8333-944444444444')
        .setExpirationTime('1h')
        .sign(new TextEncoder().encode(jwtSecret));
    // As the project's GoTrue issues them: `iss` is <SUPABASE_URL>/auth/v1.
    const token = await signed('https://project-ref.supabase.co/auth/v1');
    await expect(auth.verifier.verify(token)).resolves.toMatchObject({
      sub: '3f7c1a56-1111-4222-8333-944444444444',
      role: 'authenticated'
    });
    await expect(
      auth.verifier.verify(
        await signed('https://other-ref.supabase.co/auth/v1')
      )
    ).rejects.toThrow(/another auth server/);
    const foreign = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-projects-secret-32-chars!!'));
    await expect(auth.verifier.verify(foreign)).rejects.toThrow(/signature/);
  });
});

function secretOf(t: AuthTestServer): Uint8Array {
  const text = fs.readFileSync(
    path.join(t.dataDir, 'secrets', 'jwt-secret'),
    'utf8'
  );
  return new TextEncoder().encode(text.trim());
}
