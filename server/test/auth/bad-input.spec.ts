import fs from 'node:fs';
import path from 'node:path';
import { AuthWeakPasswordError } from '@supabase/supabase-js';
import { decodeJwt, SignJWT } from 'jose';
import {
  followLink,
  GOOD_PASSWORD,
  signedUpUser,
  startAuthTestServer,
  uniqueEmail,
  type AuthTestServer
} from './support';

/** Every bad input gets a clear 4xx in GoTrue's shape and changes nothing. */
describe('bad input to the embedded auth', () => {
  let t: AuthTestServer;
  let secret: Uint8Array;

  beforeAll(async () => {
    t = await startAuthTestServer();
    secret = new TextEncoder().encode(
      fs
        .readFileSync(path.join(t.dataDir, 'secrets', 'jwt-secret'), 'utf8')
        .trim()
    );
  });
  afterAll(() => t?.close());

  const userCount = async () =>
    (
      await t.db.asService(tx =>
        tx.query<{ n: number }>('select count(*)::int as n from auth.users')
      )
    ).rows[0].n;
  const profileCount = async () =>
    (
      await t.db.asService(tx =>
        tx.query<{ n: number }>(
          'select count(*)::int as n from public.profiles'
        )
      )
    ).rows[0].n;
  const mailCount = async () => (await t.outbox()).length;

  /** Sends a sign-up and checks that nothing at all was created. */
  async function rejectedSignup(body: unknown, init: { raw?: string } = {}) {
    const [users, profiles, mails] = [
      await userCount(),
      await profileCount(),
      await mailCount()
    ];
    const res = await t.request('/auth/v1/signup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: init.raw ?? JSON.stringify(body)
    });
    const json = (await res.json()) as Record<string, unknown>;
    expect(res.headers.get('x-supabase-api-version')).toBe('2024-01-01');
    expect(json.message).toEqual(expect.any(String));
    expect(json.msg).toBe(json.message);
    expect(json.error_code).toBe(json.code);
    expect([
      await userCount(),
      await profileCount(),
      await mailCount()
    ]).toEqual([users, profiles, mails]);
    return { status: res.status, json };
  }

  const valid = () => ({
    email: uniqueEmail('valid'),
    password: GOOD_PASSWORD,
    data: { full_name: 'Val Id' }
  });

  describe('sign-up', () => {
    it.each([
      'not-an-email',
      'a@',
      '@example.com',
      'a b@example.com',
      'a@@example.com',
      ''
    ])('refuses the malformed email %j', async email => {
      const { status, json } = await rejectedSignup({ ...valid(), email });
      expect(status).toBe(400);
      expect(json.code).toBe('validation_failed');
      expect(json.message).toMatch(/email/i);
    });

    it('refuses an email longer than 255 characters', async () => {
      const { status, json } = await rejectedSignup({
        ...valid(),
        email: `${'a'.repeat(250)}@example.com`
      });
      expect(status).toBe(400);
      expect(json.code).toBe('validation_failed');
    });

    it.each([
      ['too short', 'abc123', ['length']],
      ['without digits', 'onlyletters', ['characters']],
      ['without letters', '1234567890', ['characters']],
      ['short and only digits', '1234', ['length', 'characters']]
    ])(
      'refuses a password %s, with the reasons',
      async (_what, password, reasons) => {
        const { status, json } = await rejectedSignup({ ...valid(), password });
        expect(status).toBe(422);
        expect(json.code).toBe('weak_password');
        expect(json.weak_password).toEqual({ reasons });
      }
    );

    it('reports a weak password to supabase-js as AuthWeakPasswordError', async () => {
      const { error } = await t.client().auth.signUp({
        email: uniqueEmail(),
        password: 'short1',
        options: { data: { full_name: 'Weak Pass' } }
      });
      expect(error).toBeInstanceOf(AuthWeakPasswordError);
      expect((error as AuthWeakPasswordError).reasons).toEqual(['length']);
      expect(error!.status).toBe(422);
    });

    it('refuses a missing password and one over 72 characters', async () => {
      const missing = await rejectedSignup({ ...valid(), password: undefined });
      expect(missing.status).toBe(400);
      expect(missing.json.code).toBe('validation_failed');
      const long = await rejectedSignup({
        ...valid(),
        password: `a1${'x'.repeat(71)}`
      });
      expect(long.status).toBe(400);
      expect(long.json.message).toMatch(/72/);
    });

    it.each([
      ['no data', undefined],
      ['no full_name', {}],
      ['an empty name', { full_name: '' }],
      ['a blank name', { full_name: '   ' }],
      ['a name that is not text', { full_name: 42 }],
      ['a name over 200 characters', { full_name: 'n'.repeat(201) }]
    ])('refuses %s', async (_what, data) => {
      const { status, json } = await rejectedSignup({ ...valid(), data });
      expect(status).toBe(400);
      expect(json.code).toBe('validation_failed');
      expect(json.message).toMatch(/full name/i);
    });

    it('refuses a duplicate email, confirmed or not, in any letter case', async () => {
      const { email } = await signedUpUser(t);
      const confirmedDup = await rejectedSignup({
        ...valid(),
        email: email.toUpperCase()
      });
      expect(confirmedDup.status).toBe(422);
      expect(confirmedDup.json).toMatchObject({
        code: 'user_already_exists',
        message: 'User already registered'
      });

      const pending = valid();
      const first = await t.request('/auth/v1/signup', {
        method: 'POST',
        json: pending
      });
      expect(first.status).toBe(200);
      const pendingDup = await rejectedSignup({
        ...pending,
        password: 'other-pass-99'
      });
      expect(pendingDup.status).toBe(422);
      expect(pendingDup.json.code).toBe('user_already_exists');
    });

    it('refuses bodies over 64 KB with 413', async () => {
      const { status, json } = await rejectedSignup({
        ...valid(),
        data: { full_name: 'Big Body', filler: 'x'.repeat(70 * 1024) }
      });
      expect(status).toBe(413);
      expect(json.code).toBe('request_entity_too_large');
    });

    it('refuses malformed JSON and non-object bodies', async () => {
      const broken = await rejectedSignup(undefined, { raw: '{"email": ' });
      expect(broken.status).toBe(400);
      expect(broken.json.code).toBe('bad_json');
      const list = await rejectedSignup([valid()]);
      expect(list.status).toBe(400);
      expect(list.json.code).toBe('bad_json');
      const wrongType = await rejectedSignup({
        ...valid(),
        email: ['x@example.com']
      });
      expect(wrongType.status).toBe(400);
      expect(wrongType.json.code).toBe('validation_failed');
    });

    it('requires a project API key, like Supabase', async () => {
      const none = await t.request('/auth/v1/signup', {
        method: 'POST',
        json: valid(),
        apikey: null
      });
      expect(none.status).toBe(401);
      expect(await none.json()).toMatchObject({ code: 'no_authorization' });
      const forged = await new SignJWT({ role: 'anon', iss: 'supabase' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(
          new TextEncoder().encode('a-different-secret-of-enough-length-123')
        );
      const wrong = await t.request('/auth/v1/settings', { apikey: forged });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toMatchObject({ message: 'Invalid API key' });
      const service = await t.request('/auth/v1/settings', {
        apikey: t.serviceRoleKey
      });
      expect(service.status).toBe(200);
    });
  });

  describe('sign-in', () => {
    it('gives the same answer for an unknown email and a wrong password', async () => {
      const { email } = await signedUpUser(t);
      const attempt = async (body: object) => {
        const res = await t.request('/auth/v1/token?grant_type=password', {
          method: 'POST',
          json: body
        });
        return { status: res.status, body: await res.json() };
      };
      const wrongPassword = await attempt({
        email,
        password: 'wrong-password-1'
      });
      const unknownEmail = await attempt({
        email: uniqueEmail('nobody'),
        password: GOOD_PASSWORD
      });
      expect(wrongPassword).toEqual(unknownEmail);
      expect(wrongPassword).toEqual({
        status: 400,
        body: {
          code: 'invalid_credentials',
          error_code: 'invalid_credentials',
          message: 'Invalid login credentials',
          msg: 'Invalid login credentials'
        }
      });
    });

    it('spends about as long on an unknown email as on a wrong password', async () => {
      const { email } = await signedUpUser(t);
      const time = async (body: object) => {
        const started = performance.now();
        await t.request('/auth/v1/token?grant_type=password', {
          method: 'POST',
          json: body
        });
        return performance.now() - started;
      };
      await time({ email: uniqueEmail(), password: 'warm-up-1' });
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 5; i++) {
        known.push(await time({ email, password: `wrong-${i}-pass` }));
        unknown.push(
          await time({ email: uniqueEmail(), password: `wrong-${i}-pass` })
        );
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2];
      // Both pay for one argon2id verification (tens of ms); a skipped hash would be ~1 ms.
      expect(median(unknown)).toBeGreaterThan(median(known) * 0.5);
    });

    it('refuses an unsupported grant type and an empty body', async () => {
      const grant = await t.request('/auth/v1/token?grant_type=magic', {
        method: 'POST',
        json: {}
      });
      expect(grant.status).toBe(400);
      expect(await grant.json()).toMatchObject({
        message: 'unsupported_grant_type'
      });
      const empty = await t.request('/auth/v1/token?grant_type=password', {
        method: 'POST',
        json: {}
      });
      expect(empty.status).toBe(400);
      expect(await empty.json()).toMatchObject({ code: 'validation_failed' });
    });
  });

  describe('access tokens', () => {
    async function getUserWith(token: string) {
      const res = await t.request('/auth/v1/user', {
        headers: { authorization: `Bearer ${token}` }
      });
      return {
        status: res.status,
        body: (await res.json()) as Record<string, unknown>
      };
    }

    async function realClaims() {
      const { session } = await signedUpUser(t);
      return decodeJwt(session.access_token);
    }

    it('refuses a token signed with another secret', async () => {
      const claims = await realClaims();
      const forged = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(
          new TextEncoder().encode(
            'not-the-secret-not-the-secret-not-the-secret'
          )
        );
      const { status, body } = await getUserWith(forged);
      expect(status).toBe(403);
      expect(body.code).toBe('bad_jwt');
      expect(body.message).toMatch(/signature/);
    });

    it('refuses an expired token signed with the right secret', async () => {
      const claims = await realClaims();
      const now = Math.floor(Date.now() / 1000);
      const expired = await new SignJWT({
        ...claims,
        iat: now - 7200,
        exp: now - 3600
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(secret);
      const { status, body } = await getUserWith(expired);
      expect(status).toBe(403);
      expect(body.code).toBe('bad_jwt');
      expect(body.message).toMatch(/expired/);
    });

    it('refuses alg "none" and algorithms other than HS256', async () => {
      const claims = await realClaims();
      const b64 = (o: object) =>
        Buffer.from(JSON.stringify(o)).toString('base64url');
      const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
      expect((await getUserWith(unsigned)).body.code).toBe('bad_jwt');
      const hs512 = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'HS512' })
        .sign(secret);
      const other = await getUserWith(hs512);
      expect(other.status).toBe(403);
      expect(other.body.code).toBe('bad_jwt');
    });

    it('refuses garbage, a missing token and an API key in place of a user token', async () => {
      expect((await getUserWith('not.a.jwt')).body.code).toBe('bad_jwt');
      const none = await t.request('/auth/v1/user');
      expect(none.status).toBe(401);
      expect(await none.json()).toMatchObject({ code: 'no_authorization' });
      const anon = await getUserWith(t.anonKey);
      expect(anon.status).toBe(403);
      expect(anon.body.code).toBe('bad_jwt');
    });

    it('changes nothing when a forged token tries to update a user', async () => {
      const { user, session } = await signedUpUser(t, {
        fullName: 'Real Name'
      });
      const forged = await new SignJWT(decodeJwt(session.access_token))
        .setProtectedHeader({ alg: 'HS256' })
        .sign(
          new TextEncoder().encode('forged-forged-forged-forged-forged-forged')
        );
      const res = await t.request('/auth/v1/user', {
        method: 'PUT',
        headers: { authorization: `Bearer ${forged}` },
        json: { data: { full_name: 'Mallory' }, password: 'taken-over-1' }
      });
      expect(res.status).toBe(403);
      const row = await t.db.asService(tx =>
        tx.query(
          `select raw_user_meta_data->>'full_name' as name from auth.users where id = $1`,
          [user.id]
        )
      );
      expect(row.rows).toEqual([{ name: 'Real Name' }]);
    });
  });

  describe('email links', () => {
    const tamper = (token: string) =>
      token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');

    it('refuses a tampered confirmation token and leaves the user unconfirmed', async () => {
      const email = uniqueEmail('tamper');
      await t.client().auth.signUp({
        email,
        password: GOOD_PASSWORD,
        options: { data: { full_name: 'Tam Per' } }
      });
      const link = new URL(await t.linkFor(email, 'signup'));
      link.searchParams.set(
        'token_hash',
        tamper(link.searchParams.get('token_hash')!)
      );
      const followed = await followLink(link.toString());
      expect(followed.status).toBe(303);
      expect(followed.params.get('error_code')).toBe('otp_expired');
      expect(followed.params.get('error_description')).toBe(
        'Email link is invalid or has expired'
      );
      expect(followed.params.get('access_token')).toBeNull();

      const post = await t.request('/auth/v1/verify', {
        method: 'POST',
        json: {
          type: 'signup',
          token_hash: link.searchParams.get('token_hash')
        }
      });
      expect(post.status).toBe(403);
      expect(await post.json()).toMatchObject({ code: 'otp_expired' });
      const signIn = await t
        .client()
        .auth.signInWithPassword({ email, password: GOOD_PASSWORD });
      expect(signIn.error?.code).toBe('email_not_confirmed');
    });

    it('refuses a confirmation token used as a recovery token, and the reverse', async () => {
      const email = uniqueEmail('crossed');
      await t.client().auth.signUp({
        email,
        password: GOOD_PASSWORD,
        options: { data: { full_name: 'Cross Ed' } }
      });
      const link = new URL(await t.linkFor(email, 'signup'));
      link.searchParams.set('type', 'recovery');
      expect((await followLink(link.toString())).params.get('error_code')).toBe(
        'otp_expired'
      );

      const confirmed = await signedUpUser(t);
      await t.client().auth.resetPasswordForEmail(confirmed.email);
      const recovery = new URL(await t.linkFor(confirmed.email, 'recovery'));
      recovery.searchParams.set('type', 'signup');
      expect(
        (await followLink(recovery.toString())).params.get('error_code')
      ).toBe('otp_expired');
      recovery.searchParams.set('type', 'recovery');
      expect(
        (await followLink(recovery.toString())).params.get('access_token')
      ).toEqual(expect.any(String));
    });

    it('refuses a tampered or expired reset token and keeps the password', async () => {
      const { email, password } = await signedUpUser(t);
      await t.client().auth.resetPasswordForEmail(email);
      const link = new URL(await t.linkFor(email, 'recovery'));
      const token = link.searchParams.get('token_hash')!;
      link.searchParams.set('token_hash', tamper(token));
      expect((await followLink(link.toString())).params.get('error_code')).toBe(
        'otp_expired'
      );

      await t.db.asService(tx =>
        tx.query(
          `update auth.insighter_one_time_tokens set expires_at = now() - interval '1 second'
            where user_id = (select id from auth.users where email = $1)`,
          [email]
        )
      );
      link.searchParams.set('token_hash', token);
      expect((await followLink(link.toString())).params.get('error_code')).toBe(
        'otp_expired'
      );
      const still = await t
        .client()
        .auth.signInWithPassword({ email, password });
      expect(still.error).toBeNull();
    });

    it('answers recovery for an unknown email exactly as for a known one, sending nothing', async () => {
      const before = await mailCount();
      const res = await t.request('/auth/v1/recover', {
        method: 'POST',
        json: { email: uniqueEmail('ghost') }
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({});
      expect(await mailCount()).toBe(before);
      const malformed = await t.request('/auth/v1/recover', {
        method: 'POST',
        json: { email: 'nope' }
      });
      expect(malformed.status).toBe(400);
    });
  });

  describe('user updates', () => {
    it('refuses a weak new password, the same password, an email change and a blank name', async () => {
      const { client, password } = await signedUpUser(t, {
        fullName: 'Keep Me'
      });
      const weak = await client.auth.updateUser({ password: 'weak' });
      expect(weak.error?.code).toBe('weak_password');
      const same = await client.auth.updateUser({ password });
      expect(same.error?.code).toBe('same_password');
      const email = await client.auth.updateUser({ email: uniqueEmail('new') });
      expect(email.error?.status).toBe(400);
      const blank = await client.auth.updateUser({ data: { full_name: ' ' } });
      expect(blank.error?.code).toBe('validation_failed');
      const { data } = await client.auth.getUser();
      expect(data.user!.user_metadata.full_name).toBe('Keep Me');
    });

    it('a new password ends the other sessions', async () => {
      const { email, password, client } = await signedUpUser(t);
      const other = t.client();
      await other.auth.signInWithPassword({ email, password });
      await client.auth.updateUser({ password: 'brand-new-pass-7' });
      const { error } = await other.auth.refreshSession();
      expect(error?.code).toBe('refresh_token_not_found');
      expect((await client.auth.refreshSession()).error).toBeNull();
    });
  });

  describe('refresh tokens', () => {
    it('tolerates a rotated token reused within the reuse interval (two tabs)', async () => {
      const { session } = await signedUpUser(t);
      const refresh = (token: string) =>
        t.request('/auth/v1/token?grant_type=refresh_token', {
          method: 'POST',
          json: { refresh_token: token }
        });
      expect((await refresh(session.refresh_token)).status).toBe(200);
      expect((await refresh(session.refresh_token)).status).toBe(200);
    });

    it('refuses tokens that are too short or unknown', async () => {
      const res = await t.request('/auth/v1/token?grant_type=refresh_token', {
        method: 'POST',
        json: { refresh_token: 'short' }
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ code: 'validation_failed' });
      const unknown = await t.request(
        '/auth/v1/token?grant_type=refresh_token',
        {
          method: 'POST',
          json: { refresh_token: 'x'.repeat(43) }
        }
      );
      expect(await unknown.json()).toMatchObject({
        code: 'refresh_token_not_found'
      });
    });
  });
});

describe('refresh token reuse after the interval', () => {
  let t: AuthTestServer;
  beforeAll(async () => {
    t = await startAuthTestServer({
      env: { INSIGHTER_AUTH_REFRESH_REUSE_INTERVAL_S: '0' }
    });
  });
  afterAll(() => t?.close());

  it('treats a second use of a rotated token as theft and ends the session', async () => {
    const { session } = await signedUpUser(t);
    const refresh = async (token: string) => {
      const res = await t.request('/auth/v1/token?grant_type=refresh_token', {
        method: 'POST',
        json: { refresh_token: token }
      });
      return {
        status: res.status,
        body: (await res.json()) as Record<string, unknown>
      };
    };
    const rotated = await refresh(session.refresh_token);
    expect(rotated.status).toBe(200);
    await new Promise(resolve => setTimeout(resolve, 20));
    const reused = await refresh(session.refresh_token);
    expect(reused).toMatchObject({
      status: 400,
      body: { code: 'refresh_token_already_used' }
    });
    // The thief's copy and the owner's newest token both stop working.
    const newest = await refresh(rotated.body.refresh_token as string);
    expect(newest.body.code).toBe('refresh_token_not_found');
    const user = await t.request('/auth/v1/user', {
      headers: { authorization: `Bearer ${rotated.body.access_token}` }
    });
    expect(await user.json()).toMatchObject({ code: 'session_not_found' });
  });
});
