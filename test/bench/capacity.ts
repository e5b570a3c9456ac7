/**
 * The capacity model: what 100,000 redirects/s and 1,000 creates/s need, from the CPU each
 * request cost in the run (plain arithmetic), and its section of BENCHMARKS.md (pure: no I/O).
 */
import { dec, int, pct, sumGroups, table } from "./format.ts";
import { CACHE_VARIANTS, type CacheSection } from "./sections/cache.ts";
import { type PrimariesSection, type RedirectSection, VARIANTS } from "./sections/redirect.ts";
import type { AnalyticsWrites } from "./sections/redirect-analytics.ts";
import { variant } from "./sections/redirect-report.ts";
import type { CreatesSection } from "./sections/writes.ts";

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
  /** The edge cache's hit ratio on the Zipf workload, (h); null: not measured. */
  cacheHitRatio: number | null;
  /** Click analytics: CPU µs added per click (on − off) and rollup rows per click; null: off. */
  analytics: { workerd: number; origin: number; pg: number; rowsPerClick: number } | null;
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
  /** Clicks per Queue message (the edge's batch) and messages per consumer batch (wrangler.toml). */
  clicksPerMessage: 100,
  messagesPerBatch: 100,
} as const;

export interface CapacityPlan {
  gatewayProcesses: number;
  /** The same with the edge cache answering `cacheHitRatio` of the replica reads. */
  gatewayProcessesCached: number | null;
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
  analytics: {
    edgeCores: number;
    originProcesses: number;
    pgCores: number;
    /** Ingest transactions per shard primary per second, with full consumer batches. */
    transactionsPerShard: number;
  } | null;
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
    gatewayProcessesCached:
      x.cacheHitRatio === null
        ? null
        : Math.ceil((replicaReads * (1 - x.cacheHitRatio)) / perProcess),
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
    analytics: x.analytics && {
      edgeCores: (redirects * x.analytics.workerd) / 1e6,
      originProcesses: Math.ceil((redirects * x.analytics.origin) / (u * 1e6)),
      pgCores: (redirects * x.analytics.pg) / 1e6,
      // Every consumer batch is one transaction on each shard it has clicks for (all of them).
      transactionsPerShard: redirects / (CAPACITY.clicksPerMessage * CAPACITY.messagesPerBatch),
    },
  };
}

/** The sections the model reads its inputs from. */
export interface CapacitySources {
  redirect?: RedirectSection;
  primaries?: PrimariesSection;
  creates?: CreatesSection;
  cache?: CacheSection;
}

export function capacityInputs(sections: CapacitySources): CapacityInputs | null {
  const c = variant(sections.redirect, VARIANTS.cookie);
  if (!c) return null;
  const d = variant(sections.redirect, VARIANTS.redis);
  const reads = c.perRedirect.gatewayReads || 1;
  const cpu = c.cpuMicrosPerRequest;
  const createAsync = sections.creates?.variants.find((v) => v.variant === "create, async");
  return {
    edgeMicros: cpu.workerd ?? Number.NaN,
    gatewayMicros: sumGroups(cpu, "gateway:") / reads,
    pgReadMicros: sumGroups(cpu, "pg:") / reads,
    redisMicros: d ? (d.cpuMicrosPerRequest.redis ?? null) : null,
    redisCommandsPerRedirect: d ? d.perRedirect.redisCommands : null,
    redisConnectionsPerRedirect: d ? d.perRedirect.redisConnections : null,
    originCreateMicros: createAsync ? (createAsync.cpuMicrosPerRequest.origin ?? null) : null,
    pgCreateMicros: createAsync ? sumGroups(createAsync.cpuMicrosPerRequest, "pg:") : null,
    cookiePrimaryShare: variant(sections.primaries, VARIANTS.cookie)?.primaryShare ?? null,
    // CACHE=memory under constant load (the steady-state run): the tier every deployment has
    // (the Cache API's share depends on the location); the rounds' figure without that run.
    cacheHitRatio:
      sections.cache?.steady?.variant.hitRatio ??
      sections.cache?.variants.find((v) => v.variant === CACHE_VARIANTS.cachedMemory)?.hitRatio ??
      null,
    analytics: analyticsInputs(sections.redirect?.analytics ?? null),
  };
}

function analyticsInputs(a: AnalyticsWrites | null): CapacityInputs["analytics"] {
  if (!a || a.counted === 0) return null;
  const added = (prefix: string) =>
    Math.max(0, sumGroups(a.cpuOn, prefix) - sumGroups(a.cpuOff, prefix));
  return {
    workerd: added("workerd"),
    origin: added("origin"),
    pg: added("pg:"),
    rowsPerClick: a.rowsWritten / a.clicks,
  };
}

function analyticsRows(x: CapacityInputs, plan: CapacityPlan): string[][] {
  const a = x.analytics;
  const p = plan.analytics;
  if (!a || !p) return [["click analytics", "–", "not measured"]];
  const u = `${Math.round(CAPACITY.utilisation * 100)} %`;
  const n = int(CAPACITY.redirects);
  return [
    [
      "click analytics: Worker CPU (event, batch, Queue, consumer)",
      `${n} × ${dec(a.workerd, 1)} µs`,
      `${dec(p.edgeCores, 1)} cores of Workers`,
    ],
    [
      "click analytics: origin processes for the ingest",
      `${n} × ${dec(a.origin, 1)} µs ÷ ${u}`,
      `**${p.originProcesses}**`,
    ],
    [
      "click analytics: PostgreSQL (primaries + replicas' replay, all shards)",
      `${n} × ${dec(a.pg, 1)} µs, at ${dec(a.rowsPerClick, 2)} rollup rows per click (the benchmark's uniform codes; hot links merge into far fewer)`,
      `${dec(p.pgCores, 2)} cores`,
    ],
    [
      "click analytics: transactions on each shard primary",
      `${n} clicks/s ÷ (${CAPACITY.clicksPerMessage} clicks/message × ${CAPACITY.messagesPerBatch} messages/batch), one transaction per shard per batch`,
      `**${dec(p.transactionsPerShard, 0)}**/s per shard`,
    ],
  ];
}

/** Replica machines per shard (4 cores each), plus one spare, and gateway processes per machine. */
function replicaLayout(plan: CapacityPlan): string {
  const cores = CAPACITY.replicaCores;
  const needed = Math.max(1, Math.ceil(plan.replicaNodeCores / cores));
  const perMachine = Math.ceil(plan.gatewayProcessesPerShard / needed);
  return `**${dec(plan.replicaNodeCores, 1)}** cores → ${needed} replica${needed === 1 ? "" : "s"} of ${cores} cores, **${needed + 1} with one spare** (a replica down must not overload the rest), each running ${perMachine} gateway process${perMachine === 1 ? "" : "es"}${perMachine > 1 ? ": one gateway per node, as today, would cap a replica at one core of gateway work" : ""}`;
}

export function capacitySection(x: CapacityInputs): string[] {
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
          "gateway processes with the edge cache, (h)",
          x.cacheHitRatio === null
            ? "–"
            : `as above × (1 − ${pct(x.cacheHitRatio, 1)} hit ratio measured, Zipf s = 1.1 over 100,000 links, one isolate's memory at steady state at the bench's rate with the 60 s cap: a lower bound, since more clicks per TTL hit more often; apps/edge/src/cache/README.md gives it by rate)`,
          plan.gatewayProcessesCached === null
            ? "not measured"
            : `**${int(plan.gatewayProcessesCached)}** processes (hot links answered at the edge; a scan of distinct codes still needs the row above)`,
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
        ...analyticsRows(x, plan),
      ],
      ["l", "l", "l"],
    ),
  ];
  return lines;
}
