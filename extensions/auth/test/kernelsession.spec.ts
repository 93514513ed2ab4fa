import type { ISessionChangedArgs, SessionChangeReason } from '@insighter/core';
import { ServerConnection } from '@jupyterlab/services';
import { PromiseDelegate } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { KernelSessionSync } from '../src/kernelsession';

/**
 * What the page tells the Jupyter server, against a stand-in that records
 * each request (the real handler and its file are tested with the real
 * server in extensions/app/test/kernel-datasets.spec.ts).
 */
interface IRecorded {
  method: string;
  url: string;
  authorization: string;
  body: string;
}

class FakeSession {
  readonly changed = new Signal<any, ISessionChangedArgs>(this);
  readonly started = new PromiseDelegate<void>();
  accessToken: string | null = null;

  get ready(): Promise<void> {
    return this.started.promise;
  }

  get isLoggedIn(): boolean {
    return this.accessToken !== null;
  }

  change(reason: SessionChangeReason, token: string | null): void {
    this.accessToken = token;
    const user = token
      ? { id: 'u1', email: 'a@example.com', fullName: '', firstName: 'a' }
      : null;
    this.changed.emit({ user, reason });
  }
}

const JUPYTER_TOKEN = 'jupyter-token-1';
let server: http.Server;
let baseUrl: string;
let recorded: IRecorded[];
/** Status to answer PUTs with, and how long to take. */
let putStatus = 204;
let putDelayMs = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', chunk => (body += chunk));
    req.on('end', () => {
      const answer = () => {
        recorded.push({
          method: req.method ?? '',
          url: req.url ?? '',
          authorization: req.headers.authorization ?? '',
          body
        });
        res.writeHead(req.method === 'PUT' ? putStatus : 204).end();
      };
      if (req.method === 'PUT' && putDelayMs) setTimeout(answer, putDelayMs);
      else answer();
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/base/`;
});

afterAll(async () => {
  await new Promise(resolve => server.close(resolve));
});

beforeEach(() => {
  recorded = [];
  putStatus = 204;
  putDelayMs = 0;
});

function start(session: FakeSession): KernelSessionSync {
  return new KernelSessionSync({
    session,
    serverSettings: ServerConnection.makeSettings({
      baseUrl,
      token: JUPYTER_TOKEN,
      fetch: (input, init) => fetch(input, init),
      Request,
      Headers,
      WebSocket: WebSocket as unknown as typeof globalThis.WebSocket
    })
  });
}

async function settled(sync: KernelSessionSync): Promise<void> {
  // A change may queue a request after the one awaited: wait until none is left.
  let queue: Promise<void>;
  do {
    queue = sync.idle;
    await queue;
  } while (queue !== sync.idle);
}

describe('KernelSessionSync', () => {
  it('deposits the token of a restored session with Jupyter credentials, and each new one', async () => {
    const session = new FakeSession();
    session.accessToken = 'a.b.one';
    const sync = start(session);
    session.started.resolve();
    await session.ready;
    await settled(sync);
    session.change('refreshed', 'a.b.two');
    session.change('profile-updated', 'a.b.two'); // same token: nothing to send
    await settled(sync);

    expect(recorded).toEqual([
      {
        method: 'PUT',
        url: '/base/insighter-lab/kernel-session',
        authorization: `token ${JUPYTER_TOKEN}`,
        body: JSON.stringify({ access_token: 'a.b.one' })
      },
      {
        method: 'PUT',
        url: '/base/insighter-lab/kernel-session',
        authorization: `token ${JUPYTER_TOKEN}`,
        body: JSON.stringify({ access_token: 'a.b.two' })
      }
    ]);
    sync.dispose();
  });

  it('withdraws it at sign-out, never before a slower deposit', async () => {
    const session = new FakeSession();
    const sync = start(session);
    session.started.resolve();
    putDelayMs = 300;
    session.change('signed-in', 'a.b.three');
    session.change('signed-out', null);
    await settled(sync);
    expect(recorded.map(r => r.method)).toEqual(['PUT', 'DELETE']);
    sync.dispose();
  });

  it('leaves the server alone when the page starts signed out', async () => {
    const session = new FakeSession();
    const sync = start(session);
    session.started.resolve();
    await session.ready;
    await settled(sync);
    expect(recorded).toEqual([]);
    sync.dispose();
  });

  it('warns without the token when the server refuses, and tries again on the next change', async () => {
    const warn = jest
      .spyOn(console, 'warn')
      .mockImplementation(() => undefined);
    try {
      const session = new FakeSession();
      const sync = start(session);
      session.started.resolve();
      putStatus = 500;
      session.change('signed-in', 'a.b.secret');
      await settled(sync);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(JSON.stringify(warn.mock.calls)).not.toContain('a.b.secret');

      putStatus = 204;
      session.change('profile-updated', 'a.b.secret');
      await settled(sync);
      expect(recorded.map(r => [r.method, r.body])).toEqual([
        ['PUT', JSON.stringify({ access_token: 'a.b.secret' })],
        ['PUT', JSON.stringify({ access_token: 'a.b.secret' })]
      ]);
      sync.dispose();
    } finally {
      warn.mockRestore();
    }
  });
});
