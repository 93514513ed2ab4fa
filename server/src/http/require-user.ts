import type { Request, RequestHandler } from 'express';
import {
  InvalidTokenError,
  SessionCheckFailedError,
  type JobScope,
  type TokenVerifier
} from '../auth/token-verifier';
import type { JwtClaims } from '../db/types';
import { HttpError } from './errors';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The signed-in user's verified claims; set by `requireUser`. */
      user?: JwtClaims;
      /** The raw access token, for calls made on the user's behalf (e.g. hosted Storage). */
      accessToken?: string;
      /** Set when the token is a training job's: what that job may reach. */
      job?: JobScope;
    }
  }
}

/** Whether a training job's token may make this request (jobs/job-tokens.ts). */
export type JobGate = (req: Request, job: JobScope) => boolean;

/**
 * Express middleware: accepts only `Authorization: Bearer <access token>` of a
 * signed-in user (role `authenticated`) and puts its claims on `req.user`.
 * The verifier checks the signature, expiry, `aud`, `iss` and that the
 * token's session still exists (auth/live-tokens.ts): a token stops working
 * when its session ends, not only when it expires. A training job's token
 * passes only where `jobs` lets it (elsewhere: 403).
 */
export function requireUser(
  verifier: TokenVerifier,
  options: { jobs?: JobGate } = {}
): RequestHandler {
  return async (req, _res, next) => {
    const token = bearerToken(req);
    if (!token) {
      throw new HttpError(
        401,
        'Sign in first: this request needs an "Authorization: Bearer <access token>" header.',
        'unauthorized'
      );
    }
    let claims: JwtClaims;
    try {
      claims = await verifier.verify(token, {
        allowJobTokens: Boolean(options.jobs)
      });
    } catch (err) {
      throw tokenRefusal(err);
    }
    if (claims.role !== 'authenticated' || !claims.sub) {
      throw new HttpError(
        401,
        "Sign in first: this request needs a signed-in user's access token, not an API key.",
        'unauthorized'
      );
    }
    if (claims.insighter_job !== undefined) {
      const job = await verifier.jobScope?.(claims);
      if (!job || !options.jobs?.(req, job)) {
        throw jobOutOfScope();
      }
      req.job = job;
    }
    req.user = claims;
    req.accessToken = token;
    next();
  };
}

/** A refused token as the HTTP error every API family answers with. */
export function tokenRefusal(err: unknown): unknown {
  if (err instanceof InvalidTokenError) {
    return err.status === 403
      ? new HttpError(403, err.message, 'forbidden')
      : new HttpError(
          401,
          'Your session is not valid or has expired: sign in again.',
          'bad_jwt'
        );
  }
  if (err instanceof SessionCheckFailedError) {
    return new HttpError(
      503,
      'Your session could not be checked with the auth server: try again in a moment.',
      'unavailable'
    );
  }
  return err;
}

/** A job's token used beyond its job's project, run or dataset. */
function jobOutOfScope(): HttpError {
  return new HttpError(
    403,
    "This is a training job's token: it can only log to its own run and read its own dataset.",
    'forbidden'
  );
}

/** The user set by `requireUser`; for handlers mounted behind it. */
export function currentUser(req: Request): JwtClaims {
  if (!req.user) {
    throw new HttpError(401, 'Sign in first.', 'unauthorized');
  }
  return req.user;
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1];
}
