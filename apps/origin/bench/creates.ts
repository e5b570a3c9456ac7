/**
 * Create latency, DURABILITY=async vs remote_apply, each without and with the write's WAL
 * position (STRATEGY=cookie vs position: the position query after every COMMIT on a reserved
 * connection, and the signed token in the answer): for each variant a fresh local cluster
 * (packages/cluster: etcd, 2 shards × (primary + 1 async streaming replica), the origin as its own
 * process, no edge), then N `POST /api/links` from C concurrent loops straight at the origin.
 * Bounded: at most N requests and MAX_SECONDS per mode.
 *
 *   npm run bench -w @firstclick/origin -- [--n 2000] [--concurrency 8] [--mode async|remote_apply|both]
 *     [--position off|on|both]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { defaultStateDir, up } from "@firstclick/cluster";

const BASE_PORT = 23_600;
const MAX_SECONDS = 120;

const { values } = parseArgs({
  options: {
    n: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "8" },
    mode: { type: "string", default: "both" },
    position: { type: "string", default: "both" },
  },
});
const total = Number(values.n);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(total) || total < 1 || total > 100_000) throw new Error("--n: 1..100000");
if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) {
  throw new Error("--concurrency: 1..256");
}
const modes =
  values.mode === "both" ? (["async", "remote_apply"] as const) : ([values.mode] as const);
const positions =
  values.position === "both" ? [false, true] : values.position === "on" ? [true] : [false];
if (!["off", "on", "both"].includes(values.position)) throw new Error("--position: off|on|both");

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

interface Result {
  mode: string;
  position: boolean;
  ok: number;
  errors: Record<string, number>;
  seconds: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

async function run(mode: "async" | "remote_apply", position: boolean): Promise<Result> {
  const cluster = await up({
    stateDir: join(defaultStateDir(), "origin-bench"),
    shards: 2,
    replicas: 1,
    basePort: BASE_PORT,
    durability: mode,
    apps: { origin: true, gateway: false, edge: false },
    originEnv: {
      CREATE_RATE_LIMIT_PER_MINUTE: "0",
      EDGE_URL: "",
      STRATEGY: position ? "position" : "cookie",
    },
  });
  try {
    const url = `${cluster.urls.origin}/api/links`;
    const latencies: number[] = [];
    const errors: Record<string, number> = {};
    let issued = 0;
    const deadline = Date.now() + MAX_SECONDS * 1000;
    // Warm-up: connections to both primaries and the keep-alive sockets.
    for (let i = 0; i < 20; i++) {
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: `https://example.com/warm/${i}` }),
      }).then((r) => r.arrayBuffer());
    }
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (issued < total && Date.now() < deadline) {
          const i = issued++;
          const t0 = performance.now();
          const res = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ url: `https://example.com/bench/${i}` }),
          });
          await res.arrayBuffer();
          const ms = performance.now() - t0;
          // A variant that should carry the token and does not is an error, not a fast create.
          const tokenOk = res.headers.has("x-firstclick-position") === position;
          if (res.status === 201 && tokenOk) latencies.push(ms);
          else if (res.status === 201)
            errors["201 without token"] = (errors["201 without token"] ?? 0) + 1;
          else errors[res.status] = (errors[res.status] ?? 0) + 1;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      mode,
      position,
      ok: latencies.length,
      errors,
      seconds,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.at(-1) ?? Number.NaN,
    };
  } finally {
    await cluster.down();
  }
}

const results: Result[] = [];
for (const mode of modes) {
  if (mode !== "async" && mode !== "remote_apply") throw new Error(`--mode: ${mode}`);
  for (const position of positions) results.push(await run(mode, position));
}
const f = (ms: number) => ms.toFixed(2);
console.log(`\n${total} creates, concurrency ${concurrency}, 2 shards × (primary + 1 replica)\n`);
console.log("| durability | position | ok | errors | req/s | p50 ms | p90 ms | p99 ms | max ms |");
console.log("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
for (const r of results) {
  console.log(
    `| ${r.mode} | ${r.position ? "on" : "off"} | ${r.ok} | ${JSON.stringify(r.errors)} | ${(r.ok / r.seconds).toFixed(0)} | ${f(r.p50)} | ${f(r.p90)} | ${f(r.p99)} | ${f(r.max)} |`,
  );
}
