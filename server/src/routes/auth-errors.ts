import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { ZodError } from 'zod';
import { GoTrueError } from '../auth/errors';
import { knownProblem } from '../http/errors';
import type { Logger } from '../logger';

/** The API version whose error shape supabase-js reads (`{code, message}`). */
export const GOTRUE_API_VERSION = '2024-01-01';

/**
 * Renders errors the way GoTrue does, so supabase-js turns them into the
 * right `AuthError`s: `code` (2024-01-01 shape) plus the legacy `error_code`
 * and `msg`, the `X-Supabase-Api-Version` and `x-sb-error-code` headers.
 */
export function sendGoTrueError(res: Response, err: GoTrueError): void {
  res.setHeader('X-Supabase-Api-Version', GOTRUE_API_VERSION);
  res.setHeader('x-sb-error-code', err.code);
  res.status(err.status).json({
    code: err.code,
    error_code: err.code,
    message: err.message,
    msg: err.message,
    ...err.extra
  });
}

export const gotrueNotFound: RequestHandler = req => {
  throw new GoTrueError(
    404,
    'not_found',
    `No auth endpoint for ${req.method} ${req.path}.`
  );
};

export function gotrueErrorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    sendGoTrueError(res, toGoTrueError(err, logger, req.method, req.path));
  };
}

function toGoTrueError(
  err: unknown,
  logger: Logger,
  method: string,
  path: string
): GoTrueError {
  if (err instanceof GoTrueError) {
    if (err.status >= 500) {
      logger.error({ err, method, path }, 'auth request failed');
    }
    return err;
  }
  if (err instanceof ZodError) {
    const detail = err.issues
      .map(i =>
        i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message
      )
      .join('; ');
    return new GoTrueError(400, 'validation_failed', detail);
  }
  const type = (err as { type?: string } | null)?.type;
  if (type === 'entity.too.large') {
    const limit = (err as { limit?: number }).limit;
    return new GoTrueError(
      413,
      'request_entity_too_large',
      `Request body too large (max ${limit ?? 'the allowed'} bytes)`
    );
  }
  if (type === 'entity.parse.failed') {
    return new GoTrueError(
      400,
      'bad_json',
      'Could not parse request body as JSON'
    );
  }
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new GoTrueError(
      415,
      'bad_json',
      'The request body must be UTF-8 JSON'
    );
  }
  const known = knownProblem(err);
  if (known) {
    return new GoTrueError(
      known.status,
      known.status === 400 ? 'validation_failed' : known.code,
      known.message
    );
  }
  logger.error({ err, method, path }, 'unhandled auth error');
  return new GoTrueError(
    500,
    'unexpected_failure',
    'Unexpected failure, please check server logs for more information'
  );
}
