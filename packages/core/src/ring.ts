import { z } from "zod";
import { murmur3_32 } from "./murmur3.ts";

/**
 * Consistent hashing (Karger et al., "Consistent Hashing and Random Trees", STOC 1997) over shard
 * ids, in the style of groupcache's consistenthash: every shard owns `vnodes` points on a 32-bit
 * circle, a code belongs to the first point at or after its hash (wrapping around).
 *
 * Point i of shard s is murmur3_32(`${s}#${i}`). The ring depends only on the *set* of shard ids
 * and the vnode count, never on their order: two points with the same hash go to the smaller
 * shard id (UTF-16 code-unit order), the same everywhere.
 */

/** Virtual nodes per shard: 256 keeps 4 shards within ±10 % of the mean (see ring.test.ts). */
export const DEFAULT_VNODES = 256;

export interface HashRingOptions {
  vnodes?: number;
}

export class HashRing {
  readonly shardIds: readonly string[];
  readonly vnodes: number;
  /** Sorted, unique hash points. */
  readonly #points: Uint32Array;
  /** #owners[i] is the index into #sorted of the shard owning #points[i]. */
  readonly #owners: Uint16Array;
  readonly #sorted: readonly string[];

  constructor(shardIds: readonly string[], options: HashRingOptions = {}) {
    const vnodes = options.vnodes ?? DEFAULT_VNODES;
    if (!Number.isInteger(vnodes) || vnodes < 1) {
      throw new RangeError(`HashRing: vnodes must be an integer ≥ 1 (got ${String(vnodes)})`);
    }
    if (shardIds.length === 0) throw new RangeError("HashRing: at least one shard id is required");
    if (shardIds.length > 0xffff) throw new RangeError("HashRing: at most 65535 shards");
    const seen = new Set<string>();
    for (const id of shardIds) {
      if (typeof id !== "string" || id.length === 0) {
        throw new RangeError("HashRing: shard ids must be non-empty strings");
      }
      if (seen.has(id)) throw new RangeError(`HashRing: duplicate shard id "${id}"`);
      seen.add(id);
    }
    this.shardIds = Object.freeze([...shardIds]);
    this.vnodes = vnodes;

    const sorted = [...shardIds].sort(compareIds);
    const total = sorted.length * vnodes;
    // Pack (hash, shard index) into one float64 so a numeric sort orders by hash, then by the
    // sorted shard index: exact because hash < 2^32 and index < 2^16 (2^48 < 2^53).
    const keyed = new Float64Array(total);
    let n = 0;
    for (let s = 0; s < sorted.length; s++) {
      const id = sorted[s] as string;
      for (let i = 0; i < vnodes; i++) keyed[n++] = murmur3_32(`${id}#${i}`) * 65536 + s;
    }
    keyed.sort();

    const points = new Uint32Array(total);
    const owners = new Uint16Array(total);
    let unique = 0;
    for (let j = 0; j < total; j++) {
      const key = keyed[j] as number;
      const point = Math.floor(key / 65536);
      // A collision keeps the first entry, which is the smaller shard id.
      if (unique > 0 && points[unique - 1] === point) continue;
      points[unique] = point;
      owners[unique] = key - point * 65536;
      unique++;
    }
    this.#points = points.slice(0, unique);
    this.#owners = owners.slice(0, unique);
    this.#sorted = sorted;
  }

  /** The shard that owns `code`. */
  shardFor(code: string): string {
    const h = murmur3_32(code);
    const points = this.#points;
    // First point ≥ h; past the last point wraps to the first.
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    const at = lo === points.length ? 0 : lo;
    return this.#sorted[this.#owners[at] as number] as string;
  }
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Upper bounds that keep a bad snapshot from making every isolate build a huge ring. */
export const MAX_SHARDS = 1024;
export const MAX_VNODES = 4096;

const SHARD_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A ring as the topology stores it: its shard ids and virtual nodes per shard. */
export const RingSchema = z.object({
  shards: z
    .array(z.string().regex(SHARD_ID, "a shard id is 1–64 of [A-Za-z0-9_-]"))
    .min(1)
    .max(MAX_SHARDS)
    .refine((ids) => new Set(ids).size === ids.length, "ring shard ids must be unique"),
  vnodes: z.int().min(1).max(MAX_VNODES),
});
export type RingSpec = z.infer<typeof RingSchema>;
