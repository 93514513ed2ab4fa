import {
  GOOD_PASSWORD,
  startAuthTestServer,
  uniqueEmail,
  type AuthTestServer
} from './support';

describe('INSIGHTER_AUTH_AUTOCONFIRM=true', () => {
  let t: AuthTestServer;
  beforeAll(async () => {
    t = await startAuthTestServer({
      env: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' }
    });
  });
  afterAll(() => t?.close());

  it('signs the user in at sign-up, with no mail', async () => {
    const email = uniqueEmail('auto');
    const supabase = t.client();
    const { data, error } = await supabase.auth.signUp({
      email,
      password: GOOD_PASSWORD,
      options: { data: { full_name: 'Auto Confirm' } }
    });
    expect(error).toBeNull();
    expect(data.session?.access_token).toEqual(expect.any(String));
    expect(data.user?.email_confirmed_at).toEqual(expect.any(String));
    expect(data.user?.user_metadata).toMatchObject({
      full_name: 'Auto Confirm',
      email_verified: true
    });
    expect(await t.outbox()).toEqual([]);
    expect((await supabase.auth.getUser()).data.user?.email).toBe(email);
    const again = await t
      .client()
      .auth.signInWithPassword({ email, password: GOOD_PASSWORD });
    expect(again.error).toBeNull();
  });

  it('tells clients through /api/v1/config and /auth/v1/settings', async () => {
    const config = await (await fetch(`${t.url}/api/v1/config`)).json();
    expect(config).toMatchObject({ mode: 'embedded', autoconfirm: true });
    const settings = await (await t.request('/auth/v1/settings')).json();
    expect(settings).toMatchObject({ mailer_autoconfirm: true });
  });

  it('refuses a duplicate email', async () => {
    const email = uniqueEmail('autodup');
    const body = {
      email,
      password: GOOD_PASSWORD,
      data: { full_name: 'Du Plicate' }
    };
    expect(
      (await t.request('/auth/v1/signup', { method: 'POST', json: body }))
        .status
    ).toBe(200);
    const dup = await t.request('/auth/v1/signup', {
      method: 'POST',
      json: body
    });
    expect(dup.status).toBe(422);
    expect(await dup.json()).toMatchObject({ code: 'user_already_exists' });
  });
});

describe('auth rate limits', () => {
  let t: AuthTestServer;
  beforeAll(async () => {
    t = await startAuthTestServer({
      env: {
        INSIGHTER_AUTH_RATE_LIMIT_PER_IP: '5',
        INSIGHTER_AUTH_RATE_LIMIT_PER_EMAIL: '2',
        INSIGHTER_AUTH_RATE_LIMIT_WINDOW_S: '600'
      }
    });
  });
  afterAll(() => t?.close());

  const signIn = async (email: string) => {
    const res = await t.request('/auth/v1/token?grant_type=password', {
      method: 'POST',
      json: { email, password: 'wrong-password-1' }
    });
    return {
      status: res.status,
      body: (await res.json()) as { code: string; message: string }
    };
  };

  it('limits password attempts per email, then per IP, with GoTrue’s 429', async () => {
    const target = uniqueEmail('target');
    expect((await signIn(target)).status).toBe(400);
    expect((await signIn(target)).status).toBe(400);
    const perEmail = await signIn(target.toUpperCase());
    expect(perEmail).toEqual({
      status: 429,
      body: expect.objectContaining({
        code: 'over_request_rate_limit',
        message: 'Request rate limit reached'
      })
    });
    // Other emails from this IP go on until the IP's own limit (5).
    expect((await signIn(uniqueEmail())).status).toBe(400);
    expect((await signIn(uniqueEmail())).status).toBe(400);
    expect((await signIn(uniqueEmail())).status).toBe(429);
  });

  it('limits sign-ups per IP, and supabase-js sees over_request_rate_limit', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await t.request('/auth/v1/signup', {
        method: 'POST',
        json: {
          email: uniqueEmail('many'),
          password: GOOD_PASSWORD,
          data: { full_name: 'Ma Ny' }
        }
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const { error } = await t.client().auth.signUp({
      email: uniqueEmail('one-too-many'),
      password: GOOD_PASSWORD,
      options: { data: { full_name: 'One Too Many' } }
    });
    expect(error?.status).toBe(429);
    expect(error?.code).toBe('over_request_rate_limit');
  });

  it('limits recovery mails per email', async () => {
    const email = uniqueEmail('recover');
    const recover = () =>
      t.request('/auth/v1/recover', { method: 'POST', json: { email } });
    expect((await recover()).status).toBe(200);
    expect((await recover()).status).toBe(200);
    expect((await recover()).status).toBe(429);
  });
});
