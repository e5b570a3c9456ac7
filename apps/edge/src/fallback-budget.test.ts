import { describe, expect, it } from "vitest";
import { FallbackBudget } from "./fallback-budget.ts";

describe("FallbackBudget", () => {
  it("allows perMinute fallbacks at once, then refills continuously", () => {
    const budget = new FallbackBudget(3, 0);
    expect([1, 2, 3, 4].map(() => budget.tryTake(0))).toEqual([true, true, true, false]);
    expect(budget.tryTake(19_999)).toBe(false);
    expect(budget.tryTake(20_000)).toBe(true); // 60 s / 3 = one token per 20 s
    expect(budget.tryTake(20_001)).toBe(false);
  });

  it("never holds more than perMinute tokens", () => {
    const budget = new FallbackBudget(2, 0);
    const taken = [0, 0, 0].map(() => budget.tryTake(3_600_000)).filter(Boolean);
    expect(taken).toHaveLength(2);
  });

  it("0 disables fallback; a clock going backwards adds nothing", () => {
    expect(new FallbackBudget(0, 0).tryTake(1e9)).toBe(false);
    const budget = new FallbackBudget(1, 1_000_000);
    expect(budget.tryTake(1_000_000)).toBe(true);
    expect(budget.tryTake(0)).toBe(false);
  });
});
