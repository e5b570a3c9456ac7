import { BloomFilter } from "bloomfilter";

/**
 * Admission on the second miss (TinyLFU's doorkeeper): remembers which codes missed recently, so
 * a code seen once is never sent to the location tier. Two Bloom filters (bloomfilter, FNV-1a
 * with double hashing) take turns: new codes go into the current one; when it holds half the
 * capacity it becomes the previous one and the old previous is cleared for reuse. A code is
 * "seen" while either holds it, so the doorkeeper remembers the last capacity/2 … capacity
 * distinct missed codes in about 1.2 bytes each (1 % false positives), where an LRU of the codes
 * costs ~175 B each (lru-cache, measured in Node 24).
 */

export const DOORKEEPER_FALSE_POSITIVES = 0.01;

export class Doorkeeper {
  readonly #perGeneration: number;
  #current: BloomFilter;
  #previous: BloomFilter;
  #added = 0;

  constructor(capacity: number) {
    this.#perGeneration = Math.max(1, Math.ceil(capacity / 2));
    this.#current = BloomFilter.withTargetError(this.#perGeneration, DOORKEEPER_FALSE_POSITIVES);
    this.#previous = BloomFilter.withTargetError(this.#perGeneration, DOORKEEPER_FALSE_POSITIVES);
  }

  /**
   * True when the code missed before (the caller may now use the location tier); otherwise
   * records this first miss and returns false.
   */
  admit(code: string): boolean {
    if (this.#current.test(code) || this.#previous.test(code)) return true;
    if (this.#added >= this.#perGeneration) {
      const cleared = this.#previous;
      cleared.buckets.fill(0);
      this.#previous = this.#current;
      this.#current = cleared;
      this.#added = 0;
    }
    this.#current.add(code);
    this.#added++;
    return false;
  }

  /** Bytes the two filters hold. */
  get bytes(): number {
    return this.#current.buckets.byteLength + this.#previous.buckets.byteLength;
  }
}
