/**
 * The comparison engine: variants measured in rounds, their order alternating from one round
 * to the next (forward, backward, forward…), so a drift of the machine during the run (other
 * work, a warming cache) does not favour whichever variant runs first. Around every measured
 * run it reads the servers' own counters (gateway reads, Redis commands) and the CPU time of
 * every server process, so per-request costs come from the same run as the throughput.
 */
import { type CpuGroup, cpuDelta, machineCpu, sampleCpu } from "./cpu.ts";
import { type BenchRequest, type LoadResult, runLoad, warmUp } from "./load.ts";

export interface Variant {
  name: string;
  origin: string;
  requests: readonly BenchRequest[];
  /**
   * Walk `requests` on across warm-up, timed and counted runs and rounds, never starting over
   * (each run from 0 by default): a list of distinct codes then never repeats one.
   */
  continuous?: boolean;
  /** Called before each of this variant's runs (e.g. restart a server with other settings). */
  prepare?: () => Promise<void>;
}

export interface CounterProbe<T> {
  read(): Promise<T>;
  delta(before: T, after: T): unknown;
  /** What must stop changing before a snapshot counts (in-flight work finished). */
  settled(value: T): string;
}

export interface Run {
  variant: string;
  round: number;
  /** Position inside its round. */
  position: number;
  /** The timed run: throughput, latency, CPU. */
  load: LoadResult;
  /** The counted run: exactly `count.requests` answered requests, and the counters' deltas. */
  count: { requests: number; complete: boolean; counters: Record<string, unknown> } | null;
  /** The probes' deltas over the timed run itself (null without probes). */
  timedCounters: Record<string, unknown> | null;
  /** CPU seconds by process group during the timed run. */
  cpu: Record<string, number>;
  /** Machine CPU during the timed run: busy seconds and what processes outside our groups used. */
  machine: { busySeconds: number; otherSeconds: number; utilisation: number };
  startedAt: string;
}

/** How each comparison loads the servers: the same figures for every section of one run. */
export interface LoadSettings {
  /** Rounds per comparison; variants alternate their order from round to round. */
  rounds: number;
  /** Measured seconds per load run (each run is also capped at maxRequests). */
  seconds: number;
  warmupSeconds: number;
  /** Keep-alive connections of the load generator. */
  connections: number;
  /** Hard cap on requests per load run, whatever the time. */
  maxRequests: number;
  /** Requests of the counted run after each timed run (network calls per redirect; 0: none). */
  countRequests: number;
}

export interface CompareOptions extends LoadSettings {
  /** Counters read around the counted run (method syntax keeps CounterProbe<T> assignable). */
  probes?: Record<string, CounterProbe<unknown>>;
  /** Process groups to account CPU for; re-read before every run (PIDs change on restarts). */
  cpuGroups: () => CpuGroup[];
  log: (line: string) => void;
}

export function roundOrder<T>(items: readonly T[], round: number): T[] {
  return round % 2 === 0 ? [...items] : [...items].reverse();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads the probes until what they count stops moving (requests a stopped client left in
 * flight still reach the gateways), bounded at 5 s; returns the last reading.
 */
async function settledReading(probes: [string, CounterProbe<unknown>][]): Promise<unknown[]> {
  let last = await Promise.all(probes.map(([, p]) => p.read()));
  const key = (values: unknown[]) => probes.map(([, p], i) => p.settled(values[i])).join("|");
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    await sleep(150);
    const next = await Promise.all(probes.map(([, p]) => p.read()));
    if (key(next) === key(last)) return next;
    last = next;
  }
  return last;
}

export async function compare(
  variants: readonly Variant[],
  options: CompareOptions,
): Promise<Run[]> {
  const runs: Run[] = [];
  const probes = Object.entries(options.probes ?? {});
  const cursors = new Map(variants.map((v) => [v, v.continuous ? { next: 0 } : undefined]));
  const deltas = (before: unknown[], after: unknown[]) => {
    const counters: Record<string, unknown> = {};
    for (const [i, [name, probe]] of probes.entries()) {
      counters[name] = probe.delta(before[i], after[i]);
    }
    return counters;
  };
  for (let round = 0; round < options.rounds; round++) {
    const order = roundOrder(variants, round);
    for (const [position, variant] of order.entries()) {
      await variant.prepare?.();
      const target = {
        origin: variant.origin,
        requests: variant.requests,
        connections: options.connections,
        cursor: cursors.get(variant),
      };
      await warmUp(target, options.warmupSeconds);
      const timedBefore = probes.length > 0 ? await settledReading(probes) : [];

      const groups = options.cpuGroups();
      const cpuBefore = sampleCpu(groups);
      const machineBefore = machineCpu();
      const startedAt = new Date().toISOString();
      const load = await runLoad(target, {
        seconds: options.seconds,
        maxRequests: options.maxRequests,
      });
      const machineAfter = machineCpu();
      const cpu = cpuDelta(cpuBefore, sampleCpu(groups));

      let count: Run["count"] = null;
      let timedCounters: Run["timedCounters"] = null;
      if (probes.length > 0) {
        const before = await settledReading(probes);
        timedCounters = deltas(timedBefore, before);
        if (options.countRequests > 0) {
          const counted = await runLoad(target, {
            count: options.countRequests,
            maxSeconds: 60,
          });
          const after = await settledReading(probes);
          count = {
            requests: counted.requests,
            complete: counted.requests === options.countRequests,
            counters: deltas(before, after),
          };
        }
      }

      const busy = machineAfter.busy - machineBefore.busy;
      const ours = Object.values(cpu).reduce((sum, s) => sum + s, 0);
      const wall = machineAfter.total - machineBefore.total;
      runs.push({
        variant: variant.name,
        round,
        position,
        load,
        count,
        timedCounters,
        cpu,
        machine: {
          busySeconds: busy,
          otherSeconds: Math.max(0, busy - ours),
          utilisation: wall > 0 ? busy / wall : 0,
        },
        startedAt,
      });
      const statuses = JSON.stringify(load.statuses);
      options.log(
        `  round ${round + 1} ${variant.name.padEnd(26)} ${Math.round(load.rps).toString().padStart(6)} req/s  p50 ${load.p50} ms  p99 ${load.p99} ms  ${statuses}${load.errors ? `  errors ${load.errors}` : ""}`,
      );
    }
  }
  return runs;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Nearest-rank percentile of raw samples (p in 0–100). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export interface VariantSummary {
  variant: string;
  rounds: number;
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  errors: number;
  statuses: Record<string, number>;
  /** CPU µs per request, by process group, over all rounds. */
  cpuMicrosPerRequest: Record<string, number>;
}

export function summarize(runs: readonly Run[], variant: string): VariantSummary {
  const mine = runs.filter((r) => r.variant === variant);
  const requests = mine.reduce((sum, r) => sum + r.load.requests, 0);
  const statuses: Record<string, number> = {};
  const cpu: Record<string, number> = {};
  for (const r of mine) {
    for (const [s, n] of Object.entries(r.load.statuses)) statuses[s] = (statuses[s] ?? 0) + n;
    for (const [g, sec] of Object.entries(r.cpu)) cpu[g] = (cpu[g] ?? 0) + sec;
  }
  const cpuMicrosPerRequest: Record<string, number> = {};
  for (const [g, sec] of Object.entries(cpu)) {
    cpuMicrosPerRequest[g] = requests > 0 ? (sec * 1e6) / requests : Number.NaN;
  }
  return {
    variant,
    rounds: mine.length,
    rps: median(mine.map((r) => r.load.rps)),
    p50: median(mine.map((r) => r.load.p50)),
    p99: median(mine.map((r) => r.load.p99)),
    requests,
    errors: mine.reduce((sum, r) => sum + r.load.errors, 0),
    statuses,
    cpuMicrosPerRequest,
  };
}

export interface Ratio {
  /** Median over rounds of the per-round ratio (both figures from the same round). */
  median: number;
  min: number;
  max: number;
  perRound: number[];
}

/** rps(a)/rps(b), round by round. */
export function ratio(runs: readonly Run[], a: string, b: string): Ratio | null {
  const perRound: number[] = [];
  const rounds = new Set(runs.map((r) => r.round));
  for (const round of rounds) {
    const ra = runs.find((r) => r.round === round && r.variant === a);
    const rb = runs.find((r) => r.round === round && r.variant === b);
    if (ra && rb && rb.load.rps > 0) perRound.push(ra.load.rps / rb.load.rps);
  }
  if (perRound.length === 0) return null;
  return {
    median: median(perRound),
    min: Math.min(...perRound),
    max: Math.max(...perRound),
    perRound,
  };
}
