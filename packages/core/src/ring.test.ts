import { describe, expect, it } from "vitest";
import golden from "./ring.golden.json" with { type: "json" };
import { DEFAULT_VNODES, HashRing } from "./ring.ts";
import { seededCodes } from "./seeded-random.ts";

const FOUR = ["s0", "s1", "s2", "s3"];
const FIVE = [...FOUR, "s4"];

function counts(ring: HashRing, codes: readonly string[]): Map<string, number> {
  const c = new Map<string, number>();
  for (const code of codes) {
    const shard = ring.shardFor(code);
    c.set(shard, (c.get(shard) ?? 0) + 1);
  }
  return c;
}

describe("HashRing golden vectors (ring.golden.json)", () => {
  it("pins the hash, the vnode count and 1,000 codes", () => {
    expect(golden.hash).toBe("murmur3_x86_32");
    expect(golden.codes).toHaveLength(1000);
    expect(new Set(golden.codes).size).toBe(1000);
  });

  it("DEFAULT_VNODES is the count the golden rings use (changing it moves codes)", () => {
    for (const ring of golden.rings) expect(ring.vnodes).toBe(DEFAULT_VNODES);
  });

  it.each(golden.rings.map((r) => [r.shards.length, r] as const))(
    "every code routes to the same shard on the %i-shard ring",
    (_n, { shards, vnodes, owners }) => {
      const ring = new HashRing(shards, { vnodes });
      const mismatches = golden.codes
        .map((code, i) => ({ code, expected: owners[i], got: ring.shardFor(code) }))
        .filter((m) => m.expected !== m.got);
      expect(mismatches).toEqual([]);
    },
  );

  it("uses every shard in the golden rings", () => {
    for (const ring of golden.rings) expect(new Set(ring.owners).size).toBe(ring.shards.length);
  });
});

describe("HashRing construction", () => {
  it.each([
    ["no shards", [], {}, /at least one shard/],
    ["an empty shard id", ["s0", ""], {}, /non-empty/],
    ["a duplicate shard id", ["s0", "s1", "s0"], {}, /duplicate shard id "s0"/],
    ["zero vnodes", ["s0"], { vnodes: 0 }, /vnodes must be an integer ≥ 1/],
    ["negative vnodes", ["s0"], { vnodes: -4 }, /vnodes/],
    ["fractional vnodes", ["s0"], { vnodes: 1.5 }, /vnodes/],
    ["NaN vnodes", ["s0"], { vnodes: Number.NaN }, /vnodes/],
  ])("rejects %s", (_name, shards, options, message) => {
    expect(() => new HashRing(shards, options)).toThrow(message);
  });

  it("keeps the shard ids in the order given, as a frozen copy", () => {
    const ids = ["s2", "s0", "s1"];
    const ring = new HashRing(ids);
    ids.push("s9");
    expect(ring.shardIds).toEqual(["s2", "s0", "s1"]);
    expect(Object.isFrozen(ring.shardIds)).toBe(true);
    expect(ring.vnodes).toBe(DEFAULT_VNODES);
  });

  it("sends everything to the only shard of a one-shard ring", () => {
    const ring = new HashRing(["solo"], { vnodes: 3 });
    for (const code of seededCodes(1, 200)) expect(ring.shardFor(code)).toBe("solo");
  });
});

describe("HashRing routing", () => {
  const codes = seededCodes(7, 20_000);

  it.each([
    ["reversed", [...FIVE].reverse()],
    ["shuffled", ["s3", "s0", "s4", "s2", "s1"]],
    ["rotated", ["s2", "s3", "s4", "s0", "s1"]],
  ])("does not depend on the order of the shard ids (%s)", (_name, order) => {
    const reference = new HashRing(FIVE);
    const permuted = new HashRing(order);
    for (const code of codes) expect(permuted.shardFor(code)).toBe(reference.shardFor(code));
  });

  // murmur3_32("c90912#0") === murmur3_32("c111958#0") === 0x1b03bc03: with one vnode each, both
  // shards own the same single point. The smaller id (string order) must get it, in any order.
  it.each([
    ["given first", ["c111958", "c90912"]],
    ["given last", ["c90912", "c111958"]],
  ])("settles a point collision by shard id order (smaller id %s)", (_name, ids) => {
    const ring = new HashRing(ids, { vnodes: 1 });
    for (const code of codes.slice(0, 500)) expect(ring.shardFor(code)).toBe("c111958");
  });

  it("is deterministic across instances", () => {
    const a = new HashRing(FOUR);
    const b = new HashRing(FOUR);
    for (const code of codes) expect(a.shardFor(code)).toBe(b.shardFor(code));
  });

  it("routes any string, including non-ASCII and empty ones, to a ring shard", () => {
    const ring = new HashRing(FOUR);
    for (const code of ["", "é", "漢字", "😀", "a".repeat(10_000)]) {
      expect(FOUR).toContain(ring.shardFor(code));
    }
  });

  it("removing a shard moves only that shard's codes", () => {
    const before = new HashRing(FIVE);
    const after = new HashRing(["s0", "s1", "s3", "s4"]);
    for (const code of codes) {
      const was = before.shardFor(code);
      if (was !== "s2") expect(after.shardFor(code)).toBe(was);
    }
  });
});

// 1,000,000 deterministic codes: the balance and movement figures in README.md come from here.
describe("HashRing balance and movement (1,000,000 codes)", () => {
  const codes = seededCodes(42, 1_000_000);

  it("keeps every one of 4 shards within 10 % of the mean", () => {
    const c = counts(new HashRing(FOUR), codes);
    const mean = codes.length / FOUR.length;
    const max = Math.max(...c.values());
    const min = Math.min(...c.values());
    expect(c.size).toBe(4);
    expect(max / mean).toBeLessThanOrEqual(1.1);
    expect(min / mean).toBeGreaterThanOrEqual(0.9);
  });

  it("adding a 5th shard moves 15–25 % of codes, all onto the new shard", () => {
    const four = new HashRing(FOUR);
    const five = new HashRing(FIVE);
    let moved = 0;
    const movedElsewhere: string[] = [];
    for (const code of codes) {
      const from = four.shardFor(code);
      const to = five.shardFor(code);
      if (from === to) continue;
      moved++;
      if (to !== "s4" && movedElsewhere.length < 5) movedElsewhere.push(`${code}: ${from}→${to}`);
    }
    expect(movedElsewhere).toEqual([]);
    expect(moved / codes.length).toBeGreaterThanOrEqual(0.15);
    expect(moved / codes.length).toBeLessThanOrEqual(0.25);
  });
});
