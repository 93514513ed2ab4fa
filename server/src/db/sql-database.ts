import { AsyncLocalStorage } from 'node:async_hooks';
import type { ClientBase } from 'pg';
import type { Backend, Connector } from './connector';
import { StatementCache } from './statement-cache';
import type { Database, JwtClaims, Queryable, QueryResult } from './types';

const API_ROLES: ReadonlySet<string> = new Set([
  'anon',
  'authenticated',
  'service_role'
]);

/** Which database (and transaction) the current async call chain is inside. */
const activeTransaction = new AsyncLocalStorage<{
  db: SqlDatabase;
  open: boolean;
}>();

/**
 * The `Database` seam over a connector: every unit of work is one transaction
 * on one connection, with Supabase's RLS setup for user work.
 */
export class SqlDatabase implements Database {
  readonly backend: Backend;
  /** PGlite's one session keeps the plans of frequent statements (see statement-cache.ts). */
  private readonly statements: StatementCache | undefined;

  constructor(
    private readonly connector: Connector,
    /** Where the data lives, for status messages: never a secret. */
    readonly description: string
  ) {
    this.backend = connector.backend;
    this.statements =
      connector.backend === 'pglite' ? new StatementCache() : undefined;
  }

  withClaims<T>(
    claims: JwtClaims | null,
    fn: (tx: Queryable) => Promise<T>
  ): Promise<T> {
    const role = claims?.role ?? 'anon';
    if (!API_ROLES.has(role)) {
      return Promise.reject(
        new Error(`Refusing to run as role "${role}": not an API role.`)
      );
    }
    const claimsJson = JSON.stringify(claims ?? { role: 'anon' });
    // Exactly what PostgREST does per request; both settings end with the
    // transaction, so nothing leaks into the connection's next user. Sent
    // with the `begin`, as one simple query: one round trip fewer per
    // request (on PGlite, a hop to its thread and back).
    return this.transaction(
      (_client, tx) => fn(tx),
      client =>
        `begin; select set_config('request.jwt.claims', ${client.escapeLiteral(claimsJson)}, true), set_config('role', ${client.escapeLiteral(role)}, true)`
    );
  }

  asService<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.transaction((_client, tx) => fn(tx));
  }

  async ping(): Promise<void> {
    this.refuseNesting();
    await this.connector.withConnection(client => client.query('select 1'));
  }

  close(): Promise<void> {
    return this.connector.close();
  }

  /** A copy of the whole embedded database (PGlite only), e.g. for test fixtures. */
  snapshot(): Promise<Blob> {
    this.refuseNesting();
    if (!this.connector.snapshot) {
      return Promise.reject(
        new Error('Snapshots are only available for the embedded database.')
      );
    }
    return this.connector.snapshot();
  }

  /** One connection outside any transaction, for the migration runner. */
  withSession<T>(fn: (client: ClientBase) => Promise<T>): Promise<T> {
    this.refuseNesting();
    return this.connector.withConnection(client => fn(client));
  }

  /** `begin` (or, from `opening`, a simple query that starts with it), `fn`, commit. */
  private transaction<T>(
    fn: (client: ClientBase, tx: Queryable) => Promise<T>,
    opening: (client: ClientBase) => string = () => 'begin'
  ): Promise<T> {
    this.refuseNesting();
    return this.connector.withConnection(async (client, discard) => {
      const marker = { db: this, open: true };
      try {
        await client.query(opening(client));
      } catch (err) {
        // A statement after the `begin` failed: the transaction is open (aborted).
        await client.query('rollback').catch(() => discard());
        throw err;
      }
      try {
        const tx = transactionHandle(client, marker, this.statements);
        const result = await activeTransaction.run(marker, () =>
          fn(client, tx)
        );
        await client.query('commit');
        return result;
      } catch (err) {
        await client.query('rollback').catch(() => discard());
        throw err;
      } finally {
        marker.open = false;
      }
    });
  }

  /**
   * A second transaction started from inside one would wait for the first
   * forever on PGlite (one connection) and silently escape it on Postgres:
   * fail loudly instead, on both.
   */
  private refuseNesting(): void {
    const current = activeTransaction.getStore();
    if (current?.open && current.db === this) {
      throw new Error(
        'Nested database call inside a transaction: use the transaction (tx) you were given.'
      );
    }
  }
}

/** The `tx` handed to callers; it refuses work once its transaction ended. */
function transactionHandle(
  client: ClientBase,
  marker: { open: boolean },
  statements: StatementCache | undefined
): Queryable {
  return {
    async query<T = Record<string, unknown>>(sql: string, params?: unknown[]) {
      if (!marker.open) {
        throw new Error(
          'This transaction has ended: run the query inside withClaims/asService.'
        );
      }
      const result = await (statements
        ? client.query(statements.query(sql, params))
        : client.query(sql, params));
      return {
        rows: result.rows as T[],
        rowCount: result.rowCount ?? 0
      } as QueryResult<T>;
    }
  };
}
