import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SignJWT } from 'jose';

/**
 * The embedded auth server's signing secret and the API keys derived from it,
 * shaped like a Supabase project's: an HS256 secret (a long random string used
 * as the HMAC key) and long-lived `anon` / `service_role` JWTs.
 */
export interface JwtKeys {
  /** The HMAC key bytes (the secret string's UTF-8, as Supabase uses it). */
  secret: Uint8Array;
  anonKey: string;
  serviceRoleKey: string;
}

const SECRET_FILE = 'jwt-secret';
const MIN_SECRET_LENGTH = 32;

/**
 * Reads `<dataDir>/secrets/jwt-secret`, creating it (mode 0600) on first
 * start; see `loadOrCreateSecret`.
 */
export function loadOrCreateJwtSecret(dataDir: string): Promise<string> {
  return loadOrCreateSecret(dataDir, SECRET_FILE, {
    minLength: MIN_SECRET_LENGTH,
    ifShort:
      'replace it or delete it to generate a new one (every session ends)'
  });
}

/**
 * Reads the secret `<dataDir>/secrets/<name>`, creating it (mode 0600, 48
 * random bytes) on first start. Creation is atomic: a temp file is
 * hard-linked into place, so two processes racing on a fresh data dir end up
 * with the same secret and a crash never leaves a half-written one.
 */
export async function loadOrCreateSecret(
  dataDir: string,
  name: string,
  check: { minLength: number; ifShort: string }
): Promise<string> {
  const dir = path.join(dataDir, 'secrets');
  const file = path.join(dir, name);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await readSecret(file, check);
  if (existing) {
    return existing;
  }
  const secret = randomBytes(48).toString('base64url');
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw err;
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  const stored = await readSecret(file, check);
  if (!stored) {
    throw new Error(`The secret in ${file} is unreadable or too short.`);
  }
  return stored;
}

async function readSecret(
  file: string,
  check: { minLength: number; ifShort: string }
): Promise<string | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw err;
  }
  const secret = text.trim();
  if (secret.length < check.minLength) {
    throw new Error(
      `The secret in ${file} is shorter than ${check.minLength} characters: ${check.ifShort}.`
    );
  }
  return secret;
}

// Fixed claims make the keys a pure function of the secret: the same keys on
// every start, so a key pasted into a notebook keeps working.
const API_KEY_ISSUED_AT = 1735689600; // 2025-01-01
const API_KEY_LIFETIME_S = 10 * 365 * 24 * 3600;

export function signApiKey(
  secret: Uint8Array,
  role: 'anon' | 'service_role'
): Promise<string> {
  return new SignJWT({ iss: 'supabase', role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt(API_KEY_ISSUED_AT)
    .setExpirationTime(API_KEY_ISSUED_AT + API_KEY_LIFETIME_S)
    .sign(secret);
}

export async function loadJwtKeys(dataDir: string): Promise<JwtKeys> {
  const secret = new TextEncoder().encode(await loadOrCreateJwtSecret(dataDir));
  return {
    secret,
    anonKey: await signApiKey(secret, 'anon'),
    serviceRoleKey: await signApiKey(secret, 'service_role')
  };
}
