import path from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { Connector } from './connector';
import { errorMessage } from './errors';
import {
  runMigrations,
  type MigrationReport,
  type MigrationSource
} from './migrations';
import { defaultMigrationSources } from './migration-plan';
import { openPgliteConnector } from './pglite-connector';
import {
  describePostgresUrl,
  openPostgresConnector
} from './postgres-connector';
import { SqlDatabase } from './sql-database';

export type DatabaseTarget = (
  /**
   * `dataDir` omitted: in memory (tests). `loadFrom`: a dumpDataDir snapshot.
   * `durable` false: commits are not fsynced (throwaway sessions; default true).
   */
  | { backend: 'pglite'; dataDir?: string; loadFrom?: Blob; durable?: boolean }
  | { backend: 'postgres'; url: string }
) & {
  /** The longest one statement may run (default 30 s; 0: no limit). */
  statementTimeoutMs?: number;
};

export interface OpenDatabaseOptions {
  logger: Logger;
  /** Defaults to bootstrap + embedded auth SQL + supabase/migrations. */
  sources?: MigrationSource[];
  /** Skip migrations (tests that start from an already migrated snapshot). */
  migrate?: boolean;
}

export interface OpenedDatabase {
  db: SqlDatabase;
  migrations: MigrationReport;
}

/** DATABASE_URL when set, else PGlite in `<INSIGHTER_DATA_DIR>/db`. */
export function databaseTarget(
  config: Pick<
    Config,
    'dataDir' | 'databaseUrl' | 'statementTimeoutMs' | 'durable'
  >
): DatabaseTarget {
  const statementTimeoutMs = config.statementTimeoutMs;
  return config.databaseUrl
    ? { backend: 'postgres', url: config.databaseUrl, statementTimeoutMs }
    : {
        backend: 'pglite',
        dataDir: path.join(config.dataDir, 'db'),
        statementTimeoutMs,
        durable: config.durable
      };
}

/** Opens the database and brings its schema up to date before anyone uses it. */
export async function openDatabase(
  target: DatabaseTarget,
  options: OpenDatabaseOptions
): Promise<OpenedDatabase> {
  const { logger } = options;
  let connector: Connector;
  let description: string;
  if (target.backend === 'pglite') {
    connector = await openPgliteConnector({ ...target, logger });
    description = target.dataDir
      ? `PGlite in ${target.dataDir}`
      : 'PGlite in memory';
  } else {
    connector = openPostgresConnector({
      url: target.url,
      logger,
      statementTimeoutMs: target.statementTimeoutMs
    });
    description = `PostgreSQL at ${describePostgresUrl(target.url)}`;
  }
  const db = new SqlDatabase(connector, description);
  try {
    const version = await db
      .withSession(client =>
        client.query<{ v: string }>(
          "select current_setting('server_version') as v"
        )
      )
      .catch(err => {
        throw new Error(
          `Cannot reach the database (${description}): ${errorMessage(err)}`
        );
      });
    if (target.backend === 'postgres') {
      assertSupportedVersion(version.rows[0].v, description);
    }
    const migrations =
      options.migrate === false
        ? { applied: [], adopted: [], supabaseManaged: false }
        : await db.withSession(async client => {
            // A migration may rewrite a large table: no statement limit for
            // it on Postgres (PGlite's limit is per thread round, see its connector).
            await client.query('set statement_timeout = 0');
            try {
              return await runMigrations(
                client,
                options.sources ?? defaultMigrationSources(),
                logger
              );
            } finally {
              await client.query('reset statement_timeout');
            }
          });
    logger.info(
      {
        database: description,
        serverVersion: version.rows[0].v,
        applied: migrations.applied.length,
        supabaseManaged: migrations.supabaseManaged
      },
      'database ready'
    );
    return { db, migrations };
  } catch (err) {
    await db.close().catch(() => undefined);
    throw err;
  }
}

function assertSupportedVersion(version: string, description: string): void {
  const major = Number.parseInt(version, 10);
  if (!(major >= 15)) {
    throw new Error(
      `The database (${description}) runs PostgreSQL ${version}; Insighter needs PostgreSQL 15 or newer.`
    );
  }
}
