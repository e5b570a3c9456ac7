import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up, withSql } from "@firstclick/cluster";
import { Topology } from "@firstclick/core";
import { type ServerType, serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnv } from "./env.ts";
import { badCreateRequests } from "./links/bad-requests.ts";
import { type RunningOrigin, startOrigin } from "./server.ts";

/**
 * The whole origin (startOrigin: env → etcd source → pools → HTTP) against a real cluster from
 * packages/cluster: etcd + 2 shards × (primary + replica). The edge is a small stand-in HTTP
 * server with the contract's topology route, to see publishing over the network.
 */

const BASE_PORT = 23_400;
const ORIGIN_PORT = 23_490;
const FAKE_EDGE_PORT = 23_491;
const SECOND_ORIGIN_PORT = 23_492;
const PUBLIC_BASE = "http://127.0.0.1:23402";
const SECRET = "test-internal-secret";
const ADMIN_KEY = "test-admin-key-0123456789";

let cluster: Cluster;
let origin: RunningOrigin;
let stateDir: string;
const logs: string[] = [];

// The stand-in edge: stores the newest snapshot version it was sent.
const edge = { version: null as number | null, puts: 0 };
let edgeServer: ServerType;

function env(over: Record<string, string> = {}) {
  return loadEnv({
    ORIGIN_PORT: String(ORIGIN_PORT),
    ETCD_ENDPOINTS: cluster.urls.etcd,
    ETCD_PREFIX: "/firstclick/",
    PUBLIC_BASE_URL: PUBLIC_BASE,
    EDGE_URL: `http://127.0.0.1:${FAKE_EDGE_PORT}`,
    INTERNAL_SECRET: SECRET,
    ADMIN_KEY,
    PG_CONNECT_TIMEOUT_MS: "1000",
    CREATE_RATE_LIMIT_PER_MINUTE: "0",
    TOPOLOGY_SNAPSHOT_FILE: join(stateDir, "snapshot.json"),
    ...over,
  });
}

async function api(path: string, init: RequestInit = {}, base = origin.url): Promise<Response> {
  return fetch(`${base}${path}`, init);
}

function post(body: unknown, headers: Record<string, string> = {}, base = origin.url) {
  return api(
    "/api/links",
    {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    },
    base,
  );
}

async function primaries(): Promise<{ id: string; port: number }[]> {
  const t = await cluster.topology();
  return t.ring.shards.flatMap((s) => {
    const p = t.shards[s]?.primary;
    return p ? [{ id: p.id, port: p.pg.port }] : [];
  });
}

async function countOn(port: number, code?: string): Promise<number> {
  return withSql(port, async (sql) => {
    const rows = code
      ? await sql<{ n: number }[]>`select count(*)::int as n from links where code = ${code}`
      : await sql<{ n: number }[]>`select count(*)::int as n from links`;
    return rows[0]?.n ?? 0;
  });
}

/** Row counts on every node that is a primary now. */
async function countAll(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const p of await primaries()) counts[p.id] = await countOn(p.port);
  return counts;
}

async function aliasOn(shard: string, prefix: string): Promise<string> {
  const t = Topology.from(await cluster.topology());
  for (let i = 0; ; i++) {
    const alias = `${prefix}-${Date.now().toString(36)}-${i}`;
    if (t.shardFor(alias) === shard) return alias;
  }
}

async function health(
  base = origin.url,
): Promise<{ ok: boolean; topologyVersion: number | null; etcd: string }> {
  return (await (await api("/health", {}, base)).json()) as {
    ok: boolean;
    topologyVersion: number | null;
    etcd: string;
  };
}

beforeAll(async () => {
  stateDir = join(defaultStateDir(), "origin-server");
  cluster = await up({ stateDir, shards: 2, replicas: 1, basePort: BASE_PORT, apps: false });
  await mkdir(stateDir, { recursive: true });
  await rm(join(stateDir, "snapshot.json"), { force: true });

  const fake = new Hono();
  fake.use("/_internal/topology", async (c, next) =>
    c.req.header("authorization") === `Bearer ${SECRET}`
      ? next()
      : c.json({ error: "unauthorized" }, 401),
  );
  fake.put("/_internal/topology", async (c) => {
    const { version } = (await c.req.json()) as { version: number };
    edge.puts++;
    const accepted = edge.version === null || version > edge.version;
    if (accepted) edge.version = version;
    return c.json({ version: edge.version, accepted });
  });
  fake.get("/_internal/topology", (c) => c.json({ version: edge.version }));
  edgeServer = serve({ fetch: fake.fetch, port: FAKE_EDGE_PORT, hostname: "127.0.0.1" });

  origin = await startOrigin(env(), { log: (m) => logs.push(m), publisherCheckIntervalMs: 200 });
});

afterAll(async () => {
  await origin?.close();
  await new Promise((resolve) => (edgeServer ? edgeServer.close(resolve) : resolve(undefined)));
  await cluster?.down();
});

describe("origin against real etcd + PostgreSQL shards", () => {
  it("starts from etcd: /health has the etcd revision, the edge got the snapshot", async () => {
    const topology = await cluster.topology();
    expect(await health()).toEqual({
      ok: true,
      topologyVersion: topology.version,
      etcd: "connected",
    });
    await poll(() => (edge.version === topology.version ? true : undefined), {
      timeoutMs: 5_000,
      what: "the snapshot at the edge",
    });
  });

  it("a create lands on exactly the primary that shardFor(code) names", async () => {
    const t = Topology.from(await cluster.topology());
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const res = await post({ url: `https://example.com/${i}` });
      expect(res.status).toBe(201);
      const { code } = (await res.json()) as { code: string };
      const owner = t.primaryOf(t.shardFor(code));
      seen.add(t.shardFor(code));
      for (const p of await primaries()) {
        expect(await countOn(p.port, code), `${code} on ${p.id}`).toBe(p.id === owner?.id ? 1 : 0);
      }
    }
    // 12 random codes over 2 shards: both shards got some (fails with p ≈ 2 × 2^-12).
    expect(seen.size).toBe(2);
  });

  it("sets the RYOW cookie for the window", async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await post({ url: "https://example.com/cookie" });
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("ryow_until=")) ?? "";
    const match = /^ryow_until=(\d+); Max-Age=30; Path=\/; HttpOnly; SameSite=Lax$/.exec(cookie);
    expect(match, cookie).not.toBeNull();
    const until = Number(match?.[1]);
    expect(until).toBeGreaterThanOrEqual(before + 30);
    expect(until).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 30);
  });

  it("a taken alias is 409 and the first link stays", async () => {
    const alias = await aliasOn("s1", "dup");
    expect((await post({ url: "https://example.com/first", alias })).status).toBe(201);
    const again = await post({ url: "https://example.com/second", alias });
    expect(again.status).toBe(409);
    const read = (await (await api(`/api/links/${alias}`)).json()) as { url: string };
    expect(read.url).toBe("https://example.com/first");
  });

  it("edits and deletes need the token or the admin key", async () => {
    const created = (await (await post({ url: "https://example.com/v1" })).json()) as {
      code: string;
      editToken: string;
    };
    const patch = (auth: string | null, body: unknown) =>
      api(`/api/links/${created.code}`, {
        method: "PATCH",
        headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
        body: JSON.stringify(body),
      });
    const noAuth = await patch(null, { url: "https://example.com/evil" });
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers.get("www-authenticate")).toContain("Bearer");
    expect((await patch("Bearer not-the-token", { url: "https://example.com/evil" })).status).toBe(
      401,
    );

    const edited = await patch(`Bearer ${created.editToken}`, { url: "https://example.com/v2" });
    expect(edited.status).toBe(200);
    expect(edited.headers.get("set-cookie")).toMatch(/^ryow_until=/);
    const byAdmin = await patch(`Bearer ${ADMIN_KEY}`, { redirectStatus: 307 });
    expect(byAdmin.status).toBe(200);
    expect(await byAdmin.json()).toMatchObject({
      url: "https://example.com/v2",
      redirectStatus: 307,
    });

    const del = (auth: string | null) =>
      api(`/api/links/${created.code}`, {
        method: "DELETE",
        headers: auth ? { authorization: auth } : {},
      });
    expect((await del(null)).status).toBe(401);
    expect((await del("Bearer wrong")).status).toBe(401);
    const deleted = await del(`Bearer ${created.editToken}`);
    expect(deleted.status).toBe(204);
    expect(deleted.headers.get("set-cookie")).toMatch(/^ryow_until=/);
    expect((await api(`/api/links/${created.code}`)).status).toBe(410);

    // The row is soft-deleted on its primary (the gateways answer 410 from it).
    const t = Topology.from(await cluster.topology());
    const owner = t.primaryOf(t.shardFor(created.code));
    const deletedAt = await withSql(owner?.pg.port ?? 0, async (sql) => {
      const rows = await sql<
        { deleted_at: Date | null }[]
      >`select deleted_at from links where code = ${created.code}`;
      return rows[0]?.deleted_at ?? null;
    });
    expect(deletedAt).toBeInstanceOf(Date);
  });

  it("a corpus of bad requests: each a 4xx problem, no row written on any primary", async () => {
    const corpus = badCreateRequests(PUBLIC_BASE);
    expect(corpus.length).toBeGreaterThanOrEqual(40);
    const before = await countAll();
    for (const bad of corpus) {
      const res = await fetch(`${origin.url}/api/links`, {
        method: "POST",
        headers: bad.headers,
        body: bad.body,
      });
      expect(res.status, bad.name).toBe(bad.status);
      expect(res.headers.get("content-type"), bad.name).toBe("application/problem+json");
      await res.json();
    }
    expect(await countAll()).toEqual(before);
  });

  it("the rate limit counts per client IP (socket, or the trusted header)", async () => {
    const second = await startOrigin(
      env({
        ORIGIN_PORT: String(SECOND_ORIGIN_PORT),
        CREATE_RATE_LIMIT_PER_MINUTE: "2",
        TOPOLOGY_SNAPSHOT_FILE: "",
        EDGE_URL: "",
      }),
      { log: () => {} },
    );
    try {
      const as = (ip: string) => ({ "x-firstclick-client-ip": ip });
      expect(
        (await post({ url: "https://example.com/" }, as("203.0.113.1"), second.url)).status,
      ).toBe(201);
      expect(
        (await post({ url: "https://example.com/" }, as("203.0.113.1"), second.url)).status,
      ).toBe(201);
      const limited = await post({ url: "https://example.com/" }, as("203.0.113.1"), second.url);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(
        (await post({ url: "https://example.com/" }, as("203.0.113.2"), second.url)).status,
      ).toBe(201);
      // Without the header, the socket's address (127.0.0.1) is the client.
      expect((await post({ url: "https://example.com/" }, {}, second.url)).status).toBe(201);
      expect((await post({ url: "https://example.com/" }, {}, second.url)).status).toBe(201);
      expect((await post({ url: "https://example.com/" }, {}, second.url)).status).toBe(429);
    } finally {
      await second.close();
    }
  });

  it("a promotion written to etcd moves creates to the new primary without a restart", async () => {
    const { revision } = await cluster.promote("s0n1");
    await poll(async () => ((await health()).topologyVersion ?? 0) >= revision || undefined, {
      timeoutMs: 10_000,
      what: "the origin to see the promotion",
    });
    const alias = await aliasOn("s0", "promoted");
    const res = await post({ url: "https://example.com/after-promotion", alias });
    expect(res.status).toBe(201);
    expect(await countOn(cluster.node("s0n1").pg.port, alias)).toBe(1);
    // The old primary's pool is closed; the edge got the new snapshot too.
    expect(origin.store.openPools()).not.toContain("s0n0");
    await poll(() => ((edge.version ?? 0) >= revision ? true : undefined), {
      timeoutMs: 10_000,
      what: "the promotion at the edge",
    });
  });

  it("etcd down: creates keep working; etcd back: a later topology change is picked up", async () => {
    await cluster.stopEtcd();
    try {
      await poll(async () => ((await health()).etcd === "disconnected" ? true : undefined), {
        timeoutMs: 15_000,
        what: "the origin to notice etcd is down",
      });
      const during = await post({ url: "https://example.com/during-outage" });
      expect(during.status).toBe(201);
      expect((await health()).ok).toBe(true);

      // A second origin started now (etcd down) starts from the snapshot file the first wrote.
      await origin.snapshotFile?.flush();
      const fromFile = await startOrigin(
        env({ ORIGIN_PORT: String(SECOND_ORIGIN_PORT), EDGE_URL: "" }),
        { log: () => {}, initialWaitMs: 500 },
      );
      try {
        const h = await health(fromFile.url);
        expect(h).toEqual({
          ok: true,
          topologyVersion: (await health()).topologyVersion,
          etcd: "disconnected",
        });
        expect(
          (await post({ url: "https://example.com/from-file" }, {}, fromFile.url)).status,
        ).toBe(201);
      } finally {
        await fromFile.close();
      }
    } finally {
      await cluster.startEtcd();
    }
    await poll(async () => ((await health()).etcd === "connected" ? true : undefined), {
      timeoutMs: 20_000,
      what: "the origin to reconnect to etcd",
    });
    // A topology change after the outage: the old primary rejoins as a replica of s0.
    const { revision } = await cluster.rejoin("s0n0");
    await poll(async () => ((await health()).topologyVersion ?? 0) >= revision || undefined, {
      timeoutMs: 10_000,
      what: "the origin to see the change made after etcd came back",
    });
    expect(origin.state.current()?.snapshot.shards.s0?.replicas.map((n) => n.id)).toEqual(["s0n0"]);
    // The outage was logged once, and its end once.
    expect(logs.filter((l) => l.startsWith("etcd unreachable"))).toHaveLength(1);
    expect(logs.filter((l) => l.startsWith("etcd reachable again"))).toHaveLength(1);
  });

  it("a killed primary: 503 + Retry-After for its shard, 201 for the other", async () => {
    await cluster.kill("s1n0");
    const onDead = await aliasOn("s1", "dead");
    const started = Date.now();
    const res = await post({ url: "https://example.com/", alias: onDead });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(Date.now() - started).toBeLessThan(5_000);
    const problem = (await res.json()) as { type: string; detail: string };
    expect(problem.type).toBe("tag:firstclick,2026:shard-unavailable");
    expect(problem.detail).toContain("shard s1");
    const onAlive = await aliasOn("s0", "alive");
    expect((await post({ url: "https://example.com/", alias: onAlive })).status).toBe(201);
    expect((await api(`/api/links/${onDead}`)).status).toBe(503);
  });
});
