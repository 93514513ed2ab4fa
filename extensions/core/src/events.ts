import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { isInsighterEvent } from './bus';
import type { ISession, SessionChangeReason } from './session';
import type { IInsighterBus } from './tokens';

/**
 * The sidecar's event stream, `/api/v1/events` (see
 * `server/src/events/stream.ts`): one authenticated WebSocket per tab over
 * which the sidecar pushes `{type, payload}` events about the rows the user
 * may read. `EventStream` keeps that socket open while someone is signed in
 * and re-emits every event on the bus, in the order it arrived.
 */

/** The path of the stream under the sidecar's root. */
export const EVENTS_PATH = 'api/v1/events';

/** The subprotocol the server selects; browsers cannot send headers, so the token rides as a second one. */
export const EVENTS_PROTOCOL = 'insighter.events.v1';
export const BEARER_PROTOCOL_PREFIX = 'insighter.bearer.';

/** Close codes the server uses (mirrors `CloseCodes` in the server's stream). */
export const EventStreamCloseCodes = {
  normal: 1000,
  goingAway: 1001,
  tryAgainLater: 1013,
  /** The token is missing, bad or expired: reconnect with a fresh one. */
  unauthorized: 4401,
  /** A refresh with another user's token. */
  forbidden: 4403
} as const;

/**
 * The part of the browser's `WebSocket` the stream uses. The `ws` package's
 * client has the same shape, which is how the unit tests run in Node.
 */
export interface IWebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (
  url: string,
  protocols: string[]
) => IWebSocketLike;

/** `WebSocket`'s ready states, without relying on a global `WebSocket` (a factory may make `ws` sockets). */
const CONNECTING = 0;
const OPEN = 1;

export interface IBackoffOptions {
  /** The wait before the first retry, in ms. */
  initialMs: number;
  /** Each failed attempt multiplies the wait by this. */
  factor: number;
  /** The longest wait, in ms: a stream that was down for long comes back soon after the server. */
  maxMs: number;
  /**
   * 0…1: the share of each wait that is random, so that tabs dropped together
   * by a restarting server do not all knock again in the same millisecond.
   */
  jitter: number;
}

export const DEFAULT_BACKOFF: IBackoffOptions = {
  initialMs: 500,
  factor: 2,
  maxMs: 30_000,
  jitter: 0.5
};

/**
 * The wait before retry number `attempt` (0 for the first retry): exponential,
 * capped at `maxMs`, then up to `jitter` of it taken away at random.
 */
export function backoffDelay(
  attempt: number,
  options: IBackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random
): number {
  const exponential = options.initialMs * Math.pow(options.factor, attempt);
  const capped = Math.min(options.maxMs, exponential);
  return Math.round(capped * (1 - options.jitter * random()));
}

/**
 * The stream's WebSocket URL for a sidecar root such as
 * `http://host/lab-base/insighter/`: same host and path, `ws:` or `wss:`
 * after the page's scheme. The Jupyter token (when the server has one) goes
 * in the query, as Jupyter's own WebSockets send it; the proxy takes it off.
 */
export function eventStreamUrl(apiBaseUrl: string, jupyterToken = ''): string {
  const url = new URL(EVENTS_PATH, apiBaseUrl);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (jupyterToken) {
    url.searchParams.set('token', jupyterToken);
  }
  return url.toString();
}

/**
 * - `idle`: not connected and not trying (signed out, or not started);
 * - `connecting`: a socket is being opened;
 * - `open`: events flow;
 * - `waiting`: the socket dropped; a retry is scheduled.
 */
export type EventStreamState = 'idle' | 'connecting' | 'open' | 'waiting';

export interface IRetryScheduled {
  /** 0 for the first retry after a drop, then 1, 2, … until a connection holds. */
  attempt: number;
  delayMs: number;
  /** The close code of the socket that dropped (1006 when it never opened). */
  code: number;
}

export interface IEventStreamOptions {
  /** Where events go: every one that arrives is re-emitted here. */
  bus: Pick<IInsighterBus, 'emit'>;
  /** The stream's WebSocket URL (see `eventStreamUrl`). */
  url: string;
  /** The user's access token, or `null` when signed out; asked before every connection. */
  getToken: () => Promise<string | null> | string | null;
  /** Creates sockets; defaults to the browser's `WebSocket`. */
  createSocket?: WebSocketFactory;
  backoff?: Partial<IBackoffOptions>;
  /**
   * A connection that stayed open this long (ms) counts as healthy: the next
   * drop retries after the shortest wait again. A server that accepts and
   * drops at once keeps backing off instead.
   */
  stableAfterMs?: number;
  /** For the jitter; tests pass a fixed one. */
  random?: () => number;
  /**
   * Follow this session: connect once it is ready and signed in, reconnect
   * with the new token when someone signs in, hand a refreshed token to the
   * open socket, disconnect on sign-out.
   */
  session?: ISession;
}

/**
 * Keeps the sidecar's event stream connected and re-emits its events on the
 * bus. Events are handed on synchronously as messages arrive, so listeners
 * see them in the server's order. After a drop it reconnects with
 * exponential backoff plus jitter, capped; it never reconnects once
 * `disconnect()`ed or disposed.
 */
export class EventStream implements IDisposable {
  private readonly _bus: Pick<IInsighterBus, 'emit'>;
  private readonly _url: string;
  private readonly _getToken: IEventStreamOptions['getToken'];
  private readonly _createSocket: WebSocketFactory;
  private readonly _backoff: IBackoffOptions;
  private readonly _stableAfterMs: number;
  private readonly _random: () => number;
  private readonly _session: ISession | null;

  private _socket: IWebSocketLike | null = null;
  private _state: EventStreamState = 'idle';
  /** Bumped whenever the current connection is abandoned; stale callbacks compare it. */
  private _generation = 0;
  private _attempt = 0;
  private _retryTimer: ReturnType<typeof setTimeout> | null = null;
  private _stableTimer: ReturnType<typeof setTimeout> | null = null;
  private _wanted = false;
  private _isDisposed = false;
  private _received = 0;
  /** Since when no events could arrive (ms since the epoch); `null` while open or not wanted. */
  private _downSince: number | null = null;
  private readonly _stateChanged = new Signal<this, EventStreamState>(this);
  private readonly _retryScheduled = new Signal<this, IRetryScheduled>(this);

  constructor(options: IEventStreamOptions) {
    this._bus = options.bus;
    this._url = options.url;
    this._getToken = options.getToken;
    this._createSocket = options.createSocket ?? browserSocket;
    this._backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this._stableAfterMs = options.stableAfterMs ?? 10_000;
    this._random = options.random ?? Math.random;
    this._session = options.session ?? null;
    if (this._session) {
      this._session.changed.connect(this._onSessionChanged, this);
      void this._session.ready.then(() => {
        if (this._session?.isLoggedIn && !this._isDisposed) {
          this.connect();
        }
      });
    }
  }

  get url(): string {
    return this._url;
  }

  get state(): EventStreamState {
    return this._state;
  }

  /**
   * Fires on every change of `state`. Each `open` is also announced on the
   * bus as `events.reconnected`: events may have been missed.
   */
  get stateChanged(): ISignal<this, EventStreamState> {
    return this._stateChanged;
  }

  /** Fires when a retry is scheduled after a drop, with its wait. */
  get retryScheduled(): ISignal<this, IRetryScheduled> {
    return this._retryScheduled;
  }

  /** Events received and re-emitted so far. */
  get received(): number {
    return this._received;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Open the stream now, with a freshly asked token; an open one is replaced
   * (e.g. because another person signed in). Stays connected until
   * `disconnect()`.
   */
  connect(): void {
    if (this._isDisposed) {
      return;
    }
    this._wanted = true;
    this._attempt = 0;
    this._abandon();
    void this._open();
  }

  /** Close the stream and stop retrying, e.g. on sign-out. */
  disconnect(): void {
    this._wanted = false;
    this._downSince = null;
    this._abandon();
    this._setState('idle');
  }

  /**
   * Give the open socket a refreshed token, so the server does not close it
   * when the old one expires. Without an open socket this does nothing: the
   * next connection asks for the token anyway.
   */
  async refreshToken(): Promise<void> {
    const socket = this._socket;
    if (!socket || this._state !== 'open') {
      return;
    }
    const token = await this._getToken();
    if (token && socket === this._socket && socket.readyState === OPEN) {
      socket.send(
        JSON.stringify({ type: 'auth.refresh', access_token: token })
      );
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._wanted = false;
    this._session?.changed.disconnect(this._onSessionChanged, this);
    this._abandon();
    this._state = 'idle';
    Signal.clearData(this);
  }

  private async _open(): Promise<void> {
    const generation = this._generation;
    this._downSince ??= Date.now();
    this._setState('connecting');
    let token: string | null;
    try {
      token = await this._getToken();
    } catch {
      token = null;
    }
    if (generation !== this._generation || !this._wanted) {
      return; // Abandoned while the token was being fetched.
    }
    if (!token) {
      // Nobody signed in: nothing to stream until someone is.
      this._wanted = false;
      this._setState('idle');
      return;
    }
    let socket: IWebSocketLike;
    try {
      socket = this._createSocket(this._url, [
        EVENTS_PROTOCOL,
        `${BEARER_PROTOCOL_PREFIX}${token}`
      ]);
    } catch {
      this._scheduleRetry(1006);
      return;
    }
    this._socket = socket;
    socket.onopen = () => {
      if (generation !== this._generation) {
        return;
      }
      this._setState('open');
      this._stableTimer = setTimeout(() => {
        this._stableTimer = null;
        this._attempt = 0;
      }, this._stableAfterMs);
      this._announceReconnected();
    };
    socket.onmessage = event => {
      if (generation === this._generation) {
        this._deliver(event.data);
      }
    };
    socket.onerror = () => {
      // `onclose` follows with the code; nothing to add here.
    };
    socket.onclose = event => {
      if (generation !== this._generation) {
        return;
      }
      this._socket = null;
      this._clearStableTimer();
      this._downSince ??= Date.now();
      if (this._wanted && !this._isDisposed) {
        this._scheduleRetry(event.code);
      } else {
        this._setState('idle');
      }
    };
  }

  private _deliver(data: unknown): void {
    if (typeof data !== 'string') {
      return; // The server sends JSON text only.
    }
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      return;
    }
    // Types this page does not know come from a newer server: skip them.
    // A reconnect is the page's own news: the sidecar cannot tell it.
    if (!isInsighterEvent(event) || event.type === 'events.reconnected') {
      return;
    }
    this._received++;
    this._bus.emit(event);
  }

  /**
   * Whatever the sidecar sent while the stream was not open was not heard:
   * the first connection too, since views may list before it is up.
   */
  private _announceReconnected(): void {
    const now = Date.now();
    const since = this._downSince ?? now;
    this._downSince = null;
    this._bus.emit({
      type: 'events.reconnected',
      payload: { downMs: Math.max(0, now - since), timestamp: now }
    });
  }

  private _scheduleRetry(code: number): void {
    const attempt = this._attempt++;
    const delayMs = backoffDelay(attempt, this._backoff, this._random);
    const generation = this._generation;
    this._setState('waiting');
    this._retryTimer = setTimeout(() => {
      this._retryTimer = null;
      if (generation === this._generation && this._wanted) {
        void this._open();
      }
    }, delayMs);
    this._retryScheduled.emit({ attempt, delayMs, code });
  }

  /** Drop the current socket and any pending retry without scheduling another. */
  private _abandon(): void {
    this._generation++;
    if (this._retryTimer !== null) {
      clearTimeout(this._retryTimer);
      this._retryTimer = null;
    }
    this._clearStableTimer();
    const socket = this._socket;
    this._socket = null;
    if (socket) {
      const close = () => {
        try {
          socket.close(EventStreamCloseCodes.normal, 'Closed by the page.');
        } catch {
          // Already closed.
        }
      };
      socket.onmessage = null;
      socket.onclose = null;
      // Errors of an abandoned socket concern nobody (and must not go unhandled).
      socket.onerror = () => undefined;
      if (socket.readyState === CONNECTING) {
        // Closing a socket mid-handshake makes browsers log an error: let it open first.
        socket.onopen = close;
      } else {
        socket.onopen = null;
        close();
      }
    }
  }

  private _clearStableTimer(): void {
    if (this._stableTimer !== null) {
      clearTimeout(this._stableTimer);
      this._stableTimer = null;
    }
  }

  private _setState(state: EventStreamState): void {
    if (this._state === state || this._isDisposed) {
      return;
    }
    this._state = state;
    this._stateChanged.emit(state);
  }

  private _onSessionChanged(
    _: ISession,
    change: { user: unknown; reason: SessionChangeReason }
  ): void {
    switch (change.reason) {
      case 'signed-out':
        this.disconnect();
        break;
      case 'refreshed':
        void this.refreshToken();
        break;
      case 'profile-updated':
        break; // Same person, same token.
      default:
        // Signed in, restored or recovering: a new person or a new token.
        if (change.user) {
          this.connect();
        } else {
          this.disconnect();
        }
    }
  }
}

function browserSocket(url: string, protocols: string[]): IWebSocketLike {
  return new WebSocket(url, protocols) as unknown as IWebSocketLike;
}
