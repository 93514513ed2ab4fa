import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import {
  InvalidTokenError,
  jwksTokenVerifier,
  secretTokenVerifier
} from '../../src/auth/token-verifier';
import { errorHandler } from '../../src/http/errors';
import { requireUser } from '../../src/http/require-user';
import { silentLogger } from '../support/postgres';

const secret = new TextEncoder().encode(
  'a-test-secret-that-is-long-enough-0123456789'
);
const userId = '9b2f4c1e-2222-4333-8444-955555555555';

function userToken(
  claims: Record<string, unknown> = {},
  key: Uint8Array = secret
) {
  return new SignJWT({ role: 'authenticated', aud: 'authenticated', ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(key);
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('secretTokenVerifier', () => {
  const verifier = secretTokenVerifier(secret);

  it('accepts a token signed with the secret and returns its claims', async () => {
    await expect(
      verifier.verify(await userToken({ email: 'a@example.com' }))
    ).resolves.toMatchObject({
      sub: userId,
      role: 'authenticated',
      email: 'a@example.com'
    });
  });

  it.each([
    [
      'another secret',
      async () => userToken({}, new TextEncoder().encode('x'.repeat(40)))
    ],
    [
      'an expired token',
      async () =>
        new SignJWT({ role: 'authenticated' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(userId)
          .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
          .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
          .sign(secret)
    ],
    [
      'alg none',
      async () =>
        `${b64({ alg: 'none' })}.${b64({ sub: userId, role: 'authenticated', exp: 9999999999 })}.`
    ],
    [
      'HS512',
      async () =>
        new SignJWT({ role: 'authenticated' })
          .setProtectedHeader({ alg: 'HS512' })
          .setExpirationTime('1h')
          .sign(secret)
    ],
    [
      'no expiry',
      async () =>
        new SignJWT({ role: 'authenticated' })
          .setProtectedHeader({ alg: 'HS256' })
          .sign(secret)
    ],
    ['an unknown role', async () => userToken({ role: 'postgres' })],
    ['garbage', async () => 'garbage'],
    [
      'a changed payload',
      async () => {
        const [h, , s] = (await userToken()).split('.');
        return `${h}.${b64({ sub: userId, role: 'service_role', exp: 9999999999 })}.${s}`;
      }
    ]
  ])('refuses %s', async (_what, make) => {
    const err = await verifier.verify(await make()).catch(e => e);
    expect(err).toBeInstanceOf(InvalidTokenError);
    expect(err.code).toBe('bad_jwt');
    expect(err.message).toMatch(/^invalid JWT/);
  });
});

describe('jwksTokenVerifier (a hosted project with signing keys)', () => {
  let server: http.Server;
  let url: string;
  let privateKey: KeyLike;

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    const jwk = {
      ...(await exportJWK(pair.publicKey)),
      kid: 'key-1',
      alg: 'ES256',
      use: 'sig'
    };
    server = http.createServer((req, res) => {
      if (req.url === '/auth/v1/.well-known/jwks.json') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [jwk] }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));

  it('accepts the project’s ES256 tokens and refuses HS256 and foreign keys', async () => {
    const verifier = jwksTokenVerifier(url);
    const token = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'ES256', kid: 'key-1' })
      .setSubject(userId)
      .setExpirationTime('1h')
      .sign(privateKey);
    await expect(verifier.verify(token)).resolves.toMatchObject({
      sub: userId
    });

    await expect(verifier.verify(await userToken())).rejects.toBeInstanceOf(
      InvalidTokenError
    );
    const stranger = await generateKeyPair('ES256');
    const foreign = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'ES256', kid: 'key-1' })
      .setExpirationTime('1h')
      .sign(stranger.privateKey);
    await expect(verifier.verify(foreign)).rejects.toBeInstanceOf(
      InvalidTokenError
    );
  });
});

describe('requireUser', () => {
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    const app = express();
    app.get('/me', requireUser(secretTokenVerifier(secret)), (req, res) => {
      res.json({ user: req.user, hasToken: Boolean(req.accessToken) });
    });
    app.use(errorHandler(silentLogger));
    server = http.createServer(app);
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>(resolve => server.close(() => resolve())));

  const me = async (authorization?: string) => {
    const res = await fetch(`${url}/me`, {
      headers: authorization ? { authorization } : {}
    });
    return {
      status: res.status,
      body: (await res.json()) as Record<string, any>
    };
  };

  it('puts the verified claims on req.user', async () => {
    const { status, body } = await me(
      `Bearer ${await userToken({ email: 'b@example.com' })}`
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({
      user: { sub: userId, role: 'authenticated', email: 'b@example.com' },
      hasToken: true
    });
  });

  it('answers 401 with a clear message without a bearer token', async () => {
    for (const header of [
      undefined,
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer a b'
    ]) {
      const { status, body } = await me(header);
      expect(status).toBe(401);
      expect(body.error.code).toBe('unauthorized');
      expect(body.error.message).toMatch(/Authorization: Bearer/);
    }
  });

  it('answers 401 bad_jwt for a forged or expired token', async () => {
    const forged = await userToken(
      {},
      new TextEncoder().encode('f'.repeat(44))
    );
    const { status, body } = await me(`Bearer ${forged}`);
    expect(status).toBe(401);
    expect(body.error).toEqual({
      code: 'bad_jwt',
      message: 'Your session is not valid or has expired: sign in again.'
    });
  });

  it('refuses API keys (anon, service_role): they are not a signed-in user', async () => {
    for (const role of ['anon', 'service_role']) {
      const key = await new SignJWT({ role, iss: 'supabase' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(secret);
      const { status, body } = await me(`Bearer ${key}`);
      expect(status).toBe(401);
      expect(body.error.message).toMatch(/not an API key/);
    }
  });
});
