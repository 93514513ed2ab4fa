import fs from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { Client } from 'pg';
import type { BackendMessage } from 'pg-protocol/dist/messages';
import { Parser } from 'pg-protocol/dist/parser';
import type { Logger } from '../logger';
import { DEFAULT_STATEMENT_TIMEOUT_MS, type Connector } from './connector';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock';
import { DatabaseUnavailableError } from './errors';
import { PgliteThread } from './pglite-thread';

export interface PgliteOptions {
  /** The database folder; its parent is created. Omitted: in memory (tests). */
  dataDir?: string;
  /** A `dumpDataDir` tarball to start from when the folder is new (tests). */
  loadFrom?: Blob;
  logger: Logger;
  /** The longest one statement may run before its thread is ended (0: no limit). */
  statementTimeoutMs?: number;
  /** false: no fsync, for throwaway sessions (see pglite-fsync.ts). Default true. */
  durable?: boolean;
}

/**
 * Postgres' buffer cache inside PGlite's WASM memory. Its default (128 MB)
 * is sized for a server with many connections; here it was ≈ 110 MB of the
 * sidecar's ≈ 410 MB idle RSS. One local user's working set fits in 16 MB,
 * and reads beyond it still come from the OS page cache (PGlite's files are
 * ordinary files), so the tracking and datasets benchmarks did not change.
 */
const SHARED_BUFFERS = '16MB';

/** The longest wait between two tries to reopen a database that stopped. */
const MAX_REOPEN_DELAY_MS = 30_000;

/**
 * PGlite (WASM Postgres) on its own thread (see `PgliteThread`), spoken to
 * through `pg` via PGlite's adapter. It is one connection: callers are
 * queued one transaction at a time, and the data dir is locked against a
 * second process.
 */
export async function openPgliteConnector(
  options: PgliteOptions
): Promise<PgliteConnector> {
  const { dataDir, logger } = options;
  let lock: DataDirLock | undefined;
  if (dataDir) {
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    lock = acquireDataDirLock(`${dataDir}.lock`, dataDir);
  }
  const started = performance.now();
  try {
    const firstStart = dataDir
      ? !fs.existsSync(path.join(dataDir, 'PG_VERSION'))
      : true;
    if (dataDir && firstStart && !options.loadFrom) {
      logger.info(
        { dataDir },
        'creating the embedded database (first start takes a few seconds)'
      );
    }
    const connector = new PgliteConnector({
      dataDir,
      loadFrom: await options.loadFrom?.arrayBuffer(),
      logger,
      statementTimeoutMs:
        options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      durable: options.durable ?? true,
      lock
    });
    await connector.open();
    logger.debug(
      {
        dataDir: dataDir ?? 'memory',
        ms: Math.round(performance.now() - started)
      },
      'embedded database open'
    );
    return connector;
  } catch (err) {
    lock?.release();
    throw err;
  }
}

interface Session {
  thread: PgliteThread;
  client: Client;
}

export class PgliteConnector implements Connector {
  readonly backend = 'pglite' as const;
  private session: Session | undefined;
  private opened = false;
  private reopening: Promise<void> | undefined;
  private stopWaiting: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly options: {
      dataDir?: string;
      loadFrom?: ArrayBuffer;
      logger: Logger;
      statementTimeoutMs: number;
      durable: boolean;
      lock?: DataDirLock;
    }
  ) {}

  /** Opens the database thread; the connector serves once this resolved. */
  async open(): Promise<void> {
    this.session = await this.startSession();
    this.opened = true;
  }

  withConnection<T>(
    fn: (client: Client, discard: () => void) => Promise<T>
  ): Promise<T> {
    return this.withSession(session =>
      fn(session.client, () =>
        this.lose(
          session,
          new Error('the embedded database connection is in an unknown state')
        )
      )
    );
  }

  snapshot(): Promise<Blob> {
    // Queued like a transaction, so the copy is consistent.
    return this.withSession(async session => {
      const bytes = await session.thread.dump();
      return new Blob([bytes as Uint8Array<ArrayBuffer>]);
    });
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.queue;
      this.stopWaiting?.();
      await this.reopening;
      const session = this.session;
      this.session = undefined;
      try {
        if (session) {
          await session.client.end().catch(() => undefined);
          await session.thread.close();
        }
      } finally {
        this.options.lock?.release();
      }
    })());
  }

  private withSession<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    if (this.closing) {
      return Promise.reject(new Error('The database is closed.'));
    }
    const run = this.queue.then(() => {
      const session = this.session;
      if (!session) {
        throw new DatabaseUnavailableError(
          'The embedded database is reopening after it stopped; try again in a moment.'
        );
      }
      return fn(session);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async startSession(): Promise<Session> {
    const { dataDir, loadFrom } = this.options;
    const thread = await PgliteThread.start({
      dataDir,
      // Each thread gets its own copy (it is handed over); a data dir is
      // loaded only while new, memory every time (tests only).
      loadFrom:
        loadFrom && (!dataDir || !this.opened) ? loadFrom.slice(0) : undefined,
      startParams: ['-c', `shared_buffers=${SHARED_BUFFERS}`],
      durable: this.options.durable
    });
    const parser = new Parser();
    const timeoutMs = this.options.statementTimeoutMs;
    // What PGlite's `pg` adapter calls on a PGlite: here, the thread.
    const remote = {
      waitReady: Promise.resolve(),
      async execProtocolStream(bytes: Uint8Array) {
        const answer = await thread.exec(bytes, timeoutMs);
        const messages: BackendMessage[] = [];
        parser.parse(
          Buffer.from(answer.buffer, answer.byteOffset, answer.byteLength),
          message => messages.push(message)
        );
        return messages;
      }
    };
    const client = new Client(createPgConfig(remote as unknown as PGlite));
    const session = { thread, client };
    // Without a listener, a failed connection would end the process.
    client.on('error', err => this.lose(session, err));
    thread.onLost(reason => this.lose(session, reason));
    try {
      await client.connect();
    } catch (err) {
      await thread.terminate();
      throw err;
    }
    return session;
  }

  /** The session failed: refuse work (503) until a new thread is open. */
  private lose(session: Session, reason: Error): void {
    if (this.session !== session) {
      return;
    }
    this.session = undefined;
    void session.thread.terminate();
    if (this.closing) {
      return;
    }
    this.options.logger.error(
      { err: reason },
      'the embedded database stopped: reopening it'
    );
    this.reopening = this.reopen();
  }

  private async reopen(): Promise<void> {
    for (let attempt = 1; !this.closing; attempt++) {
      try {
        const session = await this.startSession();
        if (this.closing) {
          await session.thread.close();
          return;
        }
        this.session = session;
        this.options.logger.info(
          { attempt },
          'the embedded database is open again'
        );
        return;
      } catch (err) {
        this.options.logger.error(
          { err, attempt },
          'could not reopen the embedded database: trying again'
        );
        await new Promise<void>(resolve => {
          const timer = setTimeout(
            resolve,
            Math.min(MAX_REOPEN_DELAY_MS, 250 * 2 ** attempt)
          );
          this.stopWaiting = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }
}
