/**
 * `npx tsx --expose-gc bench/cache-memory.ts` (from apps/edge): what the isolate tier of the
 * link cache holds and costs.
 *   1. A scan of 1,000,000 distinct codes (a crawler, or issue 14's worst case h′) through the
 *      memory tier with the default bounds: entries held and V8 heap used against the bound.
 *   2. Zipf s = 1.1 over 100,000 links, 1,000,000 clicks: the memory tier's hit ratio (no
 *      expiry) beside the ideal share of the top CACHE_MAX_ENTRIES links.
 * Node's V8 is workerd's V8, so the heap per entry carries over; the isolate limit is 128 MB.
 */
import { LinkCache } from "../src/cache/link-cache.ts";
import { DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_MAX_ENTRIES } from "../src/cache/settings.ts";
import { zipfSampler, zipfTopShare } from "../src/cache/zipf.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with --expose-gc: the heap figures need a collection first");
const collect = gc;

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** The i-th 7-character code, as generated codes look. */
function codeOf(i: number): string {
  let s = "";
  let v = i;
  for (let k = 0; k < 7; k++) {
    s += BASE62[v % 62];
    v = Math.floor(v / 62);
  }
  return s;
}

const now = Date.parse("2026-11-20T12:00:00Z");
const updatedAt = new Date(now - 86_400_000).toISOString();
const noBackground = () => {};
const config = {
  maxTtlSeconds: 60,
  maxEntries: DEFAULT_CACHE_MAX_ENTRIES,
  maxBytes: DEFAULT_CACHE_MAX_BYTES,
};
const heap = () => {
  collect();
  return process.memoryUsage().heapUsed;
};
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

function put(cache: LinkCache, code: string): void {
  cache.put(
    code,
    {
      kind: "found",
      url: `https://example.com/landing/${code}`,
      redirectStatus: 302,
      updatedAt,
      expiresAt: null,
    },
    { nowMs: now, background: noBackground },
  );
}

// 1. The scan.
const SCAN = 1_000_000;
const before = heap();
const scanned = new LinkCache({ config, window: 30, location: null });
let peakEntries = 0;
const started = performance.now();
for (let i = 0; i < SCAN; i++) {
  const code = codeOf(i);
  if (!(await scanned.get(code, { nowMs: now, bypass: false }))) put(scanned, code);
  if (i % 100_000 === 0) peakEntries = Math.max(peakEntries, scanned.memory.entries);
}
const scanMs = performance.now() - started;
const after = heap();
const held = scanned.memory;
console.log(`scan of ${SCAN.toLocaleString("en")} distinct codes through the memory tier`);
console.log(
  `  bound: ${config.maxEntries.toLocaleString("en")} entries, ${mib(config.maxBytes)} charged`,
);
console.log(
  `  held:  ${held.entries.toLocaleString("en")} entries (peak seen ${peakEntries.toLocaleString("en")}), ${mib(held.bytes)} charged`,
);
console.log(
  `  heap:  +${mib(after - before)} after the scan, ${Math.round((after - before) / held.entries)} B per entry held`,
);
console.log(`  time:  ${((scanMs * 1000) / SCAN).toFixed(2)} µs per miss + put`);

// 2. Zipf.
const LINKS = 100_000;
const CLICKS = 1_000_000;
const zipf = new LinkCache({ config, window: 30, location: null });
const sample = zipfSampler(LINKS, 1.1);
let hits = 0;
for (let i = 0; i < CLICKS; i++) {
  const code = codeOf(sample(Math.random()));
  if (await zipf.get(code, { nowMs: now, bypass: false })) hits++;
  else put(zipf, code);
}
console.log(
  `Zipf s=1.1 over ${LINKS.toLocaleString("en")} links, ${CLICKS.toLocaleString("en")} clicks`,
);
console.log(
  `  memory-tier hit ratio ${(hits / CLICKS).toFixed(3)} (ideal for ${config.maxEntries.toLocaleString("en")} entries: ${zipfTopShare(LINKS, 1.1, config.maxEntries).toFixed(3)}, includes first-click misses)`,
);
