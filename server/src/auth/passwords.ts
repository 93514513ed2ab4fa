import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Algorithm, hash, verify } from '@node-rs/argon2';

/**
 * Password hashing with argon2id (memory-hard), stored as PHC strings in
 * `auth.users.encrypted_password` — a format GoTrue itself accepts, so users
 * can move to a real Supabase project.
 *
 * Parameters: OWASP's baseline for argon2id (19 MiB, 2 passes, 1 lane),
 * ≈ 35 ms here. Hashing runs on libuv's thread pool, off the event loop.
 */
const PARAMS = {
  algorithm: Algorithm.Argon2id,
  memoryCost: 19456,
  timeCost: 2,
  parallelism: 1
} as const;

const PHC_PARAMS = `$argon2id$v=19$m=${PARAMS.memoryCost},t=${PARAMS.timeCost},p=${PARAMS.parallelism}$`;

/**
 * Hashes at once: all cores but one. Each takes a core and one of libuv's
 * four pool threads (which file reads and writes share) for its whole
 * time; without a limit, a burst of sign-ins took every core and the pool,
 * and every other request waited behind it (bench/load: reads' p99 rose
 * with each sign-in under way). Sign-ins queue instead.
 */
const HASH_SLOTS = Math.max(1, os.availableParallelism() - 1);
let hashing = 0;
const waiting: (() => void)[] = [];

async function inHashSlot<T>(work: () => Promise<T>): Promise<T> {
  if (hashing >= HASH_SLOTS) {
    await new Promise<void>(resolve => waiting.push(resolve));
  } else {
    hashing += 1;
  }
  try {
    return await work();
  } finally {
    // The slot passes straight to the next in line, or is freed.
    const next = waiting.shift();
    if (next) {
      next();
    } else {
      hashing -= 1;
    }
  }
}

export function hashPassword(password: string): Promise<string> {
  return inHashSlot(() => hash(password, PARAMS));
}

/** Constant-time comparison inside argon2; a malformed stored hash never matches. */
export async function verifyPassword(
  stored: string,
  password: string
): Promise<boolean> {
  try {
    return await inHashSlot(() => verify(stored, password));
  } catch {
    return false;
  }
}

/** True when a hash was made with other parameters than today's (rehash on login). */
export function needsRehash(stored: string): boolean {
  return !stored.startsWith(PHC_PARAMS);
}

let decoy: Promise<string> | undefined;

/**
 * Spends the same time as a real check, for sign-ins with an unknown email,
 * so response times do not reveal which emails have accounts.
 */
export async function verifyAgainstDecoy(password: string): Promise<false> {
  decoy ??= hashPassword(randomBytes(24).toString('base64url'));
  await verifyPassword(await decoy, password);
  return false;
}

/** GoTrue's limit (bcrypt's); kept so passwords stay valid on a hosted Supabase. */
export const MAX_PASSWORD_LENGTH = 72;
export const MIN_PASSWORD_LENGTH = 8;

export type WeakPasswordReason = 'length' | 'characters';

export interface PasswordWeakness {
  message: string;
  reasons: WeakPasswordReason[];
}

/** The project's rule: at least 8 characters, with letters and digits. */
export function passwordWeakness(
  password: string
): PasswordWeakness | undefined {
  const reasons: WeakPasswordReason[] = [];
  const messages: string[] = [];
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    reasons.push('length');
    messages.push(
      `Password should be at least ${MIN_PASSWORD_LENGTH} characters.`
    );
  }
  if (!/\p{L}/u.test(password) || !/\p{Nd}/u.test(password)) {
    reasons.push('characters');
    messages.push('Password should contain at least one letter and one digit.');
  }
  return reasons.length ? { message: messages.join(' '), reasons } : undefined;
}
