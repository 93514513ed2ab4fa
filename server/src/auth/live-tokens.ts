import { createHash } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { JwtClaims } from '../db/types';
import {
  InvalidTokenError,
  type JobScope,
  type TokenVerifier,
  type VerifyOptions
} from './token-verifier';

/**
 * The verifier every API family uses (REST routes, MLflow, Storage, the
 * prediction endpoints, the event stream). A signature and an expiry are not
 * enough: a token is good only while
 * - it was issued for signed-in users (`aud` = `authenticated`) by this auth
 *   server (`iss`), and
 * - its session still exists: signing out (or a new password) ends it at
 *   once, not when the token expires. Sessions are looked up at most every
 *   few seconds per session (`cacheMs`), and forgotten at once when this
 *   process ends them (`sessionsEnded`).
 * Training jobs' tokens are another kind (jobs/job-tokens.ts): refused
 * unless the caller asks for them, valid while their job runs.
 */
export interface SessionLookup {
  /**
   * Whether the session behind a user's token still exists (and its user may
   * still sign in). Throws `SessionCheckFailedError` when it cannot tell.
   */
  isLive(claims: JwtClaims, token: string): Promise<boolean>;
}

/** Training jobs' tokens, as jobs/job-tokens.ts checks them. */
export interface JobTokenCheck {
  /** The job token's claims while its job runs; `InvalidTokenError` otherwise. */
  verify(token: string): Promise<JwtClaims>;
  /** What the job may reach, while it runs. */
  scope(jobId: string): Promise<JobScope | undefined>;
}

export interface LiveTokenVerifier extends TokenVerifier {
  /** The user's sessions ended here (sign-out, new password): forget what was cached. */
  sessionsEnded(userId: string): void;
  /** Tells `listener` whenever `sessionsEnded` is called (the event stream closes theirs). */
  onSessionsEnded(listener: (userId: string) => void): () => void;
  /** From now on, job tokens are checked by `jobs` (set once jobs exist). */
  acceptJobTokens(jobs: JobTokenCheck): void;
}

export interface LiveTokenOptions {
  /** Signature, algorithm, expiry and role (token-verifier.ts). */
  signature: TokenVerifier;
  /** What `iss` must be: `<public url>/auth/v1`, or `<SUPABASE_URL>/auth/v1`. */
  issuer: () => string;
  sessions: SessionLookup;
  /** How long a session's answer is reused (default 3 s). */
  cacheMs?: number;
}

/** The `iss` of Supabase's (and the embedded server's) anon and service_role keys. */
const API_KEY_ISSUER = 'supabase';
const USER_AUDIENCE = 'authenticated';
/** Sessions remembered at once; a full cache drops its expired answers first. */
const MAX_CACHED_SESSIONS = 10_000;

interface CachedAnswer {
  userId: string;
  live: Promise<boolean>;
  until: number;
}

export function liveTokenVerifier(
  options: LiveTokenOptions
): LiveTokenVerifier {
  const cacheMs = options.cacheMs ?? 3000;
  const cache = new Map<string, CachedAnswer>();
  const listeners = new Set<(userId: string) => void>();
  let jobs: JobTokenCheck | undefined;

  const sessionIsLive = (
    claims: JwtClaims,
    token: string
  ): Promise<boolean> => {
    const sessionId =
      typeof claims.session_id === 'string'
        ? claims.session_id
        : createHash('sha256').update(token).digest('base64url');
    const key = `${claims.sub}/${sessionId}`;
    const now = Date.now();
    const cached = cache.get(key);
    if (cached && cached.until > now) {
      return cached.live;
    }
    if (cache.size >= MAX_CACHED_SESSIONS) {
      for (const [k, answer] of cache) {
        if (answer.until <= now) {
          cache.delete(k);
        }
      }
    }
    const live = options.sessions.isLive(claims, token);
    const answer: CachedAnswer = {
      userId: claims.sub,
      live,
      until: now + cacheMs
    };
    cache.set(key, answer);
    // An answer nobody got (the auth server did not reply) is asked again next time.
    live.catch(() => {
      if (cache.get(key) === answer) {
        cache.delete(key);
      }
    });
    return live;
  };

  return {
    async verify(token: string, verifyOptions: VerifyOptions = {}) {
      if (isJobToken(token)) {
        if (!jobs || !verifyOptions.allowJobTokens) {
          throw new InvalidTokenError(
            "This is a training job's token: it can only log to its own run and read its own dataset.",
            403
          );
        }
        return jobs.verify(token);
      }
      const claims = await options.signature.verify(token);
      checkIssuer(claims, options.issuer());
      if (claims.role === 'authenticated') {
        if (!(await sessionIsLive(claims, token))) {
          throw new InvalidTokenError(
            'invalid JWT: the session has ended (signed out, or the password was changed)'
          );
        }
      }
      return claims;
    },

    async jobScope(claims: JwtClaims) {
      const jobId = claims.insighter_job;
      return jobs && typeof jobId === 'string' ? jobs.scope(jobId) : undefined;
    },

    sessionsEnded(userId: string) {
      for (const [key, answer] of cache) {
        if (answer.userId === userId) {
          cache.delete(key);
        }
      }
      for (const listener of listeners) {
        listener(userId);
      }
    },

    onSessionsEnded(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    acceptJobTokens(check: JobTokenCheck) {
      jobs = check;
    }
  };
}

/**
 * A user's token is for signed-in users (`aud`) and from this auth server
 * (`iss`): a token another issuer signed with a shared secret is not ours.
 * API keys carry Supabase's fixed `iss`.
 */
function checkIssuer(claims: JwtClaims, issuer: string): void {
  if (claims.role === 'authenticated') {
    const aud = claims.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(USER_AUDIENCE)) {
      throw new InvalidTokenError(
        `invalid JWT: the token is not for signed-in users (aud must be "${USER_AUDIENCE}")`
      );
    }
    if (claims.iss !== issuer) {
      throw new InvalidTokenError(
        'invalid JWT: the token was issued by another auth server'
      );
    }
  } else if (claims.iss !== API_KEY_ISSUER) {
    throw new InvalidTokenError(
      `invalid JWT: an API key's issuer must be "${API_KEY_ISSUER}"`
    );
  }
}

/** Whether a token says it is a job's (its signature is checked by the job's key). */
export function isJobToken(token: string): boolean {
  try {
    return decodeJwt(token).insighter_job !== undefined;
  } catch {
    return false;
  }
}
