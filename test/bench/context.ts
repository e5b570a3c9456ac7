/**
 * What every benchmark section shares: the settings, the running cluster, the Worker variants,
 * the seeded links, counter probes and the process groups whose CPU is accounted.
 */
import type { Cluster } from "@firstclick/cluster";
import type { Topology } from "@firstclick/core";
import {
  connectRedis,
  type GatewayReads,
  gatewayReads,
  type RedisClient,
  type RedisCounters,
  readsDelta,
  redisCounters,
  redisDelta,
} from "./counters.ts";
import type { CpuGroup } from "./cpu.ts";
import type { BenchEnv } from "./env.ts";
import type { CompareOptions, CounterProbe } from "./measure.ts";
import type { Seed } from "./seed.ts";
import type { BenchWorkers } from "./workerd.ts";

export interface BenchContext {
  env: BenchEnv;
  cluster: Cluster;
  topology: Topology;
  workers: BenchWorkers;
  seed: Seed;
  redis: RedisClient | null;
  /** RYOW secret the edge variants verify with (signed cookies, as production should run). */
  ryowSecret: string;
  /** Extra processes to account CPU for (e.g. the hello-world server while it runs). */
  extraCpu: CpuGroup[];
  log: (line: string) => void;
}

export async function openRedis(url: string | null): Promise<RedisClient | null> {
  return url ? connectRedis(url) : null;
}

/** CPU groups: workerd, each gateway, each PostgreSQL node (postmaster + backends), redis, origin, this client. */
export function cpuGroups(ctx: BenchContext): CpuGroup[] {
  const groups: CpuGroup[] = [{ name: "client", pids: [process.pid] }];
  if (ctx.workers.workerdPid) groups.push({ name: "workerd", pids: [ctx.workers.workerdPid] });
  const layout = ctx.cluster.layout;
  for (const node of layout.nodes) {
    const gw = node.gateway?.process?.pid;
    if (gw) groups.push({ name: `gateway:${node.id}`, pids: [gw] });
    const pg = node.pg.process?.pid;
    if (pg) groups.push({ name: `pg:${node.id}`, pids: [pg], descendants: true });
  }
  const redis = layout.redis?.process?.pid;
  if (redis) groups.push({ name: "redis", pids: [redis] });
  const origin = layout.apps.origin?.process?.pid;
  if (origin) groups.push({ name: "origin", pids: [origin], descendants: true });
  return [...groups, ...ctx.extraCpu];
}

export function probes(ctx: BenchContext): Record<string, CounterProbe<unknown>> {
  const result: Record<string, CounterProbe<unknown>> = {
    reads: {
      read: () => gatewayReads(ctx.cluster),
      delta: readsDelta,
      settled: (r: GatewayReads) => JSON.stringify(r.byNode),
    },
  };
  const redis = ctx.redis;
  if (redis) {
    result.redis = {
      read: () => redisCounters(redis),
      delta: redisDelta,
      // INFO counts itself: only what the Workers send has to settle.
      settled: (c: RedisCounters) => `${c.get} ${c.connections}`,
    };
  }
  return result;
}

export function compareOptions(ctx: BenchContext): CompareOptions {
  return {
    rounds: ctx.env.rounds,
    seconds: ctx.env.seconds,
    warmupSeconds: ctx.env.warmupSeconds,
    connections: ctx.env.connections,
    maxRequests: ctx.env.maxRequests,
    countRequests: ctx.env.countRequests,
    probes: probes(ctx),
    cpuGroups: () => cpuGroups(ctx),
    log: ctx.log,
  };
}
