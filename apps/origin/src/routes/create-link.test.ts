import { decideRoute, Topology } from "@firstclick/core";
import { describe, expect, it } from "vitest";
import { MemoryLinkStore } from "../links/memory-store.ts";
import {
  type LinkStore,
  type NewLink,
  ReplicationTimeoutError,
  type ShardPrimary,
} from "../links/store.ts";
import {
  aliasOn,
  BASE,
  type Created,
  create,
  created,
  node,
  setCookie,
  setup,
  snapshot,
} from "./test-app.ts";

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
    const cookie = setCookie(res, "ryow_until");
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
    const cookie = setCookie(res, "ryow_until");
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
      replication: (at, lsn) => memory.replication(at, lsn),
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

describe("POST /api/links: topology and shard availability", () => {
  it("without a topology, creates answer 503 + Retry-After; nothing is written", async () => {
    const { app, memory } = setup({ topology: null });
    const res = await create(app, { url: "https://example.com/" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(((await res.json()) as { type: string }).type).toBe("tag:firstclick,2026:no-topology");
    expect(memory.count()).toBe(0);
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
      replication: async () => ({ replicas: 0, caughtUp: 0 }),
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
