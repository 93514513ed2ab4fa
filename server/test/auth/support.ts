import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { createApp } from '../../src/app';
import { createAuth, type Auth } from '../../src/auth';
import { loadConfig, type Config } from '../../src/config';
import type { SqlDatabase } from '../../src/db/sql-database';
import { StatusService } from '../../src/services/status';
import {
  freshDatabase,
  silentLogger,
  type TestBackend
} from '../support/postgres';

/**
 * The sidecar's app with real auth on a real port: a fresh migrated database
 * (PGlite from the run's snapshot, or a scratch PostgreSQL 15 database) and a
 * temp data dir for the JWT secret. Wired like `startSidecar`, minus the
 * first-start initdb that a data-dir PGlite would cost every test file.
 */
export interface AuthTestServer {
  url: string;
  config: Config;
  db: SqlDatabase;
  auth: Auth;
  dataDir: string;
  anonKey: string;
  serviceRoleKey: string;
  /** A supabase-js client as a server-side script would make it. */
  client(): SupabaseClient;
  /** `fetch` relative to the server, with the anon key unless `apikey: null`. */
  request(
    pathname: string,
    init?: RequestInit & { apikey?: string | null; json?: unknown }
  ): Promise<Response>;
  /** The outbox, newest first (loopback: allowed without a proxy secret). */
  outbox(): Promise<OutboxEntry[]>;
  /** The newest mail's link to `to`. */
  linkFor(to: string, purpose?: 'signup' | 'recovery'): Promise<string>;
  close(): Promise<void>;
}

export interface OutboxEntry {
  id: string;
  to: string;
  subject: string;
  purpose: string;
  link: string;
  status: string;
  created_at: string;
}

/** Generous by default: tests of other things must not trip the rate limits. */
const TEST_ENV: Record<string, string> = {
  INSIGHTER_HOST: '127.0.0.1',
  INSIGHTER_API_PORT: '0',
  INSIGHTER_LOG_LEVEL: 'silent',
  INSIGHTER_AUTH_RATE_LIMIT_PER_IP: '100000',
  INSIGHTER_AUTH_RATE_LIMIT_PER_EMAIL: '100000'
};

export async function startAuthTestServer(
  options: { backend?: TestBackend; env?: Record<string, string> } = {}
): Promise<AuthTestServer> {
  const dataDir = fs.mkdtempSync(
    path.join(os.tmpdir(), 'insighter-auth-test-')
  );
  const config = loadConfig({
    ...TEST_ENV,
    INSIGHTER_DATA_DIR: dataDir,
    ...options.env
  });
  const database = await freshDatabase(options.backend ?? 'pglite');
  let publicUrl = config.publicUrl;
  const auth = await createAuth({
    config: config.auth,
    dataDir,
    publicUrl: () => publicUrl,
    logger: silentLogger,
    db: database.db
  });
  const app = createApp({
    config,
    logger: silentLogger,
    status: new StatusService([], 'test'),
    auth
  });
  const server = http.createServer(app);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (!options.env?.INSIGHTER_PUBLIC_URL) {
    publicUrl = url;
  }
  const { supabase_anon_key: anonKey } = auth.publicConfig();
  const serviceRoleKey = auth.apiKeys.find(k => k !== anonKey) ?? '';

  const request: AuthTestServer['request'] = (pathname, init = {}) => {
    const { apikey = anonKey, json, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (apikey) {
      headers.set('apikey', apikey);
    }
    if (json !== undefined) {
      headers.set('content-type', 'application/json');
    }
    return fetch(`${url}${pathname}`, {
      redirect: 'manual',
      ...rest,
      headers,
      body: json !== undefined ? JSON.stringify(json) : rest.body
    });
  };
  const outbox = async () => {
    const res = await fetch(`${url}/api/v1/outbox`);
    if (!res.ok) {
      throw new Error(`outbox: ${res.status} ${await res.text()}`);
    }
    return ((await res.json()) as { messages: OutboxEntry[] }).messages;
  };

  return {
    url,
    config,
    db: database.db,
    auth,
    dataDir,
    anonKey,
    serviceRoleKey,
    client: () => makeClient(url, anonKey),
    request,
    outbox,
    async linkFor(to, purpose) {
      const mail = (await outbox()).find(
        m => m.to === to.toLowerCase() && (!purpose || m.purpose === purpose)
      );
      if (!mail) {
        throw new Error(`No ${purpose ?? ''} mail to ${to} in the outbox.`);
      }
      return mail.link;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
      await auth.close();
      await database.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  };
}

export function makeClient(url: string, anonKey: string): SupabaseClient {
  return createClient(url, anonKey, {
    auth: {
      persistSession: false,
      autoRefreshToken: false,
      detectSessionInUrl: false
    }
  });
}

let counter = 0;

/** A unique address per call, so tests in one database never collide. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${counter}.${process.pid}.${Date.now().toString(36)}@example.com`;
}

export const GOOD_PASSWORD = 'correct-horse-42';

/** Follows a mail link without following its redirect; returns the fragment's parameters. */
export async function followLink(
  link: string
): Promise<{ status: number; params: URLSearchParams; location: string }> {
  const res = await fetch(link, { redirect: 'manual' });
  const location = res.headers.get('location') ?? '';
  const hash = location.includes('#')
    ? location.slice(location.indexOf('#') + 1)
    : '';
  return { status: res.status, params: new URLSearchParams(hash), location };
}

/** A confirmed user with a session, through the public API only. */
export async function signedUpUser(
  t: AuthTestServer,
  options: { email?: string; password?: string; fullName?: string } = {}
) {
  const email = options.email ?? uniqueEmail();
  const password = options.password ?? GOOD_PASSWORD;
  const client = t.client();
  const { error } = await client.auth.signUp({
    email,
    password,
    options: { data: { full_name: options.fullName ?? 'Grace Hopper' } }
  });
  if (error) {
    throw error;
  }
  const followed = await followLink(await t.linkFor(email, 'signup'));
  if (!followed.params.get('access_token')) {
    throw new Error(`confirmation failed: ${followed.location}`);
  }
  const signIn = await client.auth.signInWithPassword({ email, password });
  if (signIn.error) {
    throw signIn.error;
  }
  return {
    email,
    password,
    client,
    session: signIn.data.session!,
    user: signIn.data.user!
  };
}
