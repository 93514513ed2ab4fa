/**
 * SQLSTATE codes the services translate into HTTP answers. `IN…` codes are
 * raised by Insighter's own migrations (see supabase/migrations).
 */
export const SqlState = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  notNullViolation: '23502',
  invalidTextRepresentation: '22P02',
  stringTooLong: '22001',
  insufficientPrivilege: '42501',
  lastTeamOwner: 'IN001',
  alreadyTeamMember: 'IN002'
} as const;

/** The SQLSTATE of a database error (from `pg` or PGlite), if it is one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)
    ? code
    : undefined;
}

/** The message of anything thrown (database errors need not be `Error`s). */
export function errorMessage(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

/**
 * The database cannot do the work now: the embedded one is reopening after
 * it stopped, or it gave up on a statement that ran too long. `code` is the
 * SQLSTATE Postgres itself gives the same case, so both backends read alike.
 */
export class DatabaseUnavailableError extends Error {
  constructor(
    message: string,
    /** 57P03 cannot_connect_now, or 57014 query_canceled (a statement timeout). */
    readonly code: '57P03' | '57014' = '57P03'
  ) {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

/** SQLSTATEs that mean "not now", not "not this": connection exceptions, shutdowns, no more connections. */
const UNAVAILABLE_STATES = /^(08...|57P0[1-3]|53300)$/;

/**
 * What to tell a person when the database cannot answer (answered 503), or
 * undefined when `err` is not that (a bug, or a refusal of the request).
 */
export function databaseUnavailable(err: unknown): string | undefined {
  const state = sqlState(err);
  if (state === '57014') {
    return 'The database gave up on this request: it ran longer than the statement time limit. Ask for less at once (a narrower search, a smaller page) or try again later.';
  }
  if (err instanceof DatabaseUnavailableError) {
    return err.message;
  }
  if (state && UNAVAILABLE_STATES.test(state)) {
    return 'The database is not reachable right now; try again in a moment.';
  }
  return undefined;
}

/** `pg`'s own words when it cannot reach the server or loses the connection. */
const CONNECTION_LOST =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EPIPE|EAI_AGAIN)$|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly|not queryable/i;

/** Whether an error from `pg` means the connection, not the statement, failed. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    (typeof code === 'string' && CONNECTION_LOST.test(code)) ||
    (sqlState(err) === undefined && CONNECTION_LOST.test(errorMessage(err)))
  );
}

/** Postgres refuses NUL (0x00) in text: 22021, or 22P05 for JSON's \u0000. */
export function isNulInText(err: unknown): boolean {
  const state = sqlState(err);
  return (
    (state === '22021' || state === '22P05') &&
    /0x00|\\u0000/.test(errorMessage(err))
  );
}
