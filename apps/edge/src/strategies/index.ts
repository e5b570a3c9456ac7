import { type EdgeBindings, type EdgeConfig, EdgeConfigError } from "../env.ts";
import { cookieStrategy } from "./cookie.ts";
import { primaryStrategy } from "./primary.ts";
import type { RyowStrategy } from "./strategy.ts";

export { decideWithStrategies, type RouteQuery, type RyowStrategy } from "./strategy.ts";

/**
 * Strategies built outside this folder's pure part, by name. `redis` holds a socket
 * (`cloudflare:sockets`), so the Worker's entry installs it (index.ts) and unit tests can
 * install their own; without it STRATEGY=redis is a configuration error.
 */
export interface InstalledStrategies {
  redis?: (config: EdgeConfig, bindings: EdgeBindings) => RyowStrategy;
}

/** The strategies STRATEGY names, in the order they are asked. */
export function strategiesFor(
  config: EdgeConfig,
  bindings: EdgeBindings,
  installed: InstalledStrategies,
): RyowStrategy[] {
  const strategies: RyowStrategy[] = [];
  if (config.strategies.has("primary")) strategies.push(primaryStrategy);
  if (config.strategies.has("cookie")) strategies.push(cookieStrategy(config));
  if (config.strategies.has("redis")) {
    if (!installed.redis) {
      throw new EdgeConfigError(
        "STRATEGY includes redis, but no redis strategy is installed in this build",
      );
    }
    strategies.push(installed.redis(config, bindings));
  }
  return strategies;
}
