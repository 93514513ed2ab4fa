import { SignJWT } from 'jose';
import type { AmrEntry, UserRow } from './store';

/**
 * Access tokens with Supabase's claims, so RLS policies, PostgREST-style
 * checks and supabase-js read them exactly as they read Supabase's own.
 */
export interface AccessTokenInput {
  user: UserRow;
  sessionId: string;
  aal: string;
  amr: AmrEntry[];
  /** `<public url>/auth/v1`, like GoTrue's `iss`. */
  issuer: string;
  expiresInSeconds: number;
  secret: Uint8Array;
  now?: number;
}

/** GoTrue's `iss`: the auth server's URL, `<base url>/auth/v1`. */
export function issuerAt(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/auth/v1`;
}

export async function issueAccessToken(
  input: AccessTokenInput
): Promise<{ token: string; expiresAt: number }> {
  const iat = input.now ?? Math.floor(Date.now() / 1000);
  const exp = iat + input.expiresInSeconds;
  const { user } = input;
  const token = await new SignJWT({
    aud: 'authenticated',
    email: user.email,
    phone: user.phone ?? '',
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    role: user.role || 'authenticated',
    aal: input.aal,
    amr: input.amr,
    session_id: input.sessionId,
    is_anonymous: Boolean(user.is_anonymous)
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(input.issuer)
    .setSubject(user.id)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(input.secret);
  return { token, expiresAt: exp };
}
