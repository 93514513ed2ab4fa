import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import { Client } from 'pg';
import type { Logger } from '../logger';
import type { Connector } from './connector';
import { acquireDataDirLock, type DataDirLock } from './data-dir-lock';
import { PrivateNodeFS } from './private-nodefs';

export interface PgliteOptions {
  /** The database folder; its parent is created. Omitted: in memory (tests). */
  dataDir?: string;
  /** A `dumpDataDir` tarball to start from when the folder is new (tests). */
  loadFrom?: Blob;
  logger: Logger;
}

/**
 * Postgres' buffer cache inside PGlite's WASM memory. Its default (128 MB)
 * is sized for a server with many connections; here it was ≈ 110 MB of the
 * sidecar's ≈ 410 MB idle RSS. One local user's working set fits in 16 MB,
 * and reads beyond it still come from the OS page cache (PGlite's files are
 * ordinary files), so the tracking and datasets benchmarks did not change.
 */
const SHARED_BUFFERS = '16MB';

/**
 * PGlite (WASM Postgres) in-process, spoken to through `pg` via PGlite's
 * adapter. It is one connection: callers are queued one transaction at a
 * time, and the data dir is locked against a second process.
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
  let pglite: PGlite | undefined;
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
    pglite = new PGlite({
      // Files 0600 and folders 0700, whatever Emscripten asks for (private-nodefs.ts).
      fs: dataDir ? new PrivateNodeFS(dataDir) : undefined,
      loadDataDir: options.loadFrom,
      startParams: [
        ...PGlite.defaultStartParams,
        '-c',
        `shared_buffers=${SHARED_BUFFERS}`
      ]
    });
    await pglite.waitReady;
    const client = new Client(createPgConfig(pglite));
    await client.connect();
    logger.debug(
      {
        dataDir: dataDir ?? 'memory',
        ms: Math.round(performance.now() - started)
      },
      'embedded database open'
    );
    return new PgliteConnector(pglite, client, logger, lock);
  } catch (err) {
    await pglite?.close().catch(() => undefined);
    lock?.release();
    throw err;
  }
}

export class PgliteConnector implements Connector {
  readonly backend = 'pglite' as const;
  private queue: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | undefined;

  constructor(
    readonly pglite: PGlite,
    private readonly client: Client,
    private readonly logger: Logger,
    private readonly lock: DataDirLock | undefined
  ) {}

  withConnection<T>(
    fn: (client: Client, discard: () => void) => Promise<T>
  ): Promise<T> {
    if (this.closing) {
      return Promise.reject(new Error('The database is closed.'));
    }
    const run = this.queue.then(() =>
      fn(this.client, () =>
        this.logger.error(
          'the embedded database connection is in an unknown state'
        )
      )
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  snapshot(): Promise<Blob> {
    // Queued like a transaction, so the copy is consistent.
    return this.withConnection(() => this.pglite.dumpDataDir('none'));
  }

  close(): Promise<void> {
    return (this.closing ??= (async () => {
      await this.queue;
      try {
        await this.client.end();
        await this.pglite.close();
      } finally {
        this.lock?.release();
      }
    })());
  }
}
