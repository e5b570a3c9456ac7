import { env } from "cloudflare:workers";
import { serializeRyowCookie } from "@firstclick/core";
import { describe, expect, it } from "vitest";
import {
  fixtureLog,
  found,
  newCode,
  newPrefix,
  nodeId,
  program,
  setNodeMode,
  testEdge,
} from "../test/support.ts";
import { REDIRECT_CACHE_CONTROL } from "./app.ts";
import type { RyowStrategy } from "./strategies/index.ts";

const now = () => Math.floor(Date.now() / 1000);
const JSON_ACCEPT = { accept: "application/json" };

/** A one-shard edge with primary n0 and replicas n1, n2, all holding `code`. */
async function edgeWithLink(
  code: string,
  o: Parameters<typeof testEdge>[0] extends infer T ? Partial<T> : never = {},
) {
  const prefix = newPrefix();
  const edge = testEdge({ prefix, ...o });
  const nodes = [0, 1, 2].map((k) => nodeId(prefix, 0, k));
  await program(nodes, code, found(code));
  return { edge, prefix, nodes };
}

describe("routing by the RYOW cookie", () => {
  it("a fresh ryow_until cookie reads the primary, with exactly one subrequest", async () => {
    const code = newCode();
    const { edge, nodes } = await edgeWithLink(code, { env: { STRATEGY: "cookie" } });
    const res = await edge.fetch(`/${code}`, { headers: { cookie: `ryow_until=${now() + 20}` } });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`https://example.com/${code}`);
    expect(res.headers.get("x-firstclick-route")).toBe("primary; shard=s0");
    expect(res.headers.get("cache-control")).toBe(REDIRECT_CACHE_CONTROL);
    const log = await fixtureLog(`/links/${code}`);
    expect(log.map((e) => e.node)).toEqual([nodes[0]]);
  });

  it.each([
    ["no cookie", undefined],
    ["an expired window", `ryow_until=${now() - 10}`],
    ["garbage", "ryow_until=%%%garbage;;; =="],
    ["a window far in the future", `ryow_until=${now() + 86_400}`],
    ["a huge header", `a=${"x".repeat(20_000)}; ryow_until=${now() + 10}`],
    ["a lookalike name", `xryow_until=${now() + 10}`],
  ])("%s reads a replica, with exactly one subrequest", async (_name, cookie) => {
    const code = newCode();
    const { edge, nodes } = await edgeWithLink(code);
    const res = await edge.fetch(`/${code}`, cookie ? { headers: { cookie } } : {});
    expect(res.status).toBe(302);
    expect(res.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
    const log = await fixtureLog(`/links/${code}`);
    expect(log).toHaveLength(1);
    expect([nodes[1], nodes[2]]).toContain(log[0]?.node);
  });

  it("with RYOW_SECRET set, an unsigned cookie reads a replica and a signed one the primary", async () => {
    const code = newCode();
    const { edge } = await edgeWithLink(code, {
      env: { STRATEGY: "cookie", RYOW_SECRET: "edge-test-secret" },
    });
    const unsigned = await edge.fetch(`/${code}`, {
      headers: { cookie: `ryow_until=${now() + 20}` },
    });
    expect(unsigned.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
    const setCookie = await serializeRyowCookie({
      nowSeconds: now(),
      window: 30,
      secure: true,
      secret: "edge-test-secret",
    });
    const signed = await edge.fetch(`/${code}`, {
      headers: { cookie: setCookie.split(";")[0] ?? "" },
    });
    expect(signed.headers.get("x-firstclick-route")).toBe("primary; shard=s0");
  });

  it("spreads cookie-less reads over the replicas round-robin", async () => {
    const code = newCode();
    const { edge, nodes } = await edgeWithLink(code);
    for (let i = 0; i < 4; i++) expect((await edge.fetch(`/${code}`)).status).toBe(302);
    const counts = new Map<string, number>();
    for (const e of await fixtureLog(`/links/${code}`)) {
      counts.set(e.node, (counts.get(e.node) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ [nodes[1] ?? ""]: 2, [nodes[2] ?? ""]: 2 });
  });

  it("names the shard that owns the code", async () => {
    const prefix = newPrefix();
    const edge = testEdge({ prefix, shards: 3, replicas: 1 });
    const { Topology } = await import("@firstclick/core");
    const topology = Topology.from(edge.snapshot);
    for (let i = 0; i < 6; i++) {
      const code = newCode();
      const shard = topology.shardFor(code);
      const index = Number(shard.slice(1));
      await program([nodeId(prefix, index, 1)], code, found(code));
      const res = await edge.fetch(`/${code}`);
      expect(res.headers.get("x-firstclick-route")).toBe(`replica; shard=${shard}`);
    }
  });
});

describe("the redirect response", () => {
  it.each([301, 302, 307, 308])("uses the link's redirect status %i", async (status) => {
    const code = newCode();
    const prefix = newPrefix();
    const edge = testEdge({ prefix });
    await program(
      [1, 2].map((k) => nodeId(prefix, 0, k)),
      code,
      found(code, "https://example.org/a?b=1", status),
    );
    const res = await edge.fetch(`/${code}`);
    expect(res.status).toBe(status);
    expect(res.headers.get("location")).toBe("https://example.org/a?b=1");
    expect(res.headers.get("cache-control")).toBe("private, no-store");
  });

  it("HEAD redirects the same way, without a body", async () => {
    const code = newCode();
    const { edge } = await edgeWithLink(code);
    const res = await edge.fetch(`/${code}`, { method: "HEAD" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`https://example.com/${code}`);
    expect(await res.text()).toBe("");
  });

  it("never leaks gateway addresses in headers", async () => {
    const code = newCode();
    const { edge } = await edgeWithLink(code);
    const res = await edge.fetch(`/${code}`);
    for (const [, value] of res.headers) expect(value).not.toContain("127.0.0.1");
  });
});

describe("not found and gone", () => {
  it("a missing link is a small HTML page with the propagation hint", async () => {
    const code = newCode();
    const edge = testEdge({ prefix: newPrefix() });
    const res = await edge.fetch(`/${code}`, { headers: { accept: "text/html,*/*;q=0.8" } });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await res.text();
    expect(html).toContain('<html lang="en">');
    expect(html).toContain("<title>Link not found · firstclick</title>");
    expect(html).toContain('name="viewport"');
    expect(html).toContain("created moments ago");
    expect(html).toContain(`href="/${code}"`);
  });

  it("a missing link is an RFC 9457 problem when JSON is preferred", async () => {
    const code = newCode();
    const edge = testEdge({ prefix: newPrefix() });
    const res = await edge.fetch(`/${code}`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 404, title: "Link not found" });
    expect(body.type).toMatch(/^tag:firstclick/);
    expect(String(body.detail)).toContain("few seconds");
  });

  it.each([
    ["deleted", "Link deleted"],
    ["expired", "Link expired"],
  ])("a %s link is 410, as HTML and as JSON", async (reason, title) => {
    const code = newCode();
    const prefix = newPrefix();
    const edge = testEdge({ prefix });
    await program(
      [1, 2].map((k) => nodeId(prefix, 0, k)),
      code,
      {
        status: 410,
        body: { code, reason },
      },
    );
    const page = await edge.fetch(`/${code}`);
    expect(page.status).toBe(410);
    expect(page.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
    expect(await page.text()).toContain(`<title>${title} · firstclick</title>`);
    const problem = await edge.fetch(`/${code}`, { headers: JSON_ACCEPT });
    expect(problem.status).toBe(410);
    expect(await problem.json()).toMatchObject({ status: 410, title });
  });
});

describe("failing gateways", () => {
  it("a replica that errors, one that hangs and one that refuses: the primary still answers", async () => {
    const code = newCode();
    const prefix = newPrefix();
    const dead = nodeId(prefix, 0, 3);
    const edge = testEdge({ prefix, replicas: 3, dead: [dead] });
    const nodes = [0, 1, 2].map((k) => nodeId(prefix, 0, k));
    await program(nodes, code, found(code));
    await setNodeMode(nodeId(prefix, 0, 1), "down");
    await setNodeMode(nodeId(prefix, 0, 2), "hang");
    const res = await edge.fetch(`/${code}`);
    expect(res.status).toBe(302);
    expect(res.headers.get("x-firstclick-route")).toBe("primary; shard=s0");
  });

  it("one replica down: every redirect still succeeds", async () => {
    const code = newCode();
    const { edge, nodes } = await edgeWithLink(code);
    await setNodeMode(nodes[1] ?? "", "down");
    for (let i = 0; i < 10; i++) expect((await edge.fetch(`/${code}`)).status).toBe(302);
  });

  it("a primary that cannot answer: a RYOW client is served by a replica", async () => {
    const code = newCode();
    const { edge, nodes } = await edgeWithLink(code);
    await setNodeMode(nodes[0] ?? "", "down");
    const res = await edge.fetch(`/${code}`, { headers: { cookie: `ryow_until=${now() + 20}` } });
    expect(res.status).toBe(302);
    expect(res.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
  });

  it("a malformed gateway answer counts as a failure, not a redirect", async () => {
    const code = newCode();
    const prefix = newPrefix();
    const edge = testEdge({ prefix, replicas: 1 });
    await program([nodeId(prefix, 0, 1)], code, {
      status: 200,
      body: { code, url: "javascript:alert(1)", redirectStatus: 302 },
    });
    await program([nodeId(prefix, 0, 0)], code, found(code));
    const res = await edge.fetch(`/${code}`);
    expect(res.headers.get("location")).toBe(`https://example.com/${code}`);
    expect(res.headers.get("x-firstclick-route")).toBe("primary; shard=s0");
  });

  it("every node failing is a 503 page with Retry-After", async () => {
    const code = newCode();
    const prefix = newPrefix();
    const edge = testEdge({ prefix, replicas: 1 });
    await setNodeMode(nodeId(prefix, 0, 0), "down");
    await setNodeMode(nodeId(prefix, 0, 1), "down");
    const page = await edge.fetch(`/${code}`);
    expect(page.status).toBe(503);
    expect(page.headers.get("retry-after")).toBe("5");
    expect(await page.text()).toContain("<title>Temporarily unavailable · firstclick</title>");
    const problem = await edge.fetch(`/${code}`, { headers: JSON_ACCEPT });
    expect(problem.status).toBe(503);
    expect(await problem.json()).toMatchObject({ status: 503 });
    expect(edge.errors.join("\n")).toContain("every node of shard s0 failed");
  });
});

describe("strategies", () => {
  it("fallback: a replica's 404 is retried once on the primary (route=fallback)", async () => {
    const code = newCode();
    const prefix = newPrefix();
    const edge = testEdge({ prefix, env: { STRATEGY: "cookie,fallback" } });
    await program([nodeId(prefix, 0, 0)], code, found(code));
    const res = await edge.fetch(`/${code}`);
    expect(res.status).toBe(302);
    expect(res.headers.get("x-firstclick-route")).toBe("fallback; shard=s0");
    const log = await fixtureLog(`/links/${code}`);
    expect(log).toHaveLength(2);
    expect(log[1]?.node).toBe(nodeId(prefix, 0, 0));
  });

  it("fallback: the budget bounds the extra primary reads per isolate", async () => {
    const prefix = newPrefix();
    const edge = testEdge({
      prefix,
      env: { STRATEGY: "fallback", FALLBACK_BUDGET_PER_MINUTE: "2" },
    });
    const routes: (string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await edge.fetch(`/${newCode()}`);
      expect(res.status).toBe(404);
      routes.push(res.headers.get("x-firstclick-route"));
    }
    expect(routes).toEqual([
      "fallback; shard=s0",
      "fallback; shard=s0",
      "replica; shard=s0",
      "replica; shard=s0",
    ]);
    expect(await fixtureLog(`/n/${nodeId(prefix, 0, 0)}/`)).toHaveLength(2);
  });

  it("fallback: if the primary cannot answer either, the replica's 404 stands", async () => {
    const prefix = newPrefix();
    const edge = testEdge({ prefix, env: { STRATEGY: "fallback" } });
    await setNodeMode(nodeId(prefix, 0, 0), "down");
    const res = await edge.fetch(`/${newCode()}`);
    expect(res.status).toBe(404);
    expect(res.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
  });

  it("primary: every read goes to the primary, cookie or not", async () => {
    const code = newCode();
    const { edge } = await edgeWithLink(code, { env: { STRATEGY: "primary" } });
    const res = await edge.fetch(`/${code}`);
    expect(res.headers.get("x-firstclick-route")).toBe("primary; shard=s0");
  });

  it("redis: a strategy installed by the build decides, once per redirect", async () => {
    const code = newCode();
    const asked: string[] = [];
    const strategy: RyowStrategy = {
      name: "redis",
      route: async (q) => {
        asked.push(q.code);
        return "primary";
      },
    };
    const { edge } = await edgeWithLink(code, {
      env: { STRATEGY: "redis" },
      app: { strategies: { redis: () => strategy } },
    });
    const res = await edge.fetch(`/${code}`);
    expect(res.headers.get("x-firstclick-route")).toBe("primary; shard=s0");
    expect(asked).toEqual([code]);
  });

  it("redis without an installed strategy is a clear configuration error", async () => {
    const edge = testEdge({ prefix: newPrefix(), env: { STRATEGY: "redis" } });
    const res = await edge.fetch(`/${newCode()}`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ title: "Edge misconfigured" });
  });
});

describe("no topology", () => {
  it("a cold isolate with no snapshot anywhere answers 503 with a clear message, no subrequest", async () => {
    const prefix = newPrefix();
    const edge = testEdge({ prefix, cold: true, env: { TOPOLOGY: env.EMPTY_TOPOLOGY } });
    const code = newCode();
    const res = await edge.fetch(`/${code}`, { headers: JSON_ACCEPT });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(String(((await res.json()) as { detail: string }).detail)).toContain("topology");
    expect(await fixtureLog(code)).toHaveLength(0);
  });
});
