import type { Database, JwtClaims } from '../db/types';
import type { SessionLookup } from './live-tokens';
import { isSessionLive } from './store';
import { SessionCheckFailedError } from './token-verifier';

/**
 * Where a token's session is looked up (live-tokens.ts asks, and caches the
 * answer for a few seconds): the same question for both auth modes.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Embedded auth: the sidecar's own session table. Every token it issues names its session. */
export function databaseSessions(db: Database): SessionLookup {
  return {
    async isLive(claims: JwtClaims) {
      const sessionId = claims.session_id;
      if (
        typeof sessionId !== 'string' ||
        !UUID.test(sessionId) ||
        !UUID.test(claims.sub)
      ) {
        return false;
      }
      return db.asService(tx => isSessionLive(tx, sessionId, claims.sub));
    }
  };
}

/**
 * A hosted Supabase project: its GoTrue answers `GET /auth/v1/user` only
 * while the token's session exists (403 `session_not_found` after sign-out).
 * A token without `session_id` has no session GoTrue could end, and GoTrue
 * accepts it as well: it is good until it expires.
 */
export function goTrueSessions(
  supabaseUrl: string,
  anonKey: string,
  timeoutMs = 5000
): SessionLookup {
  const userUrl = `${supabaseUrl.replace(/\/+$/, '')}/auth/v1/user`;
  return {
    async isLive(claims: JwtClaims, token: string) {
      if (claims.session_id === undefined) {
        return true;
      }
      let status: number;
      try {
        const res = await fetch(userUrl, {
          headers: { authorization: `Bearer ${token}`, apikey: anonKey },
          signal: AbortSignal.timeout(timeoutMs)
        });
        await res.body?.cancel();
        status = res.status;
      } catch (err) {
        throw new SessionCheckFailedError(
          `The auth server at ${supabaseUrl} could not be asked about the session: ${(err as Error).message}`
        );
      }
      if (status === 200) {
        return true;
      }
      if (status === 401 || status === 403 || status === 404) {
        return false;
      }
      throw new SessionCheckFailedError(
        `The auth server at ${supabaseUrl} answered ${status} when asked about the session.`
      );
    }
  };
}
