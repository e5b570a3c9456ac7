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
  ];
}
