import { z } from 'zod';

/**
 * Auth settings from the environment. Supabase's own names where Supabase
 * has one (`SUPABASE_*`), `INSIGHTER_*` otherwise. Merged into the sidecar's
 * env schema by `config.ts`, so one error lists every bad variable.
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform(v => v === 'true' || v === '1' || v === 'yes');

const positiveInt = z.coerce.number().int().min(1);

/** An unset variable and an empty one mean the same (shell scripts export both). */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess(value => (value === '' ? undefined : value), schema);

export const authEnvShape = {
  /** Supabase's `MAILER_AUTOCONFIRM`: sign-ups are confirmed at once (tests, demos). */
  INSIGHTER_AUTH_AUTOCONFIRM: unsetIfEmpty(bool.default(false)),
  /** Access token lifetime (Supabase's `JWT_EXP`). */
  INSIGHTER_AUTH_JWT_EXPIRY_S: unsetIfEmpty(
    positiveInt.max(7 * 24 * 3600).default(3600)
  ),
  /** Where confirmation and recovery links land when the client names no (allowed) redirect. */
  INSIGHTER_AUTH_SITE_URL: unsetIfEmpty(z.string().url().optional()),
  /** More redirect targets allowed after a link is followed: comma-separated URL prefixes. */
  INSIGHTER_AUTH_REDIRECT_URLS: unsetIfEmpty(z.string().optional()),
  /**
   * Rate limits on sign-up, sign-in, recovery and verification: requests per
   * window per client address; mails per window per address mailed; and
   * wrong passwords one client address may try on one account before it is
   * locked out of it for a window, doubling with each further one
   * (routes/auth-rate-limits.ts).
   */
  INSIGHTER_AUTH_RATE_LIMIT_WINDOW_S: unsetIfEmpty(positiveInt.default(300)),
  INSIGHTER_AUTH_RATE_LIMIT_PER_IP: unsetIfEmpty(positiveInt.default(60)),
  INSIGHTER_AUTH_RATE_LIMIT_PER_EMAIL: unsetIfEmpty(positiveInt.default(10)),
  /**
   * A rotated refresh token may be presented again for this long (two tabs
   * refreshing at once) without being treated as stolen: Supabase's default.
   */
  INSIGHTER_AUTH_REFRESH_REUSE_INTERVAL_S: unsetIfEmpty(
    z.coerce.number().int().min(0).default(10)
  ),
  /**
   * How long the answer "this token's session still exists" is reused
   * (milliseconds); a sign-out in this sidecar takes effect at once, one
   * elsewhere (another sidecar, a hosted project) within this time.
   */
  INSIGHTER_AUTH_SESSION_CHECK_MS: unsetIfEmpty(
    z.coerce.number().int().min(0).max(60_000).default(3000)
  ),
  /** SMTP delivery, e.g. `smtp://user:pass@mail.example.com:587`; the outbox otherwise. */
  INSIGHTER_SMTP_URL: unsetIfEmpty(z.string().url().optional()),
  INSIGHTER_SMTP_FROM: unsetIfEmpty(
    z.string().min(3).default('Insighter <no-reply@insighter.local>')
  ),
  /** Sent by the Jupyter proxy for its logged-in user; guards the outbox. */
  INSIGHTER_PROXY_SECRET: unsetIfEmpty(z.string().min(16).optional()),
  /** Hosted mode: a real Supabase project answers auth. */
  SUPABASE_URL: unsetIfEmpty(z.string().url().optional()),
  SUPABASE_ANON_KEY: unsetIfEmpty(z.string().min(20).optional()),
  SUPABASE_SERVICE_ROLE_KEY: unsetIfEmpty(z.string().min(20).optional()),
  /** The project's legacy HS256 secret; without it tokens are checked against its JWKS. */
  SUPABASE_JWT_SECRET: unsetIfEmpty(z.string().min(32).optional())
};

const authEnvSchema = z.object(authEnvShape);
type AuthEnv = z.infer<typeof authEnvSchema>;

export interface HostedSupabase {
  url: string;
  anonKey: string;
  serviceRoleKey: string;
  jwtSecret?: string;
}

export interface AuthConfig {
  /** `embedded`: the sidecar is the auth server; `hosted`: Supabase is. */
  mode: 'embedded' | 'hosted';
  hosted?: HostedSupabase;
  autoconfirm: boolean;
  jwtExpirySeconds: number;
  siteUrl?: string;
  redirectUrls: string[];
  rateLimit: { windowSeconds: number; perIp: number; perEmail: number };
  refreshReuseIntervalSeconds: number;
  /** How long a token's session check is reused (ms). */
  sessionCheckMs: number;
  smtp?: { url: string; from: string };
  proxySecret?: string;
}

/** Throws an Error whose message names the missing variables. */
export function authConfigFrom(e: AuthEnv): AuthConfig {
  let hosted: HostedSupabase | undefined;
  if (e.SUPABASE_URL) {
    const missing = (
      ['SUPABASE_ANON_KEY', 'SUPABASE_SERVICE_ROLE_KEY'] as const
    ).filter(name => !e[name]);
    if (missing.length) {
      throw new Error(
        `SUPABASE_URL is set, so ${missing.join(' and ')} must be set too (from the project's API settings).`
      );
    }
    hosted = {
      url: e.SUPABASE_URL.replace(/\/+$/, ''),
      anonKey: e.SUPABASE_ANON_KEY!,
      serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY!,
      jwtSecret: e.SUPABASE_JWT_SECRET
    };
  }
  return {
    mode: hosted ? 'hosted' : 'embedded',
    hosted,
    autoconfirm: e.INSIGHTER_AUTH_AUTOCONFIRM,
    jwtExpirySeconds: e.INSIGHTER_AUTH_JWT_EXPIRY_S,
    siteUrl: e.INSIGHTER_AUTH_SITE_URL,
    redirectUrls: (e.INSIGHTER_AUTH_REDIRECT_URLS ?? '')
      .split(',')
      .map(s => s.trim())
      .filter(Boolean),
    rateLimit: {
      windowSeconds: e.INSIGHTER_AUTH_RATE_LIMIT_WINDOW_S,
      perIp: e.INSIGHTER_AUTH_RATE_LIMIT_PER_IP,
      perEmail: e.INSIGHTER_AUTH_RATE_LIMIT_PER_EMAIL
    },
    refreshReuseIntervalSeconds: e.INSIGHTER_AUTH_REFRESH_REUSE_INTERVAL_S,
    sessionCheckMs: e.INSIGHTER_AUTH_SESSION_CHECK_MS,
    smtp: e.INSIGHTER_SMTP_URL
      ? { url: e.INSIGHTER_SMTP_URL, from: e.INSIGHTER_SMTP_FROM }
      : undefined,
    proxySecret: e.INSIGHTER_PROXY_SECRET
  };
}
