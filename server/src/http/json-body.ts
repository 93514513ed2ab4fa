import express, { type RequestHandler } from 'express';
import { NUL_MESSAGE } from './errors';

/**
 * `express.json` that also refuses text holding NUL (`\u0000`) with a 400:
 * Postgres refuses it in text and JSON columns, Node's file system in
 * paths, so it would otherwise end as a 500 deep inside a request.
 */
export function jsonBody(options: {
  limit: string | number;
  type?: (req: unknown) => boolean;
}): ReturnType<typeof express.json> {
  return express.json({ ...options, verify: refuseNulInJson });
}

/** A JSON `\u0000` escape, not itself escaped (`\\u0000` is a backslash and "u0000"). */
const NUL_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u0000/;

function refuseNulInJson(_req: unknown, _res: unknown, body: Buffer): void {
  // The cheap native scan first: almost no body has the sequence at all.
  if (body.includes('u0000') && NUL_ESCAPE.test(body.toString('utf8'))) {
    throw new NulCharacterError();
  }
}

/** Answered 400 by every API's error handler (`knownProblem`). */
export class NulCharacterError extends Error {
  readonly status = 400;
  readonly expose = true;
  readonly type = 'entity.nul';

  constructor() {
    super(NUL_MESSAGE);
  }
}

/** NUL written into a URL (`%00`), in the path or the query. */
export const refuseNulInUrl: RequestHandler = (req, _res, next) => {
  if (/%00/i.test(req.originalUrl)) {
    throw new NulCharacterError();
  }
  next();
};
