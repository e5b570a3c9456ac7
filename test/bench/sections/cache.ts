/**
 * The edge cache on a realistic workload (issue 14), `BENCH_SECTIONS=cache`. Variants, all on
 * the same seeded shard:
 *   (a)  constant 302 (the ceiling),
 *   (c)  cookie, CACHE=off,
 *   (h)  cookie, CACHE=on,               Zipf s = 1.1 over the seeded links,
 *   (h′) cookie, CACHE=on, every request a different code (the cache cannot help).
 * Gateway reads per redirect come from the gateways' own counters; hit ratio = 1 − reads per
 * redirect (every miss is exactly one gateway read for old links under cookie).
 */

import { zipfSampler } from "../../../apps/edge/src/cache/zipf.ts";
import { type BenchContext, compareOptions } from "../context.ts";
import type { ReadsDelta } from "../counters.ts";
import type { BenchRequest } from "../load.ts";
import { compare, type Run, ratio, summarize, type VariantSummary } from "../measure.ts";

export const CACHE_VARIANTS = {
  constant: "(a) constant 302",
  cookie: "(c) cookie, no cache",
  cached: "(h) cookie + cache, Zipf 1.1",
  scan: "(h′) cookie + cache, all distinct",
} as const;

export const ZIPF_S = 1.1;
/** Requests in the Zipf list every connection walks (its popular links repeat within it). */
const ZIPF_LIST = 200_000;

/** A deterministic uniform stream (mulberry32), so every run draws the same request list. */
export function uniformStream(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** `length` paths drawn by Zipf(s) over `codes` (codes[0] the most popular). */
export function zipfPaths(codes: readonly string[], s: number, length: number, seed = 1): string[] {
  const sample = zipfSampler(codes.length, s);
  const u = uniformStream(seed);
  return Array.from({ length }, () => `/${codes[sample(u())] ?? ""}`);
}

export interface CacheVariantResult extends VariantSummary {
  gatewayReadsPerRedirect: number;
  hitRatio: number;
}

export interface CacheSection {
  runs: Run[];
  variants: CacheVariantResult[];
  ratios: Record<string, ReturnType<typeof ratio>>;
  workload: { links: number; s: number; listLength: number };
}

function readsPerRedirect(runs: readonly Run[], variant: string): number {
  let requests = 0;
  let reads = 0;
  for (const r of runs) {
    if (r.variant !== variant || !r.count) continue;
    requests += r.count.requests;
    reads += (r.count.counters.reads as ReadsDelta | undefined)?.total ?? 0;
  }
  return requests > 0 ? reads / requests : Number.NaN;
}

/**
 * Needs in ctx.workers.urls: `constant`, `cookie` (CACHE=off) and `cached` (CACHE=on), and in
 * ctx.seed.ranked the 100,000 links the Zipf draw ranks (last written a day before, so they are
 * old enough to cache for the whole TTL cap).
 */
export async function cacheWorkload(ctx: BenchContext): Promise<CacheSection> {
  const { urls } = ctx.workers;
  const links = ctx.seed.ranked;
  const zipf = zipfPaths(links, ZIPF_S, ZIPF_LIST).map((path): BenchRequest => ({ path }));
  // Each code once per pass: the LRU (50,000 entries) never holds what comes next.
  const distinct = links.map((code): BenchRequest => ({ path: `/${code}` }));
  const wanted: { name: string; url: string | undefined; requests: BenchRequest[] }[] = [
    { name: CACHE_VARIANTS.constant, url: urls.constant, requests: zipf },
    { name: CACHE_VARIANTS.cookie, url: urls.cookie, requests: zipf },
    { name: CACHE_VARIANTS.cached, url: urls.cached, requests: zipf },
    { name: CACHE_VARIANTS.scan, url: urls.cached, requests: distinct },
  ];
  const plan = wanted.flatMap((v) => (v.url ? [{ ...v, url: v.url }] : []));
  ctx.log(`edge cache: Zipf s=${ZIPF_S} over ${links.length} links, ${plan.length} variants`);
  const runs = await compare(
    plan.map((v) => ({ name: v.name, origin: v.url, requests: v.requests })),
    compareOptions(ctx),
  );
  const variants = plan.map((v) => {
    const reads = readsPerRedirect(runs, v.name);
    const constant = v.name === CACHE_VARIANTS.constant;
    return {
      ...summarize(runs, v.name),
      gatewayReadsPerRedirect: constant ? 0 : reads,
      hitRatio: constant ? Number.NaN : 1 - reads,
    };
  });
  return {
    runs,
    variants,
    ratios: {
      "(h)/(a)": ratio(runs, CACHE_VARIANTS.cached, CACHE_VARIANTS.constant),
      "(h)/(c)": ratio(runs, CACHE_VARIANTS.cached, CACHE_VARIANTS.cookie),
      "(h′)/(c)": ratio(runs, CACHE_VARIANTS.scan, CACHE_VARIANTS.cookie),
    },
    workload: { links: links.length, s: ZIPF_S, listLength: ZIPF_LIST },
  };
}
