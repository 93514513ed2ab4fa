import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { storageErrors } from './errors';

/**
 * Signed object URLs as Supabase Storage makes them: an HS256 JWT signed with
 * the project's JWT secret whose payload names the object (`url` =
 * `bucket/key`) and when it stops working (`exp`).
 */
export class UrlSigner {
  constructor(private readonly secret: Uint8Array) {}

  sign(bucket: string, key: string, expiresInSeconds: number): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ url: `${bucket}/${key}` })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(now + expiresInSeconds)
      .sign(this.secret);
  }

  /** Resolves if `token` was signed here for exactly this object and has not expired. */
  async verify(token: string, bucket: string, key: string): Promise<void> {
    let url: unknown;
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: ['HS256'],
        requiredClaims: ['exp']
      });
      url = payload.url;
    } catch (err) {
      throw storageErrors.invalidJwt(
        err instanceof joseErrors.JWTExpired
          ? 'jwt expired'
          : err instanceof joseErrors.JWSSignatureVerificationFailed
            ? 'invalid signature'
            : 'jwt malformed'
      );
    }
    if (url !== `${bucket}/${key}`) {
      throw storageErrors.invalidSignature(
        'The url do not match the signature'
      );
    }
  }
}
