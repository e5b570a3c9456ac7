import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up } from "@firstclick/cluster";
import { compareLsn, PROBLEM, parseLinkAnswer } from "@firstclick/core";
import postgres, { type Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGatewayApp } from "./app.ts";
import { connect } from "./db.ts";

// A real primary + streaming replica from packages/cluster, on this package's own ports.
const BASE_PORT = 22_100;
// A loopback port nothing listens on: a gateway pointed at it has a database that never answers.
const DEAD_PORT = 22_199;

let cluster: Cluster;
let writer: Sql;
const pools: Sql[] = [];
const silent = () => {};

function pool(url: string, nodeId: string, statementTimeoutMs = 1_000): Sql {
  const sql = connect(url, { nodeId, poolMax: 2, statementTimeoutMs });
  pools.push(sql);
  return sql;
}

const isoTime = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

function code(prefix: string): string {
  return `${prefix}${Math.random().toString(36).slice(2, 9)}`;
}

async function insertLink(values: {
  code: string;
  target?: string;
  redirectStatus?: number;
  expiresAt?: Date | null;
  deletedAt?: Date | null;
}): Promise<void> {
  await writer`
    insert into links (code, target, redirect_status, expires_at, deleted_at, edit_token_hash)
    values (${values.code}, ${values.target ?? "https://example.com/"},
            ${values.redirectStatus ?? 302}, ${values.expiresAt ?? null},
            ${values.deletedAt ?? null}, 'hash')`;
}

beforeAll(async () => {
  cluster = await up({
    stateDir: join(defaultStateDir(), "gateway-test"),
    shards: 1,
    replicas: 1,
    basePort: BASE_PORT,
    apps: false,
  });
  writer = postgres(cluster.databaseUrl("s0n0"), { max: 1, onnotice: silent });
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end({ timeout: 1 })));
  await writer?.end({ timeout: 1 });
  await cluster?.down();
});

describe("GET /links/:code on a primary", () => {
  it("returns the link as JSON with its redirect status and ISO dates", async () => {
    const app = createGatewayApp({ db: pool(cluster.databaseUrl("s0n0"), "s0n0"), nodeId: "s0n0" });
    const c = code("ok");
    const expiresAt = new Date(Date.now() + 3_600_000);
    await insertLink({
      code: c,
      target: "https://example.com/a?b=c",
      redirectStatus: 301,
      expiresAt,
    });
    const res = await app.request(`/links/${c}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      code: c,
      url: "https://example.com/a?b=c",
      redirectStatus: 301,
      expiresAt: expiresAt.toISOString(),
    });
    expect(typeof body.updatedAt).toBe("string");
    expect(Number.isNaN(Date.parse(String(body.updatedAt)))).toBe(false);
  });

  it("answers 404 for an unknown code and 410 for deleted or expired links", async () => {
    const app = createGatewayApp({ db: pool(cluster.databaseUrl("s0n0"), "s0n0"), nodeId: "s0n0" });
    const deleted = code("del");
    const expired = code("exp");
    await insertLink({ code: deleted, deletedAt: new Date() });
    await insertLink({ code: expired, expiresAt: new Date(Date.now() - 1_000) });

    const missing = await app.request(`/links/${code("none")}`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "not_found" });

    const gone = await app.request(`/links/${deleted}`);
    expect(gone.status).toBe(410);
    expect(await gone.json()).toEqual({ code: deleted, reason: "deleted", updatedAt: isoTime });

    const old = await app.request(`/links/${expired}`);
    expect(old.status).toBe(410);
    expect(await old.json()).toEqual({ code: expired, reason: "expired", updatedAt: isoTime });
  });

  it("every answer is one the edge accepts (core's link-answer contract)", async () => {
    const app = createGatewayApp({ db: pool(cluster.databaseUrl("s0n0"), "s0n0"), nodeId: "s0n0" });
    const found = code("ctr");
    const deleted = code("ctd");
    await insertLink({ code: found, target: "https://example.com/x", redirectStatus: 308 });
    await insertLink({ code: deleted, deletedAt: new Date() });
    const read = async (c: string) => {
      const res = await app.request(`/links/${c}`);
      return parseLinkAnswer(res.status, await res.json());
    };
    expect(await read(found)).toEqual({
      kind: "found",
      url: "https://example.com/x",
      redirectStatus: 308,
      updatedAt: isoTime,
      expiresAt: null,
    });
    expect(await read(deleted)).toEqual({ kind: "gone", reason: "deleted", updatedAt: isoTime });
    expect(await read(code("ctm"))).toEqual({ kind: "missing" });
  });

  it("a link both deleted and expired reads as deleted", async () => {
    const app = createGatewayApp({ db: pool(cluster.databaseUrl("s0n0"), "s0n0"), nodeId: "s0n0" });
    const c = code("both");
    await insertLink({ code: c, deletedAt: new Date(), expiresAt: new Date(Date.now() - 1_000) });
    const res = await app.request(`/links/${c}`);
    expect(await res.json()).toEqual({ code: c, reason: "deleted", updatedAt: isoTime });
  });
});

describe("bad input", () => {
  // The gateway's database here never answers: any query would turn into a 503, so a 404
  // proves the code was rejected before the database was asked.
  const deadUrl = `postgres://firstclick@127.0.0.1:${DEAD_PORT}/firstclick`;

  it.each([
    ["reserved word", "/links/api"],
    ["too short", "/links/ab"],
    ["too long", `/links/${"a".repeat(65)}`],
    ["a dot", "/links/abc.def"],
    ["percent-encoded slash", "/links/abc%2Fdef"],
    ["non-ASCII", "/links/%C3%A9t%C3%A9abc"],
    ["SQL", "/links/'%20or%201=1--"],
  ])("%s → 404 without a query", async (_name, path) => {
    const app = createGatewayApp({ db: pool(deadUrl, "dead"), nodeId: "dead", logError: silent });
    const res = await app.request(path);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not_found" });
  });

  it.each([
    ["not an LSN", "nope"],
    ["no slash", "3000060"],
    ["SQL", "0/1'%20or%20true--"],
    ["too many digits", "123456789/0"],
    ["empty", ""],
  ])("minLsn %s → 400 problem without a query", async (_name, minLsn) => {
    const app = createGatewayApp({ db: pool(deadUrl, "dead"), nodeId: "dead", logError: silent });
    const res = await app.request(`/links/abcdefg?minLsn=${minLsn}`);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ type: PROBLEM.validation, status: 400 });
  });

  it("a valid code against a database that does not answer → 503, and linkReads counts both", async () => {
    const app = createGatewayApp({ db: pool(deadUrl, "dead"), nodeId: "dead", logError: silent });
    expect((await app.request("/links/ab")).status).toBe(404);
    const res = await app.request("/links/abcdefg");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "database_unavailable" });
    const health = await app.request("/health");
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ nodeId: "dead", error: "database_unavailable" });
  });

  it("unknown routes and methods are 404 JSON, not 500", async () => {
    const app = createGatewayApp({ db: pool(deadUrl, "dead"), nodeId: "dead", logError: silent });
    expect((await app.request("/")).status).toBe(404);
    expect((await app.request("/links/abcdefg", { method: "DELETE" })).status).toBe(404);
    expect((await app.request("/links")).status).toBe(404);
  });
});

describe("the gateway's sessions", () => {
  it("are read-only, even on a primary", async () => {
    const db = pool(cluster.databaseUrl("s0n0"), "s0n0");
    await expect(
      db`insert into links (code, target, edit_token_hash) values ('rwtest1', 'https://x.test/', 'h')`,
    ).rejects.toThrow(/read-only transaction/);
  });

  it("have a bounded statement_timeout", async () => {
    const db = pool(cluster.databaseUrl("s0n0"), "s0n0", 100);
    await expect(db`select pg_sleep(2)`).rejects.toThrow(/statement timeout/);
  });
});

describe("health and replicas", () => {
  it("reports the primary's role and WAL position, and counts link reads", async () => {
    const app = createGatewayApp({ db: pool(cluster.databaseUrl("s0n0"), "s0n0"), nodeId: "s0n0" });
    await app.request(`/links/${code("cnt")}`);
    await app.request(`/links/${code("cnt")}`);
    const res = await app.request("/health");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ nodeId: "s0n0", role: "primary", replayLsn: null, lagSeconds: 0 });
    expect(body.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(body.linkReads).toBe(2);
  });

  it("a replica reports its role, serves replicated links, and lags while replay is paused", async () => {
    const replica = createGatewayApp({
      db: pool(cluster.databaseUrl("s0n1"), "s0n1"),
      nodeId: "s0n1",
    });
    const first = code("rep");
    await insertLink({ code: first });
    await poll(
      async () => ((await replica.request(`/links/${first}`)).status === 200 ? true : undefined),
      { timeoutMs: 10_000, what: "the replica to replay the insert" },
    );
    const health = (await (await replica.request("/health")).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ nodeId: "s0n1", role: "replica" });
    expect(health.replayLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    await cluster.pauseReplay("s0n1");
    try {
      const later = code("lag");
      await insertLink({ code: later });
      // Received but not replayed: invisible to reads on the replica, and the lag shows it.
      const lagging = await poll(
        async () => {
          const h = (await (await replica.request("/health")).json()) as {
            lsn: string;
            replayLsn: string;
            lagSeconds: number;
          };
          return h.lsn !== h.replayLsn ? h : undefined;
        },
        { timeoutMs: 10_000, what: "the replica to receive WAL it does not replay" },
      );
      expect(lagging.lagSeconds).toBeGreaterThan(0);
      expect((await replica.request(`/links/${later}`)).status).toBe(404);
    } finally {
      await cluster.resumeReplay("s0n1");
    }
  });
});

describe("minLsn (strategy position)", () => {
  async function walPosition(): Promise<string> {
    const [row] = await writer<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
    if (!row) throw new Error("no WAL position");
    return row.lsn;
  }

  it("a primary answers whatever minLsn asks: it has every write it acknowledged", async () => {
    const app = createGatewayApp({ db: pool(cluster.databaseUrl("s0n0"), "s0n0"), nodeId: "s0n0" });
    const c = code("pmin");
    await insertLink({ code: c });
    expect((await app.request(`/links/${c}?minLsn=FFFFFFFF/FFFFFFFF`)).status).toBe(200);
  });

  it("a replica that has not replayed minLsn answers 425 behind, then the link once it has", async () => {
    const replica = createGatewayApp({
      db: pool(cluster.databaseUrl("s0n1"), "s0n1"),
      nodeId: "s0n1",
    });
    const before = code("rbef");
    await insertLink({ code: before });
    const beforeLsn = await walPosition();
    await poll(
      async () =>
        (await replica.request(`/links/${before}?minLsn=${beforeLsn}`)).status === 200
          ? true
          : undefined,
      { timeoutMs: 10_000, what: "the replica to replay the first insert" },
    );
    await cluster.pauseReplay("s0n1");
    let resumed = false;
    try {
      const later = code("rbeh");
      await insertLink({ code: later });
      const laterLsn = await walPosition();
      const res = await replica.request(`/links/${later}?minLsn=${laterLsn}`);
      expect(res.status).toBe(425);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const body = (await res.json()) as { replayLsn: string };
      expect(body).toMatchObject({ type: PROBLEM.replicaBehind, status: 425 });
      expect(parseLinkAnswer(425, body)).toEqual({ kind: "behind", replayLsn: body.replayLsn });
      // Without minLsn the same replica gives its stale answer: that is what minLsn prevents.
      expect((await replica.request(`/links/${later}`)).status).toBe(404);
      // An older position it has replayed is answered as usual.
      expect((await replica.request(`/links/${before}?minLsn=${beforeLsn}`)).status).toBe(200);

      await cluster.resumeReplay("s0n1");
      resumed = true;
      await poll(
        async () =>
          (await replica.request(`/links/${later}?minLsn=${laterLsn}`)).status === 200
            ? true
            : undefined,
        { timeoutMs: 10_000, what: "the replica to replay the insert after resume" },
      );
    } finally {
      if (!resumed) await cluster.resumeReplay("s0n1");
    }
  });
});

describe("a replica's answers say up to where they include every write (lsn)", () => {
  async function walPosition(): Promise<string> {
    const [row] = await writer<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
    if (!row) throw new Error("no WAL position");
    return row.lsn;
  }
  const lsnOf = async (res: Response) => ((await res.json()) as { lsn?: string }).lsn;

  it("a primary's answers carry none; a replica's, from a position read by an earlier lookup", async () => {
    const primary = createGatewayApp({
      db: pool(cluster.databaseUrl("s0n0"), "s0n0"),
      nodeId: "s0n0",
    });
    const replica = createGatewayApp({
      db: pool(cluster.databaseUrl("s0n1"), "s0n1"),
      nodeId: "s0n1",
    });
    const [live, gone] = [code("wlive"), code("wgone")];
    await insertLink({ code: live });
    await insertLink({ code: gone, deletedAt: new Date() });
    const written = await walPosition();
    expect(await lsnOf(await primary.request(`/links/${live}`))).toBeUndefined();
    await poll(
      async () => ((await replica.request(`/links/${gone}`)).status === 410 ? true : undefined),
      { timeoutMs: 10_000, what: "the replica to replay both inserts" },
    );
    for (const [c, status] of [
      [live, 200],
      [gone, 410],
    ] as const) {
      const res = await replica.request(`/links/${c}`);
      expect(res.status).toBe(status);
      const lsn = await lsnOf(res);
      // The lookup that saw the inserts had replayed them: every later answer includes them.
      expect(lsn && compareLsn(lsn, written)).toBeGreaterThanOrEqual(0);
    }
  });

  it("minLsn met only by the lookup's own reading: looked up once more, answered with that position", async () => {
    const c = code("wmin");
    await insertLink({ code: c });
    const written = await walPosition();
    const warm = createGatewayApp({
      db: pool(cluster.databaseUrl("s0n1"), "s0n1"),
      nodeId: "s0n1",
    });
    await poll(
      async () => ((await warm.request(`/links/${c}`)).status === 200 ? true : undefined),
      {
        timeoutMs: 10_000,
        what: "the replica to replay the insert",
      },
    );
    // A fresh gateway: no finished lookup has read a position yet, so the first lookup's own
    // reading is all it has; the answer's lsn can only come from the second lookup.
    const fresh = createGatewayApp({
      db: pool(cluster.databaseUrl("s0n1"), "s0n1"),
      nodeId: "s0n1",
    });
    const res = await fresh.request(`/links/${c}?minLsn=${written}`);
    expect(res.status).toBe(200);
    const lsn = await lsnOf(res);
    expect(lsn && compareLsn(lsn, written)).toBeGreaterThanOrEqual(0);
  });
});
