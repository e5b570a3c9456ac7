import { compareLsn, type RyowWindow } from "@firstclick/core";
import { LRUCache } from "lru-cache";
import type { Background } from "../background.ts";
import { Doorkeeper } from "./doorkeeper.ts";
import type { CacheEntry, EntryPosition } from "./entry.ts";
import type { LocationTier } from "./location-tier.ts";
import { MemoryTier } from "./memory-tier.ts";
import type { CacheConfig } from "./settings.ts";
import { type CacheableAnswer, cacheTtlSeconds, windowSeconds } from "./ttl.ts";

/**
 * The edge's link cache: isolate memory first, then the location's Cache API, then the caller
 * asks a gateway and hands the answer back with `put`. The caller owns every consistency
 * decision (README.md beside this file):
 *   - `bypass: true` whenever the RYOW strategies send this request to the primary (cookie
 *     window, redis key) or its position token was lost in a failover; `position` when the
 *     token names the code's shard: only an entry a replica read at or past it answers.
 *   - `put` every gateway answer; the cache keeps only what is old enough (ttl.ts).
 *   - `purge` on the origin's notice after an edit or a delete.
 * The location tier admits a code on its second miss in this isolate (doorkeeper.ts): a code
 * clicked once costs no Cache API call at all, neither a lookup nor a write.
 */

/** Doorkeeper capacity per memory-tier entry (TinyLFU sizes it a few times the cache). */
export const DOORKEEPER_PER_ENTRY = 4;
/** Codes whose location lookup missed, waiting for their gateway answer to be written there. */
const AWAITING_PUT = 1_024;

export type CacheTier = "memory" | "location";

export interface CacheHit {
  entry: CacheEntry;
  tier: CacheTier;
}

export interface LookupOptions {
  nowMs: number;
  /** True: the request must reach a gateway; the cache is not even looked at. */
  bypass: boolean;
  /**
   * A position token's need for the code's shard (its `wait` judgement on the shard's current
   * timeline): only an entry read at or past it, on that shard and timeline, may answer.
   */
  position?: EntryPosition;
}

/** Whether the entry includes every write up to `need` (same shard, same timeline). */
export function satisfies(entry: CacheEntry, need: EntryPosition | undefined): boolean {
  if (!need) return true;
  const at = entry.position;
  return (
    at !== undefined &&
    at.shard === need.shard &&
    at.timeline === need.timeline &&
    compareLsn(at.lsn, need.lsn) >= 0
  );
}

export interface LinkCacheOptions {
  config: Pick<CacheConfig, "maxTtlSeconds" | "maxEntries" | "maxBytes">;
  window: RyowWindow;
  /** The location tier; null keeps the cache in isolate memory only. */
  location: LocationTier | null;
  logError?: (message: string) => void;
}

export class LinkCache {
  readonly #memory: MemoryTier;
  readonly #location: LocationTier | null;
  readonly #doorkeeper: Doorkeeper | null;
  readonly #awaitingPut = new LRUCache<string, true>({ max: AWAITING_PUT });
  readonly #window: RyowWindow;
  readonly #maxTtlSeconds: number;
  readonly #logError: (message: string) => void;

  constructor(o: LinkCacheOptions) {
    this.#memory = new MemoryTier({ maxEntries: o.config.maxEntries, maxBytes: o.config.maxBytes });
    this.#location = o.location;
    this.#doorkeeper = o.location
      ? new Doorkeeper(DOORKEEPER_PER_ENTRY * o.config.maxEntries)
      : null;
    this.#window = o.window;
    this.#maxTtlSeconds = o.config.maxTtlSeconds;
    this.#logError = o.logError ?? ((m) => console.error(m));
  }

  /** The memory tier alone, synchronously (the hit path ahead of the router, hit-path.ts). */
  fromMemory(code: string, nowMs: number): CacheEntry | undefined {
    return this.#memory.get(code, nowMs);
  }

  async get(code: string, o: LookupOptions): Promise<CacheHit | null> {
    if (o.bypass) return null;
    const inMemory = this.#memory.get(code, o.nowMs);
    if (inMemory)
      return satisfies(inMemory, o.position) ? { entry: inMemory, tier: "memory" } : null;
    if (!this.#location || this.#memory.refuses(code, o.nowMs)) return null;
    // A first miss goes straight to a gateway: most codes of a long tail are never asked again.
    if (!this.#doorkeeper?.admit(code)) return null;
    let entry: CacheEntry | undefined;
    try {
      entry = await this.#location.get(code, o.nowMs);
    } catch (error) {
      // The Cache API failing is a miss, never a failed redirect.
      this.#logError(`cache: location lookup of ${code} failed: ${String(error)}`);
    }
    if (!entry) {
      this.#awaitingPut.set(code, true);
      return null;
    }
    this.#memory.set(code, entry, o.nowMs);
    return satisfies(entry, o.position) ? { entry, tier: "location" } : null;
  }

  /**
   * Offers a gateway's answer. Returns the TTL it was cached for, 0 when it was not (young,
   * missing, or purged a moment ago). The location write runs in the background, and only for
   * a code whose location lookup just missed (its second miss here): a one-hit code is kept in
   * memory only.
   */
  put(
    code: string,
    answer: CacheableAnswer,
    o: {
      nowMs: number;
      background: Background;
      /** The shard that answered and its current timeline: with the answer's `lsn`, the entry's position. */
      readAt?: Omit<EntryPosition, "lsn">;
    },
  ): number {
    const ttl = cacheTtlSeconds(answer, o.nowMs, {
      window: this.#window,
      maxTtlSeconds: this.#maxTtlSeconds,
    });
    if (ttl === 0 || answer.kind === "missing") return 0;
    const entry: CacheEntry = {
      answer:
        answer.kind === "found"
          ? {
              kind: "found",
              url: answer.url,
              redirectStatus: answer.redirectStatus,
              updatedAt: answer.updatedAt,
            }
          : { kind: "gone", reason: answer.reason, updatedAt: answer.updatedAt },
      fetchedAtMs: o.nowMs,
      expiresAtMs: o.nowMs + ttl * 1000,
    };
    if (answer.lsn !== undefined && o.readAt) entry.position = { ...o.readAt, lsn: answer.lsn };
    if (!this.#memory.set(code, entry, o.nowMs)) return 0;
    if (this.#location && this.#awaitingPut.delete(code)) {
      o.background(
        this.#location.put(code, entry, o.nowMs).catch((error: unknown) => {
          this.#logError(`cache: location write of ${code} failed: ${String(error)}`);
        }),
      );
    }
    return ttl;
  }

  /**
   * Drops the code from this isolate and this location, and keeps this isolate from caching it
   * again for the RYOW window: a replica that has not replayed the edit yet could otherwise put
   * the old answer straight back. Other isolates and locations keep theirs until its TTL.
   */
  async purge(code: string, nowMs: number): Promise<{ location: boolean }> {
    this.#memory.purge(code, nowMs + windowSeconds(this.#window) * 1000);
    if (!this.#location) return { location: false };
    return { location: await this.#location.purge(code) };
  }

  /** Entries and charged bytes of the memory tier (for /health and the memory bench). */
  get memory(): { entries: number; bytes: number } {
    return { entries: this.#memory.entries, bytes: this.#memory.bytes };
  }
}
