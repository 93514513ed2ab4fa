import { SignInLockout } from '../../src/auth/sign-in-lockout';
import { loadConfig } from '../../src/config';
import {
  GOOD_PASSWORD,
  signedUpUser,
  startAuthTestServer,
  uniqueEmail,
  type AuthTestServer
} from '../auth/support';
import { BACKENDS } from '../support/postgres';

/**
 * Security issue #12, part 6: rate limits that could be dodged or turned
 * against users. `X-Forwarded-For` counted from any loopback caller, so
 * rotating it removed every limit; ten wrong passwords from anywhere locked
 * the owner out (the right password got 429). Now forwarded headers count
 * only from the Jupyter proxy (its secret) or INSIGHTER_TRUSTED_PROXIES,
 * and wrong passwords lock one address out of one account, with back-off.
 * (The per-API-key prediction limit is in web-deployments.spec.ts.)
 */
const PROXY_SECRET = 'jupyter-proxy-secret-0123456789';

describe.each(BACKENDS)('rate limits on %s', backend => {
  const servers: AuthTestServer[] = [];
  const start = async (env: Record<string, string>) => {
    const t = await startAuthTestServer({ backend, env });
    servers.push(t);
    return t;
  };

  afterAll(async () => {
    for (const t of servers) {
      await t.close();
    }
  });

  const signIn = async (
    t: AuthTestServer,
    email: string,
    password: string,
    headers: Record<string, string> = {}
  ) => {
    const res = await t.request('/auth/v1/token?grant_type=password', {
      method: 'POST',
      headers,
      json: { email, password }
    });
    return {
      status: res.status,
      retryAfter: res.headers.get('retry-after'),
      body: (await res.json()) as { code?: string; message?: string }
    };
  };
  const wrong = 'wrong-password-1';

  describe('forwarded addresses', () => {
    it('counts a loopback caller that rotates X-Forwarded-For as one address', async () => {
      const t = await start({ INSIGHTER_AUTH_RATE_LIMIT_PER_IP: '3' });
      const statuses = [];
      for (let i = 1; i <= 4; i++) {
        const answer = await signIn(t, uniqueEmail(), wrong, {
          'x-forwarded-for': `203.0.113.${i}`
        });
        statuses.push(answer.status);
      }
      expect(statuses).toEqual([400, 400, 400, 429]);
    });

    it('counts the address the Jupyter proxy forwards, with its secret only', async () => {
      const t = await start({
        INSIGHTER_AUTH_RATE_LIMIT_PER_IP: '2',
        INSIGHTER_PROXY_SECRET: PROXY_SECRET
      });
      const viaProxy = (client: string) => ({
        'x-forwarded-for': client,
        'x-insighter-proxy-secret': PROXY_SECRET
      });
      const first = [];
      for (let i = 0; i < 3; i++) {
        first.push(
          (await signIn(t, uniqueEmail(), wrong, viaProxy('198.51.100.1')))
            .status
        );
      }
      expect(first).toEqual([400, 400, 429]);
      // Another browser behind the proxy has its own count.
      expect(
        (await signIn(t, uniqueEmail(), wrong, viaProxy('198.51.100.2'))).status
      ).toBe(400);
      // A forged secret is not the proxy: the header is ignored (the peer counts).
      const forged = [];
      for (let i = 0; i < 3; i++) {
        const answer = await signIn(t, uniqueEmail(), wrong, {
          'x-forwarded-for': `198.51.100.${10 + i}`,
          'x-insighter-proxy-secret': 'not-the-secret-0123456789'
        });
        forged.push(answer.status);
      }
      expect(forged).toEqual([400, 400, 429]);
    });

    it('counts the client a configured reverse proxy names, not what the client claimed before it', async () => {
      const t = await start({
        INSIGHTER_AUTH_RATE_LIMIT_PER_IP: '2',
        INSIGHTER_TRUSTED_PROXIES: '127.0.0.1, ::1'
      });
      const statuses = [];
      for (let i = 0; i < 3; i++) {
        // The client wrote the first entry; the proxy appended the real one.
        const answer = await signIn(t, uniqueEmail(), wrong, {
          'x-forwarded-for': `10.9.9.${i}, 192.0.2.44`
        });
        statuses.push(answer.status);
      }
      expect(statuses).toEqual([400, 400, 429]);
      expect(
        (
          await signIn(t, uniqueEmail(), wrong, {
            'x-forwarded-for': '192.0.2.45'
          })
        ).status
      ).toBe(400);
    });
  });

  describe('wrong passwords', () => {
    let t: AuthTestServer;
    let owner: { email: string; password: string };
    const from = (address: string) => ({ 'x-forwarded-for': address });
    const attacker = from('203.0.113.66');
    const ownersLaptop = from('198.51.100.7');

    beforeAll(async () => {
      t = await start({
        INSIGHTER_AUTH_RATE_LIMIT_PER_EMAIL: '3',
        INSIGHTER_AUTH_RATE_LIMIT_WINDOW_S: '2',
        INSIGHTER_TRUSTED_PROXIES: '127.0.0.1, ::1'
      });
      owner = await signedUpUser(t);
    });

    it('lock out the guessing address, not the owner elsewhere', async () => {
      for (let i = 0; i < 3; i++) {
        expect((await signIn(t, owner.email, wrong, attacker)).status).toBe(
          400
        );
      }
      // The address that guessed is stopped, even with the right password…
      const stopped = await signIn(t, owner.email, GOOD_PASSWORD, attacker);
      expect(stopped).toMatchObject({
        status: 429,
        retryAfter: '2',
        body: {
          code: 'over_request_rate_limit',
          message: 'Request rate limit reached'
        }
      });
      // …while the owner signs in from their own.
      const ownerIn = await signIn(t, owner.email, GOOD_PASSWORD, ownersLaptop);
      expect(ownerIn.status).toBe(200);
    });

    it('double the lock with each wrong password after one', async () => {
      // The first lock (2 s) is over; the failures are still remembered.
      await new Promise(resolve => setTimeout(resolve, 2100));
      expect((await signIn(t, owner.email, wrong, attacker)).status).toBe(400);
      const longer = await signIn(t, owner.email, wrong, attacker);
      expect(longer.status).toBe(429);
      expect(longer.retryAfter).toBe('4');
      expect(
        (await signIn(t, owner.email, GOOD_PASSWORD, ownersLaptop)).status
      ).toBe(200);
    });
  });
});

describe('INSIGHTER_TRUSTED_PROXIES', () => {
  it('takes addresses and CIDR ranges, and stops the start on anything else', () => {
    expect(
      loadConfig({
        INSIGHTER_TRUSTED_PROXIES: '10.0.0.5, 10.1.0.0/16,fd00::/8'
      }).http.trustedProxies
    ).toEqual(['10.0.0.5', '10.1.0.0/16', 'fd00::/8']);
    for (const bad of ['proxy.local', '10.0.0.0/33', '10.0.0.1/8/2']) {
      expect(() => loadConfig({ INSIGHTER_TRUSTED_PROXIES: bad })).toThrow(
        `INSIGHTER_TRUSTED_PROXIES: "${bad}" is not an IP address or a CIDR range`
      );
    }
  });
});

describe('the sign-in lockout', () => {
  const attempt = { address: '203.0.113.9', email: 'owner@example.com' };

  it('allows the set number of wrong passwords, then locks for doubling periods up to a day', () => {
    const lockout = new SignInLockout({ allowed: 2, lockSeconds: 60 });
    let now = 0;
    lockout.failed(attempt, now);
    expect(lockout.retryAfter(attempt, now)).toBe(0);
    lockout.failed(attempt, now);
    expect(lockout.retryAfter(attempt, now)).toBe(60);
    const locks = [];
    for (let i = 0; i < 14; i++) {
      now += lockout.retryAfter(attempt, now) * 1000;
      lockout.failed(attempt, now);
      locks.push(lockout.retryAfter(attempt, now));
    }
    expect(locks.slice(0, 5)).toEqual([120, 240, 480, 960, 1920]);
    expect(locks[locks.length - 1]).toBe(24 * 3600);
  });

  it('forgets after a right password, and after a quiet period', () => {
    const lockout = new SignInLockout({ allowed: 1, lockSeconds: 60 });
    lockout.failed(attempt, 0);
    expect(lockout.retryAfter(attempt, 0)).toBe(60);
    lockout.succeeded(attempt);
    expect(lockout.retryAfter(attempt, 0)).toBe(0);
    lockout.failed(attempt, 0);
    // The lock (60 s) and as long again of quiet: a fresh start.
    lockout.failed(attempt, 121_000);
    expect(lockout.retryAfter(attempt, 121_000)).toBe(60);
    // Another address, the same account: not locked.
    expect(
      lockout.retryAfter({ ...attempt, address: '198.51.100.1' }, 121_000)
    ).toBe(0);
  });
});
