import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
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
      logger.error({ err, method: req.method, path: req.path }, 'unhandled error');
      body = { code: 'internal_error', message: 'Something went wrong on the server.' };
    }
    res.status(status).json({ error: body });
  };
}
