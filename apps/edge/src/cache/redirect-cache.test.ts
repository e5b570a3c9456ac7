import {
  encodePositionToken,
  POSITION_COOKIE,
  POSITION_HEADER,
  serializeRyowCookie,
} from "@firstclick/core";
import { describe, expect, it } from "vitest";
import {
  fixtureLog,
  found,
  newCode,
  newPrefix,
  nodeId,
  program,
  testEdge,
} from "../../test/support.ts";

/**
 * The link cache on the redirect path (app.request in workerd, fixture gateways, the real
 * `caches.default` of miniflare as the location tier): what is served from it, what never is,
 * and the purge route.
 */

const SECRET = "test-internal-secret-0123456789";
const AUTH = { authorization: `Bearer ${SECRET}` };
const HOUR_AGO = () => new Date(Date.now() - 3_600_000).toISOString();
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A one-shard edge whose three nodes hold `code`, written an hour ago unless `young`. */
async function cachedEdge(
  code: string,
  o: { env?: Record<string, unknown>; young?: boolean; lsn?: string } = {},
) {
  const prefix = newPrefix();
  const edge = testEdge({ prefix, env: o.env });
  const nodes = [0, 1, 2].map((k) => nodeId(prefix, 0, k));
  const answer = found(code);
  if (!o.young) answer.body.updatedAt = HOUR_AGO();
  // What a replica's gateway adds: the position its answer includes every write up to.
  if (o.lsn) Object.assign(answer.body, { lsn: o.lsn });
  await program(nodes, code, answer);
  /** Another isolate of the same location: its own memory, the same Cache API. */
  const sibling = (env = o.env) => testEdge({ prefix, env });
  return { edge, nodes, prefix, sibling };
}

/**
 * With CACHE_MAX_ENTRIES=1, clicks `code`, then `filler` (evicting `code` from memory), then
 * `code` again: its second miss in this isolate, which reads the location and writes it there.
 */
async function missTwice(edge: ReturnType<typeof testEdge>, code: string, filler: string) {
  const routes: (string | null)[] = [];
  for (const c of [code, filler, code]) routes.push(route(await edge.fetch(`/${c}`)));
  return routes;
}
const ONE_ENTRY = { CACHE_MAX_ENTRIES: "1" };

const gatewayReads = async (code: string) => (await fixtureLog(`/links/${code}`)).length;
const route = (res: Response) => res.headers.get("x-firstclick-route");

describe("an old link is answered from the cache", () => {
  it("the second click asks no gateway and says so; a code clicked once stays out of the location", async () => {
    const code = newCode();
    const { edge, sibling } = await cachedEdge(code);
    const first = await edge.fetch(`/${code}`);
    expect(route(first)).toBe("replica; shard=s0");
    const second = await edge.fetch(`/${code}`);
    expect(second.status).toBe(302);
    expect(second.headers.get("location")).toBe(`https://example.com/${code}`);
    expect(second.headers.get("cache-control")).toBe("private, no-store");
    expect(route(second)).toBe("cache; shard=s0; tier=memory");
    expect(await gatewayReads(code)).toBe(1);
    // This isolate missed it once: it went to memory only, so another isolate asks a gateway.
    expect(route(await sibling().fetch(`/${code}`))).toBe("replica; shard=s0");
  });

  it("a code missed twice in an isolate is written to the location, where another isolate's second miss finds it", async () => {
    const [code, filler] = [newCode(), newCode()];
    const { edge, nodes, sibling } = await cachedEdge(code, { env: ONE_ENTRY });
    const old = found(filler);
    old.body.updatedAt = HOUR_AGO();
    await program(nodes, filler, old);
    expect(await missTwice(edge, code, filler)).toEqual([
      "replica; shard=s0",
      "replica; shard=s0",
      "replica; shard=s0",
    ]);
    const other = sibling();
    expect(await missTwice(other, code, filler)).toEqual([
      "replica; shard=s0",
      "replica; shard=s0",
      "cache; shard=s0; tier=location",
    ]);
    expect(await gatewayReads(code)).toBe(3);
  });

  it("keeps the route header parseable as `<route>; shard=<id>`", async () => {
    const code = newCode();
    const { edge } = await cachedEdge(code);
    await edge.fetch(`/${code}`);
    const value = route(await edge.fetch(`/${code}`)) ?? "";
    expect(/^(\w+); shard=(\w+)/.exec(value)?.slice(1)).toEqual(["cache", "s0"]);
  });

  it("a link written inside the RYOW window is never cached", async () => {
    const code = newCode();
    const { edge } = await cachedEdge(code, { young: true });
    for (let i = 0; i < 3; i++) expect(route(await edge.fetch(`/${code}`))).toMatch(/^replica/);
    expect(await gatewayReads(code)).toBe(3);
  });

  it("a code no node has (404) is never cached", async () => {
    const { edge } = await cachedEdge(newCode());
    const unknown = newCode();
    for (let i = 0; i < 2; i++) expect((await edge.fetch(`/${unknown}`)).status).toBe(404);
    expect(await gatewayReads(unknown)).toBe(2);
  });

  it("with CACHE=off every click asks a gateway", async () => {
    const code = newCode();
    const { edge } = await cachedEdge(code, { env: { CACHE: "off" } });
    for (let i = 0; i < 3; i++) expect(route(await edge.fetch(`/${code}`))).toMatch(/^replica/);
    expect(await gatewayReads(code)).toBe(3);
  });
});

describe("a writer is never answered from the cache", () => {
  it("a ryow_until window reads the primary even with the link cached", async () => {
    const code = newCode();
    const { edge, nodes } = await cachedEdge(code, { env: { STRATEGY: "cookie" } });
    await edge.fetch(`/${code}`);
    expect(route(await edge.fetch(`/${code}`))).toMatch(/^cache/);
    const cookie = `ryow_until=${nowSeconds() + 20}`;
    const res = await edge.fetch(`/${code}`, { headers: { cookie } });
    expect(route(res)).toBe("primary; shard=s0");
    expect((await fixtureLog(`/links/${code}`)).at(-1)?.node).toBe(nodes[0]);
  });

  it("STRATEGY=primary never serves a cached entry, even one its location holds", async () => {
    const code = newCode();
    const { edge, sibling } = await cachedEdge(code);
    await edge.fetch(`/${code}`);
    const strict = sibling({ STRATEGY: "primary" });
    for (let i = 0; i < 2; i++) {
      expect(route(await strict.fetch(`/${code}`))).toBe("primary; shard=s0");
    }
    expect(await gatewayReads(code)).toBe(3);
  });

  it("a position token for the code's shard reads a gateway with minLsn, in cookie or header", async () => {
    const code = newCode();
    const secret = "position-cache-secret";
    const env = { STRATEGY: "cookie,position", RYOW_SECRET: secret };
    const { edge } = await cachedEdge(code, { env });
    await edge.fetch(`/${code}`);
    expect(route(await edge.fetch(`/${code}`))).toMatch(/^cache/);
    const entry = { shard: "s0", timeline: 1, lsn: "0/3000060", writtenAt: nowSeconds() };
    const token = await encodePositionToken([entry], secret);
    const ways: Record<string, string>[] = [
      { cookie: `${POSITION_COOKIE}=${token}` },
      { [POSITION_HEADER]: token },
    ];
    for (const headers of ways) {
      expect(route(await edge.fetch(`/${code}`, { headers }))).toBe("replica; shard=s0");
    }
    const log = await fixtureLog(`/links/${code}`);
    expect(log.slice(1).map((e) => e.path.endsWith("?minLsn=0/3000060"))).toEqual([true, true]);
  });

  it("a position token is answered from the cache by an entry a replica read at or past it, and only then", async () => {
    const code = newCode();
    const secret = "position-cache-secret";
    const env = { STRATEGY: "cookie,position", RYOW_SECRET: secret };
    const { edge } = await cachedEdge(code, { env, lsn: "0/5000000" });
    await edge.fetch(`/${code}`);
    const token = (lsn: string) =>
      encodePositionToken([{ shard: "s0", timeline: 1, lsn, writtenAt: nowSeconds() }], secret);
    const routes = [];
    for (const lsn of ["0/4000000", "0/5000000", "0/5000001"]) {
      const res = await edge.fetch(`/${code}`, {
        headers: { [POSITION_HEADER]: await token(lsn) },
      });
      routes.push(route(res));
    }
    expect(routes).toEqual([
      "cache; shard=s0; tier=memory",
      "cache; shard=s0; tier=memory",
      "replica; shard=s0",
    ]);
    const log = await fixtureLog(`/links/${code}`);
    expect(log.map((e) => e.path.endsWith("?minLsn=0/5000001"))).toEqual([false, true]);
  });

  it("a signed cookie counts as the writer too (RYOW_SECRET set)", async () => {
    const code = newCode();
    const { edge } = await cachedEdge(code, {
      env: { STRATEGY: "cookie", RYOW_SECRET: "edge-test-secret" },
    });
    await edge.fetch(`/${code}`);
    const setCookie = await serializeRyowCookie({
      nowSeconds: nowSeconds(),
      window: 30,
      secure: true,
      secret: "edge-test-secret",
    });
    const cookie = setCookie.split(";")[0] ?? "";
    expect(route(await edge.fetch(`/${code}`, { headers: { cookie } }))).toBe("primary; shard=s0");
  });
});

describe("DELETE /_internal/cache/:code", () => {
  it("drops the code here and in the location; this isolate does not cache it again at once", async () => {
    const [code, filler] = [newCode(), newCode()];
    const { edge, sibling, nodes } = await cachedEdge(code, { env: ONE_ENTRY });
    const old = found(filler);
    old.body.updatedAt = HOUR_AGO();
    await program(nodes, filler, old);
    await missTwice(edge, code, filler);
    expect(route(await edge.fetch(`/${code}`))).toMatch(/^cache/);
    // The edit lands on every node; only the purge makes the cache forget the old target.
    const edited = found(code, "https://example.com/edited");
    edited.body.updatedAt = HOUR_AGO();
    await program(nodes, code, edited);
    const purge = await edge.fetch(`/_internal/cache/${code}`, { method: "DELETE", headers: AUTH });
    expect(purge.status).toBe(200);
    expect(await purge.json()).toEqual({ code, cache: "on", location: true });
    for (let i = 0; i < 2; i++) {
      const res = await edge.fetch(`/${code}`);
      expect(res.headers.get("location")).toBe("https://example.com/edited");
      expect(route(res)).toMatch(/^replica/);
    }
    // Another isolate's second miss looks in the location: the purge left nothing there.
    const other = sibling();
    await other.fetch(`/${code}`);
    await other.fetch(`/${filler}`);
    const res = await other.fetch(`/${code}`);
    expect(res.headers.get("location")).toBe("https://example.com/edited");
    expect(route(res)).toMatch(/^replica/);
  });

  it.each([
    ["no Authorization", {}, 401],
    ["a wrong secret", { authorization: "Bearer nope" }, 401],
    ["a malformed header", { authorization: "Basic x" }, 400],
  ])("refuses %s (%i) and drops nothing", async (_name, headers, status) => {
    const code = newCode();
    const { edge } = await cachedEdge(code);
    await edge.fetch(`/${code}`);
    const res = await edge.fetch(`/_internal/cache/${code}`, { method: "DELETE", headers });
    expect(res.status).toBe(status);
    expect(route(await edge.fetch(`/${code}`))).toBe("cache; shard=s0; tier=memory");
  });

  it.each([
    ["too short", "ab"],
    ["a reserved word", "api"],
    ["a bad character", "abc%24def"],
    ["too long", "a".repeat(65)],
  ])("answers 400 for %s", async (_name, code) => {
    const { edge } = await cachedEdge(newCode());
    const res = await edge.fetch(`/_internal/cache/${code}`, { method: "DELETE", headers: AUTH });
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });

  it("answers 405 to anything but DELETE", async () => {
    const code = newCode();
    const { edge } = await cachedEdge(code);
    const res = await edge.fetch(`/_internal/cache/${code}`, { method: "POST", headers: AUTH });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("DELETE");
  });

  it("with CACHE=off says so", async () => {
    const code = newCode();
    const { edge } = await cachedEdge(code, { env: { CACHE: "off" } });
    const res = await edge.fetch(`/_internal/cache/${code}`, { method: "DELETE", headers: AUTH });
    expect(await res.json()).toEqual({ code, cache: "off" });
  });
});
