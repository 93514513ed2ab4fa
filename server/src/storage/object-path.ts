import { storageErrors } from './errors';

/**
 * Bucket names and object keys as they reach the disk: a key becomes a path
 * under the bucket's folder, so anything that could leave that folder or
 * trip a filesystem is refused with a message that names the problem.
 */
const BUCKET_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;
/** S3's and Supabase's key limit (bytes of UTF-8). */
const MAX_KEY_BYTES = 1024;
/** A file or folder name on Linux and macOS filesystems (bytes of UTF-8). */
const MAX_SEGMENT_BYTES = 255;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function checkBucketName(bucket: string): string {
  if (!BUCKET_NAME.test(bucket)) {
    throw storageErrors.invalidBucketName(
      'use 1 to 63 letters, digits, "_", "-" or "." (not first).'
    );
  }
  return bucket;
}

/**
 * The key as stored: NFC-normalized (so "é" typed two ways is one object),
 * made of non-empty segments that are not "." or "..", without control
 * characters or backslashes, within the length limits.
 */
export function normalizeObjectKey(raw: string): string {
  if (raw.length === 0) {
    throw storageErrors.invalidKey('the object name is empty.');
  }
  const key = raw.normalize('NFC');
  if (key.startsWith('/')) {
    throw storageErrors.invalidKey(
      'the object name must be relative (no leading "/").'
    );
  }
  if (CONTROL.test(key)) {
    throw storageErrors.invalidKey(
      'the object name contains control characters.'
    );
  }
  if (key.includes('\\')) {
    throw storageErrors.invalidKey(
      'the object name contains a backslash; use "/" between folders.'
    );
  }
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw storageErrors.invalidKey(
      `the object name is longer than ${MAX_KEY_BYTES} bytes.`
    );
  }
  for (const segment of key.split('/')) {
    if (segment === '') {
      throw storageErrors.invalidKey(
        'the object name has an empty folder name ("//" or a trailing "/").'
      );
    }
    if (segment === '.' || segment === '..') {
      throw storageErrors.invalidKey(
        '"." and ".." are not allowed as folder or file names.'
      );
    }
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw storageErrors.invalidKey(
        `a folder or file name is longer than ${MAX_SEGMENT_BYTES} bytes.`
      );
    }
  }
  return key;
}

/** A list prefix: like a key, but may be empty and may end with "/". */
export function normalizePrefix(raw: string): string {
  const trimmed = raw.replace(/\/+$/, '');
  return trimmed === '' ? '' : normalizeObjectKey(trimmed);
}
