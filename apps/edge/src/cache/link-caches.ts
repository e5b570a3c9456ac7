import type { EdgeConfig } from "../env.ts";
import { LinkCache } from "./link-cache.ts";
import { type LocationCache, LocationTier } from "./location-tier.ts";

/**
 * One LinkCache per isolate and per parsed configuration (workerd hands every request of an
 * isolate the same env, so the same EdgeConfig): the memory tier lives as long as the isolate.
 */

/**
 * The Cache API keys' origin. Fixed, not the request's hostname: a purge arriving on any of the
 * Worker's hostnames (workers.dev, a custom domain, the origin's EDGE_URL) must name the same key
 * the redirects on the public hostname wrote. The Cache API scopes keys to the Worker's zone, so
 * a name of our own collides with nothing.
 */
export const CACHE_KEY_ORIGIN = "https://link-cache.firstclick.internal";

export interface LinkCachesOptions {
  /** The location's cache; null keeps memory only. Default: `caches.default` where it exists. */
  location?: LocationCache | null;
  logError: (message: string) => void;
}

function defaultLocation(): LocationCache | null {
  return typeof caches === "undefined" ? null : caches.default;
}

export class LinkCaches {
  readonly #byConfig = new WeakMap<EdgeConfig, LinkCache>();
  readonly #location: LocationCache | null;
  readonly #logError: (message: string) => void;

  constructor(o: LinkCachesOptions) {
    this.#location = o.location === undefined ? defaultLocation() : o.location;
    this.#logError = o.logError;
  }

  /** This isolate's cache for the configuration (memory only with CACHE=memory), or null with CACHE=off. */
  for(config: EdgeConfig): LinkCache | null {
    if (!config.cache.enabled) return null;
    let cache = this.#byConfig.get(config);
    if (!cache) {
      cache = new LinkCache({
        config: config.cache,
        window: config.ryowWindow,
        location:
          this.#location && config.cache.location
            ? new LocationTier(this.#location, { keyOrigin: CACHE_KEY_ORIGIN })
            : null,
        logError: this.#logError,
      });
      this.#byConfig.set(config, cache);
    }
    return cache;
  }
}
