// Through the Worker's real entry point, with the bindings wrangler derives from wrangler.toml
// (plus the test secret and fixture URLs from vitest.config.ts).
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  fixtureLog,
  found,
  makeSnapshot,
  newCode,
  newPrefix,
  nextVersion,
  nodeId,
  program,
  testEdge,
} from "../test/support.ts";
import { TOPOLOGY_KV_KEY } from "./topology-cache.ts";

const AUTH = { authorization: `Bearer ${env.INTERNAL_SECRET}` };

function worker(path: string, init?: RequestInit): Promise<Response> {
  // Redirects are what we test: never follow them.
  return exports.default.fetch(
    new Request(`https://short.test${path}`, { redirect: "manual", ...init }),
  );
}

function putTopology(body: unknown, headers: Record<string, string> = AUTH) {
  return worker("/_internal/topology", {
    method: "PUT",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("PUT/GET /_internal/topology", () => {
  // hono/bearer-auth: a header that is not `Bearer <token68>` is 400 invalid_request (RFC 6750
  // §3.1), a missing or wrong token 401.
  it.each([
    ["no Authorization", {}, 401],
    ["a wrong secret", { authorization: "Bearer not-the-secret" }, 401],
    ["the secret without Bearer", { authorization: env.INTERNAL_SECRET }, 400],
    ["an empty bearer", { authorization: "Bearer " }, 400],
    ["a huge header", { authorization: `Bearer ${"x".repeat(10_000)}` }, 401],
  ])("refuses %s with %i and stores nothing", async (_name, headers, status) => {
    const snapshot = makeSnapshot({ prefix: newPrefix() });
    const res = await putTopology(snapshot, headers);
    expect(res.status).toBe(status);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect((await worker("/_internal/topology", { headers })).status).toBe(status);
    const stored = await env.TOPOLOGY.get(TOPOLOGY_KV_KEY);
    expect(stored === null || !stored.includes(snapshot.shards.s0?.primary?.id ?? "?")).toBe(true);
  });

  it.each([
    ["not JSON", "{nope", /not JSON/],
    ["an empty body", "", /not JSON/],
    ["a missing ring", { version: 1, shards: {} }, /ring/],
    ["a negative version", { ...makeSnapshot({ prefix: "x" }), version: -1 }, /version/],
    [
      "a ring shard without an entry",
      { version: 1, ring: { shards: ["s0", "s1"], vnodes: 10 }, shards: {} },
      /ring shard "s0" has no entry/,
    ],
    [
      "a gateway that is not http",
      {
        version: 1,
        ring: { shards: ["s0"], vnodes: 10 },
        shards: {
          s0: {
            primary: { id: "a", gatewayUrl: "file:///etc/passwd", pg: { host: "h", port: 1 } },
            replicas: [],
          },
        },
      },
      /gatewayUrl/,
    ],
  ])("answers 400 with a message for %s", async (_name, body, message) => {
    const res = await putTopology(body);
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { detail: string; status: number };
    expect(problem.status).toBe(400);
    expect(problem.detail).toMatch(message);
  });

  it("refuses bodies over 1 MiB with 413", async () => {
    const res = await putTopology(`{"pad":"${"x".repeat(1_100_000)}"}`);
    expect(res.status).toBe(413);
  });

  it("stores a newer snapshot, ignores an equal or older one, and serves redirects with it", async () => {
    const prefix = newPrefix();
    const first = makeSnapshot({ prefix, replicas: 1 });
    const accepted = await putTopology(first);
    expect(accepted.status).toBe(200);
    expect(await accepted.json()).toEqual({ version: first.version, accepted: true });
    // Stored as parsed: core fills defaults (e.g. each shard's timeline history).
    expect(JSON.parse((await env.TOPOLOGY.get(TOPOLOGY_KV_KEY)) ?? "null")).toMatchObject(first);

    const same = await putTopology(first);
    expect(await same.json()).toEqual({ version: first.version, accepted: false });
    const older = await putTopology({ ...makeSnapshot({ prefix: "old" }), version: 1 });
    expect(await older.json()).toEqual({ version: first.version, accepted: false });

    const version = await worker("/_internal/topology", { headers: AUTH });
    expect(await version.json()).toEqual({ version: first.version });
    const health = await worker("/health");
    expect(await health.json()).toEqual({ ok: true, topologyVersion: first.version });

    const code = newCode();
    await program([nodeId(prefix, 0, 1)], code, found(code));
    const redirect = await worker(`/${code}`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get("x-firstclick-route")).toBe("replica; shard=s0");

    // A failover: the next version moves the replica; the edge follows it.
    const movedPrefix = newPrefix();
    const moved = makeSnapshot({ prefix: movedPrefix, replicas: 1 });
    expect(await (await putTopology(moved)).json()).toMatchObject({ accepted: true });
    const movedCode = newCode();
    await program([nodeId(movedPrefix, 0, 1)], movedCode, found(movedCode));
    expect((await worker(`/${movedCode}`)).status).toBe(302);
    expect((await fixtureLog(`/links/${movedCode}`)).map((e) => e.node)).toEqual([
      nodeId(movedPrefix, 0, 1),
    ]);
  });

  it("GET answers {version: null} while no snapshot exists anywhere", async () => {
    const edge = testEdge({
      prefix: newPrefix(),
      cold: true,
      env: { TOPOLOGY: env.EMPTY_TOPOLOGY },
    });
    const res = await edge.fetch("/_internal/topology", { headers: AUTH });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ version: null });
    expect(await (await edge.fetch("/health")).json()).toEqual({ ok: true, topologyVersion: null });
  });

  it("other methods on the topology route are 405", async () => {
    const res = await worker("/_internal/topology", { method: "DELETE", headers: AUTH });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, PUT");
  });
});

describe("topology sharing between isolates", () => {
  it("a cold isolate reads the snapshot from KV once; a warm one refreshes in the background", async () => {
    const prefix = newPrefix();
    const snapshot = makeSnapshot({ prefix, replicas: 1 });
    await env.TOPOLOGY.put(TOPOLOGY_KV_KEY, JSON.stringify(snapshot));
    const code = newCode();
    await program([nodeId(prefix, 0, 1)], code, found(code));

    const cold = testEdge({ prefix, cold: true });
    expect(cold.cache.current).toBeNull();
    expect((await cold.fetch(`/${code}`)).status).toBe(302);
    expect(cold.cache.current?.version).toBe(snapshot.version);

    // Another isolate got a newer snapshot: this one picks it up from KV without waiting on it.
    const newer = { ...snapshot, version: nextVersion() };
    await env.TOPOLOGY.put(TOPOLOGY_KV_KEY, JSON.stringify(newer));
    const deadline = Date.now() + 10_000;
    while (cold.cache.current?.version !== newer.version && Date.now() < deadline) {
      expect((await cold.fetch(`/${code}`)).status).toBe(302);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(cold.cache.current?.version).toBe(newer.version);
  });

  it("a corrupt KV value keeps the isolate's snapshot and is logged", async () => {
    const prefix = newPrefix();
    const edge = testEdge({ prefix, replicas: 1 });
    await env.TOPOLOGY.put(TOPOLOGY_KV_KEY, "{corrupt");
    await edge.cache.refresh(env.TOPOLOGY, Date.now());
    expect(edge.cache.current?.version).toBe(edge.snapshot.version);
    expect(edge.errors.join("\n")).toContain("reading KV failed");
  });
});

describe("pass-through to the origin", () => {
  it("forwards method, cookie and body, and returns every Set-Cookie intact", async () => {
    const res = await worker("/api/links?x=1", {
      method: "POST",
      headers: {
        cookie: "ryow_until=1; session=abc",
        "content-type": "application/json",
        connection: "keep-alive, x-secret-hop",
        "x-secret-hop": "must not pass",
      },
      body: JSON.stringify({ url: "https://example.com/" }),
    });
    expect(res.status).toBe(201);
    expect(res.headers.getSetCookie()).toEqual([
      "ryow_until=123; Path=/; HttpOnly; SameSite=Lax",
      "other=1; Path=/",
    ]);
    expect(res.headers.get("x-origin")).toBe("yes");
    const echoed = (await res.json()) as Record<string, unknown>;
    expect(echoed).toMatchObject({
      method: "POST",
      url: "/origin/api/links?x=1",
      cookie: "ryow_until=1; session=abc",
      forwardedHost: "short.test",
      body: JSON.stringify({ url: "https://example.com/" }),
    });
    const log = await fixtureLog("/origin/api/links?x=1");
    expect(log.length).toBeGreaterThan(0);
  });

  it("sets the client-IP header from CF-Connecting-IP, never from the client", async () => {
    const spoofed = { "x-firstclick-client-ip": "6.6.6.6" };
    const withIp = await worker("/api/links", {
      headers: { ...spoofed, "cf-connecting-ip": "203.0.113.7" },
    });
    expect(((await withIp.json()) as { clientIp: string }).clientIp).toBe("203.0.113.7");
    const edge = testEdge({ prefix: newPrefix() });
    const without = await edge.fetch("/api/links", { headers: spoofed });
    expect(((await without.json()) as { clientIp: string | null }).clientIp).toBeNull();
  });

  it.each(["/", "/api", "/api/openapi.json"])("%s goes to the origin", async (path) => {
    const res = await worker(path);
    expect(res.status).toBe(201);
    expect(((await res.json()) as { url: string }).url).toBe(`/origin${path}`);
  });

  it("passes the origin's redirects through instead of following them", async () => {
    const res = await worker("/api/moved", { redirect: "manual" });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("/api/elsewhere");
  });

  it("an origin that is down is a 502 problem", async () => {
    const edge = testEdge({ prefix: newPrefix(), env: { ORIGIN_URL: "http://127.0.0.1:22598" } });
    const res = await edge.fetch("/api/links");
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await res.json()).toMatchObject({ status: 502, title: "Origin unavailable" });
  });
});
