/**
 * Where a Worker spends its CPU per redirect: a V8 CPU profile of each variant's isolate under
 * the same load as the benchmark, through miniflare's inspector, summed by function (self time).
 * A diagnostic, not part of `npm run bench`:
 *
 *   cd test && npx tsx bench/profile-edge.ts            (PROFILE_SECONDS, default 5)
 *
 * Self time of native work (sockets, headers, JSON) shows under the JS function that called it,
 * or as "(program)"; "(idle)" is time the isolate waited. Ports 26700–26799.
 */
import { join } from "node:path";
import { defaultStateDir, repoRoot, up } from "@firstclick/cluster";
import { Topology } from "@firstclick/core";
import { runLoad } from "./load.ts";
import { seedLinks } from "./seed.ts";
import { startWorkers } from "./workerd.ts";

const BASE = 26_700;
const INSPECTOR = BASE + 90;
const seconds = Number(process.env.PROFILE_SECONDS ?? "5");

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

class Inspector {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, (result: unknown) => void>();
  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (event) => {
      const msg = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) this.#pending.get(msg.id)?.(msg.result);
    });
  }
  static async open(url: string): Promise<Inspector> {
    const ws = new WebSocket(url);
    await new Promise((resolve, reject) => {
      ws.addEventListener("open", resolve, { once: true });
      ws.addEventListener("error", reject, { once: true });
    });
    return new Inspector(ws);
  }
  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, (r) => resolve(r as T));
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }
  close(): void {
    this.#ws.close();
  }
}

function selfTimes(profile: Profile): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const times = new Map<string, number>();
  for (const [i, id] of profile.samples.entries()) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const file = url.split("/").pop() ?? "";
    const key =
      `${functionName || "(anonymous)"} ${file ? `${file}:${lineNumber + 1}` : ""}`.trim();
    times.set(key, (times.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return times;
}

const cluster = await up({
  stateDir: join(defaultStateDir(), "bench-profile"),
  shards: 2,
  replicas: 1,
  basePort: BASE,
  apps: { edge: false, origin: false },
});
try {
  const topology = Topology.from(await cluster.topology());
  const gateway = cluster.replicasOf("s0")[0];
  if (!gateway) throw new Error("no replica of s0");
  const secret = cluster.layout.secrets.internalSecret;
  const workers = await startWorkers({
    repoRoot: repoRoot(),
    workDir: join(defaultStateDir(), "bench-profile"),
    entryPort: BASE + 2,
    inspectorPort: INSPECTOR,
    variants: [
      {
        name: "cookie",
        kind: "edge",
        port: BASE + 60,
        // As the benchmark's (c): the link cache off (wrangler.toml turns it on).
        bindings: { STRATEGY: "cookie", INTERNAL_SECRET: secret, CACHE: "off" },
      },
      // The edge cache's hit path: the same Worker with CACHE=memory, over links a day old.
      {
        name: "cached",
        kind: "edge",
        port: BASE + 62,
        bindings: { STRATEGY: "cookie", INTERNAL_SECRET: secret, CACHE: "memory" },
      },
      {
        name: "bare",
        kind: "bare",
        port: BASE + 61,
        bindings: { GATEWAY_URL: gateway.gatewayUrl },
      },
    ],
  });
  try {
    for (const edge of [workers.urls.cookie, workers.urls.cached]) {
      const put = await fetch(`${edge}/_internal/topology`, {
        method: "PUT",
        headers: { authorization: `Bearer ${secret}` },
        body: JSON.stringify(await cluster.topology()),
      });
      if (put.status !== 200) throw new Error(`topology PUT: ${put.status}`);
    }
    const seed = await seedLinks(cluster, topology, {
      shard: "s0",
      old: 1_000,
      fresh: 1,
      unknown: 1,
      ranked: 1_000,
    });
    const requests = seed.old.map((code) => ({ path: `/${code}` }));
    // Old enough to cache: after the warm-up every one of them is in the isolate's memory.
    const cachedRequests = seed.ranked.map((code) => ({ path: `/${code}` }));
    const targets = (await (await fetch(`http://127.0.0.1:${INSPECTOR}/json`)).json()) as {
      id: string;
      title?: string;
      webSocketDebuggerUrl: string;
    }[];
    for (const name of ["bare", "cookie", "cached"]) {
      const list = name === "cached" ? cachedRequests : requests;
      const target = targets.find(
        (t) => t.id.endsWith(`:${name}`) || t.title?.endsWith(`:${name}`),
      );
      if (!target) throw new Error(`no inspector target for ${name}: ${JSON.stringify(targets)}`);
      const origin = workers.urls[name] ?? "";
      await runLoad(
        { origin, requests: list, connections: 32 },
        { seconds: 1, maxRequests: 50_000 },
      );
      const inspector = await Inspector.open(target.webSocketDebuggerUrl);
      await inspector.send("Profiler.enable");
      await inspector.send("Profiler.setSamplingInterval", { interval: 100 });
      await inspector.send("Profiler.start");
      const load = await runLoad(
        { origin, requests: list, connections: 32 },
        { seconds, maxRequests: 500_000 },
      );
      const { profile } = await inspector.send<{ profile: Profile }>("Profiler.stop");
      inspector.close();
      const times = selfTimes(profile);
      const busy = [...times]
        .filter(([k]) => !k.startsWith("(idle)"))
        .reduce((s, [, t]) => s + t, 0);
      console.log(
        `\n${name}: ${Math.round(load.rps)} req/s, ${load.requests} redirects; JS-visible busy time ${Math.round(busy / load.requests)} µs/redirect`,
      );
      for (const [key, t] of [...times].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
        console.log(`  ${(t / load.requests).toFixed(1).padStart(7)} µs  ${key}`);
      }
    }
  } finally {
    await workers.dispose();
  }
} finally {
  await cluster.down();
}
