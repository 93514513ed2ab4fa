import type { Request, RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { AuthConfig } from '../auth/config';
import { GoTrueError } from '../auth/errors';

/**
 * Rate limits for the auth endpoints that guess passwords or send mail:
 * per client IP and per target email, each endpoint with its own counters.
 * Over the limit: GoTrue's 429 `over_request_rate_limit`.
 */
export interface AuthRateLimits {
  perIp(endpoint: string): RequestHandler;
  /** Counts only requests that carry an email (`req.body.email`). */
  perEmail(endpoint: string): RequestHandler;
}

export function authRateLimits(
  limits: AuthConfig['rateLimit']
): AuthRateLimits {
  const common = {
    windowMs: limits.windowSeconds * 1000,
    standardHeaders: 'draft-8' as const,
    legacyHeaders: false,
    handler: (_req: Request, _res: unknown, next: (err: unknown) => void) =>
      next(
        new GoTrueError(
          429,
          'over_request_rate_limit',
          'Request rate limit reached'
        )
      )
  };
  return {
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

function emailOf(req: Request): string | undefined {
  const email = (req.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' && email.trim()
    ? email.trim().toLowerCase()
    : undefined;
}
