import { PageConfig } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ACCESS_TOKEN_HEADER,
  API_URL_OPTION,
  isUnreachable,
  ISystemStatus,
  SidecarClient,
  sidecarAuthHeaders,
  SidecarError,
  UNREACHABLE_MESSAGE
} from '../src';

const STATUS: ISystemStatus = {
  status: 'OPTIMAL',
  components: {
    database: {
      state: 'ok',
      detail: 'PGlite answers.',
      backend: 'pglite',
      latency_ms: 2
    },
    storage: { state: 'not_configured', detail: 'Arrives with datasets.' },
    jobs: { state: 'not_configured', detail: 'Arrives with training.' },
    tracking: { state: 'not_configured', detail: 'Arrives with experiments.' }
  },
  version: '0.1.0',
  uptime_s: 12,
  checked_at: '2026-01-01T00:00:00.000Z'
};

interface IRecorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * Plays the Jupyter proxy and the sidecar behind it at `/insighter/`: each
 * path answers the way one of them does.
 */
function startServer(): Promise<{
  server: http.Server;
  port: number;
  requests: IRecorded[];
}> {
  const requests: IRecorded[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', chunk => (body += chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body
      });
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      switch (path) {
        case '/insighter/health':
          return json(200, { status: 'ok' });
        case '/insighter/api/v1/status':
          return json(200, STATUS);
        case '/insighter/api/v1/echo':
          return json(200, { method: req.method, body });
        case '/insighter/api/v1/nothing':
          res.writeHead(204);
          return res.end();
        case '/insighter/api/v1/projects/nope':
          return json(404, {
            error: {
              code: 'not_found',
              message: 'No project "nope".',
              details: { id: 'nope' }
            }
          });
        case '/insighter/api/v1/storage-busy':
          // The sidecar itself is up; one of its backends is not.
          return json(503, {
            error: { code: 'unavailable', message: 'Storage is unavailable.' }
          });
        case '/insighter/api/v1/proxy-down':
          // What the Jupyter proxy answers while the sidecar is not running.
          return json(503, {
            error: {
              code: 'sidecar_unavailable',
              message: 'The Insighter sidecar is not running.'
            }
          });
        case '/insighter/api/v1/bad-gateway':
          res.writeHead(502, { 'Content-Type': 'text/html' });
          return res.end('<html><body>Bad Gateway</body></html>');
        case '/insighter/api/v1/xsrf':
          // Jupyter's own refusal, in its own shape.
          return json(403, {
            message: "'_xsrf' argument missing from POST",
            reason: null
          });
        case '/insighter/api/v1/not-json':
          res.writeHead(200, { 'Content-Type': 'text/plain' });
          return res.end('hello');
        case '/insighter/api/v1/hang':
          return; // never answers
        default:
          return json(404, {
            error: {
              code: 'not_found',
              message: `No route for ${req.method} ${path}.`
            }
          });
      }
    });
  });
  return new Promise(resolve => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        requests
      });
    });
  });
}

function settingsFor(port: number): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: `http://127.0.0.1:${port}/`,
    token: 'jupyter-secret'
  });
}

async function rejection(promise: Promise<unknown>): Promise<SidecarError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SidecarError);
    return error as SidecarError;
  }
  throw new Error('expected the call to fail');
}

describe('SidecarClient over real HTTP', () => {
  let server: http.Server;
  let port: number;
  let requests: IRecorded[];
  let client: SidecarClient;

  beforeAll(async () => {
    ({ server, port, requests } = await startServer());
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise(resolve => server.close(resolve));
  });

  beforeEach(() => {
    requests.length = 0;
    client = new SidecarClient({
      serverSettings: settingsFor(port),
      baseUrl: '/insighter/'
    });
  });

  it('resolves its base URL against the Jupyter server', () => {
    expect(client.baseUrl).toBe(`http://127.0.0.1:${port}/insighter/`);
  });

  it('takes the base URL from the page config key insighterApiUrl', () => {
    const previous = PageConfig.setOption(API_URL_OPTION, '/insighter');
    try {
      const fromPage = new SidecarClient({ serverSettings: settingsFor(port) });
      expect(fromPage.baseUrl).toBe(`http://127.0.0.1:${port}/insighter/`);
    } finally {
      PageConfig.setOption(API_URL_OPTION, previous);
    }
  });

  it('decodes status() and health()', async () => {
    await expect(client.status()).resolves.toEqual(STATUS);
    await expect(client.health()).resolves.toEqual({ status: 'ok' });
    expect(requests.map(r => new URL(r.url, 'http://x').pathname)).toEqual([
      '/insighter/api/v1/status',
      '/insighter/health'
    ]);
  });

  it('sends the Jupyter token, so the Jupyter-authenticated proxy lets it through', async () => {
    await client.status();
    expect(requests[0].headers.authorization).toBe('token jupyter-secret');
    expect(
      requests[0].headers[ACCESS_TOKEN_HEADER.toLowerCase()]
    ).toBeUndefined();
  });

  it('sends the access token beside it once a provider is set', async () => {
    client.accessTokenProvider = async () => 'user-jwt';
    await client.status();
    expect(requests[0].headers.authorization).toBe('token jupyter-secret');
    expect(requests[0].headers[ACCESS_TOKEN_HEADER.toLowerCase()]).toBe(
      'Bearer user-jwt'
    );

    client.accessTokenProvider = () => null;
    await client.status();
    expect(
      requests[1].headers[ACCESS_TOKEN_HEADER.toLowerCase()]
    ).toBeUndefined();
  });

  it('also puts the access token in Authorization when the page has no Jupyter token', async () => {
    const cookieOnly = new SidecarClient({
      serverSettings: ServerConnection.makeSettings({
        baseUrl: `http://127.0.0.1:${port}/`,
        token: ''
      }),
      baseUrl: '/insighter/',
      accessTokenProvider: () => 'user-jwt'
    });
    await cookieOnly.status();
    expect(requests[0].headers.authorization).toBe('Bearer user-jwt');
    expect(requests[0].headers[ACCESS_TOKEN_HEADER.toLowerCase()]).toBe(
      'Bearer user-jwt'
    );
  });

  it('serializes a JSON body', async () => {
    const answer = await client.request<{ method: string; body: string }>(
      'api/v1/echo',
      {
        method: 'POST',
        json: { name: 'Churn' }
      }
    );
    expect(answer).toEqual({ method: 'POST', body: '{"name":"Churn"}' });
    expect(requests[0].headers['content-type']).toBe('application/json');
  });

  it('answers undefined for an empty 204', async () => {
    await expect(
      client.request('api/v1/nothing', { method: 'DELETE' })
    ).resolves.toBeUndefined();
  });

  it('turns a sidecar {error} body into a SidecarError with its code and message', async () => {
    const error = await rejection(client.request('api/v1/projects/nope'));
    expect(error.kind).toBe('response');
    expect(error.unreachable).toBe(false);
    expect(error.status).toBe(404);
    expect(error.code).toBe('not_found');
    expect(error.message).toBe('No project "nope".');
    expect(error.details).toEqual({ id: 'nope' });
  });

  it("keeps a sidecar 503 about its own backend a response, not 'unreachable'", async () => {
    const error = await rejection(client.request('api/v1/storage-busy'));
    expect(error.kind).toBe('response');
    expect(error.status).toBe(503);
    expect(error.code).toBe('unavailable');
    expect(error.message).toBe('Storage is unavailable.');
  });

  it("reports the proxy's 503 as unreachable, with the message a person understands", async () => {
    const error = await rejection(client.request('api/v1/proxy-down'));
    expect(error.kind).toBe('unreachable');
    expect(isUnreachable(error)).toBe(true);
    expect(error.status).toBe(503);
    expect(error.code).toBe('sidecar_unavailable');
    expect(error.message).toBe(UNREACHABLE_MESSAGE);
    expect(error.message).toBe(
      'The Insighter service is not reachable. It restarts automatically; if this persists, check the Jupyter server log.'
    );
    expect(error.reason).toBe('The Insighter sidecar is not running.');
  });

  it('reports a 502 HTML page from a gateway as unreachable', async () => {
    const error = await rejection(client.request('api/v1/bad-gateway'));
    expect(error.unreachable).toBe(true);
    expect(error.status).toBe(502);
    expect(error.message).toBe(UNREACHABLE_MESSAGE);
  });

  it("passes on the Jupyter server's own refusal", async () => {
    const error = await rejection(
      client.request('api/v1/xsrf', { method: 'POST' })
    );
    expect(error.kind).toBe('response');
    expect(error.status).toBe(403);
    expect(error.code).toBe('forbidden');
    expect(error.message).toBe("'_xsrf' argument missing from POST");
  });

  it('rejects an answer that is not JSON', async () => {
    const error = await rejection(client.request('api/v1/not-json'));
    expect(error.code).toBe('invalid_response');
  });

  it('gives up on a request that hangs, as unreachable', async () => {
    const error = await rejection(
      client.request('api/v1/hang', { timeoutMs: 300 })
    );
    expect(error.unreachable).toBe(true);
    expect(error.reason).toBe('No answer within 300 ms.');
  });

  it("lets the caller's own abort through as an abort", async () => {
    const controller = new AbortController();
    const pending = client.request('api/v1/hang', {
      signal: controller.signal
    });
    controller.abort();
    await expect(pending).rejects.toHaveProperty('name', 'AbortError');
  });
});

describe('SidecarClient with nothing listening', () => {
  it('reports a closed port as unreachable', async () => {
    // Take a free port, then close it so nothing listens there.
    const probe = http.createServer();
    await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise(resolve => probe.close(resolve));

    const client = new SidecarClient({
      serverSettings: settingsFor(port),
      baseUrl: '/insighter/'
    });
    const error = await rejection(client.status());
    expect(error.kind).toBe('unreachable');
    expect(error.status).toBe(0);
    expect(error.code).toBe('sidecar_unreachable');
    expect(error.message).toBe(UNREACHABLE_MESSAGE);
  });
});

describe('sidecarAuthHeaders', () => {
  const global = globalThis as { document?: unknown };

  afterEach(() => {
    delete global.document;
  });

  it('carries what `request` sends: the Jupyter token, and the access token beside it', () => {
    expect(sidecarAuthHeaders('user-jwt', { token: 'jupyter-secret' })).toEqual(
      {
        Authorization: 'token jupyter-secret',
        [ACCESS_TOKEN_HEADER]: 'Bearer user-jwt'
      }
    );
    expect(sidecarAuthHeaders('user-jwt', { token: '' })).toEqual({
      Authorization: 'Bearer user-jwt',
      [ACCESS_TOKEN_HEADER]: 'Bearer user-jwt'
    });
    expect(sidecarAuthHeaders(null, { token: '' })).toEqual({});
  });

  it("adds Jupyter's XSRF cookie, the last one of duplicates as Tornado reads them", () => {
    global.document = { cookie: 'theme=dark; _xsrf=2|old; _xsrf=2|new' };
    expect(sidecarAuthHeaders(null, { token: '' })).toEqual({
      'X-XSRFToken': '2|new'
    });
  });
});
