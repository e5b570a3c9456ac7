import { type EdgeBindings, type EdgeConfig, EdgeConfigError } from "./env.ts";
import type { RouteOracle } from "./oracle.ts";
import { OBJECT_NAME } from "./redis-object.ts";
import { type FreshnessLookup, perRequestLookup, redisOracle } from "./redis-oracle.ts";
import { parseRedisUrl } from "./redis-resp.ts";

/**
 * Builds the `redis` RouteOracle from the configuration (`createEdgeApp({ oracles: { redis } })`
 * calls this once per bindings object). REDIS_CLIENT picks the client: the RyowRedis Durable
 * Object holding one connection (default), or a connection per redirect.
 */
export function createRedisOracle(
  config: EdgeConfig,
  bindings: EdgeBindings,
  logError: (message: string) => void = (m) => console.error(m),
): RouteOracle {
  if (!config.redisUrl)
    throw new EdgeConfigError("STRATEGY includes redis but REDIS_URL is not set");
  let address: ReturnType<typeof parseRedisUrl>;
  try {
    address = parseRedisUrl(config.redisUrl);
  } catch (error) {
    throw new EdgeConfigError(error instanceof Error ? error.message : String(error));
  }
  let lookup: FreshnessLookup;
  if (config.redisClient === "socket") {
    lookup = perRequestLookup(address);
  } else {
    const namespace = bindings.RYOW_REDIS;
    if (!namespace) {
      throw new EdgeConfigError(
        "REDIS_CLIENT=durable_object needs the RYOW_REDIS Durable Object binding (wrangler.toml)",
      );
    }
    const id = namespace.idFromName(OBJECT_NAME);
    // A stub per redirect: a stub is an I/O object, and workerd ties those to one request.
    lookup = (code) => namespace.get(id).isFresh(code);
  }
  return redisOracle(lookup, { timeoutMs: config.redisTimeoutMs, logError });
}
