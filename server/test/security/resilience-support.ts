import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/db/open';
import {
  pgliteSnapshot,
  scratchPostgresDatabase,
  silentLogger,
  type TestBackend,
  type TestDatabase
} from '../support/postgres';

/**
 * Databases the resilience suite can break: PGlite in a data dir (so what
 * was committed can be read after its thread is reopened) and PostgreSQL 15
 * behind a TCP relay the test can cut, as a network or server outage would.
 */
export interface BreakableDatabase extends TestDatabase {
  /** PostgreSQL: stop relaying (every connection cut, new ones refused); PGlite: end its thread as a crash would. */
  breakDown(): Promise<void>;
  /** PostgreSQL: relay again. PGlite: nothing (it reopens by itself). */
  restore(): Promise<void>;
}

export async function breakableDatabase(
  backend: TestBackend,
  statementTimeoutMs?: number
): Promise<BreakableDatabase> {
  if (backend === 'pglite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'insighter-resilience-'));
    const { db, migrations } = await openDatabase(
      {
        backend: 'pglite',
        dataDir: path.join(dir, 'db'),
        loadFrom: pgliteSnapshot('migrated'),
        statementTimeoutMs
      },
      { logger: silentLogger, migrate: false }
    );
    return {
      backend,
      db,
      migrations,
      async breakDown() {
        // PGlite's own abort (the finding's exit code 100) takes a minute and
        // gigabytes to provoke; its thread ending at once is the same event.
        const connector = (
          db as unknown as {
            connector: { session?: { thread: { terminate(): Promise<void> } } };
          }
        ).connector;
        await connector.session?.thread.terminate();
      },
      async restore() {},
      async close() {
        await db.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };
  }
  const scratch = await scratchPostgresDatabase();
  const target = new URL(scratch.url);
  const relay = await startRelay(target.hostname, Number(target.port));
  const viaRelay = new URL(scratch.url);
  viaRelay.port = String(relay.port);
  const { db, migrations } = await openDatabase(
    { backend: 'postgres', url: viaRelay.toString(), statementTimeoutMs },
    { logger: silentLogger }
  );
  return {
    backend,
    db,
    migrations,
    breakDown: () => relay.cut(),
    restore: () => relay.resume(),
    async close() {
      await db.close();
      await relay.close();
      await scratch.drop();
    }
  };
}

interface Relay {
  port: number;
  cut(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP relay to host:port that can drop every connection and refuse new ones. */
async function startRelay(host: string, port: number): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let listenPort = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer(client => {
        const upstream = net.connect(port, host);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => {
        listenPort = (server!.address() as net.AddressInfo).port;
        resolve();
      });
    });
  const stop = async () => {
    for (const socket of sockets) {
      socket.destroy();
    }
    await new Promise<void>(resolve =>
      server ? server.close(() => resolve()) : resolve()
    );
    server = undefined;
  };
  await listen();
  return { port: listenPort, cut: stop, resume: listen, close: stop };
}
