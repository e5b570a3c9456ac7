import {
  encodePositionToken,
  linkBehind,
  POSITION_COOKIE,
  POSITION_HEADER,
  type PositionEntry,
  PROBLEM,
  serializeRyowCookie,
  type TimelineSwitch,
} from "@firstclick/core";
import { describe, expect, it } from "vitest";
import {
  fixtureLog,
  found,
  newCode,
  newPrefix,
  nextVersion,
  nodeId,
  program,
  testEdge,
} from "../../test/support.ts";

/**
 * Strategy `position` through the whole redirect path (app.request in workerd, fixture
 * gateways): the token read from the cookie or the header, the shard's timeline history from
 * the topology snapshot, minLsn on the subrequests, "behind" passed on, "lost" answered.
 */

const SECRET = "position-test-secret";
const LSN = "0/3000060";
const now = () => Math.floor(Date.now() / 1000);
const JSON_ACCEPT = { accept: "application/json" };

function entry(over: Partial<PositionEntry> = {}): PositionEntry {
  return { shard: "s0", timeline: 1, lsn: LSN, writtenAt: now(), ...over };
}

/** A one-shard edge (primary n0, replicas n1 and n2, all holding `code`) under `strategy`. */
async function positionEdge(
  code: string,
  o: { strategy?: string; history?: TimelineSwitch[]; secret?: string | null } = {},
) {
  const prefix = newPrefix();
  const env: Record<string, unknown> = { STRATEGY: o.strategy ?? "position" };
  if (o.secret !== null) env.RYOW_SECRET = o.secret ?? SECRET;
  const edge = testEdge({ prefix, cold: true, env });
  const s0 = edge.snapshot.shards.s0;
  if (!s0) throw new Error("no shard s0");
  edge.cache.offer({
    ...edge.snapshot,
    version: nextVersion(),
    shards: { s0: { ...s0, history: o.history ?? [] } },
  });
  const nodes = [0, 1, 2].map((k) => nodeId(prefix, 0, k));
  await program(nodes, code, found(code));
  return { edge, nodes };
}

async function cookieWith(entries: PositionEntry[], secret = SECRET): Promise<string> {
  return `${POSITION_COOKIE}=${await encodePositionToken(entries, secret)}`;
}

describe("strategy position: a creator with a position token", () => {
  it("normal case: exactly one subrequest, to a replica, with minLsn", async () => {
    const code = newCode();
    const { edge, nodes } = await positionEdge(code);
    const res = await edge.fetch(`/${code}`, { headers: { cookie: await cookieWith([entry()]) } });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`https://example.com/${code}`);
    expect(res.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
    const log = await fixtureLog(`/links/${code}`);
    expect(log).toHaveLength(1);
    expect([nodes[1], nodes[2]]).toContain(log[0]?.node);
    expect(log[0]?.path).toBe(`/n/${log[0]?.node}/links/${code}?minLsn=${LSN}`);
  });

  it("an API client sends the token in the x-firstclick-position header, no cookies", async () => {
    const code = newCode();
    const { edge } = await positionEdge(code);
    const token = await encodePositionToken([entry()], SECRET);
    const res = await edge.fetch(`/${code}`, { headers: { [POSITION_HEADER]: token } });
    expect(res.status).toBe(302);
    const log = await fixtureLog(`/links/${code}`);
    expect(log.map((e) => e.path.endsWith(`?minLsn=${LSN}`))).toEqual([true]);
  });

  it("replicas behind: the next replica, then the primary, each with minLsn", async () => {
    const code = newCode();
    const { edge, nodes } = await positionEdge(code);
    const behind = { status: 425, body: linkBehind("0/2000000", LSN) };
    await program([nodes[1] ?? "", nodes[2] ?? ""], code, behind);
    const res = await edge.fetch(`/${code}`, { headers: { cookie: await cookieWith([entry()]) } });
    expect(res.status).toBe(302);
    expect(res.headers.get("x-firstclick-route")).toBe("primary; shard=s0");
    const log = await fixtureLog(`/links/${code}`);
    expect(log.map((e) => e.node)).toEqual([nodes[1], nodes[2], nodes[0]]);
    expect(log.every((e) => e.path.endsWith(`?minLsn=${LSN}`))).toBe(true);
  });

  it("inside a ryow_until window (cookie,position) the primary read wins: one subrequest", async () => {
    const code = newCode();
    const { edge, nodes } = await positionEdge(code, { strategy: "cookie,position" });
    const window = await serializeRyowCookie({
      nowSeconds: now(),
      window: 30,
      secure: true,
      secret: SECRET,
    });
    const cookie = `${window.split(";")[0]}; ${await cookieWith([entry()])}`;
    const res = await edge.fetch(`/${code}`, { headers: { cookie } });
    expect(res.headers.get("x-firstclick-route")).toBe("primary; shard=s0");
    const log = await fixtureLog(`/links/${code}`);
    expect(log.map((e) => e.path)).toEqual([`/n/${nodes[0]}/links/${code}`]);
  });

  it("under STRATEGY=cookie a position token changes nothing", async () => {
    const code = newCode();
    const { edge } = await positionEdge(code, { strategy: "cookie" });
    const res = await edge.fetch(`/${code}`, { headers: { cookie: await cookieWith([entry()]) } });
    expect(res.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
    const log = await fixtureLog(`/links/${code}`);
    expect(log.map((e) => e.path.includes("minLsn"))).toEqual([false]);
  });

  it("a position at the fork point of an older timeline survived: a replica read with minLsn", async () => {
    const code = newCode();
    const { edge } = await positionEdge(code, { history: [{ timeline: 1, switchLsn: LSN }] });
    const res = await edge.fetch(`/${code}`, { headers: { cookie: await cookieWith([entry()]) } });
    expect(res.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
    const log = await fixtureLog(`/links/${code}`);
    expect(log.map((e) => e.path.endsWith(`?minLsn=${LSN}`))).toEqual([true]);
  });
});

describe("strategy position: a write lost in a failover", () => {
  const history = [{ timeline: 1, switchLsn: "0/2000000" }];

  it.each([
    ["HTML", {}, "text/html; charset=utf-8"],
    ["JSON", JSON_ACCEPT, "application/problem+json"],
  ])("the primary's 404 becomes a 410 linkLost (%s)", async (_name, accept, contentType) => {
    const code = newCode();
    const { edge, nodes } = await positionEdge(code, { history });
    await program([nodes[0] ?? ""], code, { status: 404, body: { error: "not_found" } });
    const res = await edge.fetch(`/${code}`, {
      headers: { ...accept, cookie: await cookieWith([entry()]) },
    });
    expect(res.status).toBe(410);
    expect(res.headers.get("content-type")).toBe(contentType);
    expect(res.headers.get("x-firstclick-route")).toBe("primary; shard=s0");
    const text = await res.text();
    if (contentType === "application/problem+json") {
      expect(JSON.parse(text)).toMatchObject({ type: PROBLEM.linkLost, status: 410 });
    } else {
      expect(text).toContain("create it again");
    }
    const log = await fixtureLog(`/links/${code}`);
    expect(log.map((e) => e.node)).toEqual([nodes[0]]);
  });

  it("a link the primary still has is served as usual", async () => {
    const code = newCode();
    const { edge, nodes } = await positionEdge(code, { history });
    const res = await edge.fetch(`/${code}`, { headers: { cookie: await cookieWith([entry()]) } });
    expect(res.status).toBe(302);
    expect((await fixtureLog(`/links/${code}`)).map((e) => e.node)).toEqual([nodes[0]]);
  });
});

describe("strategy position: tokens that cannot be trusted count as no token", () => {
  const oversized = Array.from({ length: 40 }, (_, i) => `s${i}:1/0/1@${now()}`).join("|");
  const cases: [string, () => Promise<Record<string, string>>][] = [
    ["unsigned", async () => ({ cookie: await cookieWith([entry()], "") })],
    ["badly signed", async () => ({ cookie: await cookieWith([entry()], "another-secret") })],
    ["malformed", async () => ({ cookie: `${POSITION_COOKIE}=s0:x/zz@now.sig` })],
    ["oversized", async () => ({ cookie: `${POSITION_COOKIE}=${oversized}.${"A".repeat(43)}` })],
    [
      "on a shard that does not exist",
      async () => ({ cookie: await cookieWith([entry({ shard: "s9" })]) }),
    ],
    [
      "on a timeline from the future",
      async () => ({ cookie: await cookieWith([entry({ timeline: 7 })]) }),
    ],
    ["expired", async () => ({ cookie: await cookieWith([entry({ writtenAt: now() - 90_000 })]) })],
    ["a garbage header", async () => ({ [POSITION_HEADER]: "\u00ff".repeat(5_000) })],
  ];

  it.each(cases)("%s: a plain replica read, one subrequest, no minLsn", async (_name, headers) => {
    const code = newCode();
    const { edge, nodes } = await positionEdge(code);
    const res = await edge.fetch(`/${code}`, { headers: await headers() });
    expect(res.status).toBe(302);
    expect(res.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
    const log = await fixtureLog(`/links/${code}`);
    expect(log).toHaveLength(1);
    expect([nodes[1], nodes[2]]).toContain(log[0]?.node);
    expect(log[0]?.path.includes("minLsn")).toBe(false);
  });
});
