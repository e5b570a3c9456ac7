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
  recordingQueue,
  testEdge,
} from "../../test/support.ts";
import { carriesNoRyowState } from "./hit-path.ts";

/**
 * The hit path ahead of the router (hit-path.ts), through the whole app in workerd: it answers
 * what the router's path would have answered from memory, records the click, and leaves every
 * writer, every other method and every strategy that does not read replicas to the router.
 */

const HOUR_AGO = () => new Date(Date.now() - 3_600_000).toISOString();
const route = (res: Response) => res.headers.get("x-firstclick-route");
const gatewayReads = async (code: string) => (await fixtureLog(`/links/${code}`)).length;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A one-shard edge whose nodes hold `code` (written an hour ago), clicked once to cache it. */
async function warmEdge(env: Record<string, unknown> = {}) {
  const code = newCode();
  const prefix = newPrefix();
  const answer = found(code);
  answer.body.updatedAt = HOUR_AGO();
  await program(
    [0, 1, 2].map((k) => nodeId(prefix, 0, k)),
    code,
    answer,
  );
  const edge = testEdge({ prefix, env });
  const first = await edge.fetch(`/${code}`);
  return { code, edge, first };
}

describe("the hit path", () => {
  it("answers a cached link exactly as the router's path did, with or without unrelated cookies", async () => {
    const { code, edge, first } = await warmEdge();
    expect(route(first)).toBe("replica; shard=s0");
    const ways: Record<string, string>[] = [{}, { cookie: "theme=dark; _ga=GA1.2.3" }];
    for (const headers of ways) {
      const res = await edge.fetch(`/${code}?utm_source=mail`, { headers });
      expect(res.status).toBe(302);
      expect(res.headers.get("location")).toBe(`https://example.com/${code}`);
      expect(res.headers.get("cache-control")).toBe("private, no-store");
      expect(route(res)).toBe("cache; shard=s0; tier=memory");
    }
    const head = await edge.fetch(`/${code}`, { method: "HEAD" });
    expect([head.status, route(head), await head.text()]).toEqual([
      302,
      "cache; shard=s0; tier=memory",
      "",
    ]);
    expect(await gatewayReads(code)).toBe(1);
  });

  it("records a click for every redirect it answers", async () => {
    const { queue, events } = recordingQueue();
    const { code, edge } = await warmEdge({ CLICKS: queue });
    const hits = await Promise.all([edge.fetch(`/${code}`), edge.fetch(`/${code}`)]);
    expect(hits.map(route)).toEqual([
      "cache; shard=s0; tier=memory",
      "cache; shard=s0; tier=memory",
    ]);
    expect(events().filter((e) => e.code === code && e.outcome === "redirect")).toHaveLength(3);
  });

  it("leaves writers to the router, whatever other cookies come with theirs", async () => {
    const secret = "hit-path-secret";
    const { code, edge } = await warmEdge({ STRATEGY: "cookie,position", RYOW_SECRET: secret });
    const entry = { shard: "s0", timeline: 1, lsn: "0/3000060", writtenAt: nowSeconds() };
    const token = await encodePositionToken([entry], secret);
    const window = await serializeRyowCookie({
      nowSeconds: nowSeconds(),
      window: 30,
      secure: true,
      secret,
    });
    const writers: Record<string, string>[] = [
      { cookie: `theme=dark; ${window.split(";")[0]}` },
      { cookie: `theme=dark; ${POSITION_COOKIE}=${token}` },
      { [POSITION_HEADER]: token },
    ];
    const routes = [];
    for (const headers of writers) routes.push(route(await edge.fetch(`/${code}`, { headers })));
    expect(routes).toEqual(["primary; shard=s0", "replica; shard=s0", "replica; shard=s0"]);
    expect(await gatewayReads(code)).toBe(1 + writers.length);
  });

  it("is not taken under STRATEGY=primary: every click reads the primary", async () => {
    const { code, edge } = await warmEdge({ STRATEGY: "primary" });
    expect(route(await edge.fetch(`/${code}`))).toBe("primary; shard=s0");
    expect(await gatewayReads(code)).toBe(2);
  });

  it("leaves other methods to the router (405, nothing read)", async () => {
    const { code, edge } = await warmEdge();
    const res = await edge.fetch(`/${code}`, { method: "POST" });
    expect([res.status, res.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
    expect(await gatewayReads(code)).toBe(1);
  });
});

describe("carriesNoRyowState", () => {
  it.each([
    [{}, true],
    [{ cookie: "theme=dark" }, true],
    [{ cookie: "a=1; ryow_until=123" }, false],
    [{ cookie: "ryow_pos=abc" }, false],
    [{ [POSITION_HEADER]: "abc" }, false],
  ])("%j → %s", (headers, expected) => {
    expect(carriesNoRyowState(new Headers(headers))).toBe(expected);
  });
});
