import { describe, expect, it } from "vitest";
import {
  type FreshnessLookup,
  isFreshReply,
  RedisTimeoutError,
  redisStrategy,
  withTimeout,
} from "./strategy.ts";

const query = (code: string) => ({ code, cookieHeader: null, nowSeconds: 1_700_000_000 });

function strategyWith(lookup: FreshnessLookup, timeoutMs = 50) {
  const logged: string[] = [];
  let clock = 0;
  const strategy = redisStrategy(lookup, {
    timeoutMs,
    logError: (m) => logged.push(m),
    logEveryMs: 1_000,
    now: () => clock,
  });
  return { strategy, logged, advance: (ms: number) => (clock += ms) };
}

describe("redisStrategy", () => {
  it("routes a code Redis knows to the primary, any other to a replica", async () => {
    const fresh = new Set(["fresh01"]);
    const { strategy, logged } = strategyWith(async (code) => fresh.has(code));
    expect(strategy.name).toBe("redis");
    expect(await strategy.route(query("fresh01"))).toBe("primary");
    expect(await strategy.route(query("stale01"))).toBe("replica");
    expect(logged).toEqual([]);
  });

  it("reads a replica when Redis fails, and logs it", async () => {
    const { strategy, logged } = strategyWith(async () => {
      throw new Error("connection refused");
    });
    expect(await strategy.route(query("abc1234"))).toBe("replica");
    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain("connection refused");
  });

  it("gives up after the timeout, reads a replica, and aborts the lookup", async () => {
    let aborted: unknown = null;
    const { strategy, logged } = strategyWith(
      (_code, signal) =>
        new Promise<boolean>(() => {
          signal.addEventListener("abort", () => {
            aborted = signal.reason;
          });
        }),
      20,
    );
    const started = Date.now();
    expect(await strategy.route(query("abc1234"))).toBe("replica");
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(aborted).toBeInstanceOf(RedisTimeoutError);
    expect(logged[0]).toContain("no answer within 20 ms");
  });

  it("logs an outage once per interval, then says how many it left out", async () => {
    const { strategy, logged, advance } = strategyWith(async () => {
      throw new Error("down");
    });
    for (let i = 0; i < 5; i++) await strategy.route(query("abc1234"));
    expect(logged).toHaveLength(1);
    advance(1_000);
    await strategy.route(query("abc1234"));
    expect(logged).toHaveLength(2);
    expect(logged[1]).toContain("4 similar failures not logged");
  });
});

describe("isFreshReply", () => {
  it("a value is a hit, nil a miss", () => {
    expect(isFreshReply("1")).toBe(true);
    expect(isFreshReply(null)).toBe(false);
  });

  it.each([[1], [["a"]], [{ error: "x" }]])("anything else (%j) is a failure", (reply) => {
    expect(() => isFreshReply(reply)).toThrow(/redis/);
  });
});

describe("withTimeout", () => {
  it("passes the result through and does not fire afterwards", async () => {
    expect(await withTimeout(async () => 7, 10)).toBe(7);
  });

  it("passes a rejection through", async () => {
    await expect(
      withTimeout(async () => {
        throw new Error("boom");
      }, 1_000),
    ).rejects.toThrow("boom");
  });
});
