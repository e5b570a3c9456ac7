import { describe, expect, it } from "vitest";
import { type CacheableAnswer, cacheTtlSeconds } from "./ttl.ts";

const NOW = Date.parse("2026-11-20T12:00:00Z");
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();
const found = (updatedAt: string, expiresAt: string | null = null): CacheableAnswer => ({
  kind: "found",
  url: "https://example.com/",
  redirectStatus: 302,
  updatedAt,
  expiresAt,
});
const options = { window: 30, maxTtlSeconds: 60 } as const;

describe("cacheTtlSeconds", () => {
  it.each([
    ["written just now", ago(0), 0],
    ["inside the window", ago(29.9), 0],
    ["at the window's end", ago(30), 3],
    ["a minute old", ago(60), 6],
    ["five minutes old", ago(300), 30],
    ["ten minutes old: the cap", ago(600), 60],
    ["a year old: still the cap", ago(365 * 86_400), 60],
    ["written in the future (clock skew)", ago(-120), 0],
    ["an unparsable time", "yesterday", 0],
  ])("found, %s → %i s", (_, updatedAt, ttl) => {
    expect(cacheTtlSeconds(found(updatedAt), NOW, options)).toBe(ttl);
  });

  it("the window decides what is young: a 120 s window keeps a 100 s old link out", () => {
    expect(cacheTtlSeconds(found(ago(100)), NOW, { window: 120, maxTtlSeconds: 60 })).toBe(0);
    expect(cacheTtlSeconds(found(ago(100)), NOW, { window: 30, maxTtlSeconds: 60 })).toBe(10);
  });

  it("a session window counts as the default 30 s", () => {
    const session = { window: "session", maxTtlSeconds: 60 } as const;
    expect(cacheTtlSeconds(found(ago(29)), NOW, session)).toBe(0);
    expect(cacheTtlSeconds(found(ago(40)), NOW, session)).toBe(4);
  });

  it("CACHE_MAX_TTL_SECONDS caps every entry", () => {
    expect(cacheTtlSeconds(found(ago(86_400)), NOW, { window: 30, maxTtlSeconds: 5 })).toBe(5);
  });

  it("never outlives the link's expiry", () => {
    const in20s = new Date(NOW + 20_000).toISOString();
    expect(cacheTtlSeconds(found(ago(3600), in20s), NOW, options)).toBe(20);
    expect(cacheTtlSeconds(found(ago(3600), ago(1)), NOW, options)).toBe(0);
    expect(cacheTtlSeconds(found(ago(3600), "soon"), NOW, options)).toBe(0);
  });

  it("gone: by the age of the delete when known, else not cached", () => {
    expect(cacheTtlSeconds({ kind: "gone", reason: "deleted" }, NOW, options)).toBe(0);
    expect(
      cacheTtlSeconds({ kind: "gone", reason: "deleted", updatedAt: ago(10) }, NOW, options),
    ).toBe(0);
    expect(
      cacheTtlSeconds({ kind: "gone", reason: "expired", updatedAt: ago(900) }, NOW, options),
    ).toBe(60);
  });

  it("a code that does not exist is never cached", () => {
    expect(cacheTtlSeconds({ kind: "missing" }, NOW, options)).toBe(0);
  });
});
