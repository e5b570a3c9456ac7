import { describe, expect, it } from "vitest";
import type { CacheEntry } from "./entry.ts";
import { LocationTier } from "./location-tier.ts";

// The Cache API of miniflare's workerd: the same code paths as a Cloudflare location.
const tier = new LocationTier(caches.default, { keyOrigin: "https://edge.firstclick.test/" });
let n = 0;
const code = () => `loc${Date.now().toString(36)}${++n}`;
const entry = (nowMs: number, ttlSeconds: number): CacheEntry => ({
  answer: {
    kind: "found",
    url: "https://example.com/a",
    redirectStatus: 308,
    updatedAt: "2026-01-01T00:00:00.000Z",
  },
  fetchedAtMs: nowMs,
  expiresAtMs: nowMs + ttlSeconds * 1000,
});

describe("LocationTier (caches.default)", () => {
  it("round-trips an entry, then purge removes it", async () => {
    const c = code();
    const now = Date.now();
    await tier.put(c, entry(now, 30), now);
    expect(await tier.get(c, now)).toEqual(entry(now, 30));
    expect(await tier.purge(c)).toBe(true);
    expect(await tier.get(c, now)).toBeUndefined();
    expect(await tier.purge(c)).toBe(false);
  });

  it("keeps a deleted link's answer apart from other codes", async () => {
    const [a, b] = [code(), code()];
    const now = Date.now();
    const gone: CacheEntry = {
      answer: { kind: "gone", reason: "deleted", updatedAt: "2026-01-01T00:00:00.000Z" },
      fetchedAtMs: now,
      expiresAtMs: now + 10_000,
    };
    await tier.put(a, gone, now);
    expect(await tier.get(a, now)).toEqual(gone);
    expect(await tier.get(b, now)).toBeUndefined();
  });

  it("does not serve an entry past its own expiry, whatever the location still holds", async () => {
    const c = code();
    const now = Date.now();
    await tier.put(c, entry(now, 5), now);
    expect(await tier.get(c, now + 4_999)).toBeDefined();
    expect(await tier.get(c, now + 5_000)).toBeUndefined();
  });

  it("writes nothing for less than a second of life", async () => {
    const c = code();
    const now = Date.now();
    await tier.put(c, { ...entry(now, 0), expiresAtMs: now + 900 }, now);
    expect(await caches.default.match(tier.key(c))).toBeUndefined();
  });

  it("a document that is not an entry (older version, corruption) is a miss", async () => {
    const c = code();
    const headers = { "cache-control": "max-age=60" };
    await caches.default.put(tier.key(c), new Response('{"answer":{"kind":"found"}}', { headers }));
    expect(await tier.get(c, Date.now())).toBeUndefined();
    await caches.default.put(tier.key(c), new Response("not json", { headers }));
    expect(await tier.get(c, Date.now())).toBeUndefined();
  });
});
