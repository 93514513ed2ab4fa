import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { databaseUnavailable, isNulInText } from '../db/errors';
import type { Logger } from '../logger';

/**
 * The one error type routes and services throw; mapped to HTTP in one place.
 * `message` is shown to people: say what was wrong and how to fix it.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string = defaultCode(status),
    readonly details?: unknown
  ) {
    super(message);
  }
}

function defaultCode(status: number): string {
  switch (status) {
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'too_many_requests';
    case 503:
      return 'unavailable';
    default:
      return status >= 500 ? 'internal_error' : 'error';
  }
}

export const NUL_MESSAGE =
  'Text may not contain control characters such as NUL (\\u0000): remove it and send again.';

/**
 * A failure that is no bug of the sidecar, whichever route met it: the
 * database cannot answer now (503), text holding NUL, which Postgres
 * refuses (400), or a URL or body the HTTP layer could not read (its own
 * 4xx, e.g. broken percent-encoding in a path). Each API renders it in its
 * own error shape; undefined for anything else.
 */
export function knownProblem(
  err: unknown
): { status: number; code: string; message: string } | undefined {
  const unavailable = databaseUnavailable(err);
  if (unavailable) {
    return { status: 503, code: 'unavailable', message: unavailable };
  }
  // Postgres refused it, or the edge did (`NulCharacterError`, type entity.nul).
  if (isNulInText(err) || (err as { type?: unknown })?.type === 'entity.nul') {
    return {
      status: 400,
      code: 'invalid_input',
      message: NUL_MESSAGE
    };
  }
  if (err instanceof URIError) {
    return {
      status: 400,
      code: 'bad_request',
      message:
        'The URL is not valid percent-encoding (each % must start an escape of UTF-8 bytes, e.g. %C3%A9): encode it again.'
    };
  }
  const { status, expose, message } = (err ?? {}) as {
    status?: unknown;
    expose?: unknown;
    message?: unknown;
  };
  if (
    typeof status === 'number' &&
    status >= 400 &&
    status < 500 &&
    expose === true &&
    typeof message === 'string'
  ) {
    return { status, code: defaultCode(status), message };
  }
  return undefined;
}

export const notFound: RequestHandler = req => {
  throw new HttpError(404, `No route for ${req.method} ${req.path}.`);
};

/** Maps thrown errors to `{error: {code, message, details?}}` with the right status. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    let status = 500;
    let body: { code: string; message: string; details?: unknown };
    if (err instanceof HttpError) {
      status = err.status;
      body = { code: err.code, message: err.message, details: err.details };
    } else if (err instanceof ZodError) {
      status = 400;
      body = {
        code: 'invalid_input',
        message: err.issues
          .map(i => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
          .join('; '),
        details: err.issues
      };
    } else if (err?.type === 'entity.parse.failed') {
      status = 400;
      body = { code: 'invalid_json', message: 'The request body is not valid JSON.' };
    } else if (err?.type === 'entity.too.large') {
      status = 413;
      body = { code: 'payload_too_large', message: 'The request body is too large.' };
    } else {
      const known = knownProblem(err);
      if (known) {
        status = known.status;
        body = { code: known.code, message: known.message };
      } else {
        logger.error({ err, method: req.method, path: req.path }, 'unhandled error');
        body = { code: 'internal_error', message: 'Something went wrong on the server.' };
      }
    }
    res.status(status).json({ error: body });
  };
}
