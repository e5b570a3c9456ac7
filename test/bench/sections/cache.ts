/**
 * The edge cache on a realistic workload (issue 14), `BENCH_SECTIONS=cache`. Variants, all on
 * the same seeded shard, on two workloads:
 *   Zipf s = 1.1 over 100,000 old links: (a) constant 302 (the ceiling), (c) cookie, CACHE=off,
 *   (h) cookie, CACHE=on (memory, then caches.default), and CACHE=memory;
 *   all distinct, 60,000 other old links each asked once in the whole section (the cache cannot
 *   help): (c) and (h′) with CACHE=on and CACHE=memory;
 *   all hits, the 1,000 most popular links in turn: CACHE=memory through the hit path, and
 *   through the router (an expired ryow_until cookie), for what a hit costs against (a).
 * Every variant walks its list on from run to run (warm-up, timed, next round), so no run
 * replays requests an earlier one cached. Gateway reads per redirect come from the gateways' own
 * counters over the timed runs; hit ratio = 1 − reads per redirect (under cookie without a
 * cookie, every miss is exactly one replica read).
 */

import { mulberry32 } from "@firstclick/core";
import { DEFAULT_CACHE_MAX_TTL_SECONDS } from "../../../apps/edge/src/cache/settings.ts";
import { ttlCacheReadsPerClick, zipfSampler } from "../../../apps/edge/src/cache/zipf.ts";
import { type BenchContext, compareOptions } from "../context.ts";
import type { ReadsDelta } from "../counters.ts";
import type { BenchRequest } from "../load.ts";
import { compare, type Run, ratio, summarize, type VariantSummary } from "../measure.ts";

export const CACHE_VARIANTS = {
  constant: "(a) constant 302",
  cookie: "(c) cookie, no cache",
  cached: "(h) cookie + cache, Zipf 1.1",
  cachedMemory: "(h) CACHE=memory, Zipf 1.1",
  cookieScan: "(c) cookie, no cache, all distinct",
  scan: "(h′) cookie + cache, all distinct",
  scanMemory: "(h′) CACHE=memory, all distinct",
  hot: "(h) CACHE=memory, 1,000 hot links: all hits",
  hotRouted: "(h) CACHE=memory, all hits through the router",
  steady: "(h) CACHE=memory, Zipf 1.1, steady state",
} as const;

/**
 * The steady-state run: CACHE=memory on a fresh Zipf stream for one and a half TTL caps, then one
 * timed run. Not exactly one cap: the codes a cold cache reads in its first seconds all expire
 * together one cap later (and the popular ones again a cap after that), so a run at a multiple
 * of the cap would measure that wave; half a cap after it, the entries expiring were read by a
 * warm cache. The alternating rounds above give each variant a
 * few seconds at a time, after which most of its entries have expired: their hit ratio is below
 * the one a cache under constant load keeps, which this run measures, beside the closed form
 * (apps/edge/src/cache/zipf.ts) at the rate it reached.
 */
export const STEADY_WARMUP_SECONDS = 90;
const STEADY_LIST = 1_000_000;

/** Links of the all-hits workload: the most popular ones, asked in turn (cached after one pass). */
export const HOT_LINKS = 1_000;
/**
 * The all-hits workload once more, each request with an expired `ryow_until` cookie: the cookie
 * strategy reads a replica for it, so it is a hit too, but one that the hit path ahead of the
 * router leaves to the router (apps/edge/src/cache/hit-path.ts). Side by side: what that path saves.
 */
const EXPIRED_WINDOW = { cookie: "ryow_until=1" };

export const ZIPF_S = 1.1;
/** Links the Zipf draw ranks, and links only the all-distinct walk asks for (none in both). */
export const ZIPF_LINKS = 100_000;
export const SCAN_LINKS = 60_000;
/** What the cache section needs seeded (run.ts): the ranked links, then the scanned ones. */
export const CACHE_SEED_LINKS = ZIPF_LINKS + SCAN_LINKS;
/** Draws in the Zipf list; every variant walks it on from run to run, never replaying it. */
const ZIPF_LIST = 400_000;

/** `length` paths drawn by Zipf(s) over `codes` (codes[0] the most popular). */
export function zipfPaths(codes: readonly string[], s: number, length: number, seed = 1): string[] {
  const sample = zipfSampler(codes.length, s);
  const u = mulberry32(seed); // deterministic: every run draws the same request list
  return Array.from({ length }, () => `/${codes[sample(u())] ?? ""}`);
}

export interface CacheVariantResult extends VariantSummary {
  gatewayReadsPerRedirect: number;
  hitRatio: number;
}

export interface SteadyState {
  variant: CacheVariantResult;
  /** The closed form's reads per redirect at the rate this run reached, TTL = the cap (60 s). */
  predictedReads: number;
  warmupSeconds: number;
}

export interface CacheSection {
  steady: SteadyState | null;
  runs: Run[];
  variants: CacheVariantResult[];
  ratios: Record<string, ReturnType<typeof ratio>>;
  workload: { links: number; s: number; listLength: number; distinct?: number };
}

/**
 * Gateway reads per redirect over the timed runs (the gateways' own counters), per request sent:
 * the requests still in flight when a run stops have made their reads too.
 */
function readsPerRedirect(runs: readonly Run[], variant: string): number {
  let requests = 0;
  let reads = 0;
  for (const r of runs) {
    if (r.variant !== variant || !r.timedCounters) continue;
    requests += r.load.sent;
    reads += (r.timedCounters.reads as ReadsDelta | undefined)?.total ?? 0;
  }
  return requests > 0 ? reads / requests : Number.NaN;
}

/**
 * Needs in ctx.workers.urls `constant`, `cookie` (CACHE=off), `cached` (CACHE=on) and
 * `cachedMemory` (CACHE=memory), and in ctx.seed.ranked CACHE_SEED_LINKS links last written a
 * day before (old enough to cache for the whole TTL cap): the first ZIPF_LINKS ranked for the
 * Zipf draw, the rest walked once each.
 */
export async function cacheWorkload(ctx: BenchContext): Promise<CacheSection> {
  const { urls } = ctx.workers;
  const ranked = ctx.seed.ranked.slice(0, ZIPF_LINKS);
  const zipf = zipfPaths(ranked, ZIPF_S, ZIPF_LIST).map((path): BenchRequest => ({ path }));
  // Each code once in the whole section: the cache never holds what comes next.
  const distinct = ctx.seed.ranked
    .slice(ZIPF_LINKS)
    .map((code): BenchRequest => ({ path: `/${code}` }));
  const hotCodes = ranked.slice(0, HOT_LINKS);
  const hot = Array.from(
    { length: ZIPF_LIST },
    (_, i): BenchRequest => ({
      path: `/${hotCodes[i % hotCodes.length] ?? ""}`,
    }),
  );
  const hotRouted = hot.map((r): BenchRequest => ({ ...r, headers: EXPIRED_WINDOW }));
  const wanted: { name: string; url: string | undefined; requests: BenchRequest[] }[] = [
    { name: CACHE_VARIANTS.constant, url: urls.constant, requests: zipf },
    { name: CACHE_VARIANTS.cookie, url: urls.cookie, requests: zipf },
    { name: CACHE_VARIANTS.cached, url: urls.cached, requests: zipf },
    { name: CACHE_VARIANTS.cachedMemory, url: urls.cachedMemory, requests: zipf },
    { name: CACHE_VARIANTS.cookieScan, url: urls.cookie, requests: distinct },
    { name: CACHE_VARIANTS.scan, url: urls.cached, requests: distinct },
    { name: CACHE_VARIANTS.scanMemory, url: urls.cachedMemory, requests: distinct },
    { name: CACHE_VARIANTS.hot, url: urls.cachedMemory, requests: hot },
    { name: CACHE_VARIANTS.hotRouted, url: urls.cachedMemory, requests: hotRouted },
  ];
  const plan = wanted.flatMap((v) => (v.url ? [{ ...v, url: v.url }] : []));
  ctx.log(
    `edge cache: Zipf s=${ZIPF_S} over ${ranked.length} links, ${distinct.length} distinct, ${plan.length} variants`,
  );
  const runs = await compare(
    plan.map((v) => ({ name: v.name, origin: v.url, requests: v.requests, continuous: true })),
    // Reads are counted over the timed runs themselves: no counted run after them.
    { ...compareOptions(ctx), countRequests: 0 },
  );
  const variants = plan.map((v) => {
    const reads = readsPerRedirect(runs, v.name);
    const constant = v.name === CACHE_VARIANTS.constant;
    const cached = v.url === urls.cached || v.url === urls.cachedMemory;
    return {
      ...summarize(runs, v.name),
      gatewayReadsPerRedirect: constant ? 0 : reads,
      hitRatio: cached ? 1 - reads : Number.NaN,
    };
  });
  const V = CACHE_VARIANTS;
  const steady = urls.cachedMemory ? await steadyState(ctx, urls.cachedMemory, ranked) : null;
  return {
    steady,
    runs,
    variants,
    ratios: {
      "(h)/(a)": ratio(runs, V.cached, V.constant),
      "(h)/(c)": ratio(runs, V.cached, V.cookie),
      "(h′)/(c)": ratio(runs, V.scan, V.cookieScan),
      "(h, memory)/(a)": ratio(runs, V.cachedMemory, V.constant),
      "(h, memory)/(c)": ratio(runs, V.cachedMemory, V.cookie),
      "(h′, memory)/(c)": ratio(runs, V.scanMemory, V.cookieScan),
      "(h, all hits)/(a)": ratio(runs, V.hot, V.constant),
      "(h, all hits)/(h, all hits through the router)": ratio(runs, V.hot, V.hotRouted),
    },
    workload: { links: ranked.length, s: ZIPF_S, listLength: ZIPF_LIST, distinct: distinct.length },
  };
}

async function steadyState(ctx: BenchContext, url: string, ranked: string[]): Promise<SteadyState> {
  const requests = zipfPaths(ranked, ZIPF_S, STEADY_LIST, 2).map(
    (path): BenchRequest => ({ path }),
  );
  ctx.log(`edge cache: steady state, ${STEADY_WARMUP_SECONDS} s of warm-up first`);
  const runs = await compare(
    [{ name: CACHE_VARIANTS.steady, origin: url, requests, continuous: true }],
    {
      ...compareOptions(ctx),
      rounds: 1,
      warmupSeconds: STEADY_WARMUP_SECONDS,
      countRequests: 0,
    },
  );
  const reads = readsPerRedirect(runs, CACHE_VARIANTS.steady);
  const variant = {
    ...summarize(runs, CACHE_VARIANTS.steady),
    gatewayReadsPerRedirect: reads,
    hitRatio: 1 - reads,
  };
  return {
    variant,
    predictedReads: ttlCacheReadsPerClick(
      ZIPF_LINKS,
      ZIPF_S,
      variant.rps * DEFAULT_CACHE_MAX_TTL_SECONDS,
    ),
    warmupSeconds: STEADY_WARMUP_SECONDS,
  };
}
