import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { loadRegistry, type ToolRegistry } from '@insighter/registry';
import WebSocket from 'ws';
import { createApp, type AppDeps } from '../../src/app';
import { createAuth, type Auth } from '../../src/auth';
import { issueAccessToken, issuerAt } from '../../src/auth/access-tokens';
import { loadJwtKeys } from '../../src/auth/keys';
import { insertSession, type UserRow } from '../../src/auth/store';
import { loadConfig } from '../../src/config';
import type { SqlDatabase } from '../../src/db/sql-database';
import { EventHub } from '../../src/events/hub';
import {
  attachEventStream,
  EVENTS_PATH,
  type EventStream
} from '../../src/events/stream';
import { ProjectsService } from '../../src/services/projects';
import { StatusService } from '../../src/services/status';
import {
  createUser,
  freshDatabase,
  silentLogger,
  type TestBackend,
  type TestDatabase,
  type TestUser
} from '../support/postgres';

/**
 * The sidecar as `startSidecar` wires it — app, embedded auth, projects, the
 * event hub and the `/api/v1/events` WebSocket — on a real port, over a fresh
 * migrated database from the db test support (PGlite or PostgreSQL 15).
 * Access tokens are signed by the auth module with the server's own key.
 */
export interface ProjectsTestServer {
  backend: TestBackend;
  url: string;
  db: SqlDatabase;
  auth: Auth;
  hub: EventHub;
  stream: EventStream;
  /** A confirmed account with a fresh access token. */
  user(name?: string): Promise<SignedInUser>;
  /** A signed access token for the user, expiring in `expiresInSeconds` (default 1 h). */
  tokenFor(user: TestUser, expiresInSeconds?: number): Promise<string>;
  /** A team created by `owner`, with the other members added at the given roles. */
  team(owner: TestUser, members?: [TestUser, TeamRole][]): Promise<string>;
  /** A JSON request as `user` (no Authorization header for `null`). */
  api(
    user: SignedInUser | null,
    method: string,
    pathname: string,
    body?: unknown
  ): Promise<ApiAnswer>;
  close(): Promise<void>;
}

export type TeamRole = 'viewer' | 'member' | 'admin' | 'owner';

export interface SignedInUser extends TestUser {
  token: string;
}

export interface ApiAnswer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/** More of the sidecar on the same database, hub and data dir (e.g. Storage and tracking). */
export type HarnessExtension = (base: {
  db: SqlDatabase;
  hub: EventHub;
  dataDir: string;
}) => Promise<{ deps: Partial<AppDeps>; close?: () => Promise<void> }>;

export async function startProjectsTestServer(
  options: {
    backend?: TestBackend;
    tools?: ToolRegistry;
    env?: Record<string, string>;
    heartbeatMs?: number;
    extend?: HarnessExtension;
    /** A database opened by the caller (its `backend` wins); closed with the server. */
    database?: TestDatabase;
  } = {}
): Promise<ProjectsTestServer> {
  const backend = options.database?.backend ?? options.backend ?? 'pglite';
  const dataDir = fs.mkdtempSync(
    path.join(os.tmpdir(), 'insighter-projects-test-')
  );
  const config = loadConfig({
    INSIGHTER_HOST: '127.0.0.1',
    INSIGHTER_API_PORT: '0',
    INSIGHTER_LOG_LEVEL: 'silent',
    INSIGHTER_DATA_DIR: dataDir,
    ...options.env
  });
  const database = options.database ?? (await freshDatabase(backend));
  let publicUrl = config.publicUrl;
  const auth = await createAuth({
    config: config.auth,
    dataDir,
    publicUrl: () => publicUrl,
    // As startSidecar: the configured URL, so tokens outlive a restart on another port.
    issuer: () => issuerAt(config.publicUrl),
    logger: silentLogger,
    db: database.db
  });
  const keys = await loadJwtKeys(dataDir);
  const hub = new EventHub(silentLogger);
  const projects = new ProjectsService(database.db, hub);
  const extension = await options.extend?.({
    db: database.db,
    hub,
    dataDir
  });
  const app = createApp({
    ...extension?.deps,
    config,
    logger: silentLogger,
    status: new StatusService([], 'test'),
    auth,
    projects,
    tools: options.tools ?? loadRegistry(config.toolsManifest)
  });
  const server = http.createServer(app);
  const stream = attachEventStream(server, {
    hub,
    db: database.db,
    verifier: auth.verifier,
    logger: silentLogger,
    heartbeatMs: options.heartbeatMs
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  publicUrl = url;

  const tokenFor = (user: TestUser, expiresInSeconds = 3600) =>
    signIn(database.db, user, {
      issuer: issuerAt(config.publicUrl),
      secret: keys.secret,
      expiresInSeconds
    });

  return {
    backend,
    url,
    db: database.db,
    auth,
    hub,
    stream,
    tokenFor,
    async user(name) {
      const user = await createUser(database.db, { fullName: name });
      return { ...user, token: await tokenFor(user) };
    },
    async team(owner, members = []) {
      // Without `returning`: the creator can read the team only once the
      // after-insert trigger made them its owner.
      const teamId = randomUUID();
      await database.db.withClaims(owner.claims, tx =>
        tx.query('insert into public.teams (id, name) values ($1, $2)', [
          teamId,
          `Team ${teamId.slice(0, 6)}`
        ])
      );
      // People join teams through invitations; tests add them directly.
      for (const [member, role] of members) {
        await database.db.asService(tx =>
          tx.query(
            'insert into public.team_members (team_id, user_id, role) values ($1, $2, $3)',
            [teamId, member.id, role]
          )
        );
      }
      return teamId;
    },
    async api(user, method, pathname, body) {
      const headers: Record<string, string> = {};
      if (user) {
        headers.authorization = `Bearer ${user.token}`;
      }
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${url}${pathname}`, {
        method,
        headers,
        body:
          body === undefined
            ? undefined
            : typeof body === 'string'
              ? body
              : JSON.stringify(body)
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async close() {
      await stream.close();
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
      await extension?.close?.();
      await auth.close();
      await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  };
}

/**
 * A new session of the user (the row sign-in writes: every token is checked
 * against its session) and its access token, signed with the server's key.
 */
export async function signIn(
  db: SqlDatabase,
  user: TestUser,
  options: { issuer: string; secret: Uint8Array; expiresInSeconds?: number }
): Promise<string> {
  const amr = [
    { method: 'password', timestamp: Math.floor(Date.now() / 1000) }
  ];
  const session = await db.asService(tx =>
    insertSession(tx, { id: randomUUID(), userId: user.id, amr })
  );
  const { token } = await issueAccessToken({
    user: userRow(user),
    sessionId: session.id,
    aal: 'aal1',
    amr,
    issuer: options.issuer,
    expiresInSeconds: options.expiresInSeconds ?? 3600,
    secret: options.secret
  });
  return token;
}

/** The auth row of a test user, for signing their access tokens. */
export function userRow(user: TestUser): UserRow {
  const now = new Date();
  return {
    id: user.id,
    aud: 'authenticated',
    role: 'authenticated',
    email: user.email,
    phone: null,
    encrypted_password: null,
    email_confirmed_at: now,
    confirmation_sent_at: null,
    recovery_sent_at: null,
    last_sign_in_at: now,
    raw_app_meta_data: { provider: 'email', providers: ['email'] },
    raw_user_meta_data: { full_name: user.fullName },
    banned_until: null,
    is_anonymous: false,
    created_at: now,
    updated_at: now
  };
}

/** One `/api/v1/events` connection that keeps every event it receives. */
export interface EventClient {
  ws: WebSocket;
  /** The protocol the server selected ('' when none was offered). */
  protocol: string;
  received: { type: string; payload: Record<string, unknown> }[];
  /** Resolves with the first received event (past or future) that matches. */
  next(
    match: (event: {
      type: string;
      payload: Record<string, unknown>;
    }) => boolean,
    timeoutMs?: number
  ): Promise<{ type: string; payload: Record<string, unknown> }>;
  /** Resolves with the close code and reason. */
  closed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

export function connectEvents(
  baseUrl: string,
  auth: { header?: string; protocols?: string[] } = {}
): Promise<EventClient> {
  const url = `${baseUrl.replace(/^http/, 'ws')}${EVENTS_PATH}`;
  const ws = new WebSocket(url, auth.protocols ?? [], {
    headers: auth.header ? { authorization: auth.header } : {}
  });
  const received: EventClient['received'] = [];
  const waiters = new Set<() => void>();
  let closeInfo: { code: number; reason: string } | undefined;
  ws.on('message', data => {
    received.push(JSON.parse(data.toString()));
    waiters.forEach(wake => wake());
  });
  ws.on('close', (code, reason) => {
    closeInfo = { code, reason: reason.toString() };
    waiters.forEach(wake => wake());
  });
  const waitFor = <T>(
    probe: () => T | undefined,
    timeoutMs: number,
    what: string
  ) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value !== undefined) {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(
            `Timed out waiting for ${what}; received ${JSON.stringify(received)}`
          )
        );
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const client: EventClient = {
    ws,
    protocol: '',
    received,
    next: (match, timeoutMs = 5000) =>
      waitFor(() => received.find(match), timeoutMs, 'an event'),
    closed: (timeoutMs = 5000) =>
      waitFor(() => closeInfo, timeoutMs, 'the socket to close'),
    async close() {
      if (ws.readyState === WebSocket.CLOSED) {
        return;
      }
      const done = client.closed();
      ws.close();
      await done;
    }
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      client.protocol = ws.protocol;
      resolve(client);
    });
    ws.once('error', reject);
  });
}
