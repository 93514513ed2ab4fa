/**
 * Request-log serializers that keep auth secrets out of the logs: the email
 * link's `token` (and an `apikey`) travel in query strings, credentials in
 * headers (the user's token also as `X-Insighter-Authorization`, Jupyter's
 * XSRF token as `X-XSRFToken`), and `/verify` answers with a redirect whose
 * URL fragment holds the new session.
 */
export const SECRET_HEADERS = [
  'authorization',
  'cookie',
  'apikey',
  'x-api-key',
  'x-insighter-proxy-secret',
  'x-insighter-authorization',
  'x-xsrftoken',
  'x-csrftoken'
];

const REDACTED = '[redacted]';

const SECRET_PARAMS = [
  'token',
  'token_hash',
  'apikey',
  'refresh_token',
  'access_token'
];

interface SerializedReq {
  url?: string;
  query?: Record<string, unknown>;
  headers?: Record<string, unknown>;
}

interface SerializedRes {
  headers?: Record<string, unknown>;
}

export function redactRequest<T extends SerializedReq>(req: T): T {
  if (req.headers && SECRET_HEADERS.some(h => h in req.headers!)) {
    req.headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [
        k,
        SECRET_HEADERS.includes(k) ? REDACTED : v
      ])
    );
  }
  if (req.url?.includes('?')) {
    req.url = redactUrl(req.url);
  }
  if (req.query && SECRET_PARAMS.some(p => p in req.query!)) {
    req.query = Object.fromEntries(
      Object.entries(req.query).map(([k, v]) => [
        k,
        SECRET_PARAMS.includes(k) ? REDACTED : v
      ])
    );
  }
  return req;
}

export function redactResponse<T extends SerializedRes>(res: T): T {
  const location = res.headers?.location;
  if (
    typeof location === 'string' &&
    /(access|refresh)_token=/.test(location)
  ) {
    res.headers = { ...res.headers, location: REDACTED };
  }
  return res;
}

function redactUrl(url: string): string {
  const [path, query] = url.split('?', 2);
  const params = new URLSearchParams(query);
  let changed = false;
  for (const name of SECRET_PARAMS) {
    if (params.has(name)) {
      params.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? `${path}?${params}` : url;
}
