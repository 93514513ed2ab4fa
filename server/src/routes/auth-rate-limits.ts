import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { AuthConfig } from '../auth/config';
import { GoTrueError } from '../auth/errors';
import { SignInLockout, type SignInAttempt } from '../auth/sign-in-lockout';

/**
 * Rate limits for the auth endpoints that guess passwords or send mail:
 * per client IP and per target email (mail), each endpoint with its own
 * counters; password sign-ins per IP and, for wrong passwords, per IP and
 * account together (`signIn`, see sign-in-lockout.ts). Over the limit:
 * GoTrue's 429 `over_request_rate_limit`, with `Retry-After`.
 */
export interface AuthRateLimits {
  perIp(endpoint: string): RequestHandler;
  /** Counts only requests that carry an email (`req.body.email`). */
  perEmail(endpoint: string): RequestHandler;
  /** Refuses a password sign-in while its address is locked out of its account. */
  signInLockout: RequestHandler;
  /** Where wrong and right passwords are counted. */
  signIn: SignInLockout;
}

export function authRateLimits(
  limits: AuthConfig['rateLimit']
): AuthRateLimits {
  const common = {
    windowMs: limits.windowSeconds * 1000,
    standardHeaders: 'draft-8' as const,
    legacyHeaders: false,
    handler: (_req: Request, _res: unknown, next: (err: unknown) => void) =>
      next(overLimit())
  };
  const signIn = new SignInLockout({
    allowed: limits.perEmail,
    lockSeconds: limits.windowSeconds
  });
  return {
    signIn,
    signInLockout: (req, res, next) => {
      const attempt = signInAttempt(req);
      const wait = attempt ? signIn.retryAfter(attempt) : 0;
      if (wait > 0) {
        res.setHeader('Retry-After', String(wait));
        next(overLimit());
        return;
      }
      next();
    },
    perIp: endpoint =>
      rateLimit({
        ...common,
        limit: limits.perIp,
        identifier: `${endpoint}-ip`
      }),
    perEmail: endpoint =>
      rateLimit({
        ...common,
        limit: limits.perEmail,
        identifier: `${endpoint}-email`,
        skip: req => !emailOf(req),
        keyGenerator: req => `${endpoint}:${emailOf(req)}`
      })
  };
}

/** The address and account of a password sign-in; undefined without an email. */
export function signInAttempt(req: Request): SignInAttempt | undefined {
  const email = emailOf(req);
  return email ? { address: req.ip ?? '', email } : undefined;
}

function overLimit(): GoTrueError {
  return new GoTrueError(
    429,
    'over_request_rate_limit',
    'Request rate limit reached'
  );
}

function emailOf(req: Request): string | undefined {
  const email = (req.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' && email.trim()
    ? email.trim().toLowerCase()
    : undefined;
}
