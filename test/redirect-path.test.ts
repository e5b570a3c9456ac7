/**
 * The redirect path against real servers: the edge Worker in workerd (apps/edge/scripts/serve.ts),
 * one shard gateway per PostgreSQL node (apps/gateway), PostgreSQL primaries with streaming
 * replicas, all started by packages/cluster. Links are written straight into the owning shard's
 * primary (the origin is not needed here); the test publishes the topology to the edge itself.
 */
import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up } from "@firstclick/cluster";
import { Topology, type TopologySnapshot } from "@firstclick/core";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// This file's own port range (edge, gateways, PostgreSQL, etcd): 22200–22299.
const BASE_PORT = 22_200;

let cluster: Cluster;
let edge: string;
let topology: Topology;

const nowSeconds = () => Math.floor(Date.now() / 1000);
const freshCookie = () => `ryow_until=${nowSeconds() + 20}`;

function randomCode(): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let code = "";
  for (const b of crypto.getRandomValues(new Uint8Array(7))) code += alphabet[b % 62];
  return code;
}

/** A new code owned by `shard`, and the link for it written into that shard's primary. */
async function createLink(shard: string, target = "https://example.com/landing"): Promise<string> {
  let code = randomCode();
  while (topology.shardFor(code) !== shard) code = randomCode();
  const sql = postgres(cluster.databaseUrl(cluster.primaryOf(shard).id), {
    max: 1,
    onnotice: () => {},
  });
  try {
    await sql`insert into links (code, target, edit_token_hash)
              values (${code}, ${`${target}?c=${code}`}, 'test')`;
  } finally {
    await sql.end({ timeout: 1 });
  }
  return code;
}

function redirect(code: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${edge}/${code}`, { redirect: "manual", headers });
}

async function linkReads(shard: string): Promise<Record<string, number>> {
  const reads: Record<string, number> = {};
  for (const node of cluster.nodes.filter((n) => n.shard === shard)) {
    const res = await fetch(`${node.gatewayUrl}/health`);
    reads[node.id] = ((await res.json()) as { linkReads: number }).linkReads;
  }
  return reads;
}

async function waitUntilReplicated(code: string): Promise<void> {
  await poll(async () => ((await redirect(code)).status === 302 ? true : undefined), {
    timeoutMs: 15_000,
    what: `link ${code} to reach the replicas`,
  });
}

async function publishTopology(): Promise<TopologySnapshot> {
  const snapshot = await cluster.topology();
  const res = await fetch(`${edge}/_internal/topology`, {
    method: "PUT",
    headers: { authorization: `Bearer ${cluster.layout.secrets.internalSecret}` },
    body: JSON.stringify(snapshot),
  });
  expect(res.status).toBe(200);
  return snapshot;
}

beforeAll(async () => {
  cluster = await up({
    stateDir: join(defaultStateDir(), "redirect-path-test"),
    shards: 2,
    // One replica per shard: with two, the cluster's parallel pg_basebackups of one primary
    // sometimes fail ("requested WAL segment … has already been removed"). With its only
    // replica's gateway down, a shard is read from its primary: the failover path is the same.
    replicas: 1,
    basePort: BASE_PORT,
    apps: { origin: false },
    // A dead gateway costs at most this much before the next node is tried.
    edgeEnv: { UPSTREAM_TIMEOUT_MS: "500", STRATEGY: "cookie" },
  });
  const url = cluster.urls.edge;
  if (!url) throw new Error("the cluster did not start the edge");
  edge = url;
  topology = Topology.from(await publishTopology());
});

afterAll(async () => {
  await cluster?.down();
});

describe("redirects through real gateways and PostgreSQL", () => {
  it("a created link redirects: replicas for everyone, the primary inside the RYOW window", async () => {
    for (const shard of ["s0", "s1"]) {
      const code = await createLink(shard);
      await waitUntilReplicated(code);

      const before = await linkReads(shard);
      const res = await redirect(code);
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe(`https://example.com/landing?c=${code}`);
      expect(res.headers.get("x-firstclick-route")).toBe(`replica; shard=${shard}`);
      expect(res.headers.get("cache-control")).toBe("private, no-store");
      const after = await linkReads(shard);
      // Exactly one subrequest, and it went to a replica of the owning shard.
      const primary = cluster.primaryOf(shard).id;
      const deltas = Object.entries(after).map(([id, n]) => [id, n - (before[id] ?? 0)] as const);
      expect(deltas.reduce((sum, [, d]) => sum + d, 0)).toBe(1);
      expect(deltas.find(([, d]) => d === 1)?.[0]).not.toBe(primary);

      const ryow = await redirect(code, { cookie: freshCookie() });
      expect(ryow.status).toBe(302);
      expect(ryow.headers.get("x-firstclick-route")).toBe(`primary; shard=${shard}`);
    }
  });

  it("HEAD, 404 and JSON answers come from the same path", async () => {
    const code = await createLink("s1");
    await waitUntilReplicated(code);
    const head = await fetch(`${edge}/${code}`, { method: "HEAD", redirect: "manual" });
    expect(head.status).toBe(302);
    const missing = await fetch(`${edge}/${randomCode()}`, {
      headers: { accept: "application/json" },
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ status: 404, title: "Link not found" });
  });

  it("a replica's gateway stopped mid-run: 0 failures of 300 redirects", async () => {
    const codes = [await createLink("s0"), await createLink("s1")];
    for (const code of codes) await waitUntilReplicated(code);
    const victim = cluster.replicasOf("s0")[0];
    const pid = victim?.gateway?.process?.pid;
    if (!victim || !pid) throw new Error("no running replica gateway to stop");

    const N = 300;
    const statuses = new Map<number, number>();
    const routes = new Map<string, number>();
    const deadline = Date.now() + 50_000;
    try {
      for (let i = 0; i < N && Date.now() < deadline; i++) {
        if (i === 50) process.kill(pid, "SIGTERM");
        const res = await redirect(codes[i % 2] ?? "");
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const route = res.headers.get("x-firstclick-route") ?? "none";
        routes.set(route, (routes.get(route) ?? 0) + 1);
      }
      // It really was down: the redirects above survived a refused connection.
      await expect(fetch(`${victim.gatewayUrl}/health`)).rejects.toThrow();
    } finally {
      await cluster.restartNode(victim.id); // brings its gateway back
    }
    expect(Object.fromEntries(statuses)).toEqual({ 302: N });
    // Shard s0 kept being served (by its primary once its replica's gateway was gone).
    expect((routes.get("replica; shard=s0") ?? 0) + (routes.get("primary; shard=s0") ?? 0)).toBe(
      N / 2,
    );
    // After the stop (request 50 on: 125 of s0's redirects) the primary served them, give or
    // take the few the gateway answered while shutting down.
    expect(routes.get("primary; shard=s0") ?? 0).toBeGreaterThan(100);
  });

  it("replay paused on the replicas: a new link is 404 without the cookie, 302 with it", async () => {
    const shard = "s1";
    const replicas = cluster.replicasOf(shard);
    for (const replica of replicas) await cluster.pauseReplay(replica.id);
    let code = "";
    try {
      code = await createLink(shard);
      const stale = await redirect(code, { accept: "text/html" });
      expect(stale.status).toBe(404);
      expect(stale.headers.get("x-firstclick-route")).toBe(`replica; shard=${shard}`);
      expect(await stale.text()).toContain("created moments ago");

      const ryow = await redirect(code, { cookie: freshCookie() });
      expect(ryow.status).toBe(302);
      expect(ryow.headers.get("x-firstclick-route")).toBe(`primary; shard=${shard}`);
      expect(ryow.headers.get("location")).toBe(`https://example.com/landing?c=${code}`);

      // An expired window is no window: back to the (still paused) replicas.
      const expired = await redirect(code, { cookie: `ryow_until=${nowSeconds() - 1}` });
      expect(expired.status).toBe(404);
    } finally {
      for (const replica of replicas) await cluster.resumeReplay(replica.id);
    }
    await waitUntilReplicated(code);
  });

  it("bad input on the real edge: no 5xx, and the edge keeps serving", async () => {
    const code = await createLink("s0");
    await waitUntilReplicated(code);
    const paths = [
      "/a",
      `/${"a".repeat(65)}`,
      `/${"x".repeat(8_000)}`,
      "/abc%2Fdef",
      "/%00",
      "/..%2f..%2fetc%2fpasswd",
      "/abc/def",
      `/${code}/`,
      `/${code}%00`,
      "/_internal/topology",
      "/%E2%80%AE",
      "/favicon.ico",
      "/health/",
    ];
    const cookies = [
      `${"a=b; ".repeat(1_500)}ryow_until=${nowSeconds() + 5}`,
      "ryow_until=\u00ff\u00fe",
      "ryow_until=99999999999999999999",
      ";;;==;;",
    ];
    for (const path of paths) {
      for (const method of ["GET", "HEAD", "POST", "DELETE"]) {
        const res = await fetch(`${edge}${path}`, { method, redirect: "manual" });
        expect(res.status, `${method} ${path}`).toBeLessThan(500);
        await res.body?.cancel();
      }
    }
    for (const cookie of cookies) {
      const res = await redirect(code, { cookie });
      expect(res.status, cookie.slice(0, 40)).toBe(302);
    }
    const res = await redirect(code);
    expect(res.status).toBe(302);
  });

  it("STRATEGY=cookie,fallback: a link the replicas lack is read from the primary (route=fallback)", async () => {
    await cluster.restartApps({
      edgeEnv: { UPSTREAM_TIMEOUT_MS: "500", STRATEGY: "cookie,fallback" },
    });
    // The restarted edge reads the snapshot back from its persisted KV.
    const health = (await (await fetch(`${edge}/health`)).json()) as { topologyVersion: number };
    expect(health.topologyVersion).toBe(topology.version);
    const shard = "s0";
    const replicas = cluster.replicasOf(shard);
    for (const replica of replicas) await cluster.pauseReplay(replica.id);
    let code = "";
    try {
      code = await createLink(shard);
      const res = await redirect(code);
      expect(res.status).toBe(302);
      expect(res.headers.get("x-firstclick-route")).toBe(`fallback; shard=${shard}`);
      const missing = await redirect(randomCode());
      expect(missing.status).toBe(404);
    } finally {
      for (const replica of replicas) await cluster.resumeReplay(replica.id);
    }
  });
});
