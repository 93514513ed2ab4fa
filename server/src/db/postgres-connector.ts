import { Pool, type PoolClient } from 'pg';
import type { Logger } from '../logger';
import type { Connector } from './connector';

export interface PostgresOptions {
  /** A postgres:// URL (DATABASE_URL); never logged, it may hold a password. */
  url: string;
  logger: Logger;
  maxConnections?: number;
}

/** Any Postgres 15+ (Supabase's included) through a `pg` pool. */
export function openPostgresConnector(options: PostgresOptions): Connector {
  const pool = new Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    application_name: 'insighter-sidecar'
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
      const client: PoolClient = await pool.connect();
      let discarded = false;
      try {
        return await fn(client, () => {
          discarded = true;
        });
      } finally {
        client.release(discarded);
      }
    },
    close() {
      return (closing ??= pool.end());
    }
  };
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
