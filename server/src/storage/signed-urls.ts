import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { JwtClaims } from '../db/types';
import { storageErrors } from './errors';

/** Who signed a URL: its use is checked again with their rights. */
export interface UrlSignerIdentity {
  sub: string;
  role: JwtClaims['role'];
}

/**
 * Signed object URLs as Supabase Storage makes them: an HS256 JWT signed with
 * the project's JWT secret whose payload names the object (`url` =
 * `bucket/key`) and when it stops working (`exp`). Two additions:
 * - the signer (`signer`, `signer_role`), so the URL opens only while the
 *   signer may still read the object: someone removed from a team stops
 *   sharing its files at once. The claims are not `sub` and `role`, which
 *   would make the URL's token pass for the signer's access token;
 * - a longest lifetime: longer-lived tokens (`exp - iat`) are refused when
 *   signed and when used, also those made before the limit was lowered.
 */
export class UrlSigner {
  constructor(
    private readonly secret: Uint8Array,
    /** The longest lifetime a signed URL may have, in seconds. */
    readonly maxLifetimeSeconds: number
  ) {}

  sign(
    bucket: string,
    key: string,
    expiresInSeconds: number,
    signer: UrlSignerIdentity | null
  ): Promise<string> {
    this.checkLifetime(expiresInSeconds);
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({
      url: `${bucket}/${key}`,
      signer: signer?.sub ?? '',
      signer_role: signer?.role ?? 'anon'
    })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(now + expiresInSeconds)
      .sign(this.secret);
  }

  /** Refuses (400) a lifetime over the maximum. */
  checkLifetime(expiresInSeconds: number): void {
    if (expiresInSeconds > this.maxLifetimeSeconds) {
      throw storageErrors.invalidRequest(
        `expiresIn must be at most ${this.maxLifetimeSeconds} seconds (${describeSeconds(this.maxLifetimeSeconds)}): signed URLs live that long at most here (INSIGHTER_STORAGE_SIGNED_URL_MAX_S).`
      );
    }
  }

  /**
   * Resolves with the signer if `token` was signed here for exactly this
   * object, has not expired and lives no longer than allowed; the signer is
   * undefined for URLs signed before signers were recorded.
   */
  async verify(
    token: string,
    bucket: string,
    key: string
  ): Promise<UrlSignerIdentity | undefined> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, this.secret, {
        algorithms: ['HS256'],
        requiredClaims: ['exp']
      }));
    } catch (err) {
      throw storageErrors.invalidJwt(
        err instanceof joseErrors.JWTExpired
          ? 'jwt expired'
          : err instanceof joseErrors.JWSSignatureVerificationFailed
            ? 'invalid signature'
            : 'jwt malformed'
      );
    }
    if (payload.url !== `${bucket}/${key}`) {
      throw storageErrors.invalidSignature(
        'The url do not match the signature'
      );
    }
    const { iat, exp } = payload;
    if (
      typeof iat !== 'number' ||
      typeof exp !== 'number' ||
      exp - iat > this.maxLifetimeSeconds
    ) {
      throw storageErrors.invalidJwt(
        `jwt lifetime exceeds the maximum of ${describeSeconds(this.maxLifetimeSeconds)}`
      );
    }
    const role = payload.signer_role;
    if (role === undefined) {
      return undefined;
    }
    if (
      (role !== 'authenticated' &&
        role !== 'anon' &&
        role !== 'service_role') ||
      typeof payload.signer !== 'string'
    ) {
      throw storageErrors.invalidJwt('jwt malformed');
    }
    return { sub: payload.signer, role };
  }
}

function describeSeconds(seconds: number): string {
  const units: [number, string][] = [
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute']
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}
