/**
 * BENCHMARKS.md from the raw report (pure: no I/O). A reader should get the answer from the
 * first table; the sections below give every figure it came from, the capacity model, and how
 * the numbers were taken. Each section's table lives beside its measurement in sections/.
 */
import { capacityInputs, capacitySection } from "./capacity.ts";
import { dec, int, isNum, ms, otherLoad, pct, table } from "./format.ts";
import type { CacheSection } from "./sections/cache.ts";
import { cacheReport } from "./sections/cache-report.ts";
import type { CoreSection } from "./sections/core.ts";
import { coreReport } from "./sections/core-report.ts";
import type { GatewaySection } from "./sections/gateway.ts";
import { gatewayReport } from "./sections/gateway-report.ts";
import type { PrimariesSection, RedirectSection } from "./sections/redirect.ts";
import { VARIANTS } from "./sections/redirect.ts";
import { cpuRatio, primariesReport, redirectReport, variant } from "./sections/redirect-report.ts";
import type { CreatesSection, LagSection } from "./sections/writes.ts";
import { createsReport, lagReport } from "./sections/writes-report.ts";

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
    cache?: CacheSection;
    gateway?: GatewaySection;
    creates?: CreatesSection;
    lag?: LagSection;
    core?: CoreSection;
  };
}

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
  const gb = r?.ratios["(g)/(b)"] ?? null;
  if (gb && cb && r) {
    const worker = cpuRatio(r, VARIANTS.position, VARIANTS.bare, "workerd");
    out.push({
      claim: "(g) position ≥ (c) cookie − 0.05, both over (b) bare proxy, req/s",
      measured: `(g)/(b) ${dec(gb.median)} (rounds ${gb.perRound.map((x) => dec(x)).join(", ")}) beside (c)/(b) ${dec(cb.median)}; from the Worker's CPU per redirect (g)/(b) ${dec(worker)}`,
      holds: gb.median >= cb.median - 0.05,
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
  const pg = variant(p, VARIANTS.position);
  if (pg) {
    out.push({
      claim:
        "with 1 % creators whose replica has caught up, ≈ 0 % of reads reach primaries under (g)",
      measured: `${pct(pg.primaryShare, 2)}${pc ? ` (c: ${pct(pc.primaryShare, 2)})` : ""}`,
      holds: pg.primaryShare <= 0.001,
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
    ...(sections.cache?.runs ?? []),
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

  if (sections.redirect) push(...redirectReport(sections.redirect, meta.cluster));
  if (sections.primaries) push(...primariesReport(sections.primaries));
  if (sections.cache) push(...cacheReport(sections.cache));
  if (sections.creates) push(...createsReport(sections.creates));
  if (sections.lag) push(...lagReport(sections.lag));
  if (sections.gateway) push(...gatewayReport(sections.gateway));
  if (sections.core) push(...coreReport(sections.core));

  const inputs = capacityInputs(sections);
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
