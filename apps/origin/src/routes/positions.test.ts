import {
  encodePositionToken,
  POSITION_HEADER,
  PROBLEM,
  readPositionToken,
  type TopologySnapshot,
} from "@firstclick/core";
import { describe, expect, it } from "vitest";
import {
  aliasOn,
  type Created,
  create,
  created,
  del,
  node,
  patch,
  setCookie,
  setup,
  snapshot,
} from "./test-app.ts";

// The position token on the origin's answers (strategy position): the memory store gives each
// write a fake, monotonic WAL position on timeline 1 (0/100, 0/200, … per node).

const SECRET = "current-secret";
const signed = { config: { ryowSecret: SECRET } };

/** The entries a client would send back, verified as the edge verifies them. */
async function entriesOf(token: string, nowMs: number, secrets: string[] = [SECRET]) {
  return readPositionToken(null, token, nowMs / 1000, { secrets, ttlSeconds: 86_400 });
}

/** s0 failed over to s0n1; timeline 1 forked at `switchLsn`, so the primary is on timeline 2. */
function failedOver(switchLsn: string): TopologySnapshot {
  const s = snapshot(8);
  return {
    ...s,
    shards: {
      ...s.shards,
      s0: { primary: node("s0n1", 101), replicas: [], history: [{ timeline: 1, switchLsn }] },
    },
  };
}

describe("the position token on writes", () => {
  it("a create answers it in the header, the body and an HttpOnly ryow_pos cookie, signed", async () => {
    const { app, nowMs } = setup(signed);
    const alias = aliasOn("s0", "pos");
    const res = await create(app, { url: "https://example.com/", alias });
    expect(res.status).toBe(201);
    const body = (await res.json()) as Created;
    const header = res.headers.get(POSITION_HEADER) ?? "";
    expect(body.position).toBe(header);
    expect(header).toMatch(/^s0:1\/0\/100@\d+\.[A-Za-z0-9_-]{43}$/);
    expect(setCookie(res, "ryow_pos")).toBe(
      `ryow_pos=${header}; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax`,
    );
    // The RYOW cookie is still there beside it.
    expect(setCookie(res, "ryow_until")).toMatch(/^ryow_until=/);
    expect(await entriesOf(header, nowMs())).toEqual([
      { shard: "s0", timeline: 1, lsn: "0/100", writtenAt: Math.floor(nowMs() / 1000) },
    ]);
    // Under the wrong secret it is nothing.
    expect(await entriesOf(header, nowMs(), ["another-secret"])).toEqual([]);
  });

  it("the cookie lives RYOW_POSITION_TTL_SECONDS and is Secure on an https short domain", async () => {
    const { app } = setup({
      config: { publicBaseUrl: "https://fc.example", positionTtlSeconds: 3_600 },
    });
    const res = await create(app, { url: "https://example.com/" });
    expect(setCookie(res, "ryow_pos")).toMatch(
      /; Max-Age=3600; Path=\/; HttpOnly; SameSite=Lax; Secure$/,
    );
  });

  it("merges what the request carries: the highest position per shard, from cookie or header", async () => {
    const { app, nowMs } = setup(signed);
    const first = await created(app, { url: "https://example.com/", alias: aliasOn("s0", "m") });
    const byCookie = await create(
      app,
      { url: "https://example.com/", alias: aliasOn("s1", "m") },
      { cookie: `ryow_pos=${first.position}` },
    );
    const both = (await byCookie.json()) as Created;
    expect(
      (await entriesOf(both.position ?? "", nowMs())).map((e) => `${e.shard}@${e.lsn}`),
    ).toEqual(["s0@0/100", "s1@0/100"]);
    // An edit on s0 through the header moves s0 on and keeps s1.
    const edited = await patch(
      app,
      first.code,
      { url: "https://example.com/v2" },
      `Bearer ${first.editToken}`,
    );
    expect(edited.status).toBe(200);
    const alone = (await edited.json()) as { position?: string };
    expect((await entriesOf(alone.position ?? "", nowMs())).map((e) => e.lsn)).toEqual(["0/200"]);
    const res = await app.request(`/api/links/${first.code}`, {
      method: "PATCH",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${first.editToken}`,
        [POSITION_HEADER]: both.position ?? "",
      },
      body: JSON.stringify({ url: "https://example.com/v3" }),
    });
    const merged = await entriesOf(res.headers.get(POSITION_HEADER) ?? "", nowMs());
    expect(merged.map((e) => `${e.shard}@${e.lsn}`).sort()).toEqual(["s0@0/300", "s1@0/100"]);
  });

  it("a delete stays 204 without a body and carries the token in the header and cookie", async () => {
    const { app, nowMs } = setup(signed);
    const link = await created(app, { url: "https://example.com/", alias: aliasOn("s1", "d") });
    const res = await del(app, link.code, `Bearer ${link.editToken}`);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    const header = res.headers.get(POSITION_HEADER) ?? "";
    expect(setCookie(res, "ryow_pos")).toContain(`ryow_pos=${header};`);
    expect((await entriesOf(header, nowMs())).map((e) => e.lsn)).toEqual(["0/200"]);
  });

  it("accepts a token signed with the previous secret (key rotation)", async () => {
    const { app, nowMs } = setup({ config: { ryowSecret: SECRET, ryowPreviousSecret: "old" } });
    const old = await encodePositionToken(
      [{ shard: "s1", timeline: 1, lsn: "0/9000", writtenAt: Math.floor(nowMs() / 1000) }],
      "old",
    );
    const res = await create(
      app,
      { url: "https://example.com/", alias: aliasOn("s0", "rot") },
      { [POSITION_HEADER]: old },
    );
    const shards = (await entriesOf(res.headers.get(POSITION_HEADER) ?? "", nowMs())).map(
      (e) => e.shard,
    );
    expect(shards).toEqual(["s1", "s0"]);
  });

  it.each([
    ["unsigned", "s1:1/0/9000@1893456000"],
    ["a bad signature", `s1:1/0/9000@1893456000.${"A".repeat(43)}`],
    ["malformed", "s1:one/0/9000@1893456000.sig"],
    ["oversized", `s1:1/0/9000@1893456000|${"x".repeat(2_000)}`],
    ["on a shard that does not exist", "s9:1/0/9000@1893456000"],
  ])(
    "ignores an incoming token that is %s: the answer holds the new write alone",
    async (_, forged) => {
      const { app, nowMs } = setup(signed);
      const alias = aliasOn("s0", "forged");
      const res = await create(
        app,
        { url: "https://example.com/", alias },
        { cookie: `ryow_pos=${forged}`, [POSITION_HEADER]: forged },
      );
      expect(res.status).toBe(201);
      const entries = await entriesOf(res.headers.get(POSITION_HEADER) ?? "", nowMs());
      expect(entries.map((e) => `${e.shard}@${e.lsn}`)).toEqual(["s0@0/100"]);
    },
  );

  it("a committed write whose position cannot be read still succeeds, without a token", async () => {
    const { app, memory } = setup(signed);
    memory.positionFails.add("s0n0");
    const res = await create(app, { url: "https://example.com/", alias: aliasOn("s0", "nop") });
    expect(res.status).toBe(201);
    expect(res.headers.get(POSITION_HEADER)).toBeNull();
    expect(setCookie(res, "ryow_pos")).toBe("");
    expect(((await res.json()) as Created).position).toBeUndefined();
  });
});

describe("GET /api/links/:code with a position token", () => {
  it("410 link-lost when the token's write on that shard is past the fork and the link is missing", async () => {
    const { app, topology } = setup(signed);
    const link = await created(app, { url: "https://example.com/", alias: aliasOn("s0", "lost") });
    // The failover kept WAL up to 0/80 of timeline 1: the create at 0/100 did not survive.
    expect(topology.apply(failedOver("0/80"))).toBe(true);
    const withToken = await app.request(`/api/links/${link.code}`, {
      headers: { cookie: `ryow_pos=${link.position}` },
    });
    expect(withToken.status).toBe(410);
    const problem = (await withToken.json()) as { type: string; detail: string };
    expect(problem.type).toBe(PROBLEM.linkLost);
    expect(problem.detail).toContain("Create it again");
    // Without the token nobody can tell: a plain 404.
    expect((await app.request(`/api/links/${link.code}`)).status).toBe(404);
  });

  it("a write at or before the fork survived: a missing link is a plain 404", async () => {
    const { app, topology } = setup(signed);
    const link = await created(app, { url: "https://example.com/", alias: aliasOn("s0", "kept") });
    topology.apply(failedOver("0/100"));
    const res = await app.request(`/api/links/${link.code}`, {
      headers: { [POSITION_HEADER]: link.position ?? "" },
    });
    expect(res.status).toBe(404);
  });

  it("a link that is found is answered normally even when the token's write was lost", async () => {
    const { app, topology, memory } = setup(signed);
    const lost = await created(app, { url: "https://example.com/", alias: aliasOn("s0", "gone") });
    topology.apply(failedOver("0/80"));
    // Another link of the same shard, written to the new primary.
    const other = await created(app, { url: "https://example.com/o", alias: aliasOn("s0", "ok") });
    expect(memory.nodes.get("s0n1")?.has(other.code)).toBe(true);
    const res = await app.request(`/api/links/${other.code}`, {
      headers: { [POSITION_HEADER]: lost.position ?? "" },
    });
    expect(res.status).toBe(200);
  });
});

describe("GET /api/links/:code: live everywhere", () => {
  it("caughtUp counts replicas that replayed the link's write: exact with the token, conservative without", async () => {
    const { app, memory } = setup(signed);
    const first = await created(app, { url: "https://example.com/", alias: aliasOn("s0", "live") });
    memory.pauseReplicas("s0n0");
    const second = await created(app, {
      url: "https://example.com/",
      alias: aliasOn("s0", "late"),
    });
    const status = async (code: string, token?: string) =>
      (await (
        await app.request(`/api/links/${code}`, {
          headers: token ? { [POSITION_HEADER]: token } : {},
        })
      ).json()) as { replicas: number; caughtUp: number };
    expect(await status(first.code, first.position)).toEqual(
      expect.objectContaining({ replicas: 1, caughtUp: 1 }),
    );
    // Without a token the primary's current position stands in: the paused replica is behind it.
    expect(await status(first.code)).toEqual(expect.objectContaining({ replicas: 1, caughtUp: 0 }));
    expect(await status(second.code, second.position)).toEqual(
      expect.objectContaining({ caughtUp: 0 }),
    );
    memory.resumeReplicas("s0n0");
    expect(await status(second.code, second.position)).toEqual(
      expect.objectContaining({ replicas: 1, caughtUp: 1 }),
    );
  });

  it("reports how many replicas there are", async () => {
    const { app, memory } = setup();
    memory.replicaCount.set("s1n0", 3);
    const link = await created(app, { url: "https://example.com/", alias: aliasOn("s1", "three") });
    const body = (await (await app.request(`/api/links/${link.code}`)).json()) as Record<
      string,
      unknown
    >;
    expect(body).toMatchObject({ replicas: 3, caughtUp: 3 });
  });
});
