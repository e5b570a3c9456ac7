/**
 * `npm run bench` (root, through turbo) → this file: the whole benchmark suite in one run.
 *
 * Brings up a local cluster (packages/cluster: etcd, 2 shards × (primary + 1 async replica)
 * with `remote_apply` available, one gateway per node, the origin, Redis), starts every Worker
 * variant in one workerd through miniflare (./workerd.ts), seeds links, then measures, in
 * alternating order over several rounds, with autocannon bounded in requests and time:
 *   redirect path (a)–(f), load on primaries, creates (async vs remote_apply), replication lag,
 *   the gateway vs a node:http hello world, and the routing core's own figures.
 * Writes BENCHMARKS.md (the table) and BENCHMARKS.json (every run, raw) at the repo root.
 * Loopback ports 26000–26999 only; state in .firstclick/bench.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { type Cluster, defaultStateDir, repoRoot, up } from "@firstclick/cluster";
import { Topology } from "@firstclick/core";
import postgres from "postgres";
import { type BenchContext, openRedis } from "./context.ts";
import { loadBenchEnv } from "./env.ts";
import { type BenchReport, renderMarkdown } from "./report.ts";
import { CACHE_SEED_LINKS, cacheWorkload } from "./sections/cache.ts";
import { coreFigures } from "./sections/core.ts";
import { gatewayVsHello } from "./sections/gateway.ts";
import { primaryLoad, redirectPath } from "./sections/redirect.ts";
import { creates, replicationLag } from "./sections/writes.ts";
import { seedLinks } from "./seed.ts";
import { startWorkers, type WorkerVariant } from "./workerd.ts";

const BASE_PORT = 26_000;
/** Direct sockets of the Worker variants, and the hello-world server. */
const PORTS = {
  constant: 26_100,
  bare: 26_101,
  cookie: 26_102,
  redis: 26_103,
  primary: 26_104,
  fallback: 26_105,
  analytics: 26_106,
  cached: 26_107,
  cachedMemory: 26_108,
  position: 26_109,
  hello: 26_110,
  cookieOld: 26_111,
} as const;

const started = Date.now();
const log = (line: string) =>
  console.log(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

function versionOf(packageJson: string): string | null {
  try {
    return (JSON.parse(readFileSync(packageJson, "utf8")) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

function workerdVersion(root: string): string | null {
  try {
    const bin = join(root, "test", "node_modules", "workerd", "bin", "workerd");
    return execFileSync(bin, ["--version"], { encoding: "utf8", timeout: 10_000 })
      .trim()
      .replace(/^workerd /, "");
  } catch {
    return versionOf(join(root, "test", "node_modules", "workerd", "package.json"));
  }
}

async function publishTopology(cluster: Cluster, origins: readonly string[]): Promise<number> {
  const snapshot = await cluster.topology();
  for (const origin of origins) {
    const res = await fetch(`${origin}/_internal/topology`, {
      method: "PUT",
      headers: { authorization: `Bearer ${cluster.layout.secrets.internalSecret}` },
      body: JSON.stringify(snapshot),
    });
    if (res.status !== 200) throw new Error(`${origin}: topology PUT answered ${res.status}`);
  }
  return snapshot.version;
}

async function main(): Promise<void> {
  const env = loadBenchEnv();
  const root = repoRoot();
  const stateDir = join(defaultStateDir(), "bench");
  const loadBefore = loadavg();
  log(`load average before: ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`);
  const ryowSecret = `bench-${Math.random().toString(36).slice(2)}-secret`;
  const cluster = await up({
    stateDir,
    shards: 2,
    replicas: 1,
    basePort: BASE_PORT,
    // Makes remote_apply possible; the origin's DURABILITY picks per run (async by default).
    durability: "remote_apply",
    redis: true,
    // The Worker variants run in this process's own workerd (./workerd.ts), on the edge's port.
    apps: { edge: false },
    env: { RYOW_SECRET: ryowSecret },
    originEnv: { DURABILITY: "async", CREATE_RATE_LIMIT_PER_MINUTE: "0" },
    log: (line) => log(`cluster: ${line}`),
  });
  let clusterUp = true;
  let workers: Awaited<ReturnType<typeof startWorkers>> | null = null;
  let redis: Awaited<ReturnType<typeof openRedis>> = null;
  try {
    const redisUrl = cluster.urls.redis;
    const common = {
      INTERNAL_SECRET: cluster.layout.secrets.internalSecret,
      ORIGIN_URL: cluster.urls.origin ?? `http://127.0.0.1:${cluster.layout.ports.origin}`,
      RYOW_SECRET: ryowSecret,
      // The edge cache is measured in its own section, against its own variant (h).
      CACHE: "off",
      ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    };
    const topology = Topology.from(await cluster.topology());
    const shard = "s0";
    const gateway = cluster.replicasOf(shard)[0];
    if (!gateway) throw new Error(`no replica of ${shard}`);
    const variants: WorkerVariant[] = [
      // First: miniflare's entry port (the cluster's edge port) routes here, so the origin's
      // topology publishing reaches a real edge.
      {
        name: "cookie",
        kind: "edge",
        port: PORTS.cookie,
        bindings: { ...common, STRATEGY: "cookie" },
      },
      { name: "constant", kind: "constant", port: PORTS.constant, bindings: {} },
      {
        name: "bare",
        kind: "bare",
        port: PORTS.bare,
        bindings: { GATEWAY_URL: gateway.gatewayUrl },
      },
      {
        name: "redis",
        kind: "edge",
        port: PORTS.redis,
        bindings: { ...common, STRATEGY: "redis" },
      },
      {
        name: "primary",
        kind: "edge",
        port: PORTS.primary,
        bindings: { ...common, STRATEGY: "primary" },
      },
      {
        name: "fallback",
        kind: "edge",
        port: PORTS.fallback,
        bindings: { ...common, STRATEGY: "fallback" },
      },
      // (c) with click analytics on: the same Worker plus the clicks Queue and its consumer.
      {
        name: "analytics",
        kind: "edge",
        port: PORTS.analytics,
        bindings: { ...common, STRATEGY: "cookie" },
        analytics: true,
      },
      // (g): read-your-writes by the position token (issue 12).
      {
        name: "position",
        kind: "edge",
        port: PORTS.position,
        bindings: { ...common, STRATEGY: "position" },
      },
      // (h): the cookie strategy with the edge cache (sections/cache.ts).
      {
        name: "cached",
        kind: "edge",
        port: PORTS.cached,
        bindings: { ...common, STRATEGY: "cookie", CACHE: "on" },
      },
      // (h) with the isolate's memory tier only (CACHE=memory): no Cache API subrequests.
      {
        name: "cachedMemory",
        kind: "edge",
        port: PORTS.cachedMemory,
        bindings: { ...common, STRATEGY: "cookie", CACHE: "memory" },
      },
    ];
    if (env.edgeOldBundle) {
      // (o): (c) with a pre-built edge bundle (an older commit's), same bindings.
      variants.push({
        name: "cookieOld",
        kind: "edge",
        port: PORTS.cookieOld,
        bindings: { ...common, STRATEGY: "cookie" },
        scriptPath: resolve(env.edgeOldBundle),
      });
    }
    log("starting the Worker variants in workerd (miniflare, unsafeDirectSockets)");
    workers = await startWorkers({
      repoRoot: root,
      workDir: stateDir,
      entryPort: cluster.layout.ports.edge,
      variants,
    });
    const notes: string[] = [];
    // The redis strategy is optional in the edge build: without it /health fails.
    const redisHealth = await fetch(`${workers.urls.redis}/health`);
    if (redisHealth.status !== 200) {
      notes.push(
        `(d) redis not measured: its Worker's /health answered ${redisHealth.status}: ${await redisHealth.text()}`,
      );
      delete workers.urls.redis;
    } else {
      await redisHealth.body?.cancel();
    }
    const edgeUrls = ["cookie", "cookieOld", "redis", "primary", "fallback", "position", "cached"]
      .map((k) => workers?.urls[k])
      .filter((u): u is string => u !== undefined);
    const version = await publishTopology(cluster, edgeUrls);
    log(`topology version ${version} published to ${edgeUrls.length} edge variants`);

    const seed = await seedLinks(cluster, topology, {
      shard,
      old: 1_000,
      fresh: 100,
      unknown: 100,
      ranked: env.sections.has("cache") ? CACHE_SEED_LINKS : 0,
    });
    log(`seeded ${seed.old.length} old + ${seed.fresh.length} fresh links on ${shard}`);
    redis = await openRedis(redisUrl);
    const ctx: BenchContext = {
      env,
      cluster,
      topology,
      workers,
      seed,
      redis,
      ryowSecret,
      extraCpu: [],
      log,
    };

    const sections: BenchReport["sections"] = {};
    if (env.sections.has("redirect")) sections.redirect = await redirectPath(ctx);
    if (env.sections.has("primaries")) sections.primaries = await primaryLoad(ctx);
    if (env.sections.has("cache")) sections.cache = await cacheWorkload(ctx);
    if (env.sections.has("gateway")) sections.gateway = await gatewayVsHello(ctx, PORTS.hello);
    if (cluster.urls.origin) {
      if (env.sections.has("creates")) sections.creates = await creates(ctx);
      if (env.sections.has("lag")) sections.lag = await replicationLag(ctx);
    } else if (env.sections.has("creates") || env.sections.has("lag")) {
      notes.push("creates and replication lag not measured: no origin in this repo yet");
    }
    // Servers down before the core figures: they are CPU-bound micro-benchmarks.
    await redis?.quit();
    redis = null;
    await workers.dispose();
    workers = null;
    const pgVersion = await versionOfPostgres(cluster);
    await cluster.down();
    clusterUp = false;
    if (env.sections.has("core")) sections.core = await coreFigures(root, log);

    const loadAfter = loadavg();
    const report: BenchReport = {
      meta: {
        date: new Date(started).toISOString(),
        command: "npm run bench",
        runtimeSeconds: Math.round((Date.now() - started) / 1000),
        machine: {
          cores: cpus().length,
          cpu: cpus()[0]?.model ?? "unknown",
          memoryGiB: Math.round(totalmem() / 2 ** 30),
          sharedBy:
            "load generator (autocannon, in this process), workerd, gateways, PostgreSQL, origin, Redis",
          loadBefore,
          loadAfter,
        },
        versions: {
          node: process.version,
          workerd: workerdVersion(root),
          miniflare: versionOf(join(root, "test", "node_modules", "miniflare", "package.json")),
          autocannon: versionOf(join(root, "node_modules", "autocannon", "package.json")),
          postgres: pgVersion,
        },
        settings: {
          ...env,
          sections: [...env.sections],
          variants: env.variants ? [...env.variants] : null,
        },
        cluster: {
          shards: 2,
          replicasPerShard: 1,
          seededShard: shard,
          links: { old: seed.old.length, fresh: seed.fresh.length, unknown: seed.unknown.length },
        },
        notes,
      },
      sections,
    };
    const outDir = env.outDir ? resolve(root, env.outDir) : root; // relative to the repo root, or absolute
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, "BENCHMARKS.json"), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(outDir, "BENCHMARKS.md"), renderMarkdown(report));
    log(`wrote ${join(outDir, "BENCHMARKS.md")} and BENCHMARKS.json`);
  } finally {
    await redis?.quit().catch(() => {});
    await workers?.dispose().catch(() => {});
    if (clusterUp) await cluster.down();
  }
}

async function versionOfPostgres(cluster: Cluster): Promise<string | null> {
  const sql = postgres(cluster.databaseUrl(cluster.primaryOf("s0").id), { max: 1 });
  try {
    const [row] = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
    return row?.v ?? null;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
