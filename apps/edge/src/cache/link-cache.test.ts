import { parseLinkAnswer } from "@firstclick/core";
import { describe, expect, it } from "vitest";
import { LinkCache } from "./link-cache.ts";
import { type LocationCache, LocationTier } from "./location-tier.ts";
import type { CacheableAnswer } from "./ttl.ts";

const config = { maxTtlSeconds: 60, maxEntries: 100, maxBytes: 1_000_000 };
let n = 0;
const code = () => `lc${Date.now().toString(36)}${++n}`;
const found = (nowMs: number, ageSeconds: number, url = "https://example.com/old") =>
  ({
    kind: "found",
    url,
    redirectStatus: 302,
    updatedAt: new Date(nowMs - ageSeconds * 1000).toISOString(),
    expiresAt: null,
  }) satisfies CacheableAnswer;

/** Collects background tasks so a test can await the location writes. */
function tasks() {
  const pending: Promise<unknown>[] = [];
  return {
    background: (t: Promise<unknown>) => void pending.push(t),
    settle: () => Promise.all(pending),
  };
}

/**
 * A code missed twice in this isolate (e.g. its first gateway answer was not cacheable), so the
 * second lookup reached the location and the gateway's answer is written there too.
 */
async function missTwice(
  cache: LinkCache,
  c: string,
  nowMs: number,
  answer: CacheableAnswer,
  t: ReturnType<typeof tasks>,
): Promise<number> {
  expect(await cache.get(c, { nowMs, bypass: false })).toBeNull();
  expect(await cache.get(c, { nowMs, bypass: false })).toBeNull();
  const ttl = cache.put(c, answer, { nowMs, background: t.background });
  await t.settle();
  return ttl;
}

function setup(keyOrigin = "https://edge.firstclick.test") {
  const location = new LocationTier(caches.default, { keyOrigin });
  const errors: string[] = [];
  const make = () =>
    new LinkCache({ config, window: 30, location, logError: (m) => errors.push(m) });
  return { location, make, errors };
}

describe("LinkCache", () => {
  it("an old link is answered from memory after the first gateway read", async () => {
    const { make } = setup();
    const cache = make();
    const c = code();
    const now = Date.now();
    const t = tasks();
    expect(await cache.get(c, { nowMs: now, bypass: false })).toBeNull();
    expect(cache.put(c, found(now, 3600), { nowMs: now, background: t.background })).toBe(60);
    await t.settle();
    const hit = await cache.get(c, { nowMs: now + 1, bypass: false });
    expect(hit?.tier).toBe("memory");
    expect(hit?.entry).toMatchObject({ fetchedAtMs: now, expiresAtMs: now + 60_000 });
    const { expiresAt: _, ...answer } = found(now, 3600);
    expect(hit?.entry.answer).toEqual(answer);
  });

  it("another isolate of the location finds it in the Cache API, then in its own memory", async () => {
    const { make } = setup();
    const c = code();
    const now = Date.now();
    const t = tasks();
    await missTwice(make(), c, now, found(now, 600), t);
    const other = make();
    // Its own doorkeeper: the first miss there goes to a gateway, the second finds the location's.
    expect(await other.get(c, { nowMs: now, bypass: false })).toBeNull();
    expect((await other.get(c, { nowMs: now, bypass: false }))?.tier).toBe("location");
    expect((await other.get(c, { nowMs: now, bypass: false }))?.tier).toBe("memory");
  });

  it("never caches a link written inside the RYOW window, nor a missing code", async () => {
    const { make, location } = setup();
    const cache = make();
    const [young, missing] = [code(), code()];
    const now = Date.now();
    const t = tasks();
    expect(cache.put(young, found(now, 29), { nowMs: now, background: t.background })).toBe(0);
    expect(cache.put(missing, { kind: "missing" }, { nowMs: now, background: t.background })).toBe(
      0,
    );
    await t.settle();
    expect(await cache.get(young, { nowMs: now, bypass: false })).toBeNull();
    expect(await cache.get(missing, { nowMs: now, bypass: false })).toBeNull();
    expect(await location.get(young, now)).toBeUndefined();
    expect(cache.memory.entries).toBe(0);
  });

  it("bypass (creator routed to the primary) never sees a cached entry", async () => {
    const { make } = setup();
    const cache = make();
    const c = code();
    const now = Date.now();
    const t = tasks();
    cache.put(c, found(now, 3600), { nowMs: now, background: t.background });
    await t.settle();
    expect(await cache.get(c, { nowMs: now, bypass: true })).toBeNull();
    expect(await cache.get(c, { nowMs: now, bypass: false })).not.toBeNull();
  });

  it("purge drops memory and location; a lagging replica cannot put the old target back", async () => {
    const { make, location } = setup();
    const cache = make();
    const c = code();
    const now = Date.now();
    const t = tasks();
    await missTwice(cache, c, now, found(now, 3600), t);
    expect(await cache.purge(c, now + 10)).toEqual({ location: true });
    expect(await cache.get(c, { nowMs: now + 10, bypass: false })).toBeNull();
    expect(await location.get(c, now + 10)).toBeUndefined();
    // The replica still has the pre-edit row (old updatedAt): refused for the window.
    expect(cache.put(c, found(now, 3600), { nowMs: now + 20, background: t.background })).toBe(0);
    await t.settle();
    expect(await location.get(c, now + 20)).toBeUndefined();
    // After the window the replica has long replayed the edit: its answer is cacheable again.
    const later = now + 10 + 30_000;
    expect(
      cache.put(c, found(later, 3600, "https://example.com/new"), {
        nowMs: later,
        background: t.background,
      }),
    ).toBe(60);
  });

  it("a Cache API that throws is a miss and a log line, never an error", async () => {
    const broken: LocationCache = {
      match: () => Promise.reject(new Error("cache down")),
      put: () => Promise.reject(new Error("cache down")),
      delete: () => Promise.resolve(false),
    };
    const errors: string[] = [];
    const cache = new LinkCache({
      config,
      window: 30,
      location: new LocationTier(broken, { keyOrigin: "https://edge.firstclick.test" }),
      logError: (m) => errors.push(m),
    });
    const c = code();
    const now = Date.now();
    const t = tasks();
    expect(await missTwice(cache, c, now, found(now, 3600), t)).toBe(60);
    expect(errors).toHaveLength(2);
    expect((await cache.get(c, { nowMs: now, bypass: false }))?.tier).toBe("memory");
  });

  it("without a location tier the cache is memory only", async () => {
    const cache = new LinkCache({ config, window: "session", location: null });
    const c = code();
    const now = Date.now();
    const t = tasks();
    expect(cache.put(c, found(now, 40), { nowMs: now, background: t.background })).toBe(4);
    expect(await t.settle()).toEqual([]); // nothing sent to a location
    expect(await cache.purge(c, now)).toEqual({ location: false });
  });
});

/** caches.default, counting the calls the cache makes. */
function counted() {
  const calls = { match: 0, put: 0 };
  const cache: LocationCache = {
    match: (key) => {
      calls.match++;
      return caches.default.match(key);
    },
    put: (key, res) => {
      calls.put++;
      return caches.default.put(key, res);
    },
    delete: (key) => caches.default.delete(key),
  };
  const make = () =>
    new LinkCache({
      config,
      window: 30,
      location: new LocationTier(cache, { keyOrigin: "https://edge.firstclick.test" }),
    });
  return { calls, make };
}

describe("LinkCache admission to the location tier (doorkeeper)", () => {
  it("a code clicked once never touches the Cache API: no lookup, no write", async () => {
    const { calls, make } = counted();
    const cache = make();
    const now = Date.now();
    const t = tasks();
    // Fixed codes: the Bloom filters hash deterministically, and 50 random codes at a 1 % false
    // positive rate would hit one about every other run (a false positive is a location lookup).
    for (let i = 0; i < 50; i++) {
      const c = `once${i}`;
      expect(await cache.get(c, { nowMs: now, bypass: false })).toBeNull();
      expect(cache.put(c, found(now, 3600), { nowMs: now, background: t.background })).toBe(60);
    }
    await t.settle();
    expect(calls).toEqual({ match: 0, put: 0 });
    // Still cached in memory: a second click in this isolate is a memory hit.
    expect(cache.memory.entries).toBe(50);
  });

  it("a code missed a second time is looked up in the location and its answer written there", async () => {
    const { calls, make } = counted();
    const cache = make();
    const c = code();
    const now = Date.now();
    const t = tasks();
    expect(await cache.get(c, { nowMs: now, bypass: false })).toBeNull();
    cache.put(c, found(now, 3600), { nowMs: now, background: t.background });
    expect((await cache.get(c, { nowMs: now + 1, bypass: false }))?.tier).toBe("memory");
    // The memory entry expired (60 s cap): the second miss asks the location, then writes it.
    const later = now + 61_000;
    expect(await cache.get(c, { nowMs: later, bypass: false })).toBeNull();
    expect(calls).toEqual({ match: 1, put: 0 });
    cache.put(c, found(later, 3600), { nowMs: later, background: t.background });
    await t.settle();
    expect(calls).toEqual({ match: 1, put: 1 });
    // Another isolate's second miss finds it there.
    const other = make();
    expect(await other.get(c, { nowMs: later, bypass: false })).toBeNull();
    expect((await other.get(c, { nowMs: later, bypass: false }))?.tier).toBe("location");
    expect(calls).toEqual({ match: 2, put: 1 });
  });

  it("a bypassed request's answer is not written to the location", async () => {
    const { calls, make } = counted();
    const cache = make();
    const c = code();
    const now = Date.now();
    const t = tasks();
    expect(await cache.get(c, { nowMs: now, bypass: true })).toBeNull();
    cache.put(c, found(now, 3600), { nowMs: now, background: t.background });
    await t.settle();
    expect(calls).toEqual({ match: 0, put: 0 });
  });
});

/** A gateway's answer body, read as the redirect path reads it (core's parseLinkAnswer). */
function fromGateway(status: number, body: unknown): CacheableAnswer {
  const answer = parseLinkAnswer(status, body);
  if (!answer || answer.kind === "behind") throw new Error(`not a servable answer: ${status}`);
  return answer;
}

describe("LinkCache with the gateway's answers", () => {
  it("an expiring link is cached until its expiry at most, and not served after it", async () => {
    const cache = new LinkCache({ config, window: 30, location: null });
    const c = code();
    const now = Date.now();
    const t = tasks();
    const answer = fromGateway(200, {
      code: c,
      url: "https://example.com/sale",
      redirectStatus: 302,
      expiresAt: new Date(now + 20_000).toISOString(),
      updatedAt: new Date(now - 86_400_000).toISOString(),
    });
    expect(cache.put(c, answer, { nowMs: now, background: t.background })).toBe(20);
    expect(
      (await cache.get(c, { nowMs: now + 19_000, bypass: false }))?.entry.answer,
    ).toMatchObject({ kind: "found", url: "https://example.com/sale" });
    expect(await cache.get(c, { nowMs: now + 20_000, bypass: false })).toBeNull();
  });

  it("a link already past its expiry is not cached at all", () => {
    const cache = new LinkCache({ config, window: 30, location: null });
    const now = Date.now();
    const answer = fromGateway(200, {
      code: "expired1",
      url: "https://example.com/",
      redirectStatus: 302,
      expiresAt: new Date(now - 1_000).toISOString(),
      updatedAt: new Date(now - 86_400_000).toISOString(),
    });
    expect(cache.put("expired1", answer, { nowMs: now, background: tasks().background })).toBe(0);
  });

  it("a 410 gone for a link deleted long ago is cached and served as gone", async () => {
    const { make, location } = setup();
    const cache = make();
    const c = code();
    const now = Date.now();
    const t = tasks();
    const gone = fromGateway(410, {
      code: c,
      reason: "deleted",
      updatedAt: new Date(now - 3_600_000).toISOString(),
    });
    expect(await missTwice(cache, c, now, gone, t)).toBe(60);
    const hit = await cache.get(c, { nowMs: now + 1, bypass: false });
    expect(hit).toMatchObject({
      tier: "memory",
      entry: { answer: { kind: "gone", reason: "deleted" } },
    });
    expect((await location.get(c, now + 1))?.answer).toMatchObject({ kind: "gone" });
  });

  it("a 410 gone deleted inside the RYOW window is not cached", () => {
    const cache = new LinkCache({ config, window: 30, location: null });
    const now = Date.now();
    const gone = fromGateway(410, {
      code: "fresh410",
      reason: "deleted",
      updatedAt: new Date(now - 5_000).toISOString(),
    });
    expect(cache.put("fresh410", gone, { nowMs: now, background: tasks().background })).toBe(0);
  });
});

describe("LinkCache and position tokens", () => {
  const readAt = { shard: "s0", timeline: 2 };
  const need = (lsn: string, o: Partial<typeof readAt> = {}) => ({ ...readAt, ...o, lsn });
  const stamped = (nowMs: number) => ({ ...found(nowMs, 3600), lsn: "0/5000000" });

  it("an entry a replica read at L serves a token at or before L on its shard and timeline, no other", async () => {
    const { make } = setup();
    const cache = make();
    const c = code();
    const now = Date.now();
    cache.put(c, stamped(now), { nowMs: now, background: () => {}, readAt });
    const get = (position: ReturnType<typeof need>) =>
      cache.get(c, { nowMs: now, bypass: false, position });
    expect((await get(need("0/4FFFFFF")))?.tier).toBe("memory");
    expect((await get(need("0/5000000")))?.entry.position).toEqual({ ...readAt, lsn: "0/5000000" });
    expect(await get(need("0/5000001"))).toBeNull();
    expect(await get(need("0/100", { shard: "s1" }))).toBeNull();
    // A failover since the read: the entry's timeline is no longer the shard's.
    expect(await get(need("0/100", { timeline: 3 }))).toBeNull();
    // A stranger (no token) is served as ever.
    expect((await cache.get(c, { nowMs: now, bypass: false }))?.tier).toBe("memory");
  });

  it("an answer without a position (a primary's, or no shard known) never serves a token", async () => {
    const { make } = setup();
    const cache = make();
    const [primaryRead, unplaced] = [code(), code()];
    const now = Date.now();
    cache.put(primaryRead, found(now, 3600), { nowMs: now, background: () => {}, readAt });
    cache.put(unplaced, stamped(now), { nowMs: now, background: () => {} });
    for (const c of [primaryRead, unplaced]) {
      expect(await cache.get(c, { nowMs: now, bypass: false, position: need("0/1") })).toBeNull();
      expect(await cache.get(c, { nowMs: now, bypass: false })).not.toBeNull();
    }
  });

  it("the location tier keeps the position for the location's other isolates", async () => {
    const { make } = setup();
    const c = code();
    const now = Date.now();
    const t = tasks();
    const first = make();
    expect(await first.get(c, { nowMs: now, bypass: false })).toBeNull();
    expect(await first.get(c, { nowMs: now, bypass: false })).toBeNull();
    first.put(c, stamped(now), { nowMs: now, background: t.background, readAt });
    await t.settle();
    const other = make();
    expect(await other.get(c, { nowMs: now, bypass: false })).toBeNull();
    const hit = await other.get(c, { nowMs: now, bypass: false, position: need("0/5000000") });
    expect(hit?.tier).toBe("location");
  });
});
