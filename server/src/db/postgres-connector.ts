import { Pool, type PoolClient } from 'pg';
import type { Logger } from '../logger';
import { DEFAULT_STATEMENT_TIMEOUT_MS, type Connector } from './connector';
import {
  DatabaseUnavailableError,
  errorMessage,
  isConnectionError
} from './errors';

export interface PostgresOptions {
  /** A postgres:// URL (DATABASE_URL); never logged, it may hold a password. */
  url: string;
  logger: Logger;
  maxConnections?: number;
  /** The longest one statement may run (server-side statement_timeout; 0: no limit). */
  statementTimeoutMs?: number;
}

/**
 * Any Postgres 15+ (Supabase's included) through a `pg` pool. While the
 * server cannot be reached, work is refused with `DatabaseUnavailableError`
 * (503); the pool connects again by itself once it is back.
 */
export function openPostgresConnector(options: PostgresOptions): Connector {
  const statementTimeout =
    options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS;
  const pool = new Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    application_name: 'insighter-sidecar',
    // Sent at connection start, so it holds for every statement; a
    // transaction left open by a stuck caller is ended too.
    statement_timeout: statementTimeout,
    idle_in_transaction_session_timeout: statementTimeout
  });
  // An idle client losing its connection must not crash the process; the
  // pool replaces it and the health check reports the outage.
  pool.on('error', err =>
    options.logger.warn({ err }, 'idle database connection lost')
  );
  let closing: Promise<void> | undefined;
  return {
    backend: 'postgres',
    async withConnection(fn) {
      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw unreachable(err);
      }
      // A connection lost while checked out emits on the client, which has
      // no listener of the pool's then: without this one the process ends.
      let lost = false;
      const onError = (err: Error) => {
        lost = true;
        options.logger.warn(
          { err },
          'database connection lost during a request'
        );
      };
      client.on('error', onError);
      let discarded = false;
      try {
        return await fn(client, () => {
          discarded = true;
        });
      } catch (err) {
        throw lost || isConnectionError(err) ? unreachable(err) : err;
      } finally {
        client.off('error', onError);
        client.release(discarded || lost);
      }
    },
    close() {
      return (closing ??= pool.end());
    }
  };
}

function unreachable(err: unknown): DatabaseUnavailableError {
  const failure = new DatabaseUnavailableError(
    `The database is not reachable right now (${errorMessage(err)}); try again in a moment.`
  );
  failure.cause = err;
  return failure;
}

/** host:port/database of a URL, for messages: never the user or password. */
export function describePostgresUrl(url: string): string {
  try {
    const u = new URL(url);
    const database =
      decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
    return `${u.hostname || 'localhost'}:${u.port || '5432'}/${database}`;
  } catch {
    return 'the configured server';
  }
}
