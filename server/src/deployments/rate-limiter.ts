/**
 * The prediction endpoint's per-caller rate limit: a token bucket per
 * endpoint and caller (API key or signed-in user) that holds a minute's
 * worth of predictions and refills continuously, so a caller may burst up to
 * the limit and then goes on at the limit's pace. In memory and per sidecar,
 * checked on the hot path: a map lookup and a little arithmetic.
 */
interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
}

const MAX_BUCKETS = 100_000;

export class CallerRateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /**
   * Takes one prediction from `key`'s bucket: 0 when it may go, else the
   * whole seconds until it may (for `Retry-After`).
   */
  take(key: string, perMinute: number, now = Date.now()): number {
    const perMs = perMinute / 60_000;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) {
        this.dropFull(now);
      }
      bucket = { tokens: perMinute, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(
        perMinute,
        bucket.tokens + (now - bucket.at) * perMs
      );
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000));
  }

  /** Buckets refilled by now are as good as new: forgetting them changes nothing. */
  private dropFull(now: number): void {
    for (const [key, bucket] of this.buckets) {
      // A minute without calls refills any bucket.
      if (now - bucket.at >= 60_000) {
        this.buckets.delete(key);
      }
    }
    if (this.buckets.size >= MAX_BUCKETS) {
      this.buckets.clear();
    }
  }
}
