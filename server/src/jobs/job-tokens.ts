import { SignJWT } from 'jose';
import type { JwtClaims } from '../db/types';

/**
 * The token a job talks to the sidecar with (tracking, dataset download), as
 * the user who started it: RLS treats the job exactly as that person.
 *
 * - Embedded auth, or a hosted Supabase project with SUPABASE_JWT_SECRET: a
 *   token signed with that secret, carrying the user's claims, valid for the
 *   job's longest run (a training may outlast the user's one-hour session).
 * - A hosted project verified by its published keys only (no secret): the
 *   sidecar cannot sign; the user's own access token is passed as it is, so a
 *   job that outlives it fails its last calls. Set SUPABASE_JWT_SECRET for
 *   long jobs.
 * Tokens travel in the job's environment only: never argv, labels or logs.
 */
export interface JobTokenIssuer {
  issue(user: JwtClaims, accessToken: string | undefined): Promise<string>;
  /** Whether tokens outlive the user's session (false: the session's token is reused). */
  readonly mints: boolean;
}

/** Claims carried over from the user's token; the rest are the job token's own. */
const CARRIED = [
  'aud',
  'email',
  'phone',
  'app_metadata',
  'user_metadata',
  'role',
  'aal',
  'amr',
  'session_id',
  'is_anonymous'
];

export function signingJobTokens(
  secret: Uint8Array,
  issuer: () => string,
  ttlSeconds: number
): JobTokenIssuer {
  return {
    mints: true,
    async issue(user) {
      const claims: Record<string, unknown> = {};
      for (const key of CARRIED) {
        if (user[key] !== undefined) {
          claims[key] = user[key];
        }
      }
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        ...claims,
        role: 'authenticated',
        insighter_job: true
      })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuer(issuer())
        .setSubject(user.sub)
        .setIssuedAt(now)
        .setExpirationTime(now + ttlSeconds)
        .sign(secret);
    }
  };
}

export function passThroughJobTokens(): JobTokenIssuer {
  return {
    mints: false,
    async issue(_user, accessToken) {
      if (!accessToken) {
        throw new Error(
          'A job needs the access token of the user who starts it.'
        );
      }
      return accessToken;
    }
  };
}
