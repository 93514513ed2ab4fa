import type { ISession, ISessionChangedArgs } from '@insighter/core';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';

/** The Jupyter server's handler (jupyter-config/insighter_lab/kernel_session.py). */
export const KERNEL_SESSION_PATH = 'insighter-lab/kernel-session';

export interface IKernelSessionSyncOptions {
  session: Pick<ISession, 'ready' | 'isLoggedIn' | 'accessToken' | 'changed'>;
  /** The Jupyter server's settings: the handler wants its token or XSRF cookie. */
  serverSettings: ServerConnection.ISettings;
}

/**
 * Keeps the Jupyter server's copy of the access token that kernels use (the
 * `insighter` Python package acts as the signed-in person) equal to this
 * page's: deposited once the session is read and on every sign-in or token
 * refresh, withdrawn at sign-out. Only the short-lived access token leaves
 * the page; the refresh token stays with supabase-js.
 *
 * A page that starts signed out deposits nothing and withdraws nothing: another
 * tab may be signed in (with "remember me" off, tabs do not share a session)
 * and its kernels keep working.
 */
export class KernelSessionSync implements IDisposable {
  private readonly _options: IKernelSessionSyncOptions;
  /** Requests go out one after another, so a withdrawal never overtakes a deposit. */
  private _queue: Promise<void> = Promise.resolve();
  private _deposited: string | null = null;
  private _isDisposed = false;

  constructor(options: IKernelSessionSyncOptions) {
    this._options = options;
    options.session.changed.connect(this._onChanged, this);
    void options.session.ready.then(() => {
      if (options.session.isLoggedIn) {
        this._deposit();
      }
    });
  }

  /** Settles once every request asked for so far was answered (for tests). */
  get idle(): Promise<void> {
    return this._queue;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._options.session.changed.disconnect(this._onChanged, this);
  }

  private _onChanged(_: unknown, change: ISessionChangedArgs): void {
    if (change.reason === 'signed-out') {
      this._withdraw();
    } else if (this._options.session.isLoggedIn) {
      this._deposit();
    }
  }

  private _deposit(): void {
    const token = this._options.session.accessToken;
    if (!token || token === this._deposited || this._isDisposed) {
      return;
    }
    this._deposited = token;
    this._send('PUT', JSON.stringify({ access_token: token }));
  }

  private _withdraw(): void {
    this._deposited = null;
    this._send('DELETE');
  }

  private _send(method: 'PUT' | 'DELETE', body?: string): void {
    const settings = this._options.serverSettings;
    const url = URLExt.join(settings.baseUrl, KERNEL_SESSION_PATH);
    this._queue = this._queue.then(async () => {
      try {
        const response = await ServerConnection.makeRequest(
          url,
          {
            method,
            body,
            headers: body ? { 'Content-Type': 'application/json' } : {},
            // Not 'no-store', which makes ServerConnection add a cache-busting query.
            cache: 'no-cache'
          },
          settings
        );
        if (!response.ok) {
          throw new Error(`HTTP ${response.status}`);
        }
      } catch (reason) {
        // Kernels then say "not signed in" with what to do; the next
        // refresh tries again. The message never carries the token.
        if (method === 'PUT') {
          this._deposited = null;
        }
        console.warn(
          `Insighter: notebooks could not be given the session (${method}):`,
          reason instanceof Error ? reason.message : String(reason)
        );
      }
    });
  }
}
