/** The "Redirect path" and "Load on primaries" sections of BENCHMARKS.md (pure: no I/O). */
import { dec, int, ms, pct, ratioText, statusText, sumGroups, table, totalCpu } from "../format.ts";
import {
  type PrimariesSection,
  type RedirectSection,
  VARIANTS,
  type VariantResult,
} from "./redirect.ts";
import type { AnalyticsWrites } from "./redirect-analytics.ts";

export function variant(section: { variants: VariantResult[] } | undefined, name: string) {
  return section?.variants.find((v) => v.variant === name);
}

/** cpu(b)/cpu(a) per redirect: the req/s ratio a/b a quiet CPU-bound machine would give. */
export function cpuRatio(
  section: { variants: VariantResult[] },
  a: string,
  b: string,
  group: string | null,
): number {
  const va = variant(section, a)?.cpuMicrosPerRequest;
  const vb = variant(section, b)?.cpuMicrosPerRequest;
  if (!va || !vb) return Number.NaN;
  const cost = (cpu: Record<string, number>) =>
    group === null ? totalCpu(cpu) : (cpu[group] ?? Number.NaN);
  return cost(vb) / cost(va);
}

const LETTERS: Record<string, string> = {
  a: VARIANTS.constant,
  b: VARIANTS.bare,
  c: VARIANTS.cookie,
  o: VARIANTS.cookieOld,
  d: VARIANTS.redis,
  e: VARIANTS.primary,
  f: VARIANTS.fallback,
  g: VARIANTS.position,
  "c+analytics": VARIANTS.analytics,
};

/** "(c)/(b)" → the two variant names. */
function ratioPair(name: string): [string, string] {
  const m = /^\(([\w+]+)\)\/\((\w)\)$/.exec(name);
  return [LETTERS[m?.[1] ?? ""] ?? "", LETTERS[m?.[2] ?? ""] ?? ""];
}

/** `cluster` is the report's meta.cluster: which links were seeded, and on which shard. */
export function redirectReport(r: RedirectSection, cluster: Record<string, unknown>): string[] {
  const lines = [
    "## Redirect path",
    "",
    `Same ${int(r.requestList.length)}-entry list of ${cluster.links ? "old" : ""} codes for every variant (all owned by shard ${String(cluster.seededShard)}, so (b) and (c) read the same replica gateway), no cookie; (f) replaces every 20th code by one that exists nowhere. Calls per redirect come from a counted run after each timed run: exactly N redirects, the gateways' own \`linkReads\` and Redis's \`cmdstat_get\` read before and after (once they stop moving), divided by N. CPU µs per redirect is each process group's CPU time (/proc) over the timed runs divided by their completed redirects.`,
    "",
    table(
      [
        "variant",
        "req/s",
        "p50 ms",
        "p99 ms",
        "gateway reads / redirect",
        "of which primary",
        "Redis GETs / redirect",
        "workerd µs",
        "gateway µs",
        "PostgreSQL µs",
        "all processes µs",
        "statuses",
      ],
      r.variants.map((v) => [
        v.variant,
        int(v.rps),
        ms(v.p50),
        ms(v.p99),
        dec(v.perRedirect.gatewayReads, 3),
        dec(v.perRedirect.primaryReads, 3),
        dec(v.perRedirect.redisGets, 3),
        int(v.cpuMicrosPerRequest.workerd),
        int(sumGroups(v.cpuMicrosPerRequest, "gateway:")),
        int(sumGroups(v.cpuMicrosPerRequest, "pg:")),
        int(totalCpu(v.cpuMicrosPerRequest)),
        statusText(v.statuses) + (v.errors ? `, errors ${v.errors}` : ""),
      ]),
    ),
    "",
    table(
      [
        "ratio",
        "req/s: median of rounds (per round)",
        "from Worker CPU per redirect",
        "from all processes' CPU per redirect",
      ],
      Object.entries(r.ratios).flatMap(([name, ratio]) => {
        if (!ratio) return [];
        const [a, b] = ratioPair(name);
        return [
          [name, ratioText(ratio), dec(cpuRatio(r, a, b, "workerd")), dec(cpuRatio(r, a, b, null))],
        ];
      }),
    ),
    "",
    "The CPU columns are what the req/s ratio would be if the machine were CPU-bound and quiet: the inverse ratio of CPU time per redirect (workerd alone; every process of the benchmark, load generator included). They hold up far better than req/s when other work shares the machine.",
    "",
  ];
  if (r.analytics) lines.push(...analyticsReport(r.analytics));
  const d = variant(r, VARIANTS.redis);
  if (d?.perRedirect.redisCommands !== null && d?.perRedirect.redisCommands !== undefined) {
    lines.push(
      `(d) sent ${dec(d.perRedirect.redisCommands, 3)} Redis commands and opened ${dec(d.perRedirect.redisConnections, 3)} Redis connections per redirect (INFO stats): the edge keeps one connection in a Durable Object and every redirect asks it. Here the Worker → Durable Object hop is inside one workerd; in production the object lives in one place, so for most visitors that hop is a network call of its own, before the GET.`,
      "",
    );
  }
  const f = variant(r, VARIANTS.fallback);
  if (f) {
    lines.push(
      `(f): 5 % of its requests are misses, and ${pct(f.perRedirect.primaryReads, 1)} of its redirects were retried on the primary: the rest were refused by the fallback budget (\`FALLBACK_BUDGET_PER_MINUTE\`, 600 per isolate by default), which is what keeps a scanner of random codes off the primaries.`,
      "",
    );
  }
  return lines;
}

export function primariesReport(p: PrimariesSection): string[] {
  return [
    "## Load on primaries",
    "",
    `One request in 100 is a creator inside their window: a fresh signed \`ryow_until\` cookie and a signed \`ryow_pos\` token from a real create the replica has already replayed, on a code that is also fresh in Redis (\`ryow:<code>\`); the other 99 are old links without a cookie. The same list for every variant; the share is the gateways' \`linkReads\` on primaries over all \`linkReads\`.`,
    "",
    table(
      ["variant", "req/s", "p50 ms", "p99 ms", "reads on primaries", "gateway reads / redirect"],
      p.variants.map((v) => [
        v.variant,
        int(v.rps),
        ms(v.p50),
        ms(v.p99),
        pct(v.primaryShare, 2),
        dec(v.perRedirect.gatewayReads, 3),
      ]),
    ),
    "",
  ];
}

function analyticsReport(a: AnalyticsWrites): string[] {
  const per1000 = (n: number) => dec((n * 1000) / a.clicks, 1);
  const added = (group: string | null) => {
    const cost = (cpu: Record<string, number>) =>
      group === null ? totalCpu(cpu) - (cpu.client ?? 0) : sumGroups(cpu, group);
    return dec(cost(a.cpuOn) - cost(a.cpuOff), 1);
  };
  return [
    "### Click analytics: writes on the primaries and cost per click",
    "",
    `${int(a.clicks)} counted redirects through (c) with analytics on (edge batch ≤ 100 events / 1 s → one Queue message, Queue batch ≤ 100 messages / 5 s → one ingest POST → one transaction per shard), in 3 runs alternating with as many through (c) with analytics off; each run's CPU window includes an 8 s settle wait after it (the clicks are counted by then) and none of the benchmark's own queries. Writes: the primaries' own tables and WAL before and after. CPU added per click: the median over the runs with analytics on minus the median with it off, per process group. Latency: one more run, polled until the primaries counted all its clicks.`,
    "",
    table(
      [
        "clicks",
        "counted",
        "Queue messages / 1,000 clicks",
        "primary transactions / 1,000 clicks",
        "rollup rows written / 1,000 clicks",
        "WAL bytes / click",
        "last click → counted",
      ],
      [
        [
          int(a.clicks),
          int(a.counted),
          per1000(a.messages),
          per1000(a.transactions),
          per1000(a.rowsWritten),
          dec(a.walBytes / a.clicks, 0),
          `${int(a.drainMs)} ms`,
        ],
      ],
    ),
    "",
    table(
      [
        "CPU µs added per click",
        "workerd (edge + Queue + consumer)",
        "origin",
        "PostgreSQL (all nodes)",
        "all servers (load generator excluded)",
      ],
      [["analytics on − off", added("workerd"), added("origin"), added("pg:"), added(null)]],
    ),
    "",
  ];
}
