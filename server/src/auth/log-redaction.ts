/**
 * Request-log serializers that keep auth secrets out of the logs: the email
 * link's `token` (and an `apikey`) travel in query strings, and `/verify`
 * answers with a redirect whose URL fragment holds the new session.
 */
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
}

interface SerializedRes {
  headers?: Record<string, unknown>;
}

export function redactRequest<T extends SerializedReq>(req: T): T {
  if (req.url?.includes('?')) {
    req.url = redactUrl(req.url);
  }
  if (req.query && SECRET_PARAMS.some(p => p in req.query!)) {
    req.query = Object.fromEntries(
      Object.entries(req.query).map(([k, v]) => [
        k,
        SECRET_PARAMS.includes(k) ? '[redacted]' : v
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
    res.headers = { ...res.headers, location: '[redacted]' };
  }
  return res;
}

function redactUrl(url: string): string {
  const [path, query] = url.split('?', 2);
  const params = new URLSearchParams(query);
  let changed = false;
  for (const name of SECRET_PARAMS) {
    if (params.has(name)) {
      params.set(name, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${path}?${params}` : url;
}
