/**
 * Storage errors in Supabase Storage's shape: `{statusCode, code, error,
 * message}`, codes and messages as the Storage API's own (so supabase-js and
 * code written against Supabase read them the same). One difference: the
 * HTTP status is the error's own status (Storage's `respectStatusCode`
 * mode), not its legacy blanket 400, so plain HTTP clients see 404, 409, 413.
 */
export class StorageError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Storage's short `error` label; the code where it has none. */
    readonly label: string = code
  ) {
    super(message);
  }

  render(): {
    statusCode: string;
    code: string;
    error: string;
    message: string;
  } {
    return {
      statusCode: String(this.status),
      code: this.code,
      error: this.label,
      message: this.message
    };
  }
}

export const storageErrors = {
  invalidKey: (detail: string) =>
    new StorageError(400, 'InvalidKey', `Invalid key: ${detail}`),
  invalidBucketName: (detail: string) =>
    new StorageError(
      400,
      'InvalidBucketName',
      `Bucket name invalid: ${detail}`,
      'Invalid Input'
    ),
  invalidRequest: (message: string) =>
    new StorageError(400, 'InvalidRequest', message),
  invalidJwt: (message: string) => new StorageError(400, 'InvalidJWT', message),
  invalidSignature: (message: string) =>
    new StorageError(400, 'InvalidSignature', message),
  noSuchBucket: () =>
    new StorageError(
      404,
      'NoSuchBucket',
      'Bucket not found',
      'Bucket not found'
    ),
  noSuchKey: () =>
    new StorageError(404, 'NoSuchKey', 'Object not found', 'not_found'),
  /** What Storage answers when Postgres refuses a row under RLS. */
  accessDenied: (message = 'new row violates row-level security policy') =>
    new StorageError(403, 'AccessDenied', message, 'Unauthorized'),
  alreadyExists: () =>
    new StorageError(
      409,
      'Duplicate',
      'The resource already exists',
      'Duplicate'
    ),
  entityTooLarge: () =>
    new StorageError(
      413,
      'EntityTooLarge',
      'The object exceeded the maximum allowed size',
      'Payload too large'
    ),
  invalidMimeType: (mimeType: string) =>
    new StorageError(
      415,
      'InvalidMimeType',
      `mime type ${mimeType} is not supported`,
      'invalid_mime_type'
    ),
  invalidRange: () =>
    new StorageError(
      416,
      'InvalidRange',
      'invalid range provided',
      'invalid_range'
    ),
  internal: () =>
    new StorageError(500, 'InternalError', 'Internal server error')
};
