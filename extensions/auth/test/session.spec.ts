import {
  ISessionChangedArgs,
  ISidecarClient,
  SidecarClient
} from '@insighter/core';
import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator } from '@jupyterlab/translation';
import WebSocket from 'ws';
import { AccountModel } from '../src/accountmodel';
import { OutboxModel } from '../src/outboxmodel';
import {
  AuthFailure,
  readLinkFragment,
  SessionModel,
  STORAGE_KEY
} from '../src/sessionmodel';
import { MemoryStorage } from '../src/storage';
import { ITestLab, startTestLab } from './support/lab';

const trans = nullTranslator.load('insighter');

let lab: ITestLab;
const opened: SessionModel[] = [];

beforeAll(async () => {
  lab = await startTestLab();
}, 90_000);

afterEach(() => {
  for (const session of opened.splice(0)) {
    session.dispose();
  }
});

afterAll(async () => {
  await lab?.stop();
});

function serverSettings(token = lab.jupyterToken): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: lab.baseUrl,
    token,
    fetch: (input, init) => fetch(input, init),
    Request,
    Headers,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
  });
}

function sidecarClient(): SidecarClient {
  return new SidecarClient({
    serverSettings: serverSettings(),
    baseUrl: lab.apiUrl
  });
}

/** A page load: a new session model over the browser's storage. */
async function openSession(
  storage: MemoryStorage,
  options: { initialUrl?: string; client?: ISidecarClient } = {}
): Promise<SessionModel> {
  const session = new SessionModel({
    client: options.client ?? sidecarClient(),
    serverSettings: serverSettings(),
    storage,
    redirectTo: lab.labUrl,
    initialUrl: options.initialUrl
  });
  opened.push(session);
  await session.start();
  return session;
}

function uniqueEmail(name: string): string {
  return `${name}.${Date.now()}.${Math.floor(Math.random() * 1e6)}@example.com`;
}

function recordChanges(session: SessionModel): ISessionChangedArgs[] {
  const changes: ISessionChangedArgs[] = [];
  session.changed.connect((_, change) => changes.push(change));
  return changes;
}

/** Sign up, then follow the confirmation link like a browser would. */
async function signUpAndConfirm(
  session: SessionModel,
  fullName: string,
  email: string,
  password: string
): Promise<string> {
  const { needsConfirmation } = await session.signUp({
    fullName,
    email,
    password
  });
  expect(needsConfirmation).toBe(true);
  const outbox = new OutboxModel({ client: sidecarClient(), pollInterval: 0 });
  await outbox.refresh();
  const mail = outbox.messages.find(m => m.to === email);
  expect(mail).toBeDefined();
  await outbox.open(mail!.id);
  outbox.dispose();
  const link = outbox.selected?.link;
  expect(link).toContain('/auth/v1/verify?');
  const response = await fetch(link!, {
    redirect: 'manual',
    headers: { Authorization: `token ${lab.jupyterToken}` }
  });
  expect(response.status).toBe(303);
  return response.headers.get('location') ?? '';
}

describe('SessionModel against the real sidecar', () => {
  it('starts signed out, with the embedded outbox', async () => {
    const session = await openSession(new MemoryStorage());
    expect(session.status).toBe('ready');
    expect(session.isLoggedIn).toBe(false);
    expect(session.user).toBeNull();
    expect(session.accessToken).toBeNull();
    await expect(session.getAccessToken()).resolves.toBeNull();
    expect(session.hasOutbox).toBe(true);
    expect(session.config?.mode).toBe('embedded');
    await expect(session.ready).resolves.toBeUndefined();
  });

  it('signs up, confirms by mail, logs in, survives a reload and logs out', async () => {
    const storage = new MemoryStorage();
    const email = uniqueEmail('ada');
    const password = 'analytical1843';
    const first = await openSession(storage);
    const changes = recordChanges(first);

    const landing = await signUpAndConfirm(
      first,
      'Ada Lovelace',
      email,
      password
    );
    // The link leads back to the lab with a session in the fragment.
    expect(landing.startsWith(`${lab.labUrl}#`)).toBe(true);
    expect(readLinkFragment(landing)).toEqual({ type: 'signup', error: null });

    await first.signIn(email, password);
    expect(first.isLoggedIn).toBe(true);
    expect(first.user).toEqual({
      id: expect.any(String),
      email,
      fullName: 'Ada Lovelace',
      firstName: 'Ada'
    });
    expect(changes.map(c => c.reason)).toEqual(['signed-in']);
    expect(changes[0].user?.firstName).toBe('Ada');
    const token = await first.getAccessToken();
    expect(token).toBe(first.accessToken);
    expect(token?.split('.')).toHaveLength(3);

    // A reload: a new page reads the session the first one stored.
    const second = await openSession(storage);
    expect(second.isLoggedIn).toBe(true);
    expect(second.user?.firstName).toBe('Ada');
    expect(second.user?.email).toBe(email);

    const secondChanges = recordChanges(second);
    await second.signOut();
    expect(second.isLoggedIn).toBe(false);
    expect(second.accessToken).toBeNull();
    expect(secondChanges.map(c => c.reason)).toEqual(['signed-out']);
    expect(storage.getItem(STORAGE_KEY)).toBeNull();

    const third = await openSession(storage);
    expect(third.isLoggedIn).toBe(false);
  });

  it('refuses to log in before the email is confirmed', async () => {
    const session = await openSession(new MemoryStorage());
    const email = uniqueEmail('grace');
    await session.signUp({
      fullName: 'Grace Hopper',
      email,
      password: 'cobol1959'
    });
    const failure = await session
      .signIn(email, 'cobol1959')
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AuthFailure);
    expect((failure as AuthFailure).code).toBe('email_not_confirmed');
    expect(session.isLoggedIn).toBe(false);
  });

  it("shows the server's own words for a refused sign-up and a wrong password", async () => {
    const session = await openSession(new MemoryStorage());
    const weak = await session
      .signUp({
        fullName: 'Weak Password',
        email: uniqueEmail('weak'),
        password: 'onlyletters'
      })
      .catch((e: unknown) => e);
    expect(weak).toBeInstanceOf(AuthFailure);
    expect((weak as AuthFailure).code).toBe('weak_password');
    expect((weak as AuthFailure).message).toMatch(/letter and one digit/);

    const wrong = await session
      .signIn(uniqueEmail('nobody'), 'whatever123')
      .catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(AuthFailure);
    expect((wrong as AuthFailure).code).toBe('invalid_credentials');
    expect((wrong as AuthFailure).message).toBe('Invalid login credentials');
  });

  it('refreshes a token close to expiry before handing it out', async () => {
    const storage = new MemoryStorage();
    const email = uniqueEmail('katherine');
    const session = await openSession(storage);
    await signUpAndConfirm(session, 'Katherine Johnson', email, 'orbit1962x');
    await session.signIn(email, 'orbit1962x');
    const before = session.accessToken;
    const changes = recordChanges(session);

    // Tokens carry whole seconds: one issued in the same second would be identical.
    await new Promise(resolve => setTimeout(resolve, 1100));
    // As if the hour had nearly passed: the stored session expires in 10 s.
    const stored = JSON.parse(storage.getItem(STORAGE_KEY)!);
    stored.expires_at = Math.floor(Date.now() / 1000) + 10;
    storage.setItem(STORAGE_KEY, JSON.stringify(stored));

    const fresh = await session.getAccessToken();
    expect(fresh).not.toBe(before);
    const rotated = JSON.parse(storage.getItem(STORAGE_KEY)!);
    expect(rotated.refresh_token).not.toBe(stored.refresh_token);
    expect(rotated.expires_at).toBeGreaterThan(stored.expires_at + 600);
    expect(fresh).toBe(session.accessToken);
    expect(changes.map(c => c.reason)).toEqual(['refreshed']);
    expect(session.user?.firstName).toBe('Katherine');
  });

  it('hands its token to the sidecar client, which the proxy passes on', async () => {
    const storage = new MemoryStorage();
    const email = uniqueEmail('mary');
    const client = sidecarClient();
    const session = await openSession(storage, { client });
    client.accessTokenProvider = () => session.getAccessToken();
    await signUpAndConfirm(session, 'Mary Jackson', email, 'wind1958tunnel');
    await session.signIn(email, 'wind1958tunnel');

    // GoTrue's /user answers only with a valid user token in Authorization.
    const user = await client.request<{ email: string }>('auth/v1/user', {
      headers: { apikey: session.config!.supabase_anon_key }
    });
    expect(user.email).toBe(email);
  });

  it('changes the full name and the password', async () => {
    const storage = new MemoryStorage();
    const email = uniqueEmail('dorothy');
    const session = await openSession(storage);
    await signUpAndConfirm(session, 'Dorothy Vaughan', email, 'fortran1961');
    await session.signIn(email, 'fortran1961');
    const changes = recordChanges(session);

    await session.updateProfile({ fullName: '  Dot   Vaughan ' });
    expect(session.user?.fullName).toBe('Dot Vaughan');
    expect(session.user?.firstName).toBe('Dot');
    expect(changes.map(c => c.reason)).toEqual(['profile-updated']);

    await session.updatePassword('newer1962pass');
    await session.signOut();
    await expect(session.signIn(email, 'fortran1961')).rejects.toThrow(
      'Invalid login credentials'
    );
    await session.signIn(email, 'newer1962pass');
    expect(session.user?.fullName).toBe('Dot Vaughan');
  });

  it('sends a reset link without telling whether the account exists', async () => {
    const session = await openSession(new MemoryStorage());
    const account = new AccountModel(session, trans);
    const email = uniqueEmail('annie');
    await signUpAndConfirm(session, 'Annie Easley', email, 'centaur1965');

    expect(await account.requestPasswordReset(email)).toBe(true);
    expect(account.message?.text).toBe(
      `If an account exists, a reset link has been sent to ${email}.`
    );
    expect(await account.requestPasswordReset(uniqueEmail('ghost'))).toBe(true);
    expect(account.message?.text).toMatch(
      /^If an account exists, a reset link has been sent/
    );

    const outbox = new OutboxModel({
      client: sidecarClient(),
      pollInterval: 0
    });
    await outbox.refresh();
    const mails = outbox.messages.filter(m => m.to === email);
    outbox.dispose();
    // Newest first: the reset mail, then the confirmation.
    expect(mails.map(m => m.purpose)).toEqual(['recovery', 'signup']);
    account.dispose();
  });

  it('says "Email confirmed — please log in" when a link lands without a session', async () => {
    const storage = new MemoryStorage();
    const email = uniqueEmail('hedy');
    const signUp = await openSession(storage);
    const landing = await signUpAndConfirm(
      signUp,
      'Hedy Lamarr',
      email,
      'frequency1942'
    );
    // In Node supabase-js does not read the URL: the session never starts,
    // exactly the case of a browser that could not keep it.
    const session = await openSession(new MemoryStorage(), {
      initialUrl: landing
    });
    expect(session.isLoggedIn).toBe(false);
    expect(session.linkOutcome).toEqual({ kind: 'confirmed', signedIn: false });
    const account = new AccountModel(session, trans);
    expect(account.page).toBe('login');
    expect(account.message).toEqual({
      kind: 'success',
      text: 'Email confirmed — please log in.'
    });
    // Logging in ends the notice.
    expect(await account.logIn({ email, password: 'frequency1942' })).toBe(
      true
    );
    expect(session.isLoggedIn).toBe(true);
    expect(session.linkOutcome).toBeNull();
    expect(account.message).toBeNull();
    account.dispose();
  });

  it('reports a failed link in the login form', async () => {
    const session = await openSession(new MemoryStorage(), {
      initialUrl: `${lab.labUrl}#error=access_denied&error_code=otp_expired&error_description=Email+link+is+invalid+or+has+expired&sb=`
    });
    expect(session.linkOutcome).toEqual({
      kind: 'failed',
      message: 'Email link is invalid or has expired'
    });
    const account = new AccountModel(session, trans);
    expect(account.message?.kind).toBe('error');
    expect(account.message?.text).toBe(
      'That link did not work: Email link is invalid or has expired. Request a new one, or log in.'
    );
    account.dispose();
  });

  it('sends Jupyter credentials with every auth request', async () => {
    const session = await openSession(new MemoryStorage());
    lab.refused.length = 0;
    await session
      .signIn(uniqueEmail('nobody'), 'whatever123')
      .catch(() => undefined);
    expect(lab.refused).toEqual([]);
  });

  it('reports an unreachable sidecar and recovers when it answers', async () => {
    let reachable = false;
    const real = sidecarClient();
    const flaky: ISidecarClient = {
      baseUrl: real.baseUrl,
      accessTokenProvider: null,
      health: () => real.health(),
      status: () => real.status(),
      request: <T>(path: string, init?: RequestInit) =>
        reachable
          ? real.request<T>(path, init)
          : Promise.reject(new Error('connect ECONNREFUSED'))
    };
    const session = await openSession(new MemoryStorage(), { client: flaky });
    expect(session.status).toBe('unavailable');
    expect(session.startError).toBe('connect ECONNREFUSED');
    reachable = true;
    await session.retry();
    expect(session.status).toBe('ready');
  });
});

describe('AccountModel', () => {
  it('checks a sign-up form like the server before sending it', async () => {
    const session = await openSession(new MemoryStorage());
    const account = new AccountModel(session, trans);
    account.show('signup');
    const sent = await account.signUp({
      fullName: ' ',
      email: 'not-an-email',
      password: 'short1',
      confirm: 'short2'
    });
    expect(sent).toBe(false);
    expect(account.errors).toEqual({
      fullName: 'Enter your full name.',
      email: 'Enter a valid email address, like ada@example.com.',
      password: 'Use at least 8 characters, with letters and digits.',
      confirm: 'The two passwords differ.'
    });
    expect(account.page).toBe('signup');
    account.dispose();
  });

  it('asks to verify the email after a sign-up, and shows server errors as they come', async () => {
    const session = await openSession(new MemoryStorage());
    const account = new AccountModel(session, trans);
    const email = uniqueEmail('ada');
    const fields = {
      fullName: 'Ada Lovelace',
      email,
      password: 'engine1843',
      confirm: 'engine1843'
    };
    account.show('signup');
    expect(await account.signUp(fields)).toBe(true);
    expect(account.page).toBe('verify');
    expect(account.message?.text).toMatch(/^Please verify your email/);

    account.show('signup');
    expect(await account.signUp(fields)).toBe(false);
    expect(account.message).toEqual({
      kind: 'error',
      text: 'User already registered'
    });

    account.show('login');
    expect(account.message).toBeNull();
    expect(await account.logIn({ email, password: 'engine1843' })).toBe(false);
    expect(account.message?.text).toMatch(/^Please verify your email first/);
    account.dispose();
  });
});
