import type { LinkAnswer, RyowWindow } from "@firstclick/core";
import { DEFAULT_RYOW_WINDOW_SECONDS } from "@firstclick/core";

/**
 * How long the edge may answer for a link without asking a gateway (README.md beside this file).
 *
 * TTL = clamp(age / 10, 0, maxTtl), where age is the time since the link's last write. A link
 * that has not changed for ten minutes is unlikely to change in the next minute; one written a
 * minute ago is still being edited by its creator. The cap bounds how long a stranger can see an
 * old target after an edit or a delete that no purge reached. A link written inside the RYOW
 * window is never cached: its creator is still looking at it, and a replica may not have it yet.
 */

export const AGE_DIVISOR = 10;

export interface CacheTtlOptions {
  /** The RYOW window; `session` has no length of its own, so the default window stands in. */
  window: RyowWindow;
  maxTtlSeconds: number;
}

/**
 * What a gateway told us (core's parseLinkAnswer): a found link with the time of its last write
 * and its expiry, a gone one with the time of its last write when the gateway sent it.
 */
export type CacheableAnswer = Exclude<LinkAnswer, { kind: "behind" }>;

export function windowSeconds(window: RyowWindow): number {
  return window === "session" ? DEFAULT_RYOW_WINDOW_SECONDS : window;
}

/** Whole seconds the answer may be served from a cache; 0: do not cache it. */
export function cacheTtlSeconds(
  answer: CacheableAnswer,
  nowMs: number,
  o: CacheTtlOptions,
): number {
  // A code that does not exist may be created any second, and the fallback strategy promises
  // strangers a new link before replicas have it: a cached 404 would break that promise.
  if (answer.kind === "missing") return 0;
  // A gone answer without its time of death has no age: treat it as young.
  if (answer.updatedAt === undefined) return 0;
  const writtenMs = Date.parse(answer.updatedAt);
  const ageSeconds = (nowMs - writtenMs) / 1000;
  // NaN (unparsable) and a write in the future (clock skew) both fail this test.
  if (!(ageSeconds >= windowSeconds(o.window))) return 0;
  let ttl = Math.min(ageSeconds / AGE_DIVISOR, o.maxTtlSeconds);
  if (answer.kind === "found" && answer.expiresAt) {
    // Never redirect past the link's own expiry.
    const untilExpiry = (Date.parse(answer.expiresAt) - nowMs) / 1000;
    ttl = untilExpiry > 0 ? Math.min(ttl, untilExpiry) : 0;
  }
  return Math.max(0, Math.floor(ttl));
}
