import {
  firstNameOf,
  ISession,
  ISessionChangedArgs,
  ISessionProfile,
  ISidecarClient,
  SessionChangeReason,
  SidecarError,
  UNREACHABLE_MESSAGE
} from '@insighter/core';
import type { ServerConnection } from '@jupyterlab/services';
import { PromiseDelegate } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import {
  AuthChangeEvent,
  AuthError,
  createClient,
  Session,
  SupabaseClient,
  User
} from '@supabase/supabase-js';
import { jupyterFetch } from './jupyterfetch';
import { IKeyValueStorage, RememberMeStorage } from './storage';
import type { IPublicConfig } from './types';
import { normalizeEmail, normalizeName } from './validation';

/** Where supabase-js keeps the session (its `storageKey`). */
export const STORAGE_KEY = 'insighter-auth';

/** Every key supabase-js may write under `STORAGE_KEY`. */
export const STORAGE_KEYS: readonly string[] = [
  STORAGE_KEY,
  `${STORAGE_KEY}-user`,
  `${STORAGE_KEY}-code-verifier`
];

/**
 * `starting`: reading the stored session; `ready`: the auth server answered
 * (signed in or not); `unavailable`: its configuration could not be fetched.
 */
export type SessionStatus = 'starting' | 'ready' | 'unavailable';

/** What a mail link that brought the person here turned out to be. */
export type LinkOutcome =
  | { kind: 'confirmed'; signedIn: boolean }
  | { kind: 'recovery' }
  | { kind: 'failed'; message: string };

/** A failed account action, with the auth server's words. */
export class AuthFailure extends Error {
  constructor(
    message: string,
    /** GoTrue's error code (`weak_password`, `email_not_confirmed`, …), or `network`. */
    readonly code: string,
    readonly status = 0
  ) {
    super(message);
    this.name = 'AuthFailure';
  }
}

export interface ISignUpRequest {
  fullName: string;
  email: string;
  password: string;
}

export interface ISignUpResult {
  /** True when a confirmation mail was sent and no session started yet. */
  needsConfirmation: boolean;
}

export interface ISessionModelOptions {
  /** Asks the sidecar for `/api/v1/config`. */
  client: Pick<ISidecarClient, 'request' | 'baseUrl'>;
  /** The Jupyter server's settings: requests to it carry its token and XSRF cookie. */
  serverSettings: ServerConnection.ISettings;
  storage: IKeyValueStorage;
  /** Where mail links (confirmation, reset) lead back to: the lab's URL. */
  redirectTo: string;
  /** Refresh the token in the background before it expires (default true). */
  autoRefreshToken?: boolean;
  /** The page URL when the app started, to read a mail link's outcome from. */
  initialUrl?: string;
  /** Drops the mail link's fragment from the address bar once read. */
  clearUrlFragment?: () => void;
}

/**
 * The Insighter session: supabase-js's auth client, configured from the
 * sidecar, behind `ISession`. It holds the state views render (status, user,
 * password recovery, what a mail link did) and performs every account action;
 * widgets call it and never fetch on their own.
 */
export class SessionModel implements ISession, IDisposable {
  private readonly _options: ISessionModelOptions;
  private readonly _ready = new PromiseDelegate<void>();
  private readonly _changed = new Signal<this, ISessionChangedArgs>(this);
  private readonly _stateChanged = new Signal<this, void>(this);
  private _supabase: SupabaseClient | null = null;
  private _config: IPublicConfig | null = null;
  private _starting: Promise<void> | null = null;
  private _status: SessionStatus = 'starting';
  private _startError: string | null = null;
  private _session: Session | null = null;
  private _user: ISessionProfile | null = null;
  private _recovery = false;
  private _linkOutcome: LinkOutcome | null = null;
  private _unsubscribe: (() => void) | null = null;
  private _isDisposed = false;

  constructor(options: ISessionModelOptions) {
    this._options = options;
  }

  /** Read the stored session (or the one a mail link brought); settles `ready`. */
  start(): Promise<void> {
    if (!this._starting) {
      this._starting = this._start().finally(() => {
        this._ready.resolve();
      });
    }
    return this._starting;
  }

  get ready(): Promise<void> {
    return this._ready.promise;
  }

  get status(): SessionStatus {
    return this._status;
  }

  /** Why the auth server could not be reached at start; `null` otherwise. */
  get startError(): string | null {
    return this._startError;
  }

  get config(): IPublicConfig | null {
    return this._config;
  }

  /** Embedded mode keeps mail in an outbox the user can open. */
  get hasOutbox(): boolean {
    return this._config?.mode === 'embedded';
  }

  get isLoggedIn(): boolean {
    return this._user !== null;
  }

  get user(): ISessionProfile | null {
    return this._user;
  }

  get accessToken(): string | null {
    return this._session?.access_token ?? null;
  }

  /** The person came from a password reset link and must choose a new password. */
  get isRecovering(): boolean {
    return this._recovery;
  }

  /** What the mail link that opened this page did; `null` when none did. */
  get linkOutcome(): LinkOutcome | null {
    return this._linkOutcome;
  }

  get changed(): ISignal<this, ISessionChangedArgs> {
    return this._changed;
  }

  /** Fires on any change views render: session, status, recovery, link outcome. */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  async getAccessToken(): Promise<string | null> {
    if (!this._supabase || !this._session) {
      return null;
    }
    // getSession refreshes a token that expires within supabase-js's margin.
    const { data, error } = await this._supabase.auth.getSession();
    if (error) {
      return null;
    }
    return data.session?.access_token ?? null;
  }

  /** Try again after the sidecar could not be reached. */
  retry(): Promise<void> {
    if (this._status !== 'unavailable') {
      return this.start();
    }
    this._starting = null;
    this._setStatus('starting', null);
    return this.start();
  }

  async signIn(email: string, password: string): Promise<void> {
    const auth = await this._auth();
    const { error } = await auth.signInWithPassword({
      email: normalizeEmail(email),
      password
    });
    this._throwIf(error);
    this._forgetLinkOutcome();
  }

  async signUp(request: ISignUpRequest): Promise<ISignUpResult> {
    const auth = await this._auth();
    const { data, error } = await auth.signUp({
      email: normalizeEmail(request.email),
      password: request.password,
      options: {
        data: { full_name: normalizeName(request.fullName) },
        emailRedirectTo: this._options.redirectTo
      }
    });
    this._throwIf(error);
    return { needsConfirmation: !data.session };
  }

  /** Sends a reset link if an account has this email (the answer never says). */
  async requestPasswordReset(email: string): Promise<void> {
    const auth = await this._auth();
    const { error } = await auth.resetPasswordForEmail(normalizeEmail(email), {
      redirectTo: this._options.redirectTo
    });
    this._throwIf(error);
  }

  /** A new password for the signed-in user; ends password recovery. */
  async updatePassword(password: string): Promise<void> {
    const auth = await this._auth();
    const { error } = await auth.updateUser({ password });
    this._throwIf(error);
    if (this._recovery) {
      this._recovery = false;
      this._forgetLinkOutcome();
      this._stateChanged.emit();
    }
  }

  async updateProfile(profile: { fullName: string }): Promise<void> {
    const auth = await this._auth();
    const { error } = await auth.updateUser({
      data: { full_name: normalizeName(profile.fullName) }
    });
    this._throwIf(error);
  }

  /**
   * Signs out of this browser at once, then ends the session on the server.
   * Never fails: a server that cannot be told still leaves the browser signed out.
   */
  async signOut(): Promise<void> {
    const auth = this._supabase?.auth;
    if (!auth) {
      return;
    }
    const { error } = await auth.signOut({ scope: 'local' });
    if (error) {
      console.warn(
        'Insighter: the server was not told about the sign-out',
        error.message
      );
    }
    // SIGNED_OUT normally did this; make sure, even if the event was lost.
    this._onAuthEvent('SIGNED_OUT', null);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._unsubscribe?.();
    this._supabase?.auth.stopAutoRefresh().catch(() => undefined);
    Signal.clearData(this);
  }

  /** Turn background token refresh on or off (a preference). */
  setAutoRefresh(enabled: boolean): void {
    this._options.autoRefreshToken = enabled;
    const auth = this._supabase?.auth;
    if (!auth) {
      return;
    }
    void (enabled ? auth.startAutoRefresh() : auth.stopAutoRefresh());
  }

  /** Keep the session after the browser closes (`localStorage`) or only for this tab. */
  setRememberMe(remember: boolean): void {
    const storage = this._options.storage;
    if (storage instanceof RememberMeStorage) {
      storage.setRemember(remember, STORAGE_KEYS);
    }
  }

  private async _start(): Promise<void> {
    let config: IPublicConfig;
    try {
      config =
        await this._options.client.request<IPublicConfig>('api/v1/config');
    } catch (reason) {
      this._setStatus('unavailable', describe(reason));
      return;
    }
    this._config = config;
    const link = readLinkFragment(this._options.initialUrl);
    const supabase = createClient(
      this._supabaseUrl(config),
      config.supabase_anon_key,
      {
        global: { fetch: jupyterFetch(this._options.serverSettings) },
        auth: {
          persistSession: true,
          autoRefreshToken: this._options.autoRefreshToken ?? true,
          detectSessionInUrl: true,
          storageKey: STORAGE_KEY,
          storage: this._options.storage,
          flowType: 'implicit'
        }
      }
    );
    this._supabase = supabase;
    const { data } = supabase.auth.onAuthStateChange((event, session) => {
      this._onAuthEvent(event, session);
    });
    this._unsubscribe = () => data.subscription.unsubscribe();

    const { error: initError } = await supabase.auth.initialize();
    const { data: current } = await supabase.auth.getSession();
    // A session from a mail link is a sign-in; one from storage, a restore.
    this._apply(current.session, link ? 'signed-in' : 'restored');
    if (link) {
      this._linkOutcome = linkOutcome(link, initError, current.session);
      if (this._linkOutcome.kind === 'recovery' && current.session) {
        this._recovery = true;
      }
      if (initError) {
        // supabase-js leaves a failed link's fragment in place.
        this._options.clearUrlFragment?.();
      }
    }
    this._setStatus('ready', null);
  }

  /**
   * In embedded mode the auth server is the sidecar, which the browser
   * reaches through the Jupyter proxy: the proxied URL the client already
   * uses, whatever host name this page was opened under.
   */
  private _supabaseUrl(config: IPublicConfig): string {
    if (config.mode === 'embedded') {
      return this._options.client.baseUrl.replace(/\/+$/, '');
    }
    return config.supabase_url;
  }

  private _onAuthEvent(event: AuthChangeEvent, session: Session | null): void {
    switch (event) {
      case 'PASSWORD_RECOVERY':
        this._recovery = true;
        this._apply(session, 'password-recovery');
        break;
      case 'SIGNED_OUT':
        this._recovery = false;
        // What a mail link did is old news once its session is over.
        this._linkOutcome = null;
        this._apply(null, 'signed-out');
        break;
      case 'SIGNED_IN':
        this._apply(session, 'signed-in');
        break;
      case 'TOKEN_REFRESHED':
        this._apply(session, 'refreshed');
        break;
      case 'USER_UPDATED':
        this._apply(session, 'profile-updated');
        break;
      default:
        // INITIAL_SESSION: `_start` applies the session once initialized.
        break;
    }
  }

  /** Take `session` as the current one; signal only what changed. */
  private _apply(session: Session | null, reason: SessionChangeReason): void {
    if (this._isDisposed) {
      return;
    }
    const previous = this._user;
    const previousToken = this._session?.access_token ?? null;
    this._session = session;
    this._user = session ? profileOf(session.user) : null;
    const token = session?.access_token ?? null;
    const userChanged = !sameProfile(previous, this._user);
    if (
      !userChanged &&
      token === previousToken &&
      reason !== 'password-recovery'
    ) {
      return;
    }
    let effective = reason;
    if (!userChanged && reason === 'signed-in') {
      // supabase-js re-announces SIGNED_IN when a tab regains focus.
      effective = 'refreshed';
    } else if (
      userChanged &&
      previous &&
      this._user &&
      previous.id === this._user.id
    ) {
      effective = 'profile-updated';
    }
    this._changed.emit({ user: this._user, reason: effective });
    this._stateChanged.emit();
  }

  private async _auth(): Promise<SupabaseClient['auth']> {
    await this.start();
    if (!this._supabase) {
      // The sidecar did not answer at start: ask again now that someone waits.
      await this.retry();
    }
    if (!this._supabase) {
      throw new AuthFailure(this._startError ?? UNREACHABLE_MESSAGE, 'network');
    }
    return this._supabase.auth;
  }

  private _throwIf(error: AuthError | null): void {
    if (!error) {
      return;
    }
    if (error.status === 0 || error.name === 'AuthRetryableFetchError') {
      throw new AuthFailure(UNREACHABLE_MESSAGE, 'network', error.status ?? 0);
    }
    throw new AuthFailure(
      error.message,
      error.code ?? error.name,
      error.status ?? 0
    );
  }

  private _forgetLinkOutcome(): void {
    if (this._linkOutcome) {
      this._linkOutcome = null;
      this._stateChanged.emit();
    }
  }

  private _setStatus(status: SessionStatus, error: string | null): void {
    this._status = status;
    this._startError = error;
    if (!this._isDisposed) {
      this._stateChanged.emit();
    }
  }
}

/** The profile tools see, from supabase-js's user. */
export function profileOf(user: User): ISessionProfile {
  const email = user.email ?? '';
  const metadata = (user.user_metadata ?? {}) as Record<string, unknown>;
  const fullName =
    typeof metadata.full_name === 'string' ? metadata.full_name.trim() : '';
  return {
    id: user.id,
    email,
    fullName,
    firstName: firstNameOf(fullName, email)
  };
}

function sameProfile(
  a: ISessionProfile | null,
  b: ISessionProfile | null
): boolean {
  if (a === null || b === null) {
    return a === b;
  }
  return (
    a.id === b.id &&
    a.email === b.email &&
    a.fullName === b.fullName &&
    a.firstName === b.firstName
  );
}

interface ILinkFragment {
  type: string | null;
  error: string | null;
}

/** The parameters a GoTrue mail link puts in the URL fragment, if any. */
export function readLinkFragment(
  url: string | undefined
): ILinkFragment | null {
  if (!url) {
    return null;
  }
  const hash = url.includes('#') ? url.slice(url.indexOf('#') + 1) : '';
  if (!hash) {
    return null;
  }
  const params = new URLSearchParams(hash);
  const error =
    params.get('error_description') ??
    params.get('error_code') ??
    params.get('error');
  if (!params.has('access_token') && error === null) {
    return null;
  }
  return { type: params.get('type'), error };
}

function linkOutcome(
  link: ILinkFragment,
  initError: AuthError | null,
  session: Session | null
): LinkOutcome {
  if (link.error !== null) {
    return { kind: 'failed', message: link.error };
  }
  if (link.type === 'recovery') {
    return session
      ? { kind: 'recovery' }
      : { kind: 'failed', message: initError?.message ?? '' };
  }
  // Tokens come only after the server confirmed the address: even if they
  // could not start a session here, the email is confirmed.
  return { kind: 'confirmed', signedIn: session !== null };
}

function describe(reason: unknown): string {
  if (reason instanceof SidecarError) {
    return reason.message;
  }
  return reason instanceof Error ? reason.message : String(reason);
}
