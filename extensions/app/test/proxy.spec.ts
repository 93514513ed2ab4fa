/**
 * The proxy at <base>/insighter/ and the sidecar supervisor, against a
 * stand-in sidecar (support/upstream.js) started by the real server.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';

import {
  processExists,
  RunningLab,
  sleep,
  startLab,
  TEST_UPSTREAM,
  waitFor
} from './support/lab';

let lab: RunningLab;

beforeAll(async () => {
  lab = await startLab({ sidecarCommand: `node ${TEST_UPSTREAM}` });
});

afterAll(async () => {
  await lab?.stop();
});

/** The byte pattern upstream.js generates: byte i is i % 251. */
function expectedPattern(offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = (offset + i) % 251;
  return buf;
}

function direct(relative: string, init?: RequestInit): Promise<Response> {
  return fetch(`http://127.0.0.1:${lab.apiPort}/${relative}`, init);
}

function wsUrl(relative: string, token = lab.token): string {
  const url = new URL(relative, lab.url.replace(/^http/, 'ws'));
  if (token) url.searchParams.set('token', token);
  return url.href;
}

/** Opens a WebSocket; resolves once open, with every message it receives queued. */
function openSocket(url: string, protocols?: string[]) {
  const socket = new WebSocket(url, protocols);
  const messages: { data: Buffer; binary: boolean }[] = [];
  const waiters: (() => void)[] = [];
  socket.on('message', (data: Buffer, binary: boolean) => {
    messages.push({ data, binary });
    waiters.splice(0).forEach(wake => wake());
  });
  const next = async () => {
    while (messages.length === 0) {
      await new Promise<void>((resolve, reject) => {
        waiters.push(resolve);
        socket.once('close', () => reject(new Error('socket closed')));
      });
    }
    return messages.shift()!;
  };
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) =>
      reject(new Error(`unexpected response ${res.statusCode}`))
    );
  });
  return { socket, opened, next };
}

describe('authentication', () => {
  it('answers with a token and refuses without one', async () => {
    const ok = await lab.fetch('insighter/health');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'ok' });

    const refused = await lab.fetch('insighter/health', { auth: false });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/json/);

    const wrong = await lab.fetch('insighter/health', {
      auth: false,
      headers: { Authorization: 'token not-the-token' }
    });
    expect(wrong.status).toBe(403);
  });

  it('demands the XSRF token for unsafe methods authenticated by cookie, like any Jupyter API', async () => {
    // A token-authenticated request sets the login cookie.
    const login = await lab.fetch('lab');
    const loginCookie = (login.headers.getSetCookie() ?? [])
      .map(c => c.split(';')[0])
      .find(c => c.startsWith('username-'));
    expect(loginCookie).toBeDefined();

    const noXsrf = await lab.fetch('insighter/echo', {
      auth: false,
      method: 'POST',
      headers: { Cookie: loginCookie!, 'Content-Type': 'application/json' },
      body: '{}'
    });
    expect(noXsrf.status).toBe(403);

    const xsrf = 'test-xsrf-value';
    const withXsrf = await lab.fetch('insighter/echo', {
      auth: false,
      method: 'POST',
      headers: {
        Cookie: `${loginCookie}; _xsrf=${xsrf}; theme=dark`,
        'X-XSRFToken': xsrf,
        'Content-Type': 'application/json'
      },
      body: '{"ok":true}'
    });
    expect(withXsrf.status).toBe(200);
    const echoed = await withXsrf.json();
    expect(echoed.body).toBe('{"ok":true}');
    // Jupyter's own cookies stay with Jupyter; the others go through.
    expect(echoed.headers.cookie).toBe('theme=dark');
  });
});

describe('a prediction with its own credential', () => {
  const rows = JSON.stringify({
    dataframe_split: { columns: ['age'], data: [[42]] }
  });
  const predict = (
    headers: Record<string, string>,
    init: RequestInit & { auth?: boolean } = {},
    slug = 'credit-risk-alpha'
  ) =>
    lab.fetch(`insighter/api/v1/predict/${slug}`, {
      auth: false,
      method: 'POST',
      body: rows,
      ...init,
      headers: { 'Content-Type': 'application/json', ...headers }
    });

  it("passes an API key or bearer token without Jupyter's login or XSRF token, and without the proxy secret", async () => {
    const keyed = await predict({ 'X-API-Key': 'ink_test_key' });
    expect(keyed.status).toBe(200);
    const echo = await keyed.json();
    expect(echo.method).toBe('POST');
    expect(echo.url).toBe('/api/v1/predict/credit-risk-alpha');
    expect(echo.body).toBe(rows);
    expect(echo.headers['x-api-key']).toBe('ink_test_key');
    // Nobody logged in to Jupyter: the sidecar hears it as on its own port.
    expect(echo.headers['x-insighter-proxy-secret']).toBeUndefined();
    expect(echo.headers['x-forwarded-for']).toBeUndefined();
    expect(echo.headers['x-forwarded-prefix']).toBeUndefined();

    const bearer = await predict({ Authorization: 'Bearer ink_test_key' });
    expect(bearer.status).toBe(200);
    expect((await bearer.json()).headers.authorization).toBe(
      'Bearer ink_test_key'
    );
    expect(
      (await predict({ 'X-API-Key': 'ink_k' }, {}, 'credit-risk-alpha/')).status
    ).toBe(200);
  });

  it("still demands Jupyter's login for anything else", async () => {
    const refused = [
      // No credential of its own.
      await predict({}),
      await predict({ Authorization: 'Basic dXNlcjpwYXNz' }),
      // A cookie: a browser's request, where XSRF matters.
      await predict({ 'X-API-Key': 'ink_k', Cookie: 'theme=dark' }),
      // Another method, or another route.
      await predict({ 'X-API-Key': 'ink_k' }, { method: 'PUT' }),
      await lab.fetch('insighter/api/v1/predict/credit-risk-alpha', {
        auth: false,
        headers: { 'X-API-Key': 'ink_k' }
      }),
      await lab.fetch('insighter/api/v1/projects', {
        auth: false,
        method: 'POST',
        headers: { 'X-API-Key': 'ink_k' },
        body: '{}'
      }),
      // Paths that would name another route once decoded.
      await predict({ 'X-API-Key': 'ink_k' }, {}, '..%2F..%2Fprojects'),
      await predict({ 'X-API-Key': 'ink_k' }, {}, 'a/../../projects'),
      await predict({ 'X-API-Key': 'ink_k' }, {}, 'a/b')
    ];
    expect(refused.map(r => r.status)).toEqual(refused.map(() => 403));
  });

  it('keeps a logged-in request as it was: the proxy secret goes along', async () => {
    const res = await predict({ 'X-API-Key': 'ink_k' }, { auth: true });
    expect(res.status).toBe(200);
    expect((await res.json()).secretMatches).toBe(true);
  });
});

describe('HTTP forwarding', () => {
  it('passes method, path, query, body and headers through, with the proxy headers added', async () => {
    const body = JSON.stringify({
      name: 'German credit',
      rows: [1, 2, 3],
      note: 'ünïcødé'
    });
    const res = await lab.fetch(
      `insighter/echo?a=1&b=two%2Fparts&token=${lab.token}`,
      {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          apikey: 'anon-key',
          Range: 'bytes=0-9',
          'X-Insighter-Proxy-Secret': 'forged',
          'X-Custom': 'kept'
        },
        body
      }
    );
    expect(res.status).toBe(200);
    const echo = await res.json();
    expect(echo.method).toBe('POST');
    // Jupyter's token is Jupyter's: it is not passed on.
    expect(echo.url).toBe('/echo?a=1&b=two%2Fparts');
    expect(echo.body).toBe(body);
    expect(echo.bodyLength).toBe(Buffer.byteLength(body));
    expect(echo.headers['content-type']).toBe('application/json');
    expect(echo.headers.apikey).toBe('anon-key');
    expect(echo.headers.range).toBe('bytes=0-9');
    expect(echo.headers['x-custom']).toBe('kept');
    expect(echo.headers.authorization).toBeUndefined();
    expect(echo.secretMatches).toBe(true);
    expect(echo.headers['x-insighter-proxy-secret']).not.toBe('forged');
    expect(echo.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(echo.headers['x-forwarded-proto']).toBe('http');
    expect(echo.headers['x-forwarded-host']).toBe(`127.0.0.1:${lab.port}`);
    expect(echo.headers['x-forwarded-prefix']).toBe('/insighter');
  });

  it('forwards an Authorization header meant for the sidecar', async () => {
    const res = await lab.fetch(`insighter/echo?token=${lab.token}`, {
      auth: false,
      headers: { Authorization: 'Bearer a-user-jwt' }
    });
    expect(res.status).toBe(200);
    expect((await res.json()).headers.authorization).toBe('Bearer a-user-jwt');
  });

  it("hands the sidecar the user's token from X-Insighter-Authorization, never Jupyter's", async () => {
    // How the browser calls when Authorization already carries Jupyter's token.
    const res = await lab.fetch('insighter/echo', {
      headers: { 'X-Insighter-Authorization': 'Bearer a-user-jwt' }
    });
    expect(res.status).toBe(200);
    const echoed = (await res.json()).headers;
    expect(echoed.authorization).toBe('Bearer a-user-jwt');
    expect(echoed['x-insighter-authorization']).toBeUndefined();
  });

  it('forwards every method', async () => {
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
      const res = await lab.fetch('insighter/echo', {
        method,
        ...(method === 'PUT' || method === 'PATCH' ? { body: 'x' } : {})
      });
      expect(res.status).toBe(200);
      expect((await res.json()).method).toBe(method);
    }
    const head = await lab.fetch('insighter/bytes', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('1000');
  });

  it('passes status, headers, cookies, ranges and redirects back', async () => {
    const status = await lab.fetch('insighter/status/418');
    expect(status.status).toBe(418);
    expect(status.headers.get('x-upstream')).toBe('yes');
    expect(status.headers.getSetCookie()).toEqual(
      expect.arrayContaining(['a=1; Path=/', 'b=2; Path=/'])
    );

    const partial = await lab.fetch('insighter/bytes', {
      headers: { Range: 'bytes=10-19' }
    });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe('bytes 10-19/1000');
    expect(Buffer.from(await partial.arrayBuffer())).toEqual(
      expectedPattern(10, 10)
    );

    const redirect = await lab.fetch('insighter/redirect', {
      redirect: 'manual'
    });
    expect(redirect.status).toBe(302);
    // A redirect to the sidecar's own path stays behind the proxy.
    expect(redirect.headers.get('location')).toBe(
      '/insighter/echo?from=redirect'
    );

    const missing = await lab.fetch('insighter/no/such/route');
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('not_found');
  });

  it("never lets an answer run as a page of the lab's origin: sandbox and nosniff on every one, the sidecar's own policy kept", async () => {
    const page = await lab.fetch('insighter/page');
    expect(page.status).toBe(200);
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const policies = page.headers.get('content-security-policy')!.split(', ');
    expect(policies).toContain('sandbox');
    // Jupyter's own policy stays beside it.
    expect(policies.some(p => p.startsWith("frame-ancestors 'self'"))).toBe(true);

    const own = await lab.fetch(
      `insighter/page?policy=${encodeURIComponent("sandbox; default-src 'none'")}`
    );
    const ownPolicies = own.headers.get('content-security-policy')!.split(', ');
    expect(ownPolicies).toContain("sandbox; default-src 'none'");
    expect(ownPolicies).toContain('sandbox');

    const json = await lab.fetch('insighter/health');
    expect(json.headers.get('content-security-policy')).toContain('sandbox');
  });

  it("keeps Jupyter's XSRF header from the sidecar", async () => {
    const res = await lab.fetch('insighter/echo', {
      headers: { 'X-XSRFToken': 'jupyter-xsrf', 'X-CSRFToken': 'jupyter-csrf' }
    });
    const echoed = (await res.json()).headers;
    expect(echoed['x-xsrftoken']).toBeUndefined();
    expect(echoed['x-csrftoken']).toBeUndefined();
  });

  it('streams a large download instead of buffering it', async () => {
    const size = 48 * 1024 * 1024;
    const res = await lab.fetch(`insighter/stream?size=${size}&hold=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(size));
    const reader = res.body!.getReader();

    // The first bytes arrive while the sidecar is still holding the rest back:
    // nothing waits for the whole body.
    const first = await reader.read();
    expect(first.done).toBe(false);
    let received = first.value!.length;
    const hash = createHash('sha256').update(first.value!);
    await direct('release', { method: 'POST' });

    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      received += value.length;
    }
    expect(received).toBe(size);
    const want = createHash('sha256');
    for (let offset = 0; offset < size; offset += 1024 * 1024)
      want.update(expectedPattern(offset, 1024 * 1024));
    expect(hash.digest('hex')).toBe(want.digest('hex'));
  });

  it('streams an upload to the sidecar as it arrives', async () => {
    const id = `up-${Date.now()}`;
    const part = 4 * 1024 * 1024;
    const first = expectedPattern(0, part);
    const second = expectedPattern(part, part);
    let sendRest!: () => void;
    const restMayGo = new Promise<void>(resolve => (sendRest = resolve));
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(first);
        await restMayGo;
        controller.enqueue(second);
        controller.close();
      }
    });
    const response = lab.fetch(`insighter/upload?id=${id}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream' },
      body,
      duplex: 'half'
    } as RequestInit);

    // The sidecar sees the first half before the second has even been produced.
    await waitFor(
      'the first half at the sidecar',
      async () => {
        const progress = await (
          await direct(`upload-progress?id=${id}`)
        ).json();
        return progress.bytes >= part;
      },
      15000,
      50
    );
    sendRest();

    const res = await response;
    expect(res.status).toBe(200);
    const result = await res.json();
    expect(result.bytes).toBe(2 * part);
    expect(result.sha256).toBe(
      createHash('sha256').update(first).update(second).digest('hex')
    );
  });
});

describe('WebSocket forwarding', () => {
  it('echoes text and binary frames both ways, with the subprotocol negotiated', async () => {
    const { socket, opened, next } = openSocket(wsUrl('insighter/ws/echo'), [
      'insighter.v1',
      'other'
    ]);
    await opened;
    expect(socket.protocol).toBe('insighter.v1');
    const hello = JSON.parse((await next()).data.toString());
    expect(hello).toEqual({ hello: true, secretMatches: true });

    socket.send('ping over the proxy');
    const text = await next();
    expect(text.binary).toBe(false);
    expect(text.data.toString()).toBe('ping over the proxy');

    const payload = expectedPattern(0, 300 * 1024);
    socket.send(payload);
    const binary = await next();
    expect(binary.binary).toBe(true);
    expect(Buffer.compare(binary.data, payload)).toBe(0);

    socket.close(1000);
    await new Promise(resolve => socket.once('close', resolve));
  });

  it('refuses a WebSocket without authentication', async () => {
    const { opened } = openSocket(wsUrl('insighter/ws/echo', ''));
    await expect(opened).rejects.toThrow(/unexpected response 403/);
  });
});

describe('sidecar supervision', () => {
  it('records the PID, answers 503 while the sidecar is down and restarts it', async () => {
    const pidFile = path.join(lab.dataDir, 'run', 'sidecar.pid');
    const before = Number(readFileSync(pidFile, 'utf8'));
    expect(processExists(before)).toBe(true);
    const health = await (await lab.fetch('insighter/health')).json();
    expect(health.pid).toBe(before);

    process.kill(before, 'SIGKILL');
    const down = await waitFor(
      'a 503 from the proxy',
      async () => {
        const res = await lab.fetch('insighter/health');
        return res.status === 503 ? res : undefined;
      },
      5000,
      20
    );
    expect(down.headers.get('content-type')).toMatch(/application\/json/);
    expect(await down.json()).toEqual({
      error: {
        code: 'sidecar_unavailable',
        message: 'The Insighter service is not running; it is being restarted.'
      }
    });

    const after = await waitFor(
      'a restarted sidecar',
      async () => {
        const res = await lab.fetch('insighter/health');
        if (res.status !== 200) return undefined;
        return (await res.json()).pid as number;
      },
      20000
    );
    expect(after).not.toBe(before);
    expect(lab.sidecarPid()).toBe(after);
    expect(lab.output()).toMatch(/Insighter sidecar exited .* restarting in/);
  });
});

describe('shutdown', () => {
  it('stops the sidecar with the server: no orphan process', async () => {
    const own = await startLab({ sidecarCommand: `node ${TEST_UPSTREAM}` });
    const pid = own.sidecarPid();
    expect(pid).not.toBeNull();
    expect(processExists(pid!)).toBe(true);
    await own.stop();
    await waitFor('the sidecar to be gone', () => !processExists(pid!), 5000);
    await sleep(100);
    expect(processExists(pid!)).toBe(false);
  });
});
