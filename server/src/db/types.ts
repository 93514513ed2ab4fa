/**
 * The database seam shared by every service. Implementations: PGlite in the
 * data dir (embedded default) and `pg` against any Postgres 15+ (DATABASE_URL).
 * Both speak through `pg`'s query interface, so the SQL is the same.
 */
export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(
    sql: string,
    params?: unknown[]
  ): Promise<QueryResult<T>>;
}

/** The claims Supabase puts in its access tokens (the subset RLS reads). */
export interface JwtClaims {
  sub: string;
  role: 'authenticated' | 'anon' | 'service_role';
  email?: string;
  aud?: string | string[];
  exp?: number;
  iat?: number;
  session_id?: string;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
  [claim: string]: unknown;
}

export interface Database {
  readonly backend: 'pglite' | 'postgres';
  /** Where the data lives, for status messages (never a secret). */
  readonly description: string;
  /**
   * One transaction as the given user, exactly how Supabase enforces RLS:
   * begin; set_config('request.jwt.claims', …, true); set local role …; fn; commit.
   * `null` claims run as `anon`.
   */
  withClaims<T>(
    claims: JwtClaims | null,
    fn: (tx: Queryable) => Promise<T>
  ): Promise<T>;
  /** One transaction as the table owner (no RLS): only trusted server code (auth, migrations). */
  asService<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** A cheap round trip for the health check. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
