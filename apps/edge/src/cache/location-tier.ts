import { type CacheEntry, CacheEntrySchema } from "./entry.ts";

/**
 * The location's tier: the Workers Cache API (`caches.default`), shared by every isolate of
 * this Worker in one Cloudflare location and by nothing beyond it. One lookup is a local
 * subrequest, cheaper than a gateway read across the network. Entries are small JSON documents
 * under a key of their own, never a redirect response: nothing request-specific is stored.
 */

/** Bump when CacheEntry's shape changes, so old documents are simply missed. */
const KEY_VERSION = "v2";

/** The part of the Cache API this tier uses (tests hand in a failing one). */
export type LocationCache = Pick<Cache, "match" | "put" | "delete">;

export interface LocationTierOptions {
  /**
   * The origin the keys live under, e.g. `https://fc.example`: the zone's own hostname (keys on
   * another zone's hostname are not ours to write). One value per deployment, so a purge sent to
   * any hostname of the Worker reaches the entry.
   */
  keyOrigin: string;
}

export class LocationTier {
  readonly #cache: LocationCache;
  readonly #keyOrigin: string;

  constructor(cache: LocationCache, o: LocationTierOptions) {
    this.#cache = cache;
    this.#keyOrigin = o.keyOrigin.replace(/\/+$/, "");
  }

  key(code: string): string {
    return `${this.#keyOrigin}/_internal/cache/${KEY_VERSION}/links/${encodeURIComponent(code)}`;
  }

  async get(code: string, nowMs: number): Promise<CacheEntry | undefined> {
    const res = await this.#cache.match(this.key(code));
    if (!res) return undefined;
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      return undefined;
    }
    const parsed = CacheEntrySchema.safeParse(body);
    // The location's clock decides its own expiry; ours must agree before we serve it.
    if (!parsed.success || parsed.data.expiresAtMs <= nowMs) return undefined;
    return parsed.data;
  }

  async put(code: string, entry: CacheEntry, nowMs: number): Promise<void> {
    const ttlSeconds = Math.floor((entry.expiresAtMs - nowMs) / 1000);
    if (ttlSeconds < 1) return;
    await this.#cache.put(
      this.key(code),
      new Response(JSON.stringify(entry), {
        headers: {
          "content-type": "application/json",
          "cache-control": `max-age=${ttlSeconds}`,
        },
      }),
    );
  }

  /** True when this location held an entry for the code. */
  purge(code: string): Promise<boolean> {
    return this.#cache.delete(this.key(code));
  }
}
