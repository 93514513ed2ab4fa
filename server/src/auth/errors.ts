/**
 * An error in GoTrue's terms: its HTTP status, its `error_code` (the names
 * supabase-js knows, e.g. `invalid_credentials`) and a message for people.
 * Services throw it; the `/auth/v1` routes render it the way GoTrue does.
 */
export class GoTrueError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Extra top-level fields GoTrue sends with some errors (`weak_password`). */
    readonly extra?: Record<string, unknown>
  ) {
    super(message);
  }
}

export const INVALID_LOGIN_MESSAGE = 'Invalid login credentials';

export const invalidCredentials = () =>
  new GoTrueError(400, 'invalid_credentials', INVALID_LOGIN_MESSAGE);

export const validationFailed = (message: string) =>
  new GoTrueError(400, 'validation_failed', message);

/** One message for a tampered, used or expired link: none of those is worth telling apart. */
export const linkInvalid = () =>
  new GoTrueError(403, 'otp_expired', 'Email link is invalid or has expired');

export const badJwt = (message: string) =>
  new GoTrueError(403, 'bad_jwt', message);
