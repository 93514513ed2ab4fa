import { timingSafeEqual } from 'node:crypto';
import express, { type Request, type RequestHandler, Router } from 'express';
import { z } from 'zod';
import type { Auth } from '../auth';
import type { AuthConfig } from '../auth/config';
import { GoTrueError } from '../auth/errors';
import {
  LINK_TOKEN_PARAM,
  type AuthService,
  type ClientInfo
} from '../auth/service';
import { bearerToken } from '../http/require-user';
import type { Logger } from '../logger';
import {
  gotrueErrorHandler,
  gotrueNotFound,
  GOTRUE_API_VERSION
} from './auth-errors';
import {
  authRateLimits,
  signInAttempt,
  type AuthRateLimits
} from './auth-rate-limits';
import { type AdvertisedUrls, configRoutes } from './config';
import { outboxRoutes } from './outbox';
import { jsonBody } from '../http/json-body';

/**
 * The embedded GoTrue-compatible `/auth/v1`: the subset supabase-js's auth
 * client uses for email and password accounts. Mounted before the app's JSON
 * parser: it parses its own bodies (64 KB at most) and answers in GoTrue's
 * error shape.
 */
export interface GoTrueRouteDeps {
  service: AuthService;
  /** The keys Supabase's gateway accepts in `apikey`: anon and service_role. */
  apiKeys: string[];
  rateLimits: AuthRateLimits;
  logger: Logger;
}

export const AUTH_BODY_LIMIT = '64kb';

const optionalString = z.string().optional();
const metadata = z.record(z.string(), z.unknown()).nullish();

const signupBody = z.object({
  email: optionalString,
  password: optionalString,
  data: metadata
});
const passwordGrantBody = z.object({
  email: optionalString,
  password: optionalString
});
const refreshGrantBody = z.object({ refresh_token: optionalString });
const userUpdateBody = z.object({
  email: optionalString,
  password: optionalString,
  data: metadata
});
const emailBody = z.object({ email: optionalString, type: optionalString });
const verifyBody = z.object({
  type: optionalString,
  token: optionalString,
  token_hash: optionalString,
  email: optionalString
});

export function gotrueRoutes(deps: GoTrueRouteDeps): Router {
  const { service, rateLimits } = deps;
  const router = Router();

  router.use(supabaseHeaders);
  // The mail link is opened by a browser, which has no API key: open, as on Supabase.
  router.get('/verify', rateLimits.perIp('verify'), async (req, res) => {
    const location = await service.verifyLink(
      queryString(req, LINK_TOKEN_PARAM) ?? queryString(req, 'token'),
      queryString(req, 'type'),
      queryString(req, 'redirect_to')
    );
    res.redirect(303, location);
  });
  router.get('/.well-known/jwks.json', (_req, res) => {
    // HS256 keys are secret: like a Supabase project on its legacy secret, no public keys.
    res.json({ keys: [] });
  });
  router.use(requireApiKey(deps.apiKeys));
  router.use(jsonBody({ limit: AUTH_BODY_LIMIT }));

  router.get('/settings', (_req, res) => {
    res.json(service.settings());
  });

  router.post(
    '/signup',
    rateLimits.perIp('signup'),
    rateLimits.perEmail('signup'),
    async (req, res) => {
      const body = parseBody(signupBody, req);
      res.json(
        await service.signup(
          {
            ...body,
            data: body.data ?? undefined,
            redirectTo: queryString(req, 'redirect_to')
          },
          clientInfo(req)
        )
      );
    }
  );

  const passwordLimits = [rateLimits.perIp('token'), rateLimits.signInLockout];
  const refreshLimits = [rateLimits.perIp('refresh')];
  router.post('/token', (req, res, next) => {
    const grant = queryString(req, 'grant_type');
    if (grant === 'password') {
      return chain(passwordLimits, req, res, next);
    }
    if (grant === 'refresh_token') {
      return chain(refreshLimits, req, res, next);
    }
    throw new GoTrueError(400, 'invalid_credentials', 'unsupported_grant_type');
  });
  router.post('/token', async (req, res) => {
    if (queryString(req, 'grant_type') === 'password') {
      const body = parseBody(passwordGrantBody, req);
      const attempt = signInAttempt(req);
      let session;
      try {
        session = await service.signInWithPassword(body, clientInfo(req));
      } catch (err) {
        if (
          attempt &&
          err instanceof GoTrueError &&
          err.code === 'invalid_credentials'
        ) {
          rateLimits.signIn.failed(attempt);
        }
        throw err;
      }
      if (attempt) {
        rateLimits.signIn.succeeded(attempt);
      }
      res.json(session);
    } else {
      res.json(
        await service.refresh(parseBody(refreshGrantBody, req).refresh_token)
      );
    }
  });

  router.get('/user', async (req, res) => {
    res.json(await service.getUser(bearerToken(req)));
  });
  router.put('/user', async (req, res) => {
    const body = parseBody(userUpdateBody, req);
    res.json(
      await service.updateUser(bearerToken(req), {
        ...body,
        data: body.data ?? undefined
      })
    );
  });

  router.post('/logout', async (req, res) => {
    await service.logout(bearerToken(req), queryString(req, 'scope'));
    res.status(204).end();
  });

  router.post(
    '/recover',
    rateLimits.perIp('recover'),
    rateLimits.perEmail('recover'),
    async (req, res) => {
      await service.recover(
        parseBody(emailBody, req).email,
        queryString(req, 'redirect_to')
      );
      res.json({});
    }
  );
  router.post(
    '/resend',
    rateLimits.perIp('resend'),
    rateLimits.perEmail('resend'),
    async (req, res) => {
      const body = parseBody(emailBody, req);
      await service.resend(
        body.type,
        body.email,
        queryString(req, 'redirect_to')
      );
      res.json({});
    }
  );

  router.post('/verify', rateLimits.perIp('verify'), async (req, res) => {
    res.json(await service.verifyOtp(parseBody(verifyBody, req)));
  });

  router.use(gotrueNotFound);
  router.use(gotrueErrorHandler(deps.logger));
  return router;
}

/** CORS as Supabase answers it (bearer tokens, no cookies: any origin may call). */
const supabaseHeaders: RequestHandler = (req, res, next) => {
  res.setHeader('X-Supabase-Api-Version', GOTRUE_API_VERSION);
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader(
    'Access-Control-Expose-Headers',
    'X-Supabase-Api-Version, x-sb-error-code, RateLimit, RateLimit-Policy, Retry-After'
  );
  if (req.method === 'OPTIONS') {
    res.setHeader(
      'Access-Control-Allow-Methods',
      'GET, POST, PUT, DELETE, OPTIONS'
    );
    res.setHeader(
      'Access-Control-Allow-Headers',
      'apikey, authorization, content-type, x-client-info, x-supabase-api-version'
    );
    res.setHeader('Access-Control-Max-Age', '86400');
    res.status(204).end();
    return;
  }
  next();
};

/** Like Supabase's gateway: every auth call but the mail link carries a project key. */
function requireApiKey(keys: string[]): RequestHandler {
  const accepted = keys.map(k => Buffer.from(k));
  return (req, _res, next) => {
    const given = req.get('apikey') ?? queryString(req, 'apikey');
    if (!given) {
      throw new GoTrueError(
        401,
        'no_authorization',
        'No API key found in request: send the anon key (GET /api/v1/config) in the "apikey" header.'
      );
    }
    const candidate = Buffer.from(given);
    if (
      !accepted.some(
        k => k.length === candidate.length && timingSafeEqual(k, candidate)
      )
    ) {
      throw new GoTrueError(401, 'no_authorization', 'Invalid API key');
    }
    next();
  };
}

function parseBody<T extends z.ZodType>(schema: T, req: Request): z.infer<T> {
  const body: unknown = req.body ?? {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new GoTrueError(
      400,
      'bad_json',
      'Could not parse request body as JSON: expected an object'
    );
  }
  return schema.parse(body);
}

function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

function clientInfo(req: Request): ClientInfo {
  return { ip: req.ip, userAgent: req.get('user-agent') };
}

/** Runs middlewares in order, then `next` (rate limiters chosen per grant type). */
function chain(
  handlers: RequestHandler[],
  req: Request,
  res: express.Response,
  next: express.NextFunction
): void {
  const run = (i: number) => (err?: unknown) => {
    if (err !== undefined && err !== null) {
      next(err);
      return;
    }
    if (i === handlers.length) {
      next();
      return;
    }
    void handlers[i](req, res, run(i + 1));
  };
  run(0)();
}

/**
 * Everything auth serves: `/auth/v1` (embedded only; mount it before the
 * app's JSON parser) and the app routes `/api/v1/config` and `/api/v1/outbox`.
 */
export function authRoutes(
  auth: Auth,
  config: AuthConfig,
  logger: Logger,
  urls: Omit<AdvertisedUrls, 'proxySecret'> = {}
): { gotrue?: Router; api: Router } {
  const api = Router();
  api.use(
    configRoutes(url => auth.publicConfig(url), {
      ...urls,
      proxySecret: config.proxySecret
    })
  );
  api.use(
    outboxRoutes({ outbox: auth.outbox, proxySecret: config.proxySecret })
  );
  const gotrue = auth.service
    ? gotrueRoutes({
        service: auth.service,
        apiKeys: auth.apiKeys,
        rateLimits: authRateLimits(config.rateLimit),
        logger
      })
    : undefined;
  return { gotrue, api };
}
