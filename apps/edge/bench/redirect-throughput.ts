/**
 * Redirect throughput: the edge Worker vs a bare Worker that only proxies the same request to
 * the same gateway, side by side, both in workerd through miniflare's unsafeDirectSockets (no
 * entry worker, no wrangler proxy in front). The gateway itself is measured too, as the ceiling.
 * The cluster (PostgreSQL primary + replica, gateways, edge) comes from packages/cluster.
 *
 *   npm run bench:http -w @firstclick/edge   (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONNECTIONS)
 *
 * Every load run is bounded in time; everything runs on loopback ports 22400–22499.
 */
import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up } from "@firstclick/cluster";
import { Topology } from "@firstclick/core";
import autocannon from "autocannon";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import postgres from "postgres";
import { z } from "zod";

const BenchEnv = z.object({
  BENCH_SECONDS: z.coerce.number().int().min(1).max(60).default(3),
  // Targets are measured in interleaved rounds, and the median reported: the machine is shared,
  // and a load spike during one target's only run would decide the comparison.
  BENCH_ROUNDS: z.coerce.number().int().min(1).max(9).default(3),
  BENCH_CONNECTIONS: z.coerce.number().int().min(1).max(256).default(16),
});
const { BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_ROUNDS } = BenchEnv.parse(process.env);
const BASE_PORT = 22_400;
const BARE_PORT = 22_490;

// The baseline: no topology, no cookie, no routing; one fetch to a fixed gateway, then a 302.
const BARE_WORKER = `
export default {
  async fetch(request, env) {
    const code = new URL(request.url).pathname.slice(1);
    const res = await fetch(env.GATEWAY_URL + "/links/" + code);
    if (res.status !== 200) return new Response(null, { status: res.status });
    const link = await res.json();
    return new Response(null, { status: link.redirectStatus, headers: { location: link.url } });
  },
};`;

interface Row {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  other: number;
  errors: number;
}

async function load(name: string, url: string, expected: number): Promise<Row> {
  const r = await autocannon({ url, connections: BENCH_CONNECTIONS, duration: BENCH_SECONDS });
  const codes = (r.statusCodeStats ?? {}) as Record<string, { count: number }>;
  const ok = codes[String(expected)]?.count ?? 0;
  const total = Object.values(codes).reduce((sum, c) => sum + c.count, 0);
  return {
    name,
    rps: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    ok,
    other: total - ok,
    errors: r.errors + r.timeouts,
  };
}

async function main(): Promise<void> {
  const cluster: Cluster = await up({
    stateDir: join(defaultStateDir(), "edge-bench"),
    shards: 1,
    replicas: 1,
    basePort: BASE_PORT,
    apps: { origin: false },
    edgeEnv: { EDGE_LOG_LEVEL: "warn" },
  });
  let bare: Miniflare | null = null;
  try {
    const edgeDirect = cluster.urls.edgeDirect;
    const edge = cluster.urls.edge;
    if (!edgeDirect || !edge) throw new Error("the cluster did not start the edge");
    const snapshot = await cluster.topology();
    const put = await fetch(`${edge}/_internal/topology`, {
      method: "PUT",
      headers: { authorization: `Bearer ${cluster.layout.secrets.internalSecret}` },
      body: JSON.stringify(snapshot),
    });
    if (put.status !== 200) throw new Error(`publishing the topology: HTTP ${put.status}`);
    if (Topology.from(snapshot).shardFor("bench01") !== "s0") throw new Error("one shard only");

    const sql = postgres(cluster.databaseUrl("s0n0"), { max: 1, onnotice: () => {} });
    await sql`insert into links (code, target, edit_token_hash)
              values ('bench01', 'https://example.com/bench', 'x') on conflict do nothing`;
    await sql.end({ timeout: 1 });
    const replica = cluster.replicasOf("s0")[0];
    if (!replica) throw new Error("no replica");
    await poll(
      async () => {
        const res = await fetch(`${replica.gatewayUrl}/links/bench01`);
        return res.status === 200 ? true : undefined;
      },
      { timeoutMs: 15_000, what: "the link to reach the replica" },
    );

    bare = new Miniflare(
      convertV4MiniflareOptions({
        host: "127.0.0.1",
        port: 0,
        log: new Log(LogLevel.WARN),
        cf: false,
        workers: [
          {
            name: "bare-proxy",
            compatibilityDate: "2026-11-01",
            modules: true,
            script: BARE_WORKER,
            bindings: { GATEWAY_URL: replica.gatewayUrl },
            unsafeDirectSockets: [{ host: "127.0.0.1", port: BARE_PORT }],
          },
        ],
      }),
    );
    await bare.ready;
    const bareUrl = `http://127.0.0.1:${BARE_PORT}`;
    const check = await fetch(`${bareUrl}/bench01`, { redirect: "manual" });
    if (check.status !== 302) throw new Error(`bare worker answered ${check.status}`);
    const edgeCheck = await fetch(`${edgeDirect}/bench01`, { redirect: "manual" });
    if (edgeCheck.headers.get("x-firstclick-route") !== "replica; shard=s0") {
      throw new Error(
        `edge answered ${edgeCheck.status} ${edgeCheck.headers.get("x-firstclick-route")}`,
      );
    }

    const targets = [
      {
        name: "gateway (replica, direct)",
        url: `${replica.gatewayUrl}/links/bench01`,
        expected: 200,
      },
      { name: "bare proxy Worker", url: `${bareUrl}/bench01`, expected: 302 },
      { name: "edge Worker (direct socket)", url: `${edgeDirect}/bench01`, expected: 302 },
      { name: "edge Worker (miniflare entry)", url: `${edge}/bench01`, expected: 302 },
    ];
    // Warm-up: isolates, connection pools, prepared statements.
    for (const t of targets)
      await autocannon({ url: t.url, connections: BENCH_CONNECTIONS, duration: 1 });
    const runs = new Map<string, Row[]>();
    for (let round = 0; round < BENCH_ROUNDS; round++) {
      for (const t of targets) {
        const row = await load(t.name, t.url, t.expected);
        runs.set(t.name, [...(runs.get(t.name) ?? []), row]);
      }
    }
    const median = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.floor(sorted.length / 2)] ?? 0;
    };
    const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
    const rows: Row[] = targets.map((t) => {
      const r = runs.get(t.name) ?? [];
      return {
        name: t.name,
        rps: median(r.map((x) => x.rps)),
        p50: median(r.map((x) => x.p50)),
        p99: median(r.map((x) => x.p99)),
        ok: sum(r.map((x) => x.ok)),
        other: sum(r.map((x) => x.other)),
        errors: sum(r.map((x) => x.errors)),
      };
    });
    console.log(
      `\n${BENCH_ROUNDS} interleaved rounds × ${BENCH_SECONDS} s per target (medians), ${BENCH_CONNECTIONS} connections, 1 link, replica route\n`,
    );
    console.log("| target | req/s | p50 ms | p99 ms | expected status | other | errors |");
    console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (const r of rows) {
      console.log(
        `| ${r.name} | ${r.rps} | ${r.p50} | ${r.p99} | ${r.ok} | ${r.other} | ${r.errors} |`,
      );
    }
  } finally {
    await bare?.dispose();
    await cluster.down();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
