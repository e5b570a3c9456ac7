import { optionalSetting } from "@firstclick/core";
import { z } from "zod";

/**
 * The cache's vars. A fragment the edge's env schema merges (`EnvSchema.extend(
 * CacheSettingsSchema.shape)`), then `cacheConfig(parsed)` gives the cache its options.
 */

export const DEFAULT_CACHE_MAX_TTL_SECONDS = 60;
/**
 * Zipf s = 1.1 over 100,000 links: the 50,000 most clicked hold about 97 % of the clicks
 * (zipf.ts), at about 250 bytes each (bench/cache-memory.ts) well inside an isolate's 128 MB.
 */
export const DEFAULT_CACHE_MAX_ENTRIES = 50_000;
export const DEFAULT_CACHE_MAX_BYTES = 16 * 1024 * 1024;

const count = (max: number) => z.coerce.number().int().min(1).max(max);

export const CacheSettingsSchema = z.object({
  // on: memory, then the location's Cache API; memory: the isolate's memory only; off: none.
  CACHE: optionalSetting(
    z.enum(["on", "memory", "off"], { error: "CACHE is on, memory or off" }),
  ).transform((v) => v ?? "on"),
  // An hour at most: past that a stranger could follow a deleted link for too long.
  CACHE_MAX_TTL_SECONDS: optionalSetting(count(3_600)).transform(
    (s) => s ?? DEFAULT_CACHE_MAX_TTL_SECONDS,
  ),
  CACHE_MAX_ENTRIES: optionalSetting(count(1_000_000)).transform(
    (n) => n ?? DEFAULT_CACHE_MAX_ENTRIES,
  ),
  // 64 MiB at most: half an isolate's memory limit.
  CACHE_MAX_BYTES: optionalSetting(
    z.coerce
      .number()
      .int()
      .min(64 * 1024, "at least 64 KiB")
      .max(64 * 1024 * 1024, "at most 64 MiB"),
  ).transform((n) => n ?? DEFAULT_CACHE_MAX_BYTES),
});
export type CacheSettings = z.output<typeof CacheSettingsSchema>;

export interface CacheConfig {
  enabled: boolean;
  /** Whether the location tier (`caches.default`) is used behind the memory tier. */
  location: boolean;
  maxTtlSeconds: number;
  maxEntries: number;
  maxBytes: number;
}

export function cacheConfig(s: CacheSettings): CacheConfig {
  return {
    enabled: s.CACHE !== "off",
    location: s.CACHE === "on",
    maxTtlSeconds: s.CACHE_MAX_TTL_SECONDS,
    maxEntries: s.CACHE_MAX_ENTRIES,
    maxBytes: s.CACHE_MAX_BYTES,
  };
}
