import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { SidecarError } from './errors';
import type {
  AccessTokenProvider,
  ISidecarClient,
  ISidecarRequestInit
} from './tokens';
import type { IErrorBody, IHealth, ISystemStatus } from './types';

/** The page config key under which the Jupyter server publishes the proxied sidecar URL. */
export const API_URL_OPTION = 'insighterApiUrl';

/**
 * The header that carries the user's `Bearer` access token to the proxy.
 * `Authorization` is taken when the page holds a Jupyter token:
 * `ServerConnection` puts `token …` there, and the Jupyter proxy must see it
 * to let the request through (two schemes in one header fail both). The
 * proxy forwards this header to the sidecar as `Authorization`. Without a
 * Jupyter token (cookie login, or none at all) the bearer also goes in
 * `Authorization` itself, for a proxy that forwards that header as it comes.
 */
export const ACCESS_TOKEN_HEADER = 'X-Insighter-Authorization';

/** Where the proxy lives when the page config does not say (the Jupyter server's default). */
const DEFAULT_API_PATH = 'insighter/';

const DEFAULT_TIMEOUT_MS = 30_000;
const STATUS_TIMEOUT_MS = 8_000;

/**
 * Error codes the Jupyter proxy uses when it could not reach the sidecar.
 * A 502/503/504 with one of these, or with a body that is not a sidecar
 * error, means "no answer"; a sidecar error envelope with another code is
 * the sidecar itself answering (e.g. 503 when one of its backends is down).
 */
const PROXY_UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'sidecar_unavailable',
  'sidecar_unreachable',
  'sidecar_timeout'
]);
const GATEWAY_STATUSES: ReadonlySet<number> = new Set([502, 503, 504]);

export interface ISidecarClientOptions {
  /** Jupyter server settings (token, XSRF, fetch); defaults to the page's. */
  serverSettings?: ServerConnection.ISettings;
  /** The proxied sidecar root; defaults to the page config's `insighterApiUrl`. */
  baseUrl?: string;
  /** Per-request time limit in ms, after which the call fails as unreachable. */
  timeoutMs?: number;
  accessTokenProvider?: AccessTokenProvider | null;
}

/**
 * The one client for the sidecar. Requests go through
 * `ServerConnection.makeRequest`, so the Jupyter token and XSRF cookie go
 * along, as the Jupyter-authenticated proxy requires.
 */
export class SidecarClient implements ISidecarClient {
  readonly baseUrl: string;
  readonly serverSettings: ServerConnection.ISettings;
  accessTokenProvider: AccessTokenProvider | null;
  private readonly _timeoutMs: number;

  constructor(options: ISidecarClientOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
    const configured =
      options.baseUrl || PageConfig.getOption(API_URL_OPTION) || '';
    this.baseUrl = resolveApiUrl(
      configured || DEFAULT_API_PATH,
      this.serverSettings.baseUrl
    );
    this._timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.accessTokenProvider = options.accessTokenProvider ?? null;
  }

  async request<T>(path: string, init: ISidecarRequestInit = {}): Promise<T> {
    const {
      json,
      timeoutMs = this._timeoutMs,
      headers: givenHeaders,
      signal: callerSignal,
      ...rest
    } = init;
    const url = URLExt.join(this.baseUrl, path);
    const headers = new Headers(givenHeaders);
    if (!headers.has('Accept')) {
      headers.set('Accept', 'application/json');
    }
    let body = rest.body;
    if (json !== undefined) {
      body = JSON.stringify(json);
      headers.set('Content-Type', 'application/json');
    }
    const accessToken = await this.accessTokenProvider?.();
    for (const [name, value] of Object.entries(
      accessTokenHeaders(accessToken, this.serverSettings)
    )) {
      headers.set(name, value);
    }

    // One controller for our time limit and the caller's own abort.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const forwardAbort = () => controller.abort();
    callerSignal?.addEventListener('abort', forwardAbort);
    if (callerSignal?.aborted) {
      controller.abort();
    }

    try {
      let response: Response;
      let text: string;
      try {
        response = await ServerConnection.makeRequest(
          url,
          { ...rest, body, headers, signal: controller.signal },
          this.serverSettings
        );
        text = await response.text();
      } catch (error) {
        if (callerSignal?.aborted) {
          // As fetch does: the caller's abort reason, not a network error.
          throw callerSignal.reason ?? error;
        }
        if (timedOut) {
          throw SidecarError.unreachable(`No answer within ${timeoutMs} ms.`);
        }
        if (
          error instanceof ServerConnection.NetworkError ||
          error instanceof TypeError
        ) {
          throw SidecarError.unreachable(describeCause(error));
        }
        throw error;
      }
      if (!response.ok) {
        throw errorFromResponse(response, text);
      }
      if (text === '') {
        return undefined as T;
      }
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new SidecarError({
          kind: 'response',
          status: response.status,
          code: 'invalid_response',
          message: 'The Insighter service sent an answer that is not JSON.',
          reason: text.slice(0, 200)
        });
      }
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', forwardAbort);
    }
  }

  health(): Promise<IHealth> {
    return this.request<IHealth>('health', { timeoutMs: STATUS_TIMEOUT_MS });
  }

  status(): Promise<ISystemStatus> {
    return this.request<ISystemStatus>('api/v1/status', {
      timeoutMs: STATUS_TIMEOUT_MS
    });
  }
}

/**
 * Where the user's access token goes (see `ACCESS_TOKEN_HEADER`); none when
 * signed out.
 */
export function accessTokenHeaders(
  accessToken: string | null | undefined,
  serverSettings: Pick<ServerConnection.ISettings, 'token'>
): Record<string, string> {
  if (!accessToken) {
    return {};
  }
  const bearer = `Bearer ${accessToken}`;
  return serverSettings.token
    ? { [ACCESS_TOKEN_HEADER]: bearer }
    : { [ACCESS_TOKEN_HEADER]: bearer, Authorization: bearer };
}

/**
 * Every header that authenticates a sidecar call made without `request`,
 * e.g. an XMLHttpRequest, whose upload progress `fetch` cannot report:
 * Jupyter's token and XSRF cookie, as `ServerConnection.makeRequest` sends
 * them, and the user's access token.
 */
export function sidecarAuthHeaders(
  accessToken: string | null | undefined,
  serverSettings: Pick<ServerConnection.ISettings, 'token'>
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (serverSettings.token) {
    headers['Authorization'] = `token ${serverSettings.token}`;
  }
  const xsrf = cookie('_xsrf');
  if (xsrf !== undefined) {
    headers['X-XSRFToken'] = xsrf;
  }
  return { ...headers, ...accessTokenHeaders(accessToken, serverSettings) };
}

/** The last cookie of that name, as Tornado reads duplicates. */
function cookie(name: string): string | undefined {
  let cookies = '';
  try {
    cookies = typeof document === 'undefined' ? '' : document.cookie;
  } catch {
    return undefined; // e.g. a sandboxed frame
  }
  let value: string | undefined;
  for (const part of cookies.split(';')) {
    const trimmed = part.trim();
    if (trimmed.startsWith(`${name}=`)) {
      value = trimmed.slice(name.length + 1);
    }
  }
  return value;
}

/** Absolute, ending in `/`, resolved against the Jupyter server's base URL. */
function resolveApiUrl(apiUrl: string, serverBaseUrl: string): string {
  let resolved = apiUrl;
  try {
    resolved = new URL(apiUrl, serverBaseUrl).toString();
  } catch {
    // The server base URL is not absolute (no page): keep the URL as given.
  }
  return resolved.endsWith('/') ? resolved : `${resolved}/`;
}

/**
 * The `SidecarError` for a failed answer with body `text`: the sidecar's
 * own error, or "not reachable" when the proxy answered for it. Exported for
 * calls made without `request` (an XMLHttpRequest is no `Response`).
 */
export function errorFromResponse(
  response: Pick<Response, 'status' | 'statusText'>,
  text: string
): SidecarError {
  const parsed = parseJson(text);
  const envelope = errorEnvelope(parsed);
  if (
    GATEWAY_STATUSES.has(response.status) &&
    (!envelope || PROXY_UNREACHABLE_CODES.has(envelope.code))
  ) {
    return SidecarError.unreachable(
      envelope?.message || statusLine(response),
      response.status,
      envelope?.code
    );
  }
  if (envelope) {
    return new SidecarError({
      kind: 'response',
      status: response.status,
      code: envelope.code,
      message: envelope.message,
      details: envelope.details
    });
  }
  // Not the sidecar's shape: the Jupyter server itself refused (e.g. 403 for
  // a missing XSRF token), with `{message}` or an HTML page.
  const jupyterMessage =
    typeof (parsed as { message?: unknown } | undefined)?.message === 'string'
      ? (parsed as { message: string }).message
      : '';
  return new SidecarError({
    kind: 'response',
    status: response.status,
    code: codeForStatus(response.status),
    message:
      jupyterMessage ||
      `The Insighter service answered ${statusLine(response)}.`,
    reason: jupyterMessage ? undefined : text.slice(0, 200)
  });
}

function statusLine(response: Pick<Response, 'status' | 'statusText'>): string {
  return [response.status, response.statusText].filter(Boolean).join(' ');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorEnvelope(value: unknown): IErrorBody['error'] | null {
  const error = (value as Partial<IErrorBody> | undefined)?.error;
  if (
    typeof error === 'object' &&
    error !== null &&
    typeof error.code === 'string' &&
    typeof error.message === 'string'
  ) {
    return error;
  }
  return null;
}

function codeForStatus(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    default:
      return status >= 500 ? 'internal_error' : 'error';
  }
}

/** `fetch failed` alone says little; Node puts the socket error in `cause`. */
function describeCause(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error && cause.message) {
    return `${error.message}: ${cause.message}`;
  }
  return error.message;
}
