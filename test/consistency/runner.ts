/**
 * One consistency run: a fresh local cluster with the strategy under test, N clients doing the
 * random mix through the edge while the fault schedule runs, then — faults healed, replicas
 * caught up — the convergence reads. The history goes to test/artifacts/ as JSON lines and the
 * checker judges it. The cluster is stopped at the end whatever happened.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { attach, type Cluster, defaultStateDir, type HaMode, poll, up } from "@firstclick/cluster";
import { HashRing } from "@firstclick/core";
import { type CheckReport, checkHistory } from "./checker/index.ts";
import { ConsistencyClient, Recorder } from "./client.ts";
import { FaultInjector } from "./faults.ts";
import { type History, toJsonLines } from "./history.ts";
import { describeFault, drawSchedule } from "./schedule.ts";
import { runClient, SharedCodes } from "./workload.ts";

export const ARTIFACTS = join(import.meta.dirname, "..", "artifacts");

/** Strategy names of the table; `remote_apply` is `cookie` with DURABILITY=remote_apply. */
export const ALL_STRATEGIES = [
  "cookie",
  "position",
  "cookie,position",
  "redis",
  "fallback",
  "primary",
  "remote_apply",
] as const;

export interface RunOptions {
  strategy: string;
  seed: number;
  durationMs: number;
  clients?: number;
  ha?: HaMode;
  /** One pause of every replica for three RYOW windows instead of the seeded schedule. */
  pastWindow?: boolean;
  windowSeconds?: number;
  basePort?: number;
  replicas?: number;
  log?: (line: string) => void;
}

export interface RunResult {
  strategy: string;
  seed: number;
  report: CheckReport;
  history: History;
  historyFile: string;
}

export async function runConsistency(o: RunOptions): Promise<RunResult> {
  const log = o.log ?? ((line: string) => console.log(line));
  const windowSeconds = o.windowSeconds ?? 30;
  const remoteApply = o.strategy === "remote_apply";
  const strategy = remoteApply ? "cookie" : o.strategy;
  const plan = drawSchedule({
    seed: o.seed,
    durationMs: o.durationMs,
    windowSeconds,
    pastWindow: o.pastWindow,
  });
  log(`consistency run: strategy ${o.strategy}, seed ${o.seed}, ${o.durationMs / 1000} s`);
  for (const fault of plan) log(`  planned: ${describeFault(fault)}`);
  const stateDir = join(defaultStateDir(), `consistency-${o.basePort ?? 28_000}`);
  const cluster = await up({
    stateDir,
    basePort: o.basePort ?? 28_000,
    shards: 2,
    replicas: o.replicas ?? 1,
    durability: remoteApply ? "remote_apply" : "async",
    ha: o.ha ?? "manual",
    env: {
      STRATEGY: strategy,
      RYOW_WINDOW_SECONDS: String(windowSeconds),
      // Every client comes from 127.0.0.1: no per-IP create limit.
      CREATE_RATE_LIMIT_PER_MINUTE: "0",
      // A dead gateway costs at most this before the edge tries the next node.
      UPSTREAM_TIMEOUT_MS: "1000",
    },
    originEnv: remoteApply ? { DURABILITY: "remote_apply" } : {},
  }).catch(async (error: unknown) => {
    // An app that refuses the strategy fails `up` after etcd and PostgreSQL started: stop them.
    await attach(stateDir)
      .then((c) => c.down())
      .catch(() => {});
    throw error;
  });
  try {
    await untilAppsServe(cluster);
    const history = await drive(cluster, o, plan, log);
    const runTag = `${o.strategy.replace(/,/g, "+")}-${o.seed}`;
    await mkdir(ARTIFACTS, { recursive: true });
    const historyFile = join(ARTIFACTS, `consistency-${runTag}.jsonl`);
    await writeFile(historyFile, toJsonLines([...history.faults, ...history.operations]));
    return {
      strategy: o.strategy,
      seed: o.seed,
      report: checkHistory(history),
      history,
      historyFile,
    };
  } finally {
    // The history is judged already: a slow teardown is logged, it does not throw the run away.
    await cluster.down().catch((error: unknown) => log(`cluster down: ${String(error)}`));
  }
}

async function drive(
  cluster: Cluster,
  o: RunOptions,
  plan: ReturnType<typeof drawSchedule>,
  log: (line: string) => void,
): Promise<History> {
  const edge = urlOf(cluster.urls.edge, "edge");
  const shards = [...new Set(cluster.nodes.map((n) => n.shard))].sort();
  const ring = new HashRing(shards, { vnodes: cluster.layout.vnodes });
  const shardFor = (code: string) => ring.shardFor(code);
  const recorder = new Recorder();
  const runTag = `${o.seed}${Date.now().toString(36).slice(-4)}`;
  const clients = Array.from(
    { length: o.clients ?? 16 },
    (_, i) => new ConsistencyClient({ id: `c${i}`, api: i % 2 === 1, edge, recorder, shardFor }),
  );
  const shared = new SharedCodes();
  const injector = new FaultInjector(cluster, recorder, o.ha ?? "manual", log);
  const deadline = recorder.startedAt + o.durationMs;
  await Promise.all([
    injector.run(plan),
    ...clients.map((c, i) =>
      runClient(c, i, shared, {
        seed: o.seed,
        runTag,
        deadline,
        windowMs: (o.windowSeconds ?? 30) * 1_000,
      }),
    ),
  ]);
  log(`workload done: ${recorder.operations.length} operations; waiting for convergence`);
  await untilConverged(cluster).catch((error: unknown) => log(`not converged: ${String(error)}`));
  const observer = new ConsistencyClient({ id: "observer", api: false, edge, recorder, shardFor });
  for (const client of clients) {
    for (const link of client.links) await client.read("read-own", link.code, "converge");
  }
  const written = new Set(
    recorder.operations.filter((op) => op.kind === "create" && op.code).map((op) => op.code),
  );
  for (const code of written) await observer.read("read-other", code, "converge");
  return { operations: recorder.operations, faults: injector.events };
}

function urlOf(url: string | null, what: string): string {
  if (!url) throw new Error(`the cluster runs no ${what}`);
  return url;
}

async function health(url: string): Promise<Record<string, unknown> | null> {
  return fetch(url, { signal: AbortSignal.timeout(3_000) })
    .then((r) => r.json() as Promise<Record<string, unknown>>)
    .catch(() => null);
}

/** Origin and edge serve a topology, and the edge's is at least the origin's. */
async function untilAppsServe(cluster: Cluster): Promise<void> {
  const edge = urlOf(cluster.urls.edge, "edge");
  const origin = urlOf(cluster.urls.origin, "origin");
  await poll(
    async () => {
      const [o, e] = await Promise.all([health(`${origin}/health`), health(`${edge}/health`)]);
      const ov = Number(o?.topologyVersion ?? Number.NaN);
      const ev = Number(e?.topologyVersion ?? Number.NaN);
      return o?.ok === true && ev >= ov ? true : undefined;
    },
    { timeoutMs: 60_000, what: "origin and edge to serve the same topology" },
  );
}

function lsnValue(lsn: unknown): bigint {
  const [hi = "0", lo = "0"] = typeof lsn === "string" ? lsn.split("/") : [];
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

/** Every shard has a primary and every replica replayed the primary's WAL position. */
async function untilConverged(cluster: Cluster): Promise<void> {
  await untilAppsServe(cluster);
  await poll(
    async () => {
      const answers = await Promise.all(
        cluster.nodes
          .filter((n) => n.role !== "detached")
          .map(async (n) => ({ node: n, h: await health(`${n.gatewayUrl}/health`) })),
      );
      for (const shard of new Set(cluster.nodes.map((n) => n.shard))) {
        const mine = answers.filter((a) => a.node.shard === shard);
        const primary = mine.find((a) => a.h?.role === "primary");
        if (!primary) return undefined;
        const target = lsnValue(primary.h?.lsn);
        const replicas = mine.filter((a) => a.h?.role === "replica");
        if (replicas.some((r) => lsnValue(r.h?.replayLsn) < target)) return undefined;
        if (mine.some((a) => a.h === null)) return undefined;
      }
      return true;
    },
    { timeoutMs: 120_000, what: "replicas to replay their primary's WAL" },
  );
}
