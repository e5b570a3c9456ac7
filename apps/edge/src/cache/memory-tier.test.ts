import { describe, expect, it } from "vitest";
import { type CacheEntry, ENTRY_OVERHEAD_BYTES, entryBytes } from "./entry.ts";
import { MemoryTier } from "./memory-tier.ts";

const entry = (url = "https://example.com/", expiresAtMs = 60_000): CacheEntry => ({
  answer: { kind: "found", url, redirectStatus: 302, updatedAt: "2026-01-01T00:00:00.000Z" },
  fetchedAtMs: 0,
  expiresAtMs,
});
const held = (tier: MemoryTier, codes: string[]) =>
  codes.filter((c) => tier.get(c, 1) !== undefined);

describe("MemoryTier", () => {
  it("holds at most maxEntries, evicting the least recently used", () => {
    const tier = new MemoryTier({ maxEntries: 3, maxBytes: 1_000_000 });
    for (const code of ["a", "b", "c"]) tier.set(code, entry(), 0);
    tier.get("a", 0); // a is now the most recently used: b goes first
    tier.set("d", entry(), 0);
    expect(held(tier, ["a", "b", "c", "d"])).toEqual(["a", "c", "d"]);
    expect(tier.entries).toBe(3);
  });

  it("holds at most maxBytes: long targets take more room", () => {
    const small = entryBytes("s1", entry());
    const tier = new MemoryTier({ maxEntries: 1_000, maxBytes: small * 4 });
    for (const code of ["s1", "s2", "s3", "s4"]) tier.set(code, entry(), 0);
    expect(tier.bytes).toBe(small * 4);
    // One target as long as two entries: the two least recently used make room.
    const long = entry(`https://example.com/${"x".repeat(ENTRY_OVERHEAD_BYTES / 2)}`);
    expect(entryBytes("l1", long)).toBeGreaterThan(small);
    expect(entryBytes("l1", long)).toBeLessThanOrEqual(small * 2);
    tier.set("l1", long, 0);
    expect(held(tier, ["s1", "s2", "s3", "s4", "l1"])).toEqual(["s3", "s4", "l1"]);
    expect(tier.bytes).toBeLessThanOrEqual(small * 4);
  });

  it("an entry larger than the whole bound is not kept", () => {
    const tier = new MemoryTier({ maxEntries: 10, maxBytes: 300 });
    tier.set("big", entry(`https://example.com/${"y".repeat(500)}`), 0);
    expect(tier.get("big", 1)).toBeUndefined();
    expect(tier.bytes).toBe(0);
  });

  it("an expired entry is never served and leaves the tier", () => {
    const tier = new MemoryTier({ maxEntries: 10, maxBytes: 100_000 });
    tier.set("e", entry(undefined, 5_000), 0);
    expect(tier.get("e", 4_999)).toBeDefined();
    expect(tier.get("e", 5_000)).toBeUndefined();
    expect(tier.entries).toBe(0);
    expect(tier.set("late", entry(undefined, 5_000), 5_000)).toBe(false);
  });

  it("a purged code is refused until the purge runs out", () => {
    const tier = new MemoryTier({ maxEntries: 10, maxBytes: 100_000 });
    tier.set("p", entry(), 0);
    tier.purge("p", 30_000);
    expect(tier.get("p", 1)).toBeUndefined();
    expect(tier.set("p", entry(undefined, 90_000), 29_999)).toBe(false);
    expect(tier.refuses("p", 29_999)).toBe(true);
    expect(tier.set("p", entry(undefined, 90_000), 30_000)).toBe(true);
    expect(tier.get("p", 30_001)?.expiresAtMs).toBe(90_000);
  });
});
