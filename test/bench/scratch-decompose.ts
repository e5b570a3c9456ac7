import { join } from "node:path";
import { defaultStateDir, repoRoot, up } from "@firstclick/cluster";
import { Topology } from "@firstclick/core";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { cpuDelta, sampleCpu } from "./cpu.ts";
import { runLoad } from "./load.ts";
import { seedLinks } from "./seed.ts";
import { startWorkers } from "./workerd.ts";

const cluster = await up({
  stateDir: join(defaultStateDir(), "bench-scratch"),
  shards: 2,
  replicas: 1,
  basePort: 26500,
  apps: { edge: false, origin: false },
});
const topo = Topology.from(await cluster.topology());
const gw = cluster.replicasOf("s0")[0];
if (!gw) throw new Error("x");
const w = await startWorkers({
  repoRoot: repoRoot(),
  workDir: join(defaultStateDir(), "bench-scratch"),
  entryPort: 26502,
  variants: [
    {
      name: "cookie",
      kind: "edge",
      port: 26602,
      bindings: { STRATEGY: "cookie", INTERNAL_SECRET: "x".repeat(32) },
    },
    { name: "bare", kind: "bare", port: 26601, bindings: { GATEWAY_URL: gw.gatewayUrl } },
  ],
});
const mf2 = new Miniflare(
  convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    log: new Log(LogLevel.WARN),
    cf: false,
    workers: [
      {
        name: "bt",
        compatibilityDate: "2026-11-01",
        modules: true,
        scriptPath: join(import.meta.dirname, "workers/scratch-bare-timeout.js"),
        bindings: { GATEWAY_URL: gw.gatewayUrl },
        unsafeDirectSockets: [{ host: "127.0.0.1", port: 26603 }],
      },
    ],
  }),
);
await mf2.ready;
try {
  const snap = await cluster.topology();
  const put = await fetch(`${w.urls.cookie}/_internal/topology`, {
    method: "PUT",
    headers: { authorization: `Bearer ${"x".repeat(32)}` },
    body: JSON.stringify(snap),
  });
  console.log("put", put.status, await put.text());
  const seed = await seedLinks(cluster, topo, { shard: "s0", old: 200, fresh: 1, unknown: 1 });
  const reqs = seed.old.map((c) => ({ path: `/${c}` }));
  const wpid = w.workerdPid ?? 0;
  const { readdirSync, readFileSync } = await import("node:fs");
  let w2 = 0;
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const s = readFileSync(`/proc/${n}/stat`, "utf8");
      if (s.includes("(workerd)") && Number(n) !== wpid) {
        const ppid = Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid === process.pid) w2 = Number(n);
      }
    } catch {}
  }
  for (let round = 0; round < 3; round++) {
    for (const [name, origin, pid] of [
      ["bare", "http://127.0.0.1:26601", wpid],
      ["bare+timeout", "http://127.0.0.1:26603", w2],
      ["cookie", "http://127.0.0.1:26602", wpid],
    ] as const) {
      await runLoad({ origin, requests: reqs, connections: 16 }, { seconds: 1, maxRequests: 1e6 });
      const g = [
        { name: "w", pids: [pid] },
        { name: "gw", pids: [gw.gateway?.process?.pid ?? 0] },
      ];
      const b = sampleCpu(g);
      const r = await runLoad(
        { origin, requests: reqs, connections: 16 },
        { seconds: 3, maxRequests: 1e6 },
      );
      const d = cpuDelta(b, sampleCpu(g));
      console.log(
        name.padEnd(14),
        Math.round(r.rps),
        "workerd µs",
        Math.round(((d.w ?? 0) * 1e6) / r.requests),
        "gw µs",
        Math.round(((d.gw ?? 0) * 1e6) / r.requests),
        JSON.stringify(r.statuses),
      );
    }
  }
} finally {
  await mf2.dispose();
  await w.dispose();
  await cluster.down();
}
