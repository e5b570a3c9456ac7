import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ADMIN_KEY, created, del, patch, setup } from "../routes/test-app.ts";
import { EdgePurgeClient } from "./edge-purge.ts";

/**
 * The origin's purge of the edge cache: a real local HTTP server stands in for the edge's
 * internal route; the routes call it after a committed edit or delete, and never fail for it.
 */

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
}

let server: Server | null = null;

afterEach(async () => {
  const s = server;
  server = null;
  if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
});

/** A stand-in edge: answers `status`, or never answers when `hang`. */
async function fakeEdge(o: { status?: number; hang?: boolean } = {}) {
  const seen: Seen[] = [];
  const s = createServer((req: IncomingMessage, res) => {
    seen.push({
      method: req.method ?? "",
      url: req.url ?? "",
      authorization: req.headers.authorization,
    });
    if (o.hang) return;
    res.writeHead(o.status ?? 200, { "content-type": "application/json" });
    res.end("{}");
  });
  server = s;
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const { port } = s.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, seen };
}

describe("EdgePurgeClient", () => {
  it("sends DELETE /_internal/cache/<code> with the internal secret", async () => {
    const edge = await fakeEdge();
    const logs: string[] = [];
    const client = new EdgePurgeClient({
      edgeUrl: edge.url,
      secret: "s3cret",
      log: (m) => logs.push(m),
    });
    await client.purge("abc1234");
    expect(edge.seen).toEqual([
      { method: "DELETE", url: "/_internal/cache/abc1234", authorization: "Bearer s3cret" },
    ]);
    expect(logs).toEqual([]);
  });

  it.each([
    ["an edge answering 401", { status: 401 }, /HTTP 401/],
    ["an edge that never answers", { hang: true }, /TimeoutError/],
  ])("logs %s and resolves", async (_name, o, logged) => {
    const edge = await fakeEdge(o);
    const logs: string[] = [];
    const client = new EdgePurgeClient({
      edgeUrl: edge.url,
      secret: "s3cret",
      timeoutMs: 100,
      log: (m) => logs.push(m),
    });
    await expect(client.purge("abc1234")).resolves.toBeUndefined();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(logged);
  });

  it("logs an edge that refuses connections and resolves", async () => {
    const logs: string[] = [];
    // Port 9 (discard) on loopback: nothing listens there.
    const client = new EdgePurgeClient({
      edgeUrl: "http://127.0.0.1:9",
      secret: "s",
      log: (m) => logs.push(m),
    });
    await client.purge("abc1234");
    expect(logs[0]).toMatch(/edge cache purge of abc1234 failed/);
  });
});

describe("edits and deletes purge the edge cache", () => {
  function recording() {
    const purged: string[] = [];
    return { purged, edgePurge: { purge: async (code: string) => void purged.push(code) } };
  }

  it("a committed edit and a committed delete each purge their code once", async () => {
    const { purged, edgePurge } = recording();
    const { app } = setup({ edgePurge });
    const link = await created(app, { url: "https://example.com/" });
    expect(purged).toEqual([]);
    const auth = `Bearer ${link.editToken}`;
    expect((await patch(app, link.code, { url: "https://example.com/new" }, auth)).status).toBe(
      200,
    );
    expect(purged).toEqual([link.code]);
    expect((await del(app, link.code, auth)).status).toBe(204);
    expect(purged).toEqual([link.code, link.code]);
  });

  it("a refused edit or delete (bad token, bad body, unknown code) purges nothing", async () => {
    const { purged, edgePurge } = recording();
    const { app } = setup({ edgePurge });
    const link = await created(app, { url: "https://example.com/" });
    expect((await patch(app, link.code, { url: "ftp://x" }, `Bearer ${ADMIN_KEY}`)).status).toBe(
      400,
    );
    expect((await patch(app, link.code, { redirectStatus: 301 }, "Bearer wrong")).status).toBe(401);
    expect((await del(app, link.code, "Bearer wrong")).status).toBe(401);
    expect((await del(app, "unknown1", `Bearer ${ADMIN_KEY}`)).status).toBe(404);
    expect(purged).toEqual([]);
  });

  it("an edge that cannot be reached does not fail the edit", async () => {
    const logs: string[] = [];
    const edgePurge = new EdgePurgeClient({
      edgeUrl: "http://127.0.0.1:9",
      secret: "s",
      log: (m) => logs.push(m),
    });
    const { app } = setup({ edgePurge });
    const link = await created(app, { url: "https://example.com/" });
    const res = await patch(
      app,
      link.code,
      { url: "https://example.com/new" },
      `Bearer ${link.editToken}`,
    );
    expect(res.status).toBe(200);
    expect(logs).toHaveLength(1);
  });
});
