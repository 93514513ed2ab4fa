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
