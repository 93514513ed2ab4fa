import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request } from 'express';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import type { LiveTokenVerifier } from '../auth/live-tokens';
import {
  InvalidTokenError,
  SessionCheckFailedError,
  type TokenVerifier
} from '../auth/token-verifier';
import type { Database, JwtClaims } from '../db/types';
import { bearerToken } from '../http/require-user';
import type { Logger } from '../logger';
import type { EventHub, EventResource, ServerEvent } from './hub';

/**
 * `/api/v1/events`: one WebSocket per browser tab, over which the sidecar
 * pushes the events a user may see.
 *
 * Authentication, once at connect:
 * - `Authorization: Bearer <access token>` (scripts, Node clients, proxies);
 * - browsers, which cannot set headers on a WebSocket, offer two
 *   subprotocols: `insighter.events.v1` and `insighter.bearer.<access token>`.
 *   The server selects `insighter.events.v1` and never echoes the token; a
 *   subprotocol keeps the token out of URLs and so out of access logs.
 * A missing, bad or expired token still completes the handshake and is then
 * closed with 4401, so a browser can tell "sign in again" from "server down"
 * (1006). The socket is closed with 4401 when its token expires, unless the
 * client first sends `{"type": "auth.refresh", "access_token": "<new>"}`,
 * and when its session ends (sign-out, a new password): at once when this
 * sidecar ended it, else at the next session check (every few seconds).
 *
 * Messages from the server are `{"type", "payload"}` events (see
 * event-types.ts). A user receives an event only when, under their own claims,
 * `select 1 from public.<table> where id = $1` finds the event's row — the
 * same row-level security as every other read; deletes go to the users who
 * could read the row just before.
 */
export const EVENTS_PATH = '/api/v1/events';
export const EVENTS_PROTOCOL = 'insighter.events.v1';
export const BEARER_PROTOCOL_PREFIX = 'insighter.bearer.';

export const CloseCodes = {
  /** Server shutting down: reconnect later. */
  goingAway: 1001,
  /** Binary or oversized message. */
  unsupportedData: 1003,
  /** The client fell too far behind reading events: reconnect. */
  tryAgainLater: 1013,
  /** No token, a bad one, or it expired: get a fresh access token, then reconnect. */
  unauthorized: 4401,
  /** A refresh with another user's token. */
  forbidden: 4403
} as const;

export interface EventStreamOptions {
  hub: EventHub;
  db: Database;
  /** With `onSessionsEnded` (auth/live-tokens.ts), a sign-out here closes streams at once. */
  verifier: TokenVerifier & Partial<Pick<LiveTokenVerifier, 'onSessionsEnded'>>;
  logger: Logger;
  /** How often each stream's token is checked again (its session may have ended). */
  sessionCheckMs?: number;
  /** How often to ping; a client that missed the previous ping is dropped. */
  heartbeatMs?: number;
  /** Unsent bytes a slow client may hold before it is dropped. */
  maxBufferedBytes?: number;
}

export interface EventStream {
  /** Open, authenticated connections. */
  readonly connections: number;
  close(): Promise<void>;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const TABLE_NAME = /^[a-z_][a-z0-9_]*$/;

interface Connection {
  ws: WebSocket;
  claims: JwtClaims;
  /** Checked again every `sessionCheckMs`: the session behind it may end. */
  token: string;
  alive: boolean;
  expiry?: NodeJS.Timeout;
}

/** The connections of one user, who share one ordered queue of visibility checks. */
interface UserChannel {
  connections: Set<Connection>;
  queue: Promise<void>;
  /** The last read check of a run's metrics, reused for the burst that follows. */
  lastMetricCheck?: { id: string; allowed: boolean; at: number };
}

/**
 * Events published together (a log-batch's 1,000 `run.metric`) are sent in
 * the same turn of the event loop: holding the socket's writes until that
 * turn ends sends them in one write instead of one system call per event
 * (a quarter of a log-batch's CPU time before). `ws` has no public cork, so
 * this reaches its socket; without one, frames go out one by one as before.
 */
const corked = new WeakSet<WebSocket>();

function coalesceWrites(ws: WebSocket): void {
  const socket = (ws as unknown as { _socket?: import('node:net').Socket })
    ._socket;
  if (!socket || corked.has(ws)) {
    return;
  }
  corked.add(ws);
  socket.cork();
  process.nextTick(() => {
    corked.delete(ws);
    socket.uncork();
  });
}

/**
 * A log-batch publishes up to 1,000 `run.metric` events of one run at once:
 * one read check answers for the events of that run within this window
 * instead of one database round trip per event and user.
 */
const METRIC_CHECK_REUSE_MS = 1000;

export function attachEventStream(
  server: http.Server,
  options: EventStreamOptions
): EventStream {
  const { db, verifier, logger } = options;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const sessionCheckMs = options.sessionCheckMs ?? 5000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const channels = new Map<string, UserChannel>();
  let closing: Promise<void> | undefined;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 16 * 1024,
    handleProtocols: protocols =>
      protocols.has(EVENTS_PROTOCOL) ? EVENTS_PROTOCOL : false
  });

  const onUpgrade = (
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer
  ) => {
    if (pathOf(req) !== EVENTS_PATH) {
      // Other upgrade handlers may serve other paths; alone, answer for them.
      if (server.listenerCount('upgrade') === 1) {
        socket.end(
          'HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
        );
      }
      return;
    }
    // A client that resets while its token is checked must not crash the process.
    socket.on('error', () => socket.destroy());
    if (closing) {
      socket.end(
        'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'
      );
      return;
    }
    void authenticate(req).then(result =>
      wss.handleUpgrade(req, socket, head, ws => {
        if ('reason' in result) {
          ws.close(result.code, result.reason);
          return;
        }
        open(ws, result.claims, result.token);
      })
    );
  };
  server.on('upgrade', onUpgrade);

  type Verified =
    { claims: JwtClaims; token: string } | { reason: string; code: number };

  async function authenticate(req: http.IncomingMessage): Promise<Verified> {
    const token = tokenOf(req);
    if (!token) {
      return {
        code: CloseCodes.unauthorized,
        reason: `Sign in first: send "Authorization: Bearer <token>" or the ${BEARER_PROTOCOL_PREFIX}<token> subprotocol.`
      };
    }
    return verifyUser(token);
  }

  async function verifyUser(token: string): Promise<Verified> {
    try {
      const claims = await verifier.verify(token);
      if (claims.role !== 'authenticated' || !claims.sub) {
        return {
          code: CloseCodes.unauthorized,
          reason:
            "Sign in first: the stream needs a signed-in user's access token."
        };
      }
      return { claims, token };
    } catch (err) {
      if (err instanceof InvalidTokenError) {
        return err.status === 403
          ? { code: CloseCodes.forbidden, reason: err.message }
          : {
              code: CloseCodes.unauthorized,
              reason: 'Your session is not valid or has expired: sign in again.'
            };
      }
      if (!(err instanceof SessionCheckFailedError)) {
        logger.error({ err }, 'could not verify an event stream token');
      }
      return {
        code: CloseCodes.tryAgainLater,
        reason: 'Your session could not be checked: try again.'
      };
    }
  }

  /** Closes the connection if its session ended since it was last checked. */
  async function recheck(connection: Connection): Promise<void> {
    const exp = connection.claims.exp;
    // An expired token is the expiry timer's to close (scheduleExpiry), with its own reason.
    if (
      connection.ws.readyState !== WebSocket.OPEN ||
      (typeof exp === 'number' && exp * 1000 <= Date.now())
    ) {
      return;
    }
    const token = connection.token;
    try {
      await verifier.verify(token);
    } catch (err) {
      // A refresh that came meanwhile brought another token: that one counts.
      if (err instanceof InvalidTokenError && connection.token === token) {
        connection.ws.close(
          CloseCodes.unauthorized,
          'Your session has ended: sign in again.'
        );
      } else if (!(err instanceof InvalidTokenError)) {
        // The auth server did not answer: the stream stays, and is asked about again.
        logger.warn(
          { err, userId: connection.claims.sub },
          'could not check an event stream session'
        );
      }
    }
  }

  function open(ws: WebSocket, claims: JwtClaims, token: string): void {
    if (closing) {
      ws.close(CloseCodes.goingAway, 'The server is shutting down.');
      return;
    }
    const connection: Connection = { ws, claims, token, alive: true };
    let channel = channels.get(claims.sub);
    if (!channel) {
      channel = { connections: new Set(), queue: Promise.resolve() };
      channels.set(claims.sub, channel);
    }
    channel.connections.add(connection);
    scheduleExpiry(connection);
    logger.debug({ userId: claims.sub }, 'event stream opened');

    ws.on('pong', () => {
      connection.alive = true;
    });
    ws.on(
      'message',
      (data, isBinary) => void onMessage(connection, data, isBinary)
    );
    ws.on('error', err =>
      logger.debug({ err, userId: claims.sub }, 'event stream error')
    );
    ws.on('close', () => {
      clearTimeout(connection.expiry);
      const current = channels.get(claims.sub);
      current?.connections.delete(connection);
      if (current && current.connections.size === 0) {
        channels.delete(claims.sub);
      }
      logger.debug({ userId: claims.sub }, 'event stream closed');
    });
  }

  function scheduleExpiry(connection: Connection): void {
    clearTimeout(connection.expiry);
    const exp = connection.claims.exp;
    if (typeof exp !== 'number') {
      return;
    }
    const ms = Math.min(Math.max(exp * 1000 - Date.now(), 0), MAX_TIMER_MS);
    connection.expiry = setTimeout(() => {
      connection.ws.close(
        CloseCodes.unauthorized,
        'Your session expired: reconnect with a fresh access token.'
      );
    }, ms);
    connection.expiry.unref();
  }

  async function onMessage(
    connection: Connection,
    data: RawData,
    isBinary: boolean
  ) {
    if (isBinary) {
      connection.ws.close(
        CloseCodes.unsupportedData,
        'Send JSON text messages.'
      );
      return;
    }
    let message: { type?: unknown; access_token?: unknown };
    try {
      message = JSON.parse(data.toString());
    } catch {
      connection.ws.close(
        CloseCodes.unsupportedData,
        'Send JSON text messages.'
      );
      return;
    }
    // Other message types are reserved; ignoring them lets clients be newer than us.
    if (message?.type !== 'auth.refresh') {
      return;
    }
    const result: Verified =
      typeof message.access_token === 'string'
        ? await verifyUser(message.access_token)
        : {
            code: CloseCodes.unauthorized,
            reason: 'auth.refresh needs an access_token.'
          };
    if ('reason' in result) {
      connection.ws.close(result.code, result.reason);
      return;
    }
    if (result.claims.sub !== connection.claims.sub) {
      connection.ws.close(
        CloseCodes.forbidden,
        'This stream belongs to another user.'
      );
      return;
    }
    connection.claims = result.claims;
    connection.token = result.token;
    scheduleExpiry(connection);
  }

  /** Whether the user may read the row, by their own row-level security. */
  async function canRead(
    claims: JwtClaims,
    resource: EventResource
  ): Promise<boolean> {
    if (!TABLE_NAME.test(resource.table)) {
      throw new Error(`Not a table name: ${resource.table}`);
    }
    const result = await db.withClaims(claims, tx =>
      tx.query(`select 1 from public."${resource.table}" where id = $1`, [
        resource.id
      ])
    );
    return result.rowCount > 0;
  }

  /** The newest claims among a user's connections: any of them reads the same rows. */
  function claimsOf(channel: UserChannel): JwtClaims | undefined {
    let newest: JwtClaims | undefined;
    for (const connection of channel.connections) {
      if (!newest || (connection.claims.exp ?? 0) > (newest.exp ?? 0)) {
        newest = connection.claims;
      }
    }
    return newest;
  }

  async function deliver(
    userId: string,
    channel: UserChannel,
    event: ServerEvent
  ): Promise<void> {
    let allowed = event.formerReaders?.has(userId) ?? false;
    if (!allowed && !event.rowGone) {
      const claims = claimsOf(channel);
      if (!claims) {
        return;
      }
      const memo = channel.lastMetricCheck;
      try {
        if (
          event.type === 'run.metric' &&
          memo?.id === event.resource.id &&
          Date.now() - memo.at < METRIC_CHECK_REUSE_MS
        ) {
          allowed = memo.allowed;
        } else {
          allowed = await canRead(claims, event.resource);
          if (event.type === 'run.metric') {
            channel.lastMetricCheck = {
              id: event.resource.id,
              allowed,
              at: Date.now()
            };
          }
        }
      } catch (err) {
        // Fail closed: an event nobody could check is not sent.
        logger.warn(
          { err, type: event.type, userId },
          'could not check who may see an event'
        );
        return;
      }
    }
    if (!allowed) {
      return;
    }
    const message = JSON.stringify({
      type: event.type,
      payload: event.payload
    });
    for (const connection of channel.connections) {
      const { ws } = connection;
      if (ws.readyState !== WebSocket.OPEN) {
        continue;
      }
      if (ws.bufferedAmount > maxBufferedBytes) {
        ws.close(
          CloseCodes.tryAgainLater,
          'Too far behind reading events: reconnect.'
        );
        continue;
      }
      coalesceWrites(ws);
      ws.send(message);
    }
  }

  const unsubscribe = options.hub.subscribe({
    onEvent(event) {
      for (const [userId, channel] of channels) {
        // One queue per user keeps their events in publication order.
        channel.queue = channel.queue
          .then(() => deliver(userId, channel, event))
          .catch(err =>
            logger.error(
              { err, type: event.type, userId },
              'could not deliver an event'
            )
          );
      }
    },
    async readersOf(resource) {
      const readers = new Set<string>();
      await Promise.all(
        [...channels].map(async ([userId, channel]) => {
          const claims = claimsOf(channel);
          const readable = claims
            ? await canRead(claims, resource).catch(err => {
                logger.warn(
                  { err, userId },
                  'could not check who may read a row'
                );
                return false;
              })
            : false;
          if (readable) {
            readers.add(userId);
          }
        })
      );
      return readers;
    }
  });

  const heartbeat = setInterval(() => {
    for (const channel of channels.values()) {
      for (const connection of channel.connections) {
        if (!connection.alive) {
          connection.ws.terminate();
          continue;
        }
        connection.alive = false;
        connection.ws.ping();
      }
    }
  }, heartbeatMs);
  heartbeat.unref();

  const recheckAll = (userId?: string) => {
    for (const [id, channel] of channels) {
      if (userId === undefined || id === userId) {
        for (const connection of channel.connections) {
          void recheck(connection);
        }
      }
    }
  };
  const sessionChecks = setInterval(() => recheckAll(), sessionCheckMs);
  sessionChecks.unref();
  const stopListening = verifier.onSessionsEnded?.(userId =>
    recheckAll(userId)
  );

  return {
    get connections() {
      let count = 0;
      for (const channel of channels.values()) {
        count += channel.connections.size;
      }
      return count;
    },
    close() {
      return (closing ??= (async () => {
        clearInterval(heartbeat);
        clearInterval(sessionChecks);
        stopListening?.();
        unsubscribe();
        server.off('upgrade', onUpgrade);
        const sockets = [...wss.clients];
        await Promise.all(
          sockets.map(
            ws =>
              new Promise<void>(resolve => {
                if (ws.readyState === WebSocket.CLOSED) {
                  resolve();
                  return;
                }
                ws.once('close', () => resolve());
                ws.close(CloseCodes.goingAway, 'The server is shutting down.');
                // A client that does not answer the close handshake is cut off.
                setTimeout(() => ws.terminate(), 1000).unref();
              })
          )
        );
        await new Promise<void>(resolve => wss.close(() => resolve()));
      })());
    }
  };
}

function pathOf(req: http.IncomingMessage): string {
  try {
    return new URL(req.url ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

/** The access token from the Authorization header, or from the bearer subprotocol. */
function tokenOf(req: http.IncomingMessage): string | undefined {
  const fromHeader = bearerToken(req as Request);
  if (fromHeader) {
    return fromHeader;
  }
  const protocols = (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map(p => p.trim());
  const bearer = protocols.find(p => p.startsWith(BEARER_PROTOCOL_PREFIX));
  return bearer
    ? bearer.slice(BEARER_PROTOCOL_PREFIX.length) || undefined
    : undefined;
}
