import {
  ConsistencySettingsSchema,
  optionalSetting,
  parseEnv,
  type RyowWindow,
  type Strategy,
} from "@firstclick/core";
import { z } from "zod";
import { type CacheConfig, CacheSettingsSchema, cacheConfig } from "./cache/settings.ts";

/**
 * The edge's configuration, parsed once per bindings object from the Worker's vars and secrets
 * (docs/architecture.md). Nothing else in the Worker reads bindings for configuration; the KV
 * namespace is the one binding handed around as is.
 */

/** Bindings this Worker may receive: `wrangler types` output plus optional secrets and vars. */
export type EdgeBindings = Env & {
  INTERNAL_SECRET?: string;
  RYOW_SECRET?: string;
  RYOW_PREVIOUS_SECRET?: string;
  REDIS_URL?: string;
};

// STRATEGY and RYOW_*: core's schema, the one the origin reads them with too.
const EnvSchema = ConsistencySettingsSchema.extend({
  ORIGIN_URL: z
    .url({ protocol: /^https?$/, error: "ORIGIN_URL must be an http(s) URL" })
    .transform((u) => u.replace(/\/+$/, "")),
  INTERNAL_SECRET: optionalSetting(z.string()),
  REDIS_URL: optionalSetting(
    z.string().regex(/^rediss?:\/\/./, "REDIS_URL must be a redis:// or rediss:// URL"),
  ),
  // The redis strategy's budget per redirect; past it the redirect reads a replica.
  REDIS_TIMEOUT_MS: optionalSetting(z.coerce.number().int().min(1).max(10_000)).transform(
    (ms) => ms ?? 100,
  ),
  // durable_object: one pipelined connection held by the RyowRedis object (the fast one);
  // socket: a new connection per redirect (no Durable Object needed).
  REDIS_CLIENT: optionalSetting(z.enum(["durable_object", "socket"])).transform(
    (c) => c ?? "durable_object",
  ),
  UPSTREAM_TIMEOUT_MS: optionalSetting(z.coerce.number().int().min(10).max(60_000)).transform(
    (ms) => ms ?? 1_500,
  ),
  FALLBACK_BUDGET_PER_MINUTE: optionalSetting(
    z.coerce.number().int().min(0).max(1_000_000),
  ).transform((n) => n ?? 600),
  // CACHE, CACHE_MAX_*: the link cache's own fragment (cache/settings.ts).
  ...CacheSettingsSchema.shape,
});

export interface EdgeConfig {
  originUrl: string;
  /** Null: the internal routes refuse every caller (401). */
  internalSecret: string | null;
  strategies: ReadonlySet<Strategy>;
  ryowWindow: RyowWindow;
  /** `[current, previous]`, unset ones left out; empty: cookies are not signed. */
  ryowSecrets: readonly string[];
  /** RYOW_POSITION_TTL_SECONDS: a position token entry older than this is not read. */
  positionTtlSeconds: number;
  redisUrl: string | null;
  redisTimeoutMs: number;
  redisClient: "durable_object" | "socket";
  upstreamTimeoutMs: number;
  fallbackBudgetPerMinute: number;
  /** The link cache (cache/README.md); `enabled: false` with CACHE=off. */
  cache: CacheConfig;
}

export class EdgeConfigError extends Error {
  override readonly name = "EdgeConfigError";
}

function parse(bindings: EdgeBindings): EdgeConfig {
  const e = parseEnv(
    EnvSchema,
    bindings,
    (p) => new EdgeConfigError(`invalid edge configuration: ${p}`),
  );
  return {
    originUrl: e.ORIGIN_URL,
    internalSecret: e.INTERNAL_SECRET ?? null,
    strategies: new Set(e.STRATEGY),
    ryowWindow: e.RYOW_WINDOW_SECONDS,
    ryowSecrets: [e.RYOW_SECRET, e.RYOW_PREVIOUS_SECRET].filter(
      (s): s is string => typeof s === "string",
    ),
    positionTtlSeconds: e.RYOW_POSITION_TTL_SECONDS,
    redisUrl: e.REDIS_URL ?? null,
    redisTimeoutMs: e.REDIS_TIMEOUT_MS,
    redisClient: e.REDIS_CLIENT,
    upstreamTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
    fallbackBudgetPerMinute: e.FALLBACK_BUDGET_PER_MINUTE,
    cache: cacheConfig(e),
  };
}

// workerd hands every request of an isolate the same env object: parse it once, not per request.
const parsed = new WeakMap<object, EdgeConfig>();

/** The parsed configuration for these bindings; throws EdgeConfigError with every problem. */
export function edgeConfig(bindings: EdgeBindings): EdgeConfig {
  let config = parsed.get(bindings);
  if (!config) {
    config = parse(bindings);
    parsed.set(bindings, config);
  }
  return config;
}

/** The hono environment of every edge route. */
export type EdgeEnv = { Bindings: EdgeBindings };
