import { describe, expect, it } from "vitest";
import { ttlCacheReadsPerClick, zipfSampler, zipfTopShare } from "./zipf.ts";

/** Evenly spaced draws: the counts follow the distribution exactly, no randomness involved. */
function counts(n: number, s: number, draws: number): number[] {
  const sample = zipfSampler(n, s);
  const out = new Array<number>(n).fill(0);
  for (let i = 0; i < draws; i++) {
    const rank = sample((i + 0.5) / draws);
    out[rank] = (out[rank] ?? 0) + 1;
  }
  return out;
}

describe("zipfSampler", () => {
  it("s = 1 over 3 items: probabilities 6/11, 3/11, 2/11", () => {
    expect(counts(3, 1, 11_000)).toEqual([6_000, 3_000, 2_000]);
  });

  it("rank k is drawn about k^-s times as often as rank 1 (s = 1.1, 100,000 items)", () => {
    const c = counts(100_000, 1.1, 1_000_000);
    const first = c[0] ?? 0;
    expect(first / 1_000_000).toBeCloseTo(1 / 7.4, 1);
    expect((c[9] ?? 0) / first).toBeCloseTo(10 ** -1.1, 2);
    expect(c.every((v, i) => i === 0 || v <= (c[i - 1] ?? 0) + 1)).toBe(true);
  });

  it("covers the whole range: u near 0 is rank 0, u near 1 is the last rank", () => {
    const sample = zipfSampler(1_000, 1.1);
    expect(sample(0)).toBe(0);
    expect(sample(0.999_999_999)).toBe(999);
  });

  it.each([
    [0, 1.1],
    [2.5, 1.1],
    [10, 0],
    [10, Number.NaN],
  ])("refuses n = %s, s = %s", (n, s) => {
    expect(() => zipfSampler(n, s)).toThrow(RangeError);
  });
});

describe("zipfTopShare", () => {
  it("the top half of 100,000 links at s = 1.1 gets about 97 % of the clicks", () => {
    expect(zipfTopShare(100_000, 1.1, 50_000)).toBeGreaterThan(0.96);
    expect(zipfTopShare(100_000, 1.1, 1_000)).toBeLessThan(0.8);
    expect(zipfTopShare(10, 1.1, 0)).toBe(0);
    expect(zipfTopShare(10, 1.1, 10)).toBe(1);
  });
});

describe("ttlCacheReadsPerClick", () => {
  it("is every click with no clicks per TTL, and falls as clicks per TTL grow", () => {
    expect(ttlCacheReadsPerClick(1_000, 1.1, 0)).toBeCloseTo(1, 12);
    const curve = [1e3, 1e4, 1e5, 1e6].map((c) => ttlCacheReadsPerClick(1_000, 1.1, c));
    for (let i = 1; i < curve.length; i++) expect(curve[i]).toBeLessThan(curve[i - 1] ?? 0);
  });

  it("one item clicked R·T times per TTL is read once per TTL: 1 / (1 + R·T)", () => {
    expect(ttlCacheReadsPerClick(1, 1.1, 99)).toBeCloseTo(0.01, 12);
  });

  it("agrees with a simulated TTL cache (Poisson clicks) within a few percent", () => {
    const n = 200;
    const clicksPerTtl = 500;
    const sample = zipfSampler(n, 1.1);
    let seed = 7;
    const u = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    const expires = new Float64Array(n);
    let reads = 0;
    const clicks = 200_000;
    let t = 0;
    for (let i = 0; i < clicks; i++) {
      t += -Math.log(1 - u()) / clicksPerTtl; // TTL = 1
      const k = sample(u());
      if ((expires[k] ?? 0) <= t) {
        reads++;
        expires[k] = t + 1;
      }
    }
    expect(reads / clicks).toBeCloseTo(ttlCacheReadsPerClick(n, 1.1, clicksPerTtl), 2);
  });

  it("refuses a negative rate", () => {
    expect(() => ttlCacheReadsPerClick(10, 1.1, -1)).toThrow(RangeError);
  });
});
