/**
 * Token buckets in memory, one per client key: `perMinute` tokens refill evenly over a minute and
 * a client may burst up to `perMinute`. Per origin instance: N instances behind a balancer allow
 * up to N times the limit. Idle buckets are dropped so the map stays bounded.
 */

export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimiter {
  take(key: string): RateDecision;
}

export interface TokenBucketOptions {
  perMinute: number;
  now?: () => number;
  /** Upper bound on tracked clients; beyond it, full (idle) buckets are evicted first. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBucketLimiter implements RateLimiter {
  readonly #perMs: number;
  readonly #capacity: number;
  readonly #now: () => number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, Bucket>();

  constructor({ perMinute, now = Date.now, maxKeys = 100_000 }: TokenBucketOptions) {
    this.#capacity = perMinute;
    this.#perMs = perMinute / 60_000;
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  take(key: string): RateDecision {
    if (this.#capacity === 0) return { ok: true };
    const now = this.#now();
    let bucket = this.#buckets.get(key);
    if (bucket) {
      bucket.tokens = Math.min(
        this.#capacity,
        bucket.tokens + Math.max(0, now - bucket.at) * this.#perMs,
      );
      bucket.at = now;
    } else {
      if (this.#buckets.size >= this.#maxKeys) this.#evict(now);
      bucket = { tokens: this.#capacity, at: now };
      this.#buckets.set(key, bucket);
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return {
      ok: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000)),
    };
  }

  #evict(now: number): void {
    // A bucket that has refilled completely carries no information: forget it.
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * this.#perMs >= this.#capacity)
        this.#buckets.delete(key);
    }
    // Still full of active clients: drop the oldest entries (Map keeps insertion order).
    for (const key of this.#buckets.keys()) {
      if (this.#buckets.size < this.#maxKeys) break;
      this.#buckets.delete(key);
    }
  }
}
