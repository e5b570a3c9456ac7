/** The "Edge cache" section of BENCHMARKS.md (pure: no I/O). */
import { dec, int, ms, pct, ratioText, sumGroups, table } from "../format.ts";
import { CACHE_VARIANTS, type CacheSection } from "./cache.ts";

/** The goals (issue 14), checked against the medians of this run. */
export const CACHE_GOALS = { hitOverConstant: 0.8, readsPerRedirect: 0.05, scanOverCookie: 0.97 };

export function cacheReport(s: CacheSection): string[] {
  const goal = (ok: boolean | null) => (ok === null ? "not measured" : ok ? "met" : "**not met**");
  return [
    "## Edge cache",
    "",
    `Zipf s = ${s.workload.s} over ${int(s.workload.links)} old links (a list of ${int(s.workload.listLength)} draws), and all distinct: ${s.workload.distinct === undefined ? "other" : int(s.workload.distinct)} other old links, each asked once in the whole section. Every variant walks its list on from run to run, so no timed run replays what a warm-up or an earlier round cached. Cookie strategy, no cookie sent: every miss is one replica read. Hit ratio = 1 − gateway reads per redirect, from the gateways' own counters over the timed runs. CACHE=on is memory then the location's Cache API (miniflare's, here); CACHE=memory is the isolate's memory only.`,
    "",
    table(
      [
        "variant",
        "req/s",
        "p50 ms",
        "p99 ms",
        "hit ratio",
        "gateway reads / redirect",
        "Worker CPU µs / redirect",
        "gateway + PostgreSQL CPU µs / redirect",
      ],
      s.variants.map((v) => [
        v.variant,
        int(v.rps),
        ms(v.p50),
        ms(v.p99),
        Number.isNaN(v.hitRatio) ? "–" : pct(v.hitRatio, 1),
        dec(v.gatewayReadsPerRedirect, 3),
        int(v.cpuMicrosPerRequest.workerd),
        int(sumGroups(v.cpuMicrosPerRequest, "gateway:") + sumGroups(v.cpuMicrosPerRequest, "pg:")),
      ]),
    ),
    "",
    table(
      ["goal", "CACHE", "measured", "verdict"],
      (["on", "memory"] as const).flatMap((mode) => {
        const sfx = mode === "on" ? "" : ", memory";
        const ha = s.ratios[`(h${sfx})/(a)`] ?? null;
        const hc = s.ratios[`(h′${sfx})/(c)`] ?? null;
        const v = s.variants.find(
          (x) =>
            x.variant === (mode === "on" ? CACHE_VARIANTS.cached : CACHE_VARIANTS.cachedMemory),
        );
        return [
          [
            `(h)/(a) ≥ ${CACHE_GOALS.hitOverConstant}, req/s`,
            mode,
            ratioText(ha),
            goal(ha ? ha.median >= CACHE_GOALS.hitOverConstant : null),
          ],
          [
            `gateway reads per redirect under (h) ≤ ${CACHE_GOALS.readsPerRedirect}`,
            mode,
            v ? dec(v.gatewayReadsPerRedirect, 3) : "–",
            goal(v ? v.gatewayReadsPerRedirect <= CACHE_GOALS.readsPerRedirect : null),
          ],
          [
            `(h′)/(c) ≥ ${CACHE_GOALS.scanOverCookie}, req/s (costs nothing when it cannot help)`,
            mode,
            ratioText(hc),
            goal(hc ? hc.median >= CACHE_GOALS.scanOverCookie : null),
          ],
          [`(h)/(c), req/s`, mode, ratioText(s.ratios[`(h${sfx})/(c)`] ?? null), "–"],
        ];
      }),
      ["l", "l", "l", "l"],
    ),
    "",
    ...hitPathReport(s),
    ...steadyReport(s),
  ];
}

function steadyReport(s: CacheSection): string[] {
  if (!s.steady) return [];
  const { variant: v, predictedReads, warmupSeconds } = s.steady;
  const a = s.variants.find((x) => x.variant === CACHE_VARIANTS.constant)?.cpuMicrosPerRequest
    .workerd;
  const h = v.cpuMicrosPerRequest.workerd;
  const cost =
    a !== undefined && h !== undefined ? `${int(a)} / ${int(h)} µs = ${dec(a / h, 2)}` : "–";
  return [
    `Steady state: CACHE=memory under constant load, ${warmupSeconds} s (one and a half TTL caps) of warm-up on a fresh Zipf stream, then one timed run. The closed form (apps/edge/src/cache/zipf.ts, \`ttlCacheReadsPerClick\`) gives the reads per redirect of a TTL cache with no size bound at the rate the run reached:`,
    "",
    table(
      [
        "run",
        "req/s",
        "gateway reads / redirect",
        "closed form at that rate",
        "Worker CPU µs / redirect",
        "(a)/(h) Worker CPU",
      ],
      [
        [
          v.variant,
          int(v.rps),
          dec(v.gatewayReadsPerRedirect, 3),
          dec(predictedReads, 3),
          int(h ?? Number.NaN),
          cost,
        ],
      ],
    ),
    "",
  ];
}

/** What one hit costs, from the all-hits variants (absent in runs before they existed). */
function hitPathReport(s: CacheSection): string[] {
  const cpu = (name: string) => s.variants.find((v) => v.variant === name)?.cpuMicrosPerRequest;
  const [a, hot, routed] = [CACHE_VARIANTS.constant, CACHE_VARIANTS.hot, CACHE_VARIANTS.hotRouted]
    .map(cpu)
    .map((c) => c?.workerd);
  if (a === undefined || hot === undefined || routed === undefined) return [];
  return [
    "What a hit costs (all hits, the 1,000 most popular links in turn; through the router: the same requests with an expired `ryow_until` cookie, which the hit path leaves to the router):",
    "",
    table(
      ["ratio", "req/s (per round)", "Worker CPU"],
      [
        [
          "(h, all hits)/(a)",
          ratioText(s.ratios["(h, all hits)/(a)"] ?? null),
          `${int(a)} / ${int(hot)} µs = ${dec(a / hot, 2)}`,
        ],
        [
          "hit path / through the router",
          ratioText(s.ratios["(h, all hits)/(h, all hits through the router)"] ?? null),
          `${int(routed)} / ${int(hot)} µs = ${dec(routed / hot, 2)}`,
        ],
      ],
      ["l", "l", "l"],
    ),
    "",
  ];
}
