// What the cache adds to a redirect it cannot help (issue 14's h′): a code seen for the first
// time, looked up (a miss) and offered back after its gateway read, in workerd. CACHE=on's first
// miss asks the doorkeeper, not the Cache API (README.md, "Admission"). One op = OPS distinct
// codes; the test prints µs per miss, to set beside a gateway redirect's Worker CPU
// (BENCHMARKS.md, (c)).
import { expect, test } from "vitest";
import { LinkCache } from "./link-cache.ts";
import { LocationTier } from "./location-tier.ts";
import { DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_MAX_ENTRIES } from "./settings.ts";

const OPS = 1000;
const config = {
  maxTtlSeconds: 60,
  maxEntries: DEFAULT_CACHE_MAX_ENTRIES,
  maxBytes: DEFAULT_CACHE_MAX_BYTES,
};
const updatedAt = new Date(Date.now() - 86_400_000).toISOString();
const noBackground = () => {};
let next = 0;
let sink = 0;

async function missAndPut(cache: LinkCache): Promise<void> {
  const nowMs = Date.now();
  for (let i = 0; i < OPS; i++) {
    const code = `m${(next++).toString(36).padStart(6, "0")}`;
    if (await cache.get(code, { nowMs, bypass: false })) sink++;
    sink += cache.put(
      code,
      {
        kind: "found",
        url: `https://example.com/${code}`,
        redirectStatus: 302,
        updatedAt,
        expiresAt: null,
      },
      { nowMs, background: noBackground },
    );
  }
}

test("a first miss and its put", async ({ bench }) => {
  const memory = new LinkCache({ config, window: 30, location: null });
  const withLocation = new LinkCache({
    config,
    window: 30,
    location: new LocationTier(caches.default, { keyOrigin: "https://link-cache.bench.internal" }),
  });
  const [m, l] = [`CACHE=memory ×${OPS}`, `CACHE=on ×${OPS}`];
  const result = await bench.compare(
    bench(l, () => missAndPut(withLocation)),
    bench(m, () => missAndPut(memory)),
  );
  const perOp = (name: string) => (result.get(name as never).latency.mean * 1e3) / OPS;
  console.log(
    `first miss + put: CACHE=memory ${perOp(m).toFixed(2)} µs, CACHE=on ${perOp(l).toFixed(2)} µs`,
  );
  expect(sink).toBeGreaterThan(0);
});
