/**
 * BENCHMARKS.md from the raw report (pure: no I/O). A reader should get the answer from the
 * first table; the sections below give every figure it came from, the capacity model, and how
 * the numbers were taken.
 */
import type { Run } from "./measure.ts";
import type { CoreSection } from "./sections/core.ts";
import type { GatewaySection } from "./sections/gateway.ts";
import type { PrimariesSection, RedirectSection, VariantResult } from "./sections/redirect.ts";
import { VARIANTS } from "./sections/redirect.ts";
import type { CreatesSection, LagSection } from "./sections/writes.ts";

export interface BenchReport {
  meta: {
    date: string;
    command: string;
    runtimeSeconds: number;
    machine: {
      cores: number;
      cpu: string;
      memoryGiB: number;
      sharedBy: string;
      loadBefore: number[];
      loadAfter: number[];
    };
    versions: Record<string, string | null>;
    settings: Record<string, unknown>;
    cluster: Record<string, unknown>;
    notes: string[];
  };
  sections: {
    redirect?: RedirectSection;
    primaries?: PrimariesSection;
    gateway?: GatewaySection;
    creates?: CreatesSection;
    lag?: LagSection;
    core?: CoreSection;
  };
}

// ---------- formatting ----------

const isNum = (n: number | null | undefined): n is number =>
  typeof n === "number" && Number.isFinite(n);
const int = (n: number | null | undefined) =>
  isNum(n) ? Math.round(n).toLocaleString("en-US") : "–";
const dec = (n: number | null | undefined, digits = 2) => (isNum(n) ? n.toFixed(digits) : "–");
const ms = (n: number | null | undefined) =>
  isNum(n) ? (n < 10 ? n.toFixed(1) : Math.round(n).toString()) : "–";
const pct = (n: number | null | undefined, digits = 1) =>
  isNum(n) ? `${(n * 100).toFixed(digits)} %` : "–";

function table(header: string[], rows: string[][], align?: ("l" | "r")[]): string {
  const sep = header.map((_, i) =>
    (align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---",
  );
  return [header, sep, ...rows].map((r) => `| ${r.join(" | ")} |`).join("\n");
}

type Ratio = { median: number; min: number; max: number; perRound: number[] } | null;
const ratioText = (r: Ratio) =>
  r ? `**${dec(r.median)}** (rounds: ${r.perRound.map((x) => dec(x)).join(", ")})` : "–";

function sumGroups(cpu: Record<string, number>, prefix: string): number {
  return Object.entries(cpu)
    .filter(([name]) => name.startsWith(prefix))
    .reduce((sum, [, v]) => sum + v, 0);
}

/** Average cores used by processes outside the benchmark's own during measured runs. */
function otherLoad(runs: readonly Run[]): number {
  const other = runs.reduce((sum, r) => sum + r.machine.otherSeconds, 0);
  const wall = runs.reduce((sum, r) => sum + r.load.seconds, 0);
  return wall > 0 ? other / wall : Number.NaN;
}

function statusText(statuses: Record<string, number>): string {
  return Object.entries(statuses)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([s, n]) => `${s}×${int(n)}`)
    .join(" ");
}

const LETTERS: Record<string, string> = {
  a: VARIANTS.constant,
  b: VARIANTS.bare,
  c: VARIANTS.cookie,
  d: VARIANTS.redis,
  e: VARIANTS.primary,
  f: VARIANTS.fallback,
};

/** "(c)/(b)" → the two variant names. */
function ratioPair(name: string): [string, string] {
  const m = /^\((\w)\)\/\((\w)\)$/.exec(name);
  return [LETTERS[m?.[1] ?? ""] ?? "", LETTERS[m?.[2] ?? ""] ?? ""];
}

const totalCpu = (cpu: Record<string, number>) => Object.values(cpu).reduce((sum, v) => sum + v, 0);

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

function variant(section: { variants: VariantResult[] } | undefined, name: string) {
  return section?.variants.find((v) => v.variant === name);
}

// ---------- capacity model ----------

export interface CapacityInputs {
  /** Worker CPU µs per redirect, cookie strategy. */
  edgeMicros: number;
  /** Gateway process CPU µs per link read. */
  gatewayMicros: number;
  /** PostgreSQL CPU µs per link read (all backends of the node). */
  pgReadMicros: number;
  /** Redis CPU µs per redirect under (d), and its commands/connections per redirect. */
  redisMicros: number | null;
  redisCommandsPerRedirect: number | null;
  redisConnectionsPerRedirect: number | null;
  /** Origin CPU µs per create and PostgreSQL CPU µs per create (primary + replica), async. */
  originCreateMicros: number | null;
  pgCreateMicros: number | null;
  /** Share of reads that reached primaries under (c) with 1 % creators. */
  cookiePrimaryShare: number | null;
}

export const CAPACITY = {
  redirects: 100_000,
  creates: 1_000,
  shards: 4,
  /** A process or core is planned at most this busy. */
  utilisation: 0.7,
  creatorShare: 0.01,
  /** Cores of one replica machine (PostgreSQL + its gateways). */
  replicaCores: 4,
  /** Redis executes commands on one thread: at most this much of a core per Redis instance. */
  redisCorePerInstance: 0.7,
} as const;

export interface CapacityPlan {
  gatewayProcesses: number;
  replicaReadsPerShard: number;
  gatewayProcessesPerShard: number;
  replicaNodeCores: number;
  primaryReadsPerShardCookie: number;
  primaryReadsPerShardPrimaryOnly: number;
  primaryCoresPerShardCookie: number;
  primaryCoresPerShardPrimaryOnly: number;
  edgeCores: number;
  redisOpsPerSecond: number | null;
  redisCores: number | null;
  originProcesses: number | null;
  createPgCores: number | null;
}

export function capacityPlan(x: CapacityInputs): CapacityPlan {
  const { redirects, creates, shards, utilisation: u } = CAPACITY;
  const primaryShare = x.cookiePrimaryShare ?? CAPACITY.creatorShare;
  const replicaReads = redirects * (1 - primaryShare);
  const perProcess = (u * 1e6) / x.gatewayMicros; // reads/s one gateway process sustains
  const gatewayProcesses = Math.ceil(replicaReads / perProcess);
  const replicaReadsPerShard = replicaReads / shards;
  const readCost = x.gatewayMicros + x.pgReadMicros;
  const primaryReadsCookie = (redirects * primaryShare) / shards;
  const primaryReadsAll = redirects / shards;
  const createsPerShard = creates / shards;
  const pgCreate = x.pgCreateMicros ?? 0;
  return {
    gatewayProcesses,
    replicaReadsPerShard,
    gatewayProcessesPerShard: Math.ceil(replicaReadsPerShard / perProcess),
    // Cores for gateway + PostgreSQL on the replicas of one shard.
    replicaNodeCores: (replicaReadsPerShard * readCost) / (u * 1e6),
    primaryReadsPerShardCookie: primaryReadsCookie,
    primaryReadsPerShardPrimaryOnly: primaryReadsAll,
    primaryCoresPerShardCookie:
      (primaryReadsCookie * readCost + createsPerShard * pgCreate) / (u * 1e6),
    primaryCoresPerShardPrimaryOnly:
      (primaryReadsAll * readCost + createsPerShard * pgCreate) / (u * 1e6),
    edgeCores: (redirects * x.edgeMicros) / 1e6,
    redisOpsPerSecond:
      x.redisCommandsPerRedirect === null ? null : redirects * x.redisCommandsPerRedirect + creates,
    redisCores: x.redisMicros === null ? null : (redirects * x.redisMicros) / 1e6,
    originProcesses:
      x.originCreateMicros === null
        ? null
        : Math.ceil((creates * x.originCreateMicros) / (u * 1e6)),
    createPgCores: x.pgCreateMicros === null ? null : (creates * x.pgCreateMicros) / 1e6,
  };
}

function capacityInputs(report: BenchReport): CapacityInputs | null {
  const c = variant(report.sections.redirect, VARIANTS.cookie);
  if (!c) return null;
  const d = variant(report.sections.redirect, VARIANTS.redis);
  const reads = c.perRedirect.gatewayReads || 1;
  const cpu = c.cpuMicrosPerRequest;
  const createAsync = report.sections.creates?.variants.find((v) => v.variant === "create, async");
  return {
    edgeMicros: cpu.workerd ?? Number.NaN,
    gatewayMicros: sumGroups(cpu, "gateway:") / reads,
    pgReadMicros: sumGroups(cpu, "pg:") / reads,
    redisMicros: d ? (d.cpuMicrosPerRequest.redis ?? null) : null,
    redisCommandsPerRedirect: d ? d.perRedirect.redisCommands : null,
    redisConnectionsPerRedirect: d ? d.perRedirect.redisConnections : null,
    originCreateMicros: createAsync ? (createAsync.cpuMicrosPerRequest.origin ?? null) : null,
    pgCreateMicros: createAsync ? sumGroups(createAsync.cpuMicrosPerRequest, "pg:") : null,
    cookiePrimaryShare: variant(report.sections.primaries, VARIANTS.cookie)?.primaryShare ?? null,
  };
}

// ---------- the document ----------

interface Claim {
  claim: string;
  measured: string;
  holds: boolean | null;
  /** Why a "holds" is only just so (shown beside the verdict). */
  caveat?: string;
}

function claims(report: BenchReport): Claim[] {
  const out: Claim[] = [];
  const r = report.sections.redirect;
  const cb = r?.ratios["(c)/(b)"] ?? null;
  if (cb && r) {
    const worker = cpuRatio(r, VARIANTS.cookie, VARIANTS.bare, "workerd");
    const all = cpuRatio(r, VARIANTS.cookie, VARIANTS.bare, null);
    const weak = [
      ...(cb.min < 0.9 ? [`a round at ${dec(cb.min)}`] : []),
      ...(worker < 0.9 ? [`the Worker's own CPU per redirect gives ${dec(worker)}`] : []),
    ];
    out.push({
      claim: "(c) cookie ≥ 0.90 × (b) bare proxy, req/s",
      measured: `${dec(cb.median)} (rounds ${cb.perRound.map((x) => dec(x)).join(", ")}); from CPU per redirect: Worker ${dec(worker)}, all processes ${dec(all)}`,
      holds: cb.median >= 0.9,
      ...(weak.length > 0 ? { caveat: `only just: ${weak.join("; ")}` } : {}),
    });
  }
  const cd = r?.ratios["(c)/(d)"] ?? null;
  out.push({
    claim: "(c) cookie at least as fast as (d) redis",
    measured: cd
      ? `(c)/(d) = ${dec(cd.median)} (rounds ${cd.perRound.map((x) => dec(x)).join(", ")})`
      : "(d) not measured",
    holds: cd ? cd.median >= 1 : null,
  });
  const c = variant(r, VARIANTS.cookie);
  if (c) {
    const calls = c.perRedirect.gatewayReads + (c.perRedirect.redisGets ?? 0);
    out.push({
      claim: "(c) makes exactly 1 network call per redirect",
      measured: `${dec(c.perRedirect.gatewayReads, 3)} gateway reads + ${dec(c.perRedirect.redisGets ?? 0, 3)} Redis GETs`,
      holds: Math.abs(calls - 1) < 0.01,
    });
  }
  const d = variant(r, VARIANTS.redis);
  if (d) {
    const calls = d.perRedirect.gatewayReads + (d.perRedirect.redisGets ?? 0);
    out.push({
      claim: "(d) makes 2 network calls per redirect",
      measured: `${dec(d.perRedirect.gatewayReads, 3)} gateway reads + ${dec(d.perRedirect.redisGets ?? 0, 3)} Redis GETs (${dec(d.perRedirect.redisConnections ?? 0, 3)} new Redis connections)`,
      holds: Math.abs(calls - 2) < 0.02,
    });
  }
  const p = report.sections.primaries;
  const pc = variant(p, VARIANTS.cookie);
  if (pc) {
    out.push({
      claim: "with 1 % creators, close to 1 % of reads reach primaries under (c)",
      measured: pct(pc.primaryShare, 2),
      holds: pc.primaryShare <= 0.015,
    });
  }
  const pe = variant(p, VARIANTS.primary);
  if (pe) {
    out.push({
      claim: "100 % of reads reach primaries under (e)",
      measured: pct(pe.primaryShare, 2),
      holds: pe.primaryShare > 0.999,
    });
  }
  const lag = report.sections.lag;
  if (lag) {
    out.push({
      claim: "replication lag of milliseconds (a 30 s window is ample)",
      measured: `create → visible on the replica: p50 ${ms(lag.visibleMs.p50)} ms, p99 ${ms(lag.visibleMs.p99)} ms, max ${ms(lag.visibleMs.max)} ms`,
      holds: isNum(lag.visibleMs.p99) && lag.visibleMs.p99 < 1_000 && lag.neverVisible === 0,
    });
  }
  const core = report.sections.core;
  if (core?.shardForNs) {
    out.push({
      claim: "the routing decision costs nothing measurable",
      measured: `shardFor ${dec(core.shardForNs, 0)} ns${core.edgeDecision ? `; whole decision in workerd ${dec(core.edgeDecision.withCookieMicros)} µs` : ""}`,
      holds: core.shardForNs < 1_000,
    });
  }
  return out;
}

const verdict = (c: Claim) =>
  c.holds === null
    ? "not measured"
    : c.holds
      ? `holds${c.caveat ? ` (${c.caveat})` : ""}`
      : "**does not hold**";

export function renderMarkdown(report: BenchReport): string {
  const { meta, sections } = report;
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  const allRuns = [
    ...(sections.redirect?.runs ?? []),
    ...(sections.primaries?.runs ?? []),
    ...(sections.gateway?.runs ?? []),
    ...(sections.creates?.runs ?? []),
  ];
  const other = otherLoad(allRuns);
  const noisy =
    meta.machine.loadBefore[0] !== undefined && (meta.machine.loadBefore[0] >= 1.5 || other > 0.25);
  const s = meta.settings;

  push(
    "# Benchmarks",
    "",
    `Generated by \`${meta.command}\` on ${meta.date.slice(0, 16).replace("T", " ")} UTC (the run took ${Math.floor(meta.runtimeSeconds / 60)} min ${meta.runtimeSeconds % 60} s). Raw figures: [BENCHMARKS.json](BENCHMARKS.json).`,
    "",
    `**Machine: ${meta.machine.cores} cores (${meta.machine.cpu}), ${meta.machine.memoryGiB} GiB, shared by the load generator and every server** (${meta.machine.sharedBy}). Absolute numbers are therefore low and mostly measure CPU per request; the ratios between variants, taken in the same run, are the result. Node ${meta.versions.node}, workerd ${meta.versions.workerd ?? "?"} (miniflare ${meta.versions.miniflare ?? "?"}), PostgreSQL ${meta.versions.postgres ?? "?"}, autocannon ${meta.versions.autocannon ?? "?"}.`,
    "",
    `Load average before the run ${meta.machine.loadBefore.map((l) => l.toFixed(2)).join(" / ")}, after ${meta.machine.loadAfter.map((l) => l.toFixed(2)).join(" / ")}; processes outside the benchmark used ${dec(other)} cores on average during the measured runs.${noisy ? " **The run was noisy** (other work on the machine): read the ratios, not the absolute figures." : ""}`,
    "",
    `Settings: ${s.rounds} rounds, variants in alternating order (forward, backward, …), ${s.seconds} s per measured run after ${s.warmupSeconds} s of warm-up, ${s.connections} keep-alive connections, at most ${int(s.maxRequests as number)} requests per run; figures are medians over the rounds, and each ratio is the median of per-round ratios.`,
    "",
  );
  for (const note of meta.notes) push(`> ${note}`, "");

  push(
    "## The claims",
    "",
    table(
      ["claim", "measured", "verdict"],
      claims(report).map((c) => [c.claim, c.measured, verdict(c)]),
      ["l", "l", "l"],
    ),
    "",
  );

  const r = sections.redirect;
  if (r) {
    push(
      "## Redirect path",
      "",
      `Same ${int(r.requestList.length)}-entry list of ${meta.cluster.links ? "old" : ""} codes for every variant (all owned by shard ${String(meta.cluster.seededShard)}, so (b) and (c) read the same replica gateway), no cookie; (f) replaces every 20th code by one that exists nowhere. Calls per redirect come from a counted run after each timed run: exactly N redirects, the gateways' own \`linkReads\` and Redis's \`cmdstat_get\` read before and after (once they stop moving), divided by N. CPU µs per redirect is each process group's CPU time (/proc) over the timed runs divided by their completed redirects.`,
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
            [
              name,
              ratioText(ratio),
              dec(cpuRatio(r, a, b, "workerd")),
              dec(cpuRatio(r, a, b, null)),
            ],
          ];
        }),
      ),
      "",
      "The CPU columns are what the req/s ratio would be if the machine were CPU-bound and quiet: the inverse ratio of CPU time per redirect (workerd alone; every process of the benchmark, load generator included). They hold up far better than req/s when other work shares the machine.",
      "",
    );
    const d = variant(r, VARIANTS.redis);
    if (d?.perRedirect.redisCommands !== null && d?.perRedirect.redisCommands !== undefined) {
      push(
        `(d) sent ${dec(d.perRedirect.redisCommands, 3)} Redis commands and opened ${dec(d.perRedirect.redisConnections, 3)} Redis connections per redirect (INFO stats): the edge keeps one connection in a Durable Object and every redirect asks it. Here the Worker → Durable Object hop is inside one workerd; in production the object lives in one place, so for most visitors that hop is a network call of its own, before the GET.`,
        "",
      );
    }
    const f = variant(r, VARIANTS.fallback);
    if (f) {
      push(
        `(f): 5 % of its requests are misses, and ${pct(f.perRedirect.primaryReads, 1)} of its redirects were retried on the primary: the rest were refused by the fallback budget (\`FALLBACK_BUDGET_PER_MINUTE\`, 600 per isolate by default), which is what keeps a scanner of random codes off the primaries.`,
        "",
      );
    }
  }

  const p = sections.primaries;
  if (p) {
    push(
      "## Load on primaries",
      "",
      `One request in 100 is a creator inside their window: a fresh signed \`ryow_until\` cookie, on a code that is also fresh in Redis (\`ryow:<code>\`); the other 99 are old links without a cookie. The same list for every variant; the share is the gateways' \`linkReads\` on primaries over all \`linkReads\`.`,
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
    );
  }

  const c = sections.creates;
  if (c) {
    push(
      "## Creates",
      "",
      "`POST /api/links` straight to the origin (not through the edge), the same body every time, codes generated by the origin across both shards. `remote_apply`: the origin's write transaction sets `synchronous_commit = remote_apply`, so the create returns once a replica has applied it.",
      "",
      table(
        [
          "durability",
          "creates/s",
          "p50 ms",
          "p99 ms",
          "origin µs / create",
          "PostgreSQL µs / create",
          "statuses",
        ],
        c.variants.map((v) => [
          v.variant.replace("create, ", ""),
          int(v.rps),
          ms(v.p50),
          ms(v.p99),
          int(v.cpuMicrosPerRequest.origin),
          int(sumGroups(v.cpuMicrosPerRequest, "pg:")),
          statusText(v.statuses) + (v.errors ? `, errors ${v.errors}` : ""),
        ]),
      ),
      "",
      `remote_apply / async, creates/s: ${ratioText(c.ratio)}.`,
      "",
    );
  }

  const lag = sections.lag;
  if (lag) {
    push(
      "## Replication lag",
      "",
      `${int(lag.creates)} creates at a steady ${lag.rate}/s (async durability) for ${lag.seconds} s; after each acknowledgement the replica's gateway of the owning shard is polled (\`GET /links/:code\`, back to back) until it answers 200. The figure includes one probe's round trip, so it is an upper bound; ${int(lag.visibleOnFirstProbe)} of ${int(lag.visibleMs.samples)} codes were already there on the first probe.`,
      "",
      table(
        ["measure", "p50", "p99", "max", "samples"],
        [
          [
            "create acknowledged → visible on the replica's gateway (ms)",
            ms(lag.visibleMs.p50),
            ms(lag.visibleMs.p99),
            ms(lag.visibleMs.max),
            int(lag.visibleMs.samples),
          ],
          [
            "`pg_stat_replication.replay_lag` every 100 ms (ms)",
            ms(lag.replayLagMs.p50),
            ms(lag.replayLagMs.p99),
            ms(lag.replayLagMs.max),
            `${int(lag.replayLagMs.samples)} (+${int(lag.replayLagMs.nullSamples)} null: caught up and idle)`,
          ],
          ["create latency (ms)", ms(lag.createMs.p50), ms(lag.createMs.p99), "", ""],
        ],
      ),
      "",
      `Never visible within 5 s: ${lag.neverVisible}. Failed creates: ${lag.failedCreates}. A 30 s RYOW window is ${isNum(lag.visibleMs.max) && lag.visibleMs.max > 0 ? `${int(30_000 / lag.visibleMs.max)}×` : "many times"} the worst lag seen here; it has to cover lag under real load and a replica catching up after a pause, not this idle figure.`,
      "",
    );
  }

  const g = sections.gateway;
  if (g) {
    const [gw, hello] = g.variants;
    push(
      "## Gateway",
      "",
      `One gateway process (${g.node}, a replica) answering \`GET /links/:code\` over the seeded codes, against a node:http hello world on the same Node, alternating. Both saturate the 2 shared cores together with the load generator (and, for the gateway, PostgreSQL).`,
      "",
      table(
        ["server", "req/s", "p50 ms", "p99 ms", "server µs / request", "PostgreSQL µs / request"],
        [gw, hello]
          .filter((v) => v !== undefined)
          .map((v) => [
            v.variant,
            int(v.rps),
            ms(v.p50),
            ms(v.p99),
            int(
              v.variant.includes("hello")
                ? v.cpuMicrosPerRequest.hello
                : sumGroups(v.cpuMicrosPerRequest, "gateway:"),
            ),
            int(sumGroups(v.cpuMicrosPerRequest, "pg:")),
          ]),
      ),
      "",
      `gateway / hello world, req/s: ${ratioText(g.ratio)}.`,
      "",
    );
  }

  const core = sections.core;
  if (core) {
    push(
      "## Routing core",
      "",
      "From the packages' own scripts, run by this benchmark: `npm run bench -w @firstclick/core`, `npm run ring-stats -w @firstclick/core`, `npm run bench -w @firstclick/edge` (in workerd).",
      "",
      table(
        ["what", "result"],
        [
          [
            `\`shardFor\`, ${core.ringLabel ?? "?"}`,
            core.shardForNs
              ? `${dec(core.shardForNs, 1)} ns/lookup (murmur3_32 alone ${dec(core.murmurNs, 1)} ns)`
              : "not found in the output",
          ],
          [
            "balance, fullest/mean and emptiest/mean",
            core.balance
              ? `${dec(core.balance.fullestOverMean, 3)} / ${dec(core.balance.emptiestOverMean, 3)} (${int(core.balance.codes)} codes, 4 shards)`
              : "not found",
          ],
          [
            "adding a 5th shard moves",
            core.movement
              ? `${dec(core.movement.movedPercent)} % of codes (ideal 20 %), ${core.movement.notOntoNew} not onto the new shard`
              : "not found",
          ],
          [
            "edge routing decision in workerd",
            core.edgeDecision
              ? `planRedirect ${dec(core.edgeDecision.planMicros)} µs, with the cookie check ${dec(core.edgeDecision.withCookieMicros)} µs`
              : "not found",
          ],
        ],
      ),
      "",
    );
    for (const e of core.errors) push(`> ${e}`, "");
  }

  const inputs = capacityInputs(report);
  if (inputs) push(...capacitySection(inputs), "");

  push(
    "## How it was measured",
    "",
    "- `npm run bench` at the root runs turbo's `bench` task: core's and the edge's vitest benches, then `test/bench/run.ts` (this file's source).",
    "- The cluster comes from `packages/cluster` (`up({ basePort: 26000, stateDir: .firstclick/bench, durability: remote_apply, redis: true, apps: { edge: false } })`): etcd, 2 shards × (primary + 1 async streaming replica), one gateway per PostgreSQL node, the origin, Redis. `remote_apply` only makes synchronous commits *possible*; the origin's `DURABILITY` decides per transaction, and is switched with the cluster's `restartApps({ originEnv })`.",
    "- The Workers run in ONE workerd process started by the benchmark through miniflare, each variant on its own port through `unsafeDirectSockets` (no entry worker, no wrangler proxy): the edge bundle exactly as `wrangler deploy --dry-run` builds it, with wrangler.toml's bindings, once per `STRATEGY`, plus two bench-only Workers (`test/bench/workers/`). Switching variant costs nothing, so rounds can alternate order; only one variant is loaded at a time.",
    "- Load: autocannon, keep-alive; every connection takes its next request from one shared cursor over the variant's request list, so a mix (1 in 100, 1 in 20) holds exactly. Each timed run (throughput, latency, CPU) is bounded by time and by a request cap; after it, a counted run of exactly N requests, with the counters read once they stop moving before and after, gives the network calls per redirect.",
    "- Counters: gateways' `GET /health` `linkReads` (by node and role), Redis `INFO stats` + `INFO commandstats`; CPU: `/proc/<pid>/stat` of workerd, each gateway, each PostgreSQL node (postmaster and all backends), Redis, origin and the load generator, before and after every measured run.",
  );
  return `${lines.join("\n")}\n`;
}

/** Replica machines per shard (4 cores each), plus one spare, and gateway processes per machine. */
function replicaLayout(plan: CapacityPlan): string {
  const cores = CAPACITY.replicaCores;
  const needed = Math.max(1, Math.ceil(plan.replicaNodeCores / cores));
  const perMachine = Math.ceil(plan.gatewayProcessesPerShard / needed);
  return `**${dec(plan.replicaNodeCores, 1)}** cores → ${needed} replica${needed === 1 ? "" : "s"} of ${cores} cores, **${needed + 1} with one spare** (a replica down must not overload the rest), each running ${perMachine} gateway process${perMachine === 1 ? "" : "es"}${perMachine > 1 ? ": one gateway per node, as today, would cap a replica at one core of gateway work" : ""}`;
}

function capacitySection(x: CapacityInputs): string[] {
  const plan = capacityPlan(x);
  const { redirects, creates, shards, utilisation } = CAPACITY;
  const u = `${Math.round(utilisation * 100)} %`;
  const lines = [
    "## Capacity model",
    "",
    `What ${int(redirects)} redirects/s and ${int(creates)} creates/s need, from the CPU each request cost in this run (plain arithmetic). Assumptions: CPU per request stays what it was here (no gain from batching, no loss from contention); every process and core is planned at most ${u} busy; a gateway is one Node process, so at most one core; a replica machine has ${CAPACITY.replicaCores} cores; ${shards} shards with the load spread evenly by the ring; creators are ${pct(x.cookiePrimaryShare ?? CAPACITY.creatorShare, 2)} of redirects (measured share of primary reads in the 1 % mix); network latency between machines is not modelled.`,
    "",
    table(
      ["measured input", "value"],
      [
        ["Worker CPU per redirect, (c)", `${int(x.edgeMicros)} µs`],
        ["gateway CPU per link read", `${int(x.gatewayMicros)} µs`],
        ["PostgreSQL CPU per link read", `${int(x.pgReadMicros)} µs`],
        [
          "Redis CPU per redirect, (d)",
          x.redisMicros === null ? "not measured" : `${dec(x.redisMicros, 1)} µs`,
        ],
        [
          "origin CPU per create (async)",
          x.originCreateMicros === null ? "not measured" : `${int(x.originCreateMicros)} µs`,
        ],
        [
          "PostgreSQL CPU per create (primary + replica)",
          x.pgCreateMicros === null ? "not measured" : `${int(x.pgCreateMicros)} µs`,
        ],
      ],
    ),
    "",
    table(
      ["need", "arithmetic", "result"],
      [
        [
          "gateway processes on replicas",
          `${int(redirects)} × ${pct(1 - (x.cookiePrimaryShare ?? CAPACITY.creatorShare), 0)} reads/s × ${int(x.gatewayMicros)} µs ÷ (${u} × 1 s)`,
          `**${int(plan.gatewayProcesses)}** processes, ${int(plan.gatewayProcessesPerShard)} per shard`,
        ],
        [
          "replica cores per shard (gateway + PostgreSQL)",
          `${int(plan.replicaReadsPerShard)} reads/s × ${int(x.gatewayMicros + x.pgReadMicros)} µs ÷ ${u}`,
          replicaLayout(plan),
        ],
        [
          "primary load per shard, cookie (c)",
          `${int(plan.primaryReadsPerShardCookie)} reads/s + ${int(creates / shards)} creates/s`,
          `**${dec(plan.primaryCoresPerShardCookie, 2)}** cores`,
        ],
        [
          "primary load per shard, primary-only (e)",
          `${int(plan.primaryReadsPerShardPrimaryOnly)} reads/s + ${int(creates / shards)} creates/s`,
          `**${dec(plan.primaryCoresPerShardPrimaryOnly, 1)}** cores (every read on one machine per shard)`,
        ],
        [
          "Redis operations the redis strategy (d) adds",
          `${int(redirects)} × ${dec(x.redisCommandsPerRedirect, 2)} commands/redirect + ${int(creates)} SETs`,
          plan.redisOpsPerSecond === null
            ? "not measured"
            : `**${int(plan.redisOpsPerSecond)}** ops/s${plan.redisCores === null ? "" : `, ${dec(plan.redisCores, 2)} Redis cores (commands run on one thread: ${Math.max(1, Math.ceil(plan.redisCores / CAPACITY.redisCorePerInstance))} Redis instance${Math.ceil(plan.redisCores / CAPACITY.redisCorePerInstance) > 1 ? "s, i.e. a Redis Cluster" : ""})`}${x.redisConnectionsPerRedirect ? `, ${int(redirects * x.redisConnectionsPerRedirect)} new connections/s` : ""}`,
        ],
        [
          "Worker CPU for the redirects",
          `${int(redirects)} × ${int(x.edgeMicros)} µs`,
          `${dec(plan.edgeCores, 1)} cores of Workers (Cloudflare's to scale)`,
        ],
        [
          "origin processes for creates",
          x.originCreateMicros === null
            ? "–"
            : `${int(creates)} × ${int(x.originCreateMicros)} µs ÷ ${u}`,
          plan.originProcesses === null ? "not measured" : `**${plan.originProcesses}**`,
        ],
        [
          "PostgreSQL CPU for creates (all shards)",
          x.pgCreateMicros === null ? "–" : `${int(creates)} × ${int(x.pgCreateMicros)} µs`,
          plan.createPgCores === null ? "not measured" : `${dec(plan.createPgCores, 2)} cores`,
        ],
      ],
      ["l", "l", "l"],
    ),
  ];
  return lines;
}
