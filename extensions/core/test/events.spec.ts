import { ISignal, Signal } from '@lumino/signaling';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import {
  backoffDelay,
  BEARER_PROTOCOL_PREFIX,
  EventStream,
  EventStreamState,
  eventStreamUrl,
  EVENTS_PROTOCOL,
  IEventStreamOptions,
  InsighterBus,
  InsighterEvent,
  IRetryScheduled,
  ISession,
  ISessionChangedArgs,
  IWebSocketLike
} from '../src';

/**
 * A real WebSocket server on a free port playing the sidecar's
 * `/api/v1/events`: it selects `insighter.events.v1`, reads the token from
 * the bearer subprotocol and lets each test decide what to do with a socket.
 */
class StreamServer {
  readonly wss: WebSocketServer;
  readonly sockets: WebSocket[] = [];
  readonly tokens: string[] = [];
  readonly paths: string[] = [];
  readonly messages: unknown[] = [];
  private readonly _connected = new Signal<this, WebSocket>(this);
  private readonly _ready: Promise<void>;

  constructor(onConnection?: (ws: WebSocket, token: string) => void) {
    this.wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: protocols =>
        protocols.has(EVENTS_PROTOCOL) ? EVENTS_PROTOCOL : false
    });
    this._ready = new Promise(resolve => this.wss.once('listening', resolve));
    this.wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
      const token = (req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map(p => p.trim())
        .find(p => p.startsWith(BEARER_PROTOCOL_PREFIX))
        ?.slice(BEARER_PROTOCOL_PREFIX.length);
      this.sockets.push(ws);
      this.tokens.push(token ?? '');
      this.paths.push(req.url ?? '');
      ws.on('message', data => this.messages.push(JSON.parse(String(data))));
      onConnection?.(ws, token ?? '');
      this._connected.emit(ws);
    });
  }

  async url(): Promise<string> {
    await this._ready;
    const { port } = this.wss.address() as AddressInfo;
    return eventStreamUrl(`http://127.0.0.1:${port}/insighter/`);
  }

  /** Resolves with the `n`th connection (1-based) once it is open. */
  connection(n: number): Promise<WebSocket> {
    if (this.sockets.length >= n) {
      return Promise.resolve(this.sockets[n - 1]);
    }
    return new Promise(resolve => {
      const on = () => {
        if (this.sockets.length >= n) {
          this._connected.disconnect(on);
          resolve(this.sockets[n - 1]);
        }
      };
      this._connected.connect(on);
    });
  }

  close(): Promise<void> {
    for (const ws of this.wss.clients) {
      ws.terminate();
    }
    return new Promise(resolve => this.wss.close(() => resolve()));
  }
}

const nodeSocket = (url: string, protocols: string[]): IWebSocketLike =>
  new WebSocket(url, protocols) as unknown as IWebSocketLike;

function runMetric(step: number): InsighterEvent {
  return {
    type: 'run.metric',
    payload: {
      runId: 'r1',
      key: 'loss',
      value: 1 / (step + 1),
      step,
      timestamp: step
    }
  };
}

/** Resolves when `predicate` holds after one of `signal`'s emissions. */
function until<T, S>(
  signal: ISignal<T, S>,
  predicate: (args: S) => boolean
): Promise<S> {
  return new Promise(resolve => {
    const on = (_: T, args: S) => {
      if (predicate(args)) {
        signal.disconnect(on);
        resolve(args);
      }
    };
    signal.connect(on);
  });
}

function stateIs(
  stream: EventStream,
  state: EventStreamState
): Promise<unknown> {
  return stream.state === state
    ? Promise.resolve()
    : until(stream.stateChanged, s => s === state);
}

function closed(ws: WebSocket): Promise<{ code: number }> {
  if (ws.readyState === WebSocket.CLOSED) {
    return Promise.resolve({ code: 0 });
  }
  return new Promise(resolve => ws.once('close', code => resolve({ code })));
}

describe('EventStream', () => {
  let server: StreamServer | undefined;
  let stream: EventStream | undefined;
  let bus: InsighterBus;

  beforeEach(() => {
    bus = new InsighterBus();
  });

  afterEach(async () => {
    stream?.dispose();
    stream = undefined;
    await server?.close();
    server = undefined;
    bus.dispose();
  });

  async function start(
    options: Partial<IEventStreamOptions> = {},
    onConnection?: (ws: WebSocket, token: string) => void
  ): Promise<EventStream> {
    server = new StreamServer(onConnection);
    stream = new EventStream({
      bus,
      url: await server.url(),
      getToken: () => 'token-1',
      createSocket: nodeSocket,
      backoff: { initialMs: 20, factor: 2, maxMs: 160, jitter: 0.5 },
      ...options
    });
    return stream;
  }

  it('authenticates with the bearer subprotocol, never in the URL', async () => {
    const stream = await start();
    stream.connect();
    const ws = await server!.connection(1);
    await stateIs(stream, 'open');
    expect(server!.tokens).toEqual(['token-1']);
    expect(ws.protocol).toBe(EVENTS_PROTOCOL);
    expect(server!.paths).toEqual(['/insighter/api/v1/events']);
  });

  it('re-emits many events on the bus in the order the server sent them', async () => {
    const stream = await start();
    const received: InsighterEvent[] = [];
    bus.events.connect((_, event) => received.push(event));
    const steps: number[] = [];
    bus.runMetric.connect((_, metric) => steps.push(metric.step));
    stream.connect();
    const ws = await server!.connection(1);

    const sent: InsighterEvent[] = [];
    for (let i = 0; i < 2000; i++) {
      const event: InsighterEvent =
        i % 100 === 0
          ? {
              type: 'run.log',
              payload: {
                runId: 'r1',
                lines: [`line ${i}`],
                stream: 'stdout',
                timestamp: i
              }
            }
          : runMetric(i);
      sent.push(event);
      ws.send(JSON.stringify(event));
    }
    await until(bus.events, () => received.length === sent.length + 1);

    // First the page's own news that the stream opened, then the server's events.
    expect(received[0].type).toBe('events.reconnected');
    expect(received.slice(1)).toEqual(sent);
    expect(steps).toEqual(
      sent
        .filter(e => e.type === 'run.metric')
        .map(e => (e.payload as { step: number }).step)
    );
    expect(stream.received).toBe(2000);
  });

  it('skips messages it cannot use and keeps the order of the rest', async () => {
    const stream = await start();
    const steps: number[] = [];
    bus.runMetric.connect((_, metric) => steps.push(metric.step));
    stream.connect();
    const ws = await server!.connection(1);

    ws.send(JSON.stringify(runMetric(1)));
    ws.send('not json');
    ws.send(JSON.stringify({ type: 'from.a.newer.server', payload: {} }));
    ws.send(JSON.stringify({ type: 'run.metric' }));
    ws.send(Buffer.from('binary'), { binary: true });
    ws.send(JSON.stringify(runMetric(2)));
    await until(bus.runMetric, m => m.step === 2);

    expect(steps).toEqual([1, 2]);
    expect(stream.received).toBe(2);
    expect(stream.state).toBe('open');
  });

  it('reconnects after the server drops the socket, and events flow again', async () => {
    const stream = await start();
    const retries: IRetryScheduled[] = [];
    stream.retryScheduled.connect((_, retry) => retries.push(retry));
    const steps: number[] = [];
    bus.runMetric.connect((_, metric) => steps.push(metric.step));
    stream.connect();

    const first = await server!.connection(1);
    first.send(JSON.stringify(runMetric(1)));
    await until(bus.runMetric, m => m.step === 1);
    first.terminate();

    const second = await server!.connection(2);
    await stateIs(stream, 'open');
    second.send(JSON.stringify(runMetric(2)));
    await until(bus.runMetric, m => m.step === 2);

    expect(steps).toEqual([1, 2]);
    expect(retries).toHaveLength(1);
    expect(retries[0].attempt).toBe(0);
    expect(retries[0].code).toBe(1006);
    expect(server!.tokens).toEqual(['token-1', 'token-1']);
  });

  it('announces events.reconnected on the bus each time it opens, with how long no events could arrive', async () => {
    const stream = await start();
    const announced: { downMs: number; timestamp: number }[] = [];
    bus.eventsReconnected.connect((_, reconnected) =>
      announced.push(reconnected)
    );
    const before = Date.now();
    stream.connect();
    const first = await server!.connection(1);
    await stateIs(stream, 'open');
    expect(announced).toHaveLength(1);
    expect(announced[0].timestamp).toBeGreaterThanOrEqual(before);
    expect(announced[0].downMs).toBeLessThanOrEqual(Date.now() - before);

    first.terminate();
    await stateIs(stream, 'waiting');
    await server!.connection(2);
    await stateIs(stream, 'open');
    expect(announced).toHaveLength(2);
    // At least the first retry's wait (20 ms, less up to half of it as jitter).
    expect(announced[1].downMs).toBeGreaterThanOrEqual(10);

    // Connected again for another person: events may have been missed again.
    stream.connect();
    await server!.connection(3);
    await until(bus.eventsReconnected, () => announced.length === 3);
    // Signed out: nothing is announced until the next connection.
    stream.disconnect();
    await new Promise(resolve => setTimeout(resolve, 50));
    expect(announced).toHaveLength(3);
  });

  it('never takes events.reconnected from the server', async () => {
    const stream = await start();
    let announced = 0;
    bus.eventsReconnected.connect(() => announced++);
    stream.connect();
    const ws = await server!.connection(1);
    await stateIs(stream, 'open');
    ws.send(
      JSON.stringify({
        type: 'events.reconnected',
        payload: { downMs: 1, timestamp: 1 }
      })
    );
    ws.send(JSON.stringify(runMetric(1)));
    await until(bus.runMetric, m => m.step === 1);
    expect(announced).toBe(1);
    expect(stream.received).toBe(1);
  });

  it('reconnects after a clean server shutdown close (1001)', async () => {
    const stream = await start();
    stream.connect();
    const first = await server!.connection(1);
    await stateIs(stream, 'open');
    first.close(1001, 'The server is shutting down.');
    await server!.connection(2);
    await stateIs(stream, 'open');
    expect(server!.sockets).toHaveLength(2);
  });

  it('backs off exponentially while the server keeps dropping it, up to the cap', async () => {
    let connections = 0;
    const stream = await start({ random: () => 0 }, ws => {
      connections++;
      // Accepts, then hangs up at once: no connection ever holds.
      if (connections <= 6) {
        ws.close(1013, 'Try again later.');
      }
    });
    const delays: number[] = [];
    stream.retryScheduled.connect((_, retry) => delays.push(retry.delayMs));
    stream.connect();
    await server!.connection(7);
    await stateIs(stream, 'open');

    // 20 ms doubling, capped at 160 ms; random() = 0 leaves no jitter.
    expect(delays).toEqual([20, 40, 80, 160, 160, 160]);
  });

  it('spreads retries with jitter within the exponential envelope', () => {
    const options = { initialMs: 100, factor: 2, maxMs: 1000, jitter: 0.5 };
    expect(backoffDelay(0, options, () => 0)).toBe(100);
    expect(backoffDelay(0, options, () => 1)).toBe(50);
    expect(backoffDelay(3, options, () => 0)).toBe(800);
    expect(backoffDelay(3, options, () => 0.5)).toBe(600);
    expect(backoffDelay(10, options, () => 0)).toBe(1000);
    for (let attempt = 0; attempt < 20; attempt++) {
      const delay = backoffDelay(attempt, options);
      const envelope = Math.min(1000, 100 * 2 ** attempt);
      expect(delay).toBeGreaterThanOrEqual(envelope / 2);
      expect(delay).toBeLessThanOrEqual(envelope);
    }
  });

  it('starts from the shortest wait again once a connection held', async () => {
    let connections = 0;
    const stream = await start({ random: () => 0, stableAfterMs: 50 }, ws => {
      connections++;
      if (connections <= 2) {
        ws.close(1013, 'Try again later.');
      }
    });
    const retries: IRetryScheduled[] = [];
    stream.retryScheduled.connect((_, retry) => retries.push(retry));
    stream.connect();

    const third = await server!.connection(3);
    await stateIs(stream, 'open');
    expect(retries.map(r => r.attempt)).toEqual([0, 1]);
    // Held long enough to count as healthy.
    await new Promise(resolve => setTimeout(resolve, 100));
    third.terminate();
    await server!.connection(4);
    expect(retries.map(r => r.attempt)).toEqual([0, 1, 0]);
  });

  it('asks for a fresh token when the server refuses the old one (4401)', async () => {
    let token = 'expired';
    const stream = await start({ getToken: () => token }, (ws, given) => {
      if (given === 'expired') {
        token = 'fresh';
        ws.close(4401, 'Your session expired.');
      }
    });
    const retries: IRetryScheduled[] = [];
    stream.retryScheduled.connect((_, retry) => retries.push(retry));
    stream.connect();
    await server!.connection(2);
    await stateIs(stream, 'open');
    expect(server!.tokens).toEqual(['expired', 'fresh']);
    expect(retries.map(r => r.code)).toEqual([4401]);
  });

  it('never reconnects once disposed', async () => {
    const stream = await start();
    stream.connect();
    const ws = await server!.connection(1);
    await stateIs(stream, 'open');
    const serverSide = closed(ws);
    stream.dispose();
    expect((await serverSide).code).toBe(1000);
    // Several times the longest backoff: a reconnect would have happened by now.
    await new Promise(resolve => setTimeout(resolve, 500));
    expect(server!.sockets).toHaveLength(1);
    expect(stream.state).toBe('idle');
  });

  it('never reconnects once disconnected, even with a retry pending', async () => {
    const stream = await start({ backoff: { initialMs: 100, maxMs: 100 } });
    stream.connect();
    const ws = await server!.connection(1);
    const waiting = stateIs(stream, 'waiting');
    ws.terminate();
    await waiting;
    stream.disconnect();
    expect(stream.state).toBe('idle');
    await new Promise(resolve => setTimeout(resolve, 400));
    expect(server!.sockets).toHaveLength(1);
  });

  it('stays idle without a token', async () => {
    const stream = await start({ getToken: async () => null });
    stream.connect();
    await stateIs(stream, 'connecting');
    await stateIs(stream, 'idle');
    expect(server!.sockets).toHaveLength(0);
  });
});

/** A session stand-in with just what the stream reads: ready, isLoggedIn, changed. */
class FakeSession {
  isLoggedIn = false;
  readonly ready = Promise.resolve();
  readonly changed = new Signal<ISession, ISessionChangedArgs>(this as never);

  set(reason: ISessionChangedArgs['reason'], loggedIn: boolean): void {
    this.isLoggedIn = loggedIn;
    this.changed.emit({
      reason,
      user: loggedIn
        ? {
            id: 'u1',
            email: 'ada@example.org',
            fullName: 'Ada',
            firstName: 'Ada'
          }
        : null
    });
  }
}

describe('EventStream following the session', () => {
  let server: StreamServer;
  let stream: EventStream;
  let token: string | null;

  beforeEach(async () => {
    token = null;
    server = new StreamServer();
  });

  afterEach(async () => {
    stream.dispose();
    await server.close();
  });

  it('connects on sign-in, hands over refreshed tokens, reconnects for a new user, disconnects on sign-out', async () => {
    const session = new FakeSession();
    const bus = new InsighterBus();
    stream = new EventStream({
      bus,
      url: await server.url(),
      getToken: () => token,
      createSocket: nodeSocket,
      session: session as unknown as ISession
    });
    await session.ready;
    expect(stream.state).toBe('idle');

    token = 'ada-1';
    session.set('signed-in', true);
    const first = await server.connection(1);
    await stateIs(stream, 'open');

    token = 'ada-2';
    session.set('refreshed', true);
    await new Promise<void>(resolve => first.once('message', () => resolve()));
    expect(server.messages).toEqual([
      { type: 'auth.refresh', access_token: 'ada-2' }
    ]);

    // Someone else signs in on this page: the old socket goes, a new one comes.
    token = 'grace-1';
    const firstClosed = closed(first);
    session.set('signed-in', true);
    await firstClosed;
    await server.connection(2);
    await stateIs(stream, 'open');
    expect(server.tokens).toEqual(['ada-1', 'grace-1']);

    const secondClosed = closed(server.sockets[1]);
    token = null;
    session.set('signed-out', false);
    expect(stream.state).toBe('idle');
    await secondClosed;
    bus.dispose();
  });

  it('connects by itself when the session was already signed in at start', async () => {
    const session = new FakeSession();
    session.isLoggedIn = true;
    token = 'restored';
    stream = new EventStream({
      bus: new InsighterBus(),
      url: await server.url(),
      getToken: () => token,
      createSocket: nodeSocket,
      session: session as unknown as ISession
    });
    await server.connection(1);
    expect(server.tokens).toEqual(['restored']);
  });
});

describe('eventStreamUrl', () => {
  it('follows the page scheme and keeps the proxy path', () => {
    expect(eventStreamUrl('http://h:8888/base/insighter/')).toBe(
      'ws://h:8888/base/insighter/api/v1/events'
    );
    expect(eventStreamUrl('https://hub.example.org/user/ada/insighter/')).toBe(
      'wss://hub.example.org/user/ada/insighter/api/v1/events'
    );
  });

  it('carries the Jupyter token in the query when there is one', () => {
    expect(eventStreamUrl('http://h/insighter/', 'abc')).toBe(
      'ws://h/insighter/api/v1/events?token=abc'
    );
  });
});
