import {
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload
} from 'jose';
import type { JwtClaims } from '../db/types';

/**
 * Verifies Supabase access tokens. One instance serves both the app's
 * `requireUser` middleware and GoTrue's `/auth/v1/user`, so a token is either
 * good everywhere or nowhere.
 */
export interface TokenVerifier {
  /** Resolves with the token's claims; rejects with `InvalidTokenError`. */
  verify(token: string, options?: VerifyOptions): Promise<JwtClaims>;
  /** The job a training job's token (`insighter_job`) acts for, while it runs. */
  jobScope?(claims: JwtClaims): Promise<JobScope | undefined>;
}

export interface VerifyOptions {
  /**
   * Accept a training job's token too (jobs/job-tokens.ts). Off by default:
   * a job's token is good for its own run and dataset only, which the
   * caller then checks against `jobScope`.
   */
  allowJobTokens?: boolean;
}

/** What a training job's token may reach: its project's run, experiment, dataset and model. */
export interface JobScope {
  jobId: string;
  userId: string;
  projectId: string;
  runId: string;
  experimentId: string | null;
  datasetId: string;
  datasetVersion: number | null;
  modelName: string | null;
}

/** Any reason a JWT is not accepted; the message is safe to show. */
export class InvalidTokenError extends Error {
  readonly code = 'bad_jwt';

  /** 401: sign in (again); 403: a good token that may not be used here. */
  constructor(
    message: string,
    readonly status: 401 | 403 = 401
  ) {
    super(message);
  }
}

/**
 * The token's session could not be checked (the auth server did not answer):
 * neither accepted nor refused, so the request is answered 503.
 */
export class SessionCheckFailedError extends Error {
  readonly code = 'session_check_failed';
}

const ROLES = new Set(['authenticated', 'anon', 'service_role']);

/** Only HMAC-SHA256 for shared secrets: `none` and every other alg are refused. */
const HS_ALGORITHMS = ['HS256'];
/** Supabase's asymmetric signing keys (JWKS): ES256 today, RS256 for older projects. */
const JWKS_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];

/** Tokens signed with a shared secret: the embedded sidecar's own, or `SUPABASE_JWT_SECRET`. */
export function secretTokenVerifier(secret: Uint8Array): TokenVerifier {
  return joseVerifier(token =>
    jwtVerify(token, secret, {
      algorithms: HS_ALGORITHMS,
      requiredClaims: ['exp']
    })
  );
}

/** A hosted Supabase project's tokens, checked against its published signing keys. */
export function jwksTokenVerifier(supabaseUrl: string): TokenVerifier {
  const jwks = createRemoteJWKSet(
    new URL('auth/v1/.well-known/jwks.json', withSlash(supabaseUrl))
  );
  return joseVerifier(token =>
    jwtVerify(token, jwks, {
      algorithms: JWKS_ALGORITHMS,
      requiredClaims: ['exp']
    })
  );
}

function joseVerifier(
  verifyJwt: (token: string) => Promise<{ payload: JWTPayload }>
): TokenVerifier {
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        // jose checks the signature, `alg` against the allow-list, `exp` and `nbf`.
        payload = (await verifyJwt(token)).payload;
      } catch (err) {
        throw new InvalidTokenError(describe(err));
      }
      return toClaims(payload);
    }
  };
}

function toClaims(payload: JWTPayload): JwtClaims {
  const role = payload.role;
  if (typeof role !== 'string' || !ROLES.has(role)) {
    throw new InvalidTokenError('invalid JWT: the token carries no known role');
  }
  return { ...payload, sub: payload.sub ?? '', role } as JwtClaims;
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) {
    return 'invalid JWT: unable to parse or verify signature, token has expired';
  }
  if (
    err instanceof joseErrors.JOSEAlgNotAllowed ||
    err instanceof joseErrors.JWSSignatureVerificationFailed ||
    err instanceof joseErrors.JWKSNoMatchingKey
  ) {
    return 'invalid JWT: unable to parse or verify signature, signature is invalid';
  }
  return 'invalid JWT: unable to parse or verify signature, token is malformed';
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}
