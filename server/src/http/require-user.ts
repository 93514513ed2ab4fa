import type { Request, RequestHandler } from 'express';
import { InvalidTokenError, type TokenVerifier } from '../auth/token-verifier';
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
    }
  }
}

/**
 * Express middleware: accepts only `Authorization: Bearer <access token>` of a
 * signed-in user (role `authenticated`) and puts its claims on `req.user`.
 * Like PostgREST, it trusts the signature and expiry; it does not look up the
 * session, so a token stays valid until it expires (at most an hour).
 */
export function requireUser(verifier: TokenVerifier): RequestHandler {
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
      claims = await verifier.verify(token);
    } catch (err) {
      if (err instanceof InvalidTokenError) {
        throw new HttpError(
          401,
          'Your session is not valid or has expired: sign in again.',
          'bad_jwt'
        );
      }
      throw err;
    }
    if (claims.role !== 'authenticated' || !claims.sub) {
      throw new HttpError(
        401,
        "Sign in first: this request needs a signed-in user's access token, not an API key.",
        'unauthorized'
      );
    }
    req.user = claims;
    req.accessToken = token;
    next();
  };
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
