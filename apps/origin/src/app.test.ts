import { decideRoute, Topology, type TopologyNode, type TopologySnapshot } from "@firstclick/core";
import { describe, expect, it } from "vitest";
import { createOriginApp, type OriginAppConfig, type WriteTracker } from "./app.ts";
import { badCreateRequests } from "./links/bad-requests.ts";
import { MemoryLinkStore } from "./links/memory-store.ts";
import {
  type LinkStore,
  type NewLink,
  ReplicationTimeoutError,
  type ShardPrimary,
  type StoredLink,
} from "./links/store.ts";
import { TokenBucketLimiter } from "./rate-limit.ts";
import { TopologyState } from "./topology/state.ts";

const BASE = "http://127.0.0.1:8787";
const ADMIN_KEY = "admin-key-0123456789abcdef";

function node(id: string, port: number): TopologyNode {
  return { id, gatewayUrl: `http://127.0.0.1:${port + 1000}`, pg: { host: "127.0.0.1", port } };
}

function snapshot(
  version = 7,
  s0Primary: TopologyNode | null = node("s0n0", 100),
): TopologySnapshot {
  return {
    version,
    ring: { shards: ["s0", "s1"], vnodes: 160 },
    shards: {
      s0: { primary: s0Primary, replicas: [node("s0n1", 101)] },
      s1: { primary: node("s1n0", 102), replicas: [node("s1n1", 103)] },
    },
  };
}

interface Setup {
  store?: LinkStore;
  config?: Partial<OriginAppConfig>;
  topology?: TopologySnapshot | null;
  perMinute?: number;
  now?: () => Date;
  tracker?: WriteTracker;
}

function setup(o: Setup = {}) {
  let clockMs = Date.parse("2030-01-01T00:00:00Z");
  const memory = new MemoryLinkStore(() => new Date(clockMs));
  const store = o.store ?? memory;
  const topology = new TopologyState();
  const snap = o.topology === undefined ? snapshot() : o.topology;
  if (snap) topology.apply(snap);
  topology.setSourceStatus("connected");
  const errors: string[] = [];
  const app = createOriginApp({
    store,
    topology,
    rateLimiter: new TokenBucketLimiter({ perMinute: o.perMinute ?? 1_000, now: () => clockMs }),
    clientKey: (c) => c.req.header("x-test-client") ?? "anonymous",
    config: { publicBaseUrl: BASE, ryowWindow: 30, adminKey: ADMIN_KEY, ...o.config },
    now: o.now ?? (() => new Date(clockMs)),
    tracker: o.tracker,
    logError: (m) => errors.push(m),
  });
  return {
    app,
    memory,
    topology,
    errors,
    advance: (ms: number) => {
      clockMs += ms;
    },
    nowMs: () => clockMs,
  };
}

type App = ReturnType<typeof setup>["app"];

async function create(app: App, body: unknown, headers: Record<string, string> = {}) {
  return app.request("/api/links", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

interface Created {
  code: string;
  shortUrl: string;
  url: string;
  expiresAt: string | null;
  redirectStatus: number;
  createdAt: string;
  updatedAt: string;
  editToken: string;
}

async function created(app: App, body: unknown): Promise<Created> {
  const res = await create(app, body);
  expect(res.status).toBe(201);
  return (await res.json()) as Created;
}

/** An alias that the ring puts on `shard`. */
function aliasOn(shard: string, prefix: string): string {
  const t = Topology.from(snapshot());
  for (let i = 0; ; i++) {
    const alias = `${prefix}-${i}`;
    if (t.shardFor(alias) === shard) return alias;
  }
}

describe("POST /api/links", () => {
  it("creates a link on the primary of the shard that owns its code", async () => {
    const { app, memory } = setup();
    const res = await create(app, { url: "https://example.com/a?b=c" });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as Created;
    expect(body.code).toMatch(/^[0-9A-Za-z]{7}$/);
    expect(body).toMatchObject({
      shortUrl: `${BASE}/${body.code}`,
      url: "https://example.com/a?b=c",
      expiresAt: null,
      redirectStatus: 302,
      createdAt: "2030-01-01T00:00:00.000Z",
    });
    expect(body.editToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(res.headers.get("location")).toBe(`/api/links/${body.code}`);

    const owner = Topology.from(snapshot()).shardFor(body.code);
    const ownerNode = owner === "s0" ? "s0n0" : "s1n0";
    const otherNode = owner === "s0" ? "s1n0" : "s0n0";
    const row = memory.nodes.get(ownerNode)?.get(body.code);
    expect(row?.url).toBe("https://example.com/a?b=c");
    expect(memory.nodes.get(otherNode)?.has(body.code) ?? false).toBe(false);
    // Only the hash is stored.
    expect(row?.editTokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(body.editToken);
  });

  it("sets the RYOW cookie for the window, HttpOnly, SameSite=Lax, not Secure on http", async () => {
    const { app, nowMs } = setup();
    const res = await create(app, { url: "https://example.com/" });
    const cookie = res.headers.get("set-cookie") ?? "";
    const until = Math.floor(nowMs() / 1000) + 30;
    expect(cookie).toBe(`ryow_until=${until}; Max-Age=30; Path=/; HttpOnly; SameSite=Lax`);
    // The edge, reading it back, routes this client to the primary inside the window only.
    const header = cookie.split(";")[0] ?? "";
    expect(await decideRoute(header, until - 1, { window: 30 })).toBe("primary");
    expect(await decideRoute(header, until + 1, { window: 30 })).toBe("replica");
  });

  it("marks the cookie Secure on an https short domain, and signs it with RYOW_SECRET", async () => {
    const { app, nowMs } = setup({
      config: { publicBaseUrl: "https://fc.example", ryowSecret: "s3cret", ryowWindow: 10 },
    });
    const res = await create(app, { url: "https://example.com/" });
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/; Secure$/);
    expect(cookie).toContain("Max-Age=10");
    const header = cookie.split(";")[0] ?? "";
    expect(header).toMatch(/^ryow_until=\d+\.[A-Za-z0-9_-]{43}$/);
    const now = Math.floor(nowMs() / 1000);
    expect(await decideRoute(header, now, { window: 10, secrets: ["s3cret"] })).toBe("primary");
    expect(await decideRoute(header, now, { window: 10, secrets: ["other"] })).toBe("replica");
    const body = (await res.json()) as Created;
    expect(body.shortUrl).toBe(`https://fc.example/${body.code}`);
  });

  it("uses the alias as the code, stores expiry and redirect status, and normalizes the URL", async () => {
    const { app } = setup();
    const body = await created(app, {
      url: "HTTPS://Example.COM/path",
      alias: "My_Launch-2030",
      expiresAt: "2031-06-01T12:00:00+02:00",
      redirectStatus: 307,
    });
    expect(body).toMatchObject({
      code: "My_Launch-2030",
      url: "https://example.com/path",
      expiresAt: "2031-06-01T10:00:00.000Z",
      redirectStatus: 307,
    });
  });

  it("answers 409 for a taken alias and keeps the first link", async () => {
    const { app, memory } = setup();
    await created(app, { url: "https://example.com/first", alias: "taken" });
    const res = await create(app, { url: "https://example.com/second", alias: "taken" });
    expect(res.status).toBe(409);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as { type: string; detail: string };
    expect(problem.type).toBe("tag:firstclick,2026:alias-taken");
    expect(problem.detail).toContain('"taken"');
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(memory.count()).toBe(1);
  });

  it("retries a generated code that collides", async () => {
    const memory = new MemoryLinkStore();
    let conflicts = 2;
    const store: LinkStore = {
      create: async (at: ShardPrimary, link: NewLink) => {
        if (conflicts-- > 0) return "conflict";
        return memory.create(at, link);
      },
      find: (at, code) => memory.find(at, code),
      update: (at, code, changes) => memory.update(at, code, changes),
      softDelete: (at, code) => memory.softDelete(at, code),
    };
    const { app } = setup({ store });
    await created(app, { url: "https://example.com/" });
    expect(memory.count()).toBe(1);
  });

  it("tells the write tracker (redis strategy) about creates before answering", async () => {
    const tracked: string[] = [];
    const slowTracker = {
      track: async (code: string) => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        tracked.push(code);
      },
    };
    const { app } = setup({ tracker: slowTracker });
    const body = await created(app, { url: "https://example.com/" });
    expect(tracked).toEqual([body.code]);
  });

  it("a failing write tracker does not fail the create", async () => {
    const { app, errors } = setup({
      tracker: { track: () => Promise.reject(new Error("redis down")) },
    });
    await created(app, { url: "https://example.com/" });
    expect(errors.join("\n")).toContain("redis down");
  });
});

describe("bad create requests: 4xx problem, nothing written", () => {
  const corpus = badCreateRequests(BASE);

  it("the corpus has at least 40 cases", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(40);
  });

  it.each(corpus.map((c) => [c.name, c] as const))("%s", async (_name, bad) => {
    const { app, memory, errors } = setup();
    const res = await app.request("/api/links", {
      method: "POST",
      headers: bad.headers,
      body: bad.body,
    });
    expect(res.status).toBe(bad.status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = (await res.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: bad.status });
    expect(typeof problem.type).toBe("string");
    expect(typeof problem.title).toBe("string");
    expect(String(problem.detail).length).toBeGreaterThan(10);
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(memory.count()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("names the offending field and what to do", async () => {
    const { app } = setup();
    const res = await create(app, { url: "ftp://example.com/", alias: "ab", extra: 1 });
    const problem = (await res.json()) as { errors: { field: string; message: string }[] };
    expect(problem.errors).toEqual([
      { field: "extra", message: "unknown field; allowed: url, alias, expiresAt, redirectStatus" },
    ]);
    const res2 = await create(app, { url: "ftp://example.com/", alias: "ab" });
    const problem2 = (await res2.json()) as { detail: string; errors: { field: string }[] };
    expect(problem2.errors.map((e) => e.field)).toEqual(["url", "alias"]);
    expect(problem2.detail).toContain("Only http: and https:");
  });

  it("a body streamed past 8 KiB without a content-length is cut off with 413", async () => {
    const { app, memory } = setup();
    const chunk = new TextEncoder().encode(`{"url":"https://example.com/${"a".repeat(4_000)}`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 100) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const res = await app.request("/api/links", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(sent).toBeLessThan(10);
    expect(memory.count()).toBe(0);
  });
});

describe("rate limit on creates", () => {
  it("answers 429 with Retry-After once a client used its budget; others are unaffected", async () => {
    const { app, memory, advance } = setup({ perMinute: 3 });
    const a = { "x-test-client": "10.0.0.1" };
    for (let i = 0; i < 3; i++) {
      expect((await create(app, { url: "https://example.com/" }, a)).status).toBe(201);
    }
    const limited = await create(app, { url: "https://example.com/" }, a);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("20");
    expect(((await limited.json()) as { type: string }).type).toBe(
      "tag:firstclick,2026:rate-limited",
    );
    expect(memory.count()).toBe(3);
    expect(
      (await create(app, { url: "https://example.com/" }, { "x-test-client": "10.0.0.2" })).status,
    ).toBe(201);
    advance(20_000);
    expect((await create(app, { url: "https://example.com/" }, a)).status).toBe(201);
  });

  it("bad requests do not use up the budget", async () => {
    const { app } = setup({ perMinute: 1 });
    for (let i = 0; i < 5; i++) expect((await create(app, { url: "nope" })).status).toBe(400);
    expect((await create(app, { url: "https://example.com/" })).status).toBe(201);
  });
});

describe("topology and shard availability", () => {
  it("without a topology, creates answer 503 + Retry-After and /health says so", async () => {
    const { app, memory } = setup({ topology: null });
    const res = await create(app, { url: "https://example.com/" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(((await res.json()) as { type: string }).type).toBe("tag:firstclick,2026:no-topology");
    expect(memory.count()).toBe(0);
    const health = await app.request("/health");
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ ok: false, topologyVersion: null, etcd: "connected" });
  });

  it("/health reports the topology version and the source's state", async () => {
    const { app, topology } = setup();
    expect(await (await app.request("/health")).json()).toEqual({
      ok: true,
      topologyVersion: 7,
      etcd: "connected",
    });
    topology.setSourceStatus("disconnected");
    const res = await app.request("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, etcd: "disconnected" });
  });

  it("a down primary fails its shard only (503 + Retry-After); the other shard still creates", async () => {
    const { app, memory } = setup();
    memory.down.add("s0n0");
    const onS0 = await create(app, { url: "https://example.com/", alias: aliasOn("s0", "down") });
    expect(onS0.status).toBe(503);
    expect(onS0.headers.get("retry-after")).toBe("5");
    const problem = (await onS0.json()) as { type: string; detail: string };
    expect(problem.type).toBe("tag:firstclick,2026:shard-unavailable");
    expect(problem.detail).toContain("shard s0");
    const onS1 = await create(app, { url: "https://example.com/", alias: aliasOn("s1", "up") });
    expect(onS1.status).toBe(201);
  });

  it("a shard without a primary (failover in progress) answers 503", async () => {
    const { app } = setup({ topology: snapshot(9, null) });
    const res = await create(app, { url: "https://example.com/", alias: aliasOn("s0", "nop") });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { detail: string }).detail).toContain("no primary");
  });

  it("a new topology version moves creates to the new primary; an older one is ignored", async () => {
    const { app, memory, topology } = setup();
    const promoted = snapshot(8, node("s0n1", 101));
    promoted.shards.s0 = { primary: node("s0n1", 101), replicas: [] };
    expect(topology.apply(promoted)).toBe(true);
    expect(topology.apply(snapshot(7))).toBe(false);
    const alias = aliasOn("s0", "moved");
    await created(app, { url: "https://example.com/", alias });
    expect(memory.nodes.get("s0n1")?.has(alias)).toBe(true);
    expect(memory.nodes.get("s0n0")?.has(alias) ?? false).toBe(false);
  });

  it("a replication timeout (remote_apply) is a 503 that says nothing was created", async () => {
    const store: LinkStore = {
      ...new MemoryLinkStore(),
      create: async (at) => {
        throw new ReplicationTimeoutError(at.shard, false, "no replica applied in 3000 ms");
      },
      find: async () => null,
      update: async () => null,
      softDelete: async () => null,
    };
    const { app } = setup({ store });
    const res = await create(app, { url: "https://example.com/" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    const problem = (await res.json()) as { type: string; detail: string };
    expect(problem.type).toBe("tag:firstclick,2026:replication-timeout");
    expect(problem.detail).toContain("nothing was created");
  });
});

describe("GET /api/links/:code", () => {
  it("returns the metadata without the token", async () => {
    const { app } = setup();
    const link = await created(app, { url: "https://example.com/x", redirectStatus: 308 });
    const res = await app.request(`/api/links/${link.code}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    const { editToken: _token, ...withoutToken } = link;
    expect(body).toEqual(withoutToken);
    expect(res.headers.get("set-cookie")).toBeNull();
  });

  it("404 for unknown codes and for anything that cannot be a code", async () => {
    const { app } = setup();
    for (const path of [
      "/api/links/abcdefg",
      "/api/links/ab",
      "/api/links/a.b.c",
      "/api/links/api",
    ]) {
      const res = await app.request(path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
  });

  it("410 for expired links", async () => {
    const { app, advance } = setup();
    const link = await created(app, {
      url: "https://example.com/",
      expiresAt: "2030-01-01T00:01:00Z",
    });
    expect((await app.request(`/api/links/${link.code}`)).status).toBe(200);
    advance(61_000);
    const res = await app.request(`/api/links/${link.code}`);
    expect(res.status).toBe(410);
    expect(await res.json()).toMatchObject({ reason: "expired" });
  });
});

describe("PATCH and DELETE need the edit token or the admin key", () => {
  const patch = (app: App, code: string, body: unknown, auth?: string) =>
    app.request(`/api/links/${code}`, {
      method: "PATCH",
      headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify(body),
    });
  const del = (app: App, code: string, auth?: string) =>
    app.request(`/api/links/${code}`, {
      method: "DELETE",
      headers: auth ? { authorization: auth } : {},
    });

  it("401 with WWW-Authenticate without credentials or with wrong ones; nothing changes", async () => {
    const { app, memory } = setup();
    const link = await created(app, { url: "https://example.com/before" });
    const other = await created(app, { url: "https://example.com/other" });
    for (const auth of [
      undefined,
      "Basic dXNlcjpwYXNz",
      "Bearer",
      "Bearer wrong-token",
      `Bearer ${other.editToken}`,
      `Bearer ${ADMIN_KEY}x`,
      `Bearer ${"a".repeat(2_000)}`,
    ]) {
      const res = await patch(app, link.code, { url: "https://example.com/after" }, auth);
      expect(res.status, String(auth)).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="firstclick"/);
      expect(res.headers.get("set-cookie")).toBeNull();
      expect((await del(app, link.code, auth)).status).toBe(401);
    }
    const row = [...memory.nodes.values()].map((t) => t.get(link.code)).find(Boolean);
    expect(row?.url).toBe("https://example.com/before");
    expect(row?.deletedAt).toBeNull();
  });

  it("edits with the edit token: url, expiry (null clears), redirect status; sets the cookie", async () => {
    const { app, advance } = setup();
    const link = await created(app, {
      url: "https://example.com/before",
      expiresAt: "2031-01-01T00:00:00Z",
    });
    advance(5_000);
    const res = await patch(
      app,
      link.code,
      { url: "https://example.com/after", redirectStatus: 301, expiresAt: null },
      `Bearer ${link.editToken}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("set-cookie")).toMatch(
      /^ryow_until=\d+; Max-Age=30; Path=\/; HttpOnly; SameSite=Lax$/,
    );
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      code: link.code,
      url: "https://example.com/after",
      redirectStatus: 301,
      expiresAt: null,
      createdAt: link.createdAt,
      updatedAt: "2030-01-01T00:00:05.000Z",
    });
    expect(body.editToken).toBeUndefined();
    const read = (await (await app.request(`/api/links/${link.code}`)).json()) as Record<
      string,
      unknown
    >;
    expect(read.url).toBe("https://example.com/after");
  });

  it("the admin key can edit and delete any link", async () => {
    const { app } = setup();
    const link = await created(app, { url: "https://example.com/" });
    const res = await patch(app, link.code, { redirectStatus: 307 }, `Bearer ${ADMIN_KEY}`);
    expect(res.status).toBe(200);
    expect((await del(app, link.code, `Bearer ${ADMIN_KEY}`)).status).toBe(204);
  });

  it("without ADMIN_KEY configured, no bearer value acts as admin", async () => {
    const { app } = setup({ config: { adminKey: undefined } });
    const link = await created(app, { url: "https://example.com/" });
    expect((await del(app, link.code, `Bearer ${ADMIN_KEY}`)).status).toBe(401);
    expect((await del(app, link.code, "Bearer undefined")).status).toBe(401);
  });

  it("validates the edit like a create (400, nothing changed)", async () => {
    const { app, memory } = setup();
    const link = await created(app, { url: "https://example.com/before" });
    const auth = `Bearer ${link.editToken}`;
    for (const body of [
      {},
      { url: "javascript:alert(1)" },
      { url: `${BASE}/loop` },
      { alias: "new-alias" },
      { expiresAt: "2001-01-01T00:00:00Z" },
      { redirectStatus: 200 },
      { url: "https://example.com/ok", extra: true },
    ]) {
      const res = await patch(app, link.code, body, auth);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    const wrongType = await app.request(`/api/links/${link.code}`, {
      method: "PATCH",
      headers: { "content-type": "text/plain", authorization: auth },
      body: '{"url":"https://example.com/x"}',
    });
    expect(wrongType.status).toBe(415);
    const row = [...memory.nodes.values()].map((t) => t.get(link.code)).find(Boolean);
    expect(row?.url).toBe("https://example.com/before");
  });

  it("deletes softly: 204 + cookie, then the link answers 410 and cannot be edited or deleted", async () => {
    const { app, memory } = setup();
    const link = await created(app, { url: "https://example.com/" });
    const auth = `Bearer ${link.editToken}`;
    const res = await del(app, link.code, auth);
    expect(res.status).toBe(204);
    expect(res.headers.get("set-cookie")).toMatch(/^ryow_until=/);
    const row = [...memory.nodes.values()].map((t) => t.get(link.code)).find(Boolean);
    expect(row?.deletedAt).toBeInstanceOf(Date);
    const read = await app.request(`/api/links/${link.code}`);
    expect(read.status).toBe(410);
    expect(await read.json()).toMatchObject({ reason: "deleted" });
    expect((await patch(app, link.code, { redirectStatus: 301 }, auth)).status).toBe(410);
    expect((await del(app, link.code, auth)).status).toBe(410);
    // The alias stays taken: a deleted code is never handed to someone else.
    const again = await create(app, { url: "https://example.com/", alias: link.code });
    expect([409, 400]).toContain(again.status);
  });

  it("an expired link can be given a new expiry by its owner", async () => {
    const { app, advance } = setup();
    const link = await created(app, {
      url: "https://example.com/",
      expiresAt: "2030-01-01T00:01:00Z",
    });
    advance(120_000);
    expect((await app.request(`/api/links/${link.code}`)).status).toBe(410);
    const res = await patch(
      app,
      link.code,
      { expiresAt: "2030-02-01T00:00:00Z" },
      `Bearer ${link.editToken}`,
    );
    expect(res.status).toBe(200);
    expect((await app.request(`/api/links/${link.code}`)).status).toBe(200);
  });

  it("404 for an unknown code, with valid-looking credentials", async () => {
    const { app } = setup();
    expect((await patch(app, "unknown1", { redirectStatus: 301 }, "Bearer abc")).status).toBe(404);
    expect((await del(app, "unknown1", "Bearer abc")).status).toBe(404);
  });
});

describe("documents and pages", () => {
  it("serves an OpenAPI 3.1 document generated from the validating schemas", async () => {
    const { app } = setup();
    const res = await app.request("/api/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: {
        schemas: Record<string, { additionalProperties?: unknown; required?: string[] }>;
      };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(["/api/links", "/api/links/{code}", "/health"]);
    expect(Object.keys(doc.paths["/api/links/{code}"] ?? {}).sort()).toEqual([
      "delete",
      "get",
      "patch",
    ]);
    const createSchema = doc.components.schemas.CreateLink;
    expect(createSchema?.additionalProperties).toBe(false);
    expect(createSchema?.required).toEqual(["url"]);
    expect(doc.components.schemas.Problem).toBeDefined();
  });

  it("serves the creator page: a labelled form, a live region, the same-origin API call", async () => {
    const { app } = setup();
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<label for="url">');
    expect(html).toContain('<label for="alias">');
    expect(html).toContain('aria-live="polite"');
    expect(html).toContain('fetch("/api/links"');
    expect(html).toContain('credentials: "same-origin"');
    expect(html).toContain("navigator.clipboard.writeText");
    expect(html.length).toBeLessThan(16_000);
  });

  it("unknown routes are 404 problems and wrong methods 405 with Allow", async () => {
    const { app } = setup();
    const missing = await app.request("/nope");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toBe("application/problem+json");
    const wrong = await app.request("/api/links", { method: "GET" });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("allow")).toBe("POST");
    const put = await app.request("/api/links/abcdefg", { method: "PUT" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, PATCH, DELETE");
  });
});

// The in-memory store must behave like the real one for the app's purposes.
describe("MemoryLinkStore", () => {
  it("is per node and reports conflicts", async () => {
    const store = new MemoryLinkStore(() => new Date(0));
    const at: ShardPrimary = { shard: "s0", node: node("s0n0", 1) };
    const link: NewLink = {
      code: "abc",
      url: "https://x.test/",
      redirectStatus: 302,
      expiresAt: null,
      editTokenHash: "h",
    };
    const row = (await store.create(at, link)) as StoredLink;
    expect(row.createdAt.getTime()).toBe(0);
    expect(await store.create(at, link)).toBe("conflict");
    expect(await store.find({ shard: "s0", node: node("s0n1", 2) }, "abc")).toBeNull();
  });
});
