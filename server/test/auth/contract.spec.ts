import { decodeJwt } from 'jose';
import { BACKENDS } from '../support/postgres';
import {
  followLink,
  GOOD_PASSWORD,
  makeClient,
  startAuthTestServer,
  uniqueEmail,
  type AuthTestServer
} from './support';

/**
 * The official supabase-js auth client against the embedded `/auth/v1`, the
 * whole account life cycle, on both database backends.
 */
describe.each(BACKENDS)(
  'supabase-js against the embedded auth (%s)',
  backend => {
    let t: AuthTestServer;

    beforeAll(async () => {
      t = await startAuthTestServer({ backend });
    });
    afterAll(() => t?.close());

    it('signs up, confirms by mail, signs in, refreshes, updates, signs out, recovers and resets', async () => {
      const email = uniqueEmail('ada');
      const supabase = t.client();

      // Sign up: a user, no session until the address is confirmed.
      const signUp = await supabase.auth.signUp({
        email,
        password: GOOD_PASSWORD,
        options: { data: { full_name: 'Ada Lovelace' } }
      });
      expect(signUp.error).toBeNull();
      expect(signUp.data.session).toBeNull();
      const userId = signUp.data.user!.id;
      expect(signUp.data.user).toMatchObject({
        email,
        aud: 'authenticated',
        role: 'authenticated',
        app_metadata: { provider: 'email', providers: ['email'] },
        user_metadata: { full_name: 'Ada Lovelace', email_verified: false }
      });
      expect(signUp.data.user!.email_confirmed_at).toBeUndefined();
      expect(signUp.data.user!.identities).toHaveLength(1);

      // The profile was made by the trigger, in the same transaction.
      const profile = await t.db.asService(tx =>
        tx.query('select full_name from public.profiles where id = $1', [
          userId
        ])
      );
      expect(profile.rows).toEqual([{ full_name: 'Ada Lovelace' }]);

      // Not confirmed yet: the right password is refused with GoTrue's code.
      const early = await supabase.auth.signInWithPassword({
        email,
        password: GOOD_PASSWORD
      });
      expect(early.error?.code).toBe('email_not_confirmed');

      // The confirmation mail is in the outbox; its link verifies and redirects with a session.
      const [mail] = await t.outbox();
      expect(mail).toMatchObject({
        to: email,
        purpose: 'signup',
        subject: 'Confirm your Insighter account'
      });
      expect(mail.link.startsWith(`${t.url}/auth/v1/verify?`)).toBe(true);
      const confirmed = await followLink(mail.link);
      expect(confirmed.status).toBe(303);
      expect(confirmed.location.startsWith(`${t.url}/#`)).toBe(true);
      expect(confirmed.params.get('type')).toBe('signup');
      expect(confirmed.params.get('token_type')).toBe('bearer');
      expect(Number(confirmed.params.get('expires_in'))).toBe(3600);
      const fromLink = await supabase.auth.getUser(
        confirmed.params.get('access_token')!
      );
      expect(fromLink.data.user?.email_confirmed_at).toEqual(
        expect.any(String)
      );
      // A link works once.
      const again = await followLink(mail.link);
      expect(again.params.get('error_code')).toBe('otp_expired');

      // Sign in with the password.
      const signIn = await supabase.auth.signInWithPassword({
        email,
        password: GOOD_PASSWORD
      });
      expect(signIn.error).toBeNull();
      const session = signIn.data.session!;
      expect(session).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
      expect(session.expires_at).toBeGreaterThan(Date.now() / 1000 + 3500);
      const claims = decodeJwt(session.access_token);
      expect(claims).toMatchObject({
        sub: userId,
        aud: 'authenticated',
        role: 'authenticated',
        email,
        phone: '',
        app_metadata: { provider: 'email', providers: ['email'] },
        user_metadata: { full_name: 'Ada Lovelace', email_verified: true },
        aal: 'aal1',
        amr: [{ method: 'password', timestamp: expect.any(Number) }],
        session_id: expect.any(String),
        is_anonymous: false,
        iss: `${t.url}/auth/v1`
      });
      expect(claims.exp! - claims.iat!).toBe(3600);

      // The access token works for RLS (the user reads their own profile).
      const own = await t.db.withClaims(
        await t.auth.verifier.verify(session.access_token),
        tx => tx.query('select id from public.profiles')
      );
      expect(own.rows).toEqual([{ id: userId }]);

      // Refresh: a new pair; the old refresh token is rotated out.
      const refreshed = await supabase.auth.refreshSession();
      expect(refreshed.error).toBeNull();
      expect(refreshed.data.session!.refresh_token).not.toBe(
        session.refresh_token
      );
      expect(decodeJwt(refreshed.data.session!.access_token).session_id).toBe(
        claims.session_id
      );

      // Get and update the user: name, then password.
      const got = await supabase.auth.getUser();
      expect(got.data.user).toMatchObject({ id: userId, email });
      const renamed = await supabase.auth.updateUser({
        data: { full_name: 'Ada King' }
      });
      expect(renamed.error).toBeNull();
      expect(renamed.data.user!.user_metadata.full_name).toBe('Ada King');
      const synced = await t.db.asService(tx =>
        tx.query('select full_name from public.profiles where id = $1', [
          userId
        ])
      );
      expect(synced.rows).toEqual([{ full_name: 'Ada King' }]);
      const newPassword = 'analytical-engine-1843';
      const repassword = await supabase.auth.updateUser({
        password: newPassword
      });
      expect(repassword.error).toBeNull();
      const oldFails = await makeClient(
        t.url,
        t.anonKey
      ).auth.signInWithPassword({
        email,
        password: GOOD_PASSWORD
      });
      expect(oldFails.error?.code).toBe('invalid_credentials');

      // Sign out: the refresh token no longer works.
      const { data: current } = await supabase.auth.getSession();
      const lastRefresh = current.session!.refresh_token;
      const signOut = await supabase.auth.signOut();
      expect(signOut.error).toBeNull();
      const afterLogout = await t.request(
        '/auth/v1/token?grant_type=refresh_token',
        {
          method: 'POST',
          json: { refresh_token: lastRefresh }
        }
      );
      expect(afterLogout.status).toBe(400);
      expect(await afterLogout.json()).toMatchObject({
        code: 'refresh_token_not_found'
      });
      // ...and the access token's session is gone for the auth server.
      const stale = await supabase.auth.getUser(current.session!.access_token);
      expect(stale.error?.name).toBe('AuthSessionMissingError');

      // Recover: a reset mail; its link signs in; a new password is set.
      const recover = await supabase.auth.resetPasswordForEmail(email);
      expect(recover.error).toBeNull();
      const recoveryLink = await t.linkFor(email, 'recovery');
      const recovered = await followLink(recoveryLink);
      expect(recovered.params.get('type')).toBe('recovery');
      const recoveryClient = t.client();
      const setSession = await recoveryClient.auth.setSession({
        access_token: recovered.params.get('access_token')!,
        refresh_token: recovered.params.get('refresh_token')!
      });
      expect(setSession.error).toBeNull();
      const finalPassword = 'difference-engine-1822';
      const reset = await recoveryClient.auth.updateUser({
        password: finalPassword
      });
      expect(reset.error).toBeNull();

      const withNew = await t
        .client()
        .auth.signInWithPassword({ email, password: finalPassword });
      expect(withNew.error).toBeNull();
      expect(withNew.data.user!.id).toBe(userId);
      const withOld = await t
        .client()
        .auth.signInWithPassword({ email, password: newPassword });
      expect(withOld.error?.code).toBe('invalid_credentials');
    });

    it('verifies a link through verifyOtp with its token hash', async () => {
      const email = uniqueEmail('otp');
      const supabase = t.client();
      await supabase.auth.signUp({
        email,
        password: GOOD_PASSWORD,
        options: { data: { full_name: 'Otto Pee' } }
      });
      const token = new URL(await t.linkFor(email, 'signup')).searchParams.get(
        'token_hash'
      )!;
      const verified = await supabase.auth.verifyOtp({
        token_hash: token,
        type: 'signup'
      });
      expect(verified.error).toBeNull();
      expect(verified.data.session?.access_token).toEqual(expect.any(String));
      expect(verified.data.user?.email_confirmed_at).toEqual(
        expect.any(String)
      );
    });

    it("names the link's token token_hash, which Jupyter does not read as its own, and still takes links sent with token", async () => {
      const email = uniqueEmail('linkname');
      await t.client().auth.signUp({
        email,
        password: GOOD_PASSWORD,
        options: { data: { full_name: 'Link Name' } }
      });
      const link = new URL(await t.linkFor(email, 'signup'));
      // Behind the Jupyter proxy, `?token=` would be taken for Jupyter's token.
      expect(link.searchParams.has('token')).toBe(false);
      expect(link.searchParams.get('token_hash')).toEqual(expect.any(String));
      expect(link.searchParams.get('type')).toBe('signup');

      const sentBefore = new URL(link);
      sentBefore.searchParams.delete('token_hash');
      sentBefore.searchParams.set(
        'token',
        link.searchParams.get('token_hash')!
      );
      const followed = await followLink(sentBefore.toString());
      expect(followed.status).toBe(303);
      expect(followed.params.get('access_token')).toEqual(expect.any(String));
    });

    it('verifies through verifyOtp with the email and the link token, for that email only', async () => {
      const email = uniqueEmail('otpmail');
      const supabase = t.client();
      await supabase.auth.signUp({
        email,
        password: GOOD_PASSWORD,
        options: { data: { full_name: 'Otp Mail' } }
      });
      const token = new URL(await t.linkFor(email, 'signup')).searchParams.get(
        'token_hash'
      )!;
      const wrongEmail = await supabase.auth.verifyOtp({
        email: uniqueEmail('other'),
        token,
        type: 'email'
      });
      expect(wrongEmail.error?.code).toBe('otp_expired');
      const verified = await supabase.auth.verifyOtp({
        email,
        token,
        type: 'email'
      });
      expect(verified.error).toBeNull();
      expect(verified.data.user?.email).toBe(email);
    });

    it('answers CORS preflights without an API key, as Supabase does', async () => {
      const res = await fetch(`${t.url}/auth/v1/token?grant_type=password`, {
        method: 'OPTIONS',
        headers: {
          origin: 'http://localhost:8888',
          'access-control-request-method': 'POST',
          'access-control-request-headers':
            'apikey, authorization, content-type, x-client-info'
        }
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-headers')).toMatch(/apikey/);
      expect(res.headers.get('access-control-expose-headers')).toMatch(
        /X-Supabase-Api-Version/
      );
    });

    it('resends a confirmation mail whose newest link alone works', async () => {
      const email = uniqueEmail('resend');
      const supabase = t.client();
      await supabase.auth.signUp({
        email,
        password: GOOD_PASSWORD,
        options: { data: { full_name: 'Re Send' } }
      });
      const first = await t.linkFor(email, 'signup');
      const resent = await supabase.auth.resend({ type: 'signup', email });
      expect(resent.error).toBeNull();
      const second = await t.linkFor(email, 'signup');
      expect(second).not.toBe(first);
      expect((await followLink(first)).params.get('error_code')).toBe(
        'otp_expired'
      );
      expect((await followLink(second)).params.get('access_token')).toEqual(
        expect.any(String)
      );
    });

    it('redirects to an allowed redirect_to and refuses foreign ones', async () => {
      const email = uniqueEmail('redirect');
      const supabase = t.client();
      await supabase.auth.signUp({
        email,
        password: GOOD_PASSWORD,
        options: {
          data: { full_name: 'Red Irect' },
          emailRedirectTo: 'https://evil.example/steal'
        }
      });
      const link = await t.linkFor(email, 'signup');
      expect(new URL(link).searchParams.get('redirect_to')).toBe(t.url);
      const tampered = new URL(link);
      tampered.searchParams.set('redirect_to', 'https://evil.example/steal');
      const followed = await followLink(tampered.toString());
      expect(followed.location.startsWith(`${t.url}#`)).toBe(true);
      expect(followed.params.get('access_token')).toEqual(expect.any(String));

      const email2 = uniqueEmail('redirect');
      await supabase.auth.signUp({
        email: email2,
        password: GOOD_PASSWORD,
        options: {
          data: { full_name: 'Red Irect' },
          emailRedirectTo: `${t.url}/lab?welcome=1`
        }
      });
      const own = await followLink(await t.linkFor(email2, 'signup'));
      expect(
        own.location.startsWith(`${t.url}/lab?welcome=1#access_token=`)
      ).toBe(true);
    });

    it('answers GET /settings like GoTrue', async () => {
      const res = await t.request('/auth/v1/settings');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        external: { email: true, phone: false },
        disable_signup: false,
        mailer_autoconfirm: false
      });
    });

    it('accepts team invitations once the address is confirmed and on login', async () => {
      const invitee = uniqueEmail('invitee');
      const teamId = await t.db.asService(async tx => {
        const team = await tx.query<{ id: string }>(
          `insert into public.teams (name) values ('Analysts') returning id`
        );
        await tx.query(
          `insert into public.team_invitations (team_id, email, role) values ($1, $2, 'member')`,
          [team.rows[0].id, invitee]
        );
        return team.rows[0].id;
      });
      const supabase = t.client();
      await supabase.auth.signUp({
        email: invitee,
        password: GOOD_PASSWORD,
        options: { data: { full_name: 'In Vitee' } }
      });
      const before = await t.db.asService(tx =>
        tx.query(
          'select count(*)::int as n from public.team_members where team_id = $1',
          [teamId]
        )
      );
      expect(before.rows[0]).toEqual({ n: 0 });
      await followLink(await t.linkFor(invitee, 'signup'));
      const members = await t.db.asService(tx =>
        tx.query(
          `select u.email from public.team_members m join auth.users u on u.id = m.user_id
          where m.team_id = $1`,
          [teamId]
        )
      );
      expect(members.rows).toEqual([{ email: invitee }]);
    });
  }
);
