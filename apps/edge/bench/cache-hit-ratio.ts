/**
 * `npx tsx bench/cache-hit-ratio.ts` (from apps/edge; `npm run bench:hit-ratio -w
 * @firstclick/edge`): the steady-state hit ratio of the isolate's memory tier as a function of
 * the click rate one cache sees, for Zipf s = 1.1 over 100,000 links a day old (so every entry
 * lives the whole TTL cap, 60 s). The real LinkCache with a simulated clock: clicks evenly spaced
 * at the rate, a warm-up of three TTLs, then two TTLs measured. Beside it, the closed form for a
 * TTL cache without a size bound (zipf.ts, ttlCacheReadsPerClick): Σ pᵢ / (1 + R·pᵢ·T).
 *
 * The bench's workerd runs reach a few thousand redirects per second on this machine, and the
 * ratio depends on clicks per TTL only; this gives it at the rates the capacity model needs.
 */
import { mulberry32, seededCodes } from "@firstclick/core";
import { LinkCache } from "../src/cache/link-cache.ts";
import { DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_MAX_ENTRIES } from "../src/cache/settings.ts";
import { ttlCacheReadsPerClick, zipfSampler } from "../src/cache/zipf.ts";

const LINKS = 100_000;
const S = 1.1;
const TTL_SECONDS = 60;
/** Rates to simulate: the first argument, comma-separated, or these; entries: the second. */
const RATES = (process.argv[2] ?? "300,2000,10000,33000,100000").split(",").map(Number);
const ENTRIES = Number(process.argv[3] ?? DEFAULT_CACHE_MAX_ENTRIES);

const codes = seededCodes(1, LINKS);

const t0 = Date.parse("2026-12-01T12:00:00Z");
const updatedAt = new Date(t0 - 86_400_000).toISOString();
const noBackground = () => {};

function simulate(rate: number): { reads: number; entries: number } {
  const cache = new LinkCache({
    config: {
      maxTtlSeconds: TTL_SECONDS,
      maxEntries: ENTRIES,
      maxBytes: Math.max(DEFAULT_CACHE_MAX_BYTES, ENTRIES * 400),
    },
    window: 30,
    location: null,
  });
  const sample = zipfSampler(LINKS, S);
  const u = mulberry32(rate);
  const perTtl = rate * TTL_SECONDS;
  const warm = 3 * perTtl;
  const measured = 2 * perTtl;
  let misses = 0;
  for (let i = 0; i < warm + measured; i++) {
    const nowMs = t0 + (i * 1000) / rate;
    const code = codes[sample(u())] ?? "";
    if (cache.fromMemory(code, nowMs)) continue;
    if (i >= warm) misses++;
    cache.put(
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
  return { reads: misses / measured, entries: cache.memory.entries };
}

console.log(
  `Zipf s=${S} over ${LINKS.toLocaleString("en")} links, TTL ${TTL_SECONDS} s, memory tier ${ENTRIES.toLocaleString("en")} entries`,
);
console.log(
  "| clicks/s at one cache | clicks per TTL | reads per redirect (LinkCache) | closed form, no size bound | entries held |",
);
console.log("| ---: | ---: | ---: | ---: | ---: |");
for (const rate of RATES) {
  const started = performance.now();
  const { reads, entries } = simulate(rate);
  const seconds = ((performance.now() - started) / 1000).toFixed(0);
  console.log(
    `| ${rate.toLocaleString("en")} | ${(rate * TTL_SECONDS).toLocaleString("en")} | ${reads.toFixed(3)} | ${ttlCacheReadsPerClick(LINKS, S, rate * TTL_SECONDS).toFixed(3)} | ${entries.toLocaleString("en")} |`,
  );
  console.error(`  (${rate}/s simulated in ${seconds} s)`);
}
