import { createHash, randomBytes } from 'node:crypto';
import { findLiveKeyByHash } from '../adapters/deployments-store';
import type { Database } from '../db/types';

/**
 * API keys of prediction endpoints: `ink_` and 43 base64url characters
 * (256 random bits). Only their SHA-256 is stored — for a random secret of
 * that size a slow password hash protects nothing more and would cost
 * milliseconds on every prediction — with the first 12 characters shown so
 * people can tell keys apart.
 */
export const KEY_PREFIX = 'ink_';
const SHOWN_CHARACTERS = 12;

export interface NewApiKey {
  /** Shown once, to whoever created it; never stored or logged. */
  key: string;
  prefix: string;
  hash: string;
}

export function generateApiKey(): NewApiKey {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, prefix: key.slice(0, SHOWN_CHARACTERS), hash: hashApiKey(key) };
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(KEY_PREFIX);
}

export interface ResolvedKey {
  id: string;
  projectId: string;
  prefix: string;
}

/** How long a lookup is trusted: a key revoked by another sidecar stops working within this. */
const KNOWN_TTL_MS = 10_000;
/** Unknown keys are remembered briefly, so a flood of bad keys does not become a flood of queries. */
const UNKNOWN_TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;

/**
 * Key → its project, with a short cache in front of the database: a
 * prediction must not wait for a query. Revoking through this sidecar takes
 * effect at once (`forget`).
 */
export class ApiKeyResolver {
  private readonly cache = new Map<
    string,
    { key: ResolvedKey | undefined; expires: number }
  >();

  constructor(private readonly db: Database) {}

  async resolve(key: string): Promise<ResolvedKey | undefined> {
    const now = Date.now();
    // Cached by the key itself (this process's memory only): hashing every
    // request's key was a tenth of the endpoint's own work.
    const cached = this.cache.get(key);
    if (cached && cached.expires > now) {
      return cached.key;
    }
    const row = await this.db.asService(tx => findLiveKeyByHash(tx, hashApiKey(key)));
    const resolved = row
      ? { id: row.id, projectId: row.project_id, prefix: row.prefix }
      : undefined;
    if (this.cache.size >= MAX_ENTRIES) {
      this.cache.clear();
    }
    this.cache.set(key, {
      key: resolved,
      expires: now + (resolved ? KNOWN_TTL_MS : UNKNOWN_TTL_MS)
    });
    return resolved;
  }

  /** A key was created or revoked here: no cached answer about it may be used. */
  forget(keyId?: string): void {
    if (!keyId) {
      // A new key: drop cached "unknown" answers (it may be one of them).
      for (const [key, entry] of this.cache) {
        if (!entry.key) {
          this.cache.delete(key);
        }
      }
      return;
    }
    for (const [key, entry] of this.cache) {
      if (entry.key?.id === keyId) {
        this.cache.delete(key);
      }
    }
  }
}
