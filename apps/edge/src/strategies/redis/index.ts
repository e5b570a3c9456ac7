import { type EdgeBindings, type EdgeConfig, EdgeConfigError } from "../../env.ts";
import type { RyowStrategy } from "../strategy.ts";
import { perRequestLookup } from "./client.ts";
import { OBJECT_NAME } from "./durable-object.ts";
import { type FreshnessLookup, redisStrategy } from "./strategy.ts";

/**
 * Builds the `redis` RyowStrategy from the configuration (`createEdgeApp({ strategies: { redis } })`
 * calls this once per bindings object). REDIS_CLIENT picks the client: the RyowRedis Durable
 * Object holding one connection (default), or a connection per redirect.
 */
export function createRedisStrategy(
  config: EdgeConfig,
  bindings: EdgeBindings,
  logError: (message: string) => void = (m) => console.error(m),
): RyowStrategy {
  if (!config.redisUrl)
    throw new EdgeConfigError("STRATEGY includes redis but REDIS_URL is not set");
  if (!URL.canParse(config.redisUrl)) throw new EdgeConfigError("REDIS_URL is not a URL");
  let lookup: FreshnessLookup;
  if (config.redisClient === "socket") {
    lookup = perRequestLookup(config.redisUrl, config.redisTimeoutMs);
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
  return redisStrategy(lookup, { timeoutMs: config.redisTimeoutMs, logError });
}
