import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SupabaseClient } from '@supabase/supabase-js';
import { createApp } from '../../src/app';
import { loadJwtKeys } from '../../src/auth/keys';
import { StatusService } from '../../src/services/status';
import { createEmbeddedStorage, type EmbeddedStorage } from '../../src/storage';
import {
  makeClient,
  signedUpUser,
  startAuthTestServer,
  type AuthTestServer
} from '../auth/support';
import { silentLogger, type TestBackend } from '../support/postgres';

/**
 * The sidecar's app with the embedded `/storage/v1`, wired like
 * `startSidecar`, beside the auth test server (same database, same auth and
 * data dir): people sign up there through the public auth flow, and their
 * real access tokens work here.
 */
export interface StorageTestServer {
  url: string;
  auth: AuthTestServer;
  storage: EmbeddedStorage;
  /** A confirmed, signed-in person and a supabase-js client on this server with their session. */
  person(): Promise<Person>;
  /** A supabase-js client without a session (the anon key). */
  anonClient(): SupabaseClient;
  /** A supabase-js client with the service key (bypasses RLS). */
  serviceClient(): SupabaseClient;
  close(): Promise<void>;
}

export interface Person {
  id: string;
  email: string;
  token: string;
  client: SupabaseClient;
}

export async function startStorageTestServer(
  options: {
    backend?: TestBackend;
    maxObjectBytes?: number;
    env?: Record<string, string>;
  } = {}
): Promise<StorageTestServer> {
  const auth = await startAuthTestServer({
    backend: options.backend,
    env: options.env
  });
  const storage = await createEmbeddedStorage({
    dataDir: auth.dataDir,
    db: auth.db,
    jwtSecret: (await loadJwtKeys(auth.dataDir)).secret,
    maxObjectBytes:
      options.maxObjectBytes ?? auth.config.storage.maxObjectBytes,
    signedUrlMaxSeconds: auth.config.storage.signedUrlMaxSeconds,
    logger: silentLogger
  });
  const app = createApp({
    config: auth.config,
    logger: silentLogger,
    status: new StatusService([storage.health], 'test'),
    auth: auth.auth,
    storage: storage.service
  });
  const server = http.createServer(app);
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    auth,
    storage,
    async person() {
      const signedUp = await signedUpUser(auth);
      const client = makeClient(url, auth.anonKey);
      const { data, error } = await client.auth.signInWithPassword({
        email: signedUp.email,
        password: signedUp.password
      });
      if (error) {
        throw error;
      }
      return {
        id: data.user!.id,
        email: signedUp.email,
        token: data.session!.access_token,
        client
      };
    },
    anonClient: () => makeClient(url, auth.anonKey),
    serviceClient: () => makeClient(url, auth.serviceRoleKey),
    async close() {
      server.closeAllConnections();
      await new Promise<void>(resolve => server.close(() => resolve()));
      await storage.close();
      await auth.close();
    }
  };
}
