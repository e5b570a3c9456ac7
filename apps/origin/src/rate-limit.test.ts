import { describe, expect, it } from "vitest";
import { TokenBucketLimiter } from "./rate-limit.ts";

describe("TokenBucketLimiter", () => {
  it("allows a burst of perMinute, then refills evenly", () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ perMinute: 6, now: () => now });
    for (let i = 0; i < 6; i++) expect(limiter.take("a")).toEqual({ ok: true });
    expect(limiter.take("a")).toEqual({ ok: false, retryAfterSeconds: 10 });
    now += 9_000;
    expect(limiter.take("a")).toEqual({ ok: false, retryAfterSeconds: 1 });
    now += 1_000;
    expect(limiter.take("a")).toEqual({ ok: true });
    expect(limiter.take("b")).toEqual({ ok: true });
  });

  it("0 per minute means no limit", () => {
    const limiter = new TokenBucketLimiter({ perMinute: 0 });
    for (let i = 0; i < 1_000; i++) expect(limiter.take("a").ok).toBe(true);
  });

  it("keeps the number of tracked clients bounded", () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ perMinute: 2, now: () => now, maxKeys: 10 });
    for (let i = 0; i < 1_000; i++) {
      now += 1;
      limiter.take(`client-${i}`);
    }
    // The newest clients are still limited; evicted old ones simply start with a full bucket.
    expect(limiter.take("client-999")).toEqual({ ok: true });
    expect(limiter.take("client-999").ok).toBe(false);
  });
});
