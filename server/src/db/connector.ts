import type { ClientBase } from 'pg';

export type Backend = 'pglite' | 'postgres';

/**
 * The longest one SQL statement may run, on both backends, unless
 * INSIGHTER_DB_STATEMENT_TIMEOUT_MS says otherwise. No request of the
 * sidecar needs more; a runaway one is ended and answered 503.
 */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * Exclusive use of one connection at a time: PGlite's single in-process
 * connection (queued) or one from a `pg` pool. Everything above this speaks
 * plain `pg`, so the SQL and the transaction handling are shared.
 */
export interface Connector {
  readonly backend: Backend;
  /**
   * Runs `fn` with a connection nobody else uses meanwhile. `discard()` tells
   * the connector the connection is in an unknown state (a failed rollback).
   */
  withConnection<T>(
    fn: (client: ClientBase, discard: () => void) => Promise<T>
  ): Promise<T>;
  close(): Promise<void>;
  /** PGlite only: a tarball of the whole data dir (`dumpDataDir`). */
  snapshot?(): Promise<Blob>;
}
