import { LRUCache } from "lru-cache";
import { type CacheEntry, ENTRY_OVERHEAD_BYTES, entryBytes } from "./entry.ts";

/**
 * The isolate's own tier: a least-recently-used map bounded by entries and by bytes, no I/O.
 * lru-cache (isaacs) enforces both bounds (`max`, `maxSize` with `sizeCalculation`) and runs in
 * workerd as is; expiry stays ours (entries carry `expiresAtMs`) so tests and the Cache API tier
 * share one clock, the caller's.
 */

export interface MemoryTierOptions {
  maxEntries: number;
  maxBytes: number;
}

/** After a purge: refuse this code until `untilMs` (a lagging replica must not put it back). */
interface Purged {
  purgedUntilMs: number;
}
type Slot = CacheEntry | Purged;

const isPurged = (slot: Slot): slot is Purged => "purgedUntilMs" in slot;

export class MemoryTier {
  readonly #lru: LRUCache<string, Slot>;

  constructor(o: MemoryTierOptions) {
    this.#lru = new LRUCache<string, Slot>({
      max: o.maxEntries,
      maxSize: o.maxBytes,
      sizeCalculation: (slot, code) =>
        isPurged(slot) ? ENTRY_OVERHEAD_BYTES + 2 * code.length : entryBytes(code, slot),
    });
  }

  /** The live entry for a code, marking it most recently used; expired ones are dropped. */
  get(code: string, nowMs: number): CacheEntry | undefined {
    const slot = this.#lru.get(code);
    if (slot === undefined) return undefined;
    if (isPurged(slot)) {
      if (slot.purgedUntilMs <= nowMs) this.#lru.delete(code);
      return undefined;
    }
    if (slot.expiresAtMs <= nowMs) {
      this.#lru.delete(code);
      return undefined;
    }
    return slot;
  }

  /** Stores an entry unless the code was purged recently; false when refused. */
  set(code: string, entry: CacheEntry, nowMs: number): boolean {
    const slot = this.#lru.peek(code);
    if (slot !== undefined && isPurged(slot) && slot.purgedUntilMs > nowMs) return false;
    if (entry.expiresAtMs <= nowMs) return false;
    this.#lru.set(code, entry);
    return true;
  }

  /** Drops the code and refuses it until `untilMs`. */
  purge(code: string, untilMs: number): void {
    this.#lru.set(code, { purgedUntilMs: untilMs });
  }

  /** Whether a code is refused right now (a purge is still in force). */
  refuses(code: string, nowMs: number): boolean {
    const slot = this.#lru.peek(code);
    return slot !== undefined && isPurged(slot) && slot.purgedUntilMs > nowMs;
  }

  get entries(): number {
    return this.#lru.size;
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }
}
