/**
 * Password guessing, stopped per address and account: after `allowed`
 * wrong passwords for one account from one address, that address may not
 * try that account for `lockSeconds`; each further wrong password after a
 * lock doubles the next one (up to a day). A right password clears the
 * count. Keyed by address and account together, so someone guessing from
 * elsewhere cannot lock the owner out of their own account (a count per
 * account alone did exactly that: the right password got 429), while one
 * address still cannot guess on. Guessing across many accounts from one
 * address is the per-address rate limit's job.
 *
 * In memory, per sidecar: a restart forgives, as express-rate-limit's
 * counters do.
 */
export interface SignInAttempt {
  address: string;
  /** Lower-cased, trimmed. */
  email: string;
}

interface Failures {
  count: number;
  lockedUntil: number;
  /** When the entry may be forgotten: a window of quiet after the last lock. */
  forgetAt: number;
}

const MAX_LOCK_MS = 24 * 60 * 60 * 1000;
const MAX_ENTRIES = 100_000;

export class SignInLockout {
  private readonly entries = new Map<string, Failures>();

  constructor(
    private readonly options: {
      /** Wrong passwords before the first lock. */
      allowed: number;
      /** The first lock, and how long failures are remembered. */
      lockSeconds: number;
    }
  ) {}

  /** Seconds until this address may try this account again; 0: now. */
  retryAfter(attempt: SignInAttempt, now = Date.now()): number {
    const entry = this.current(keyOf(attempt), now);
    return entry && entry.lockedUntil > now
      ? Math.ceil((entry.lockedUntil - now) / 1000)
      : 0;
  }

  failed(attempt: SignInAttempt, now = Date.now()): void {
    const key = keyOf(attempt);
    const entry = this.current(key, now) ?? {
      count: 0,
      lockedUntil: 0,
      forgetAt: 0
    };
    entry.count += 1;
    const lockMs = this.options.lockSeconds * 1000;
    const over = entry.count - this.options.allowed;
    if (over >= 0) {
      entry.lockedUntil = now + Math.min(lockMs * 2 ** over, MAX_LOCK_MS);
    }
    entry.forgetAt = Math.max(entry.lockedUntil, now) + lockMs;
    // Re-inserted at the end: the map stays ordered by last failure.
    this.entries.delete(key);
    this.entries.set(key, entry);
    this.trim(now);
  }

  succeeded(attempt: SignInAttempt): void {
    this.entries.delete(keyOf(attempt));
  }

  private current(key: string, now: number): Failures | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.forgetAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Forgets expired entries from the oldest on, and the oldest beyond the cap. */
  private trim(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.forgetAt > now && this.entries.size <= MAX_ENTRIES) {
        break;
      }
      this.entries.delete(key);
    }
  }
}

function keyOf(attempt: SignInAttempt): string {
  return `${attempt.address}\n${attempt.email}`;
}
