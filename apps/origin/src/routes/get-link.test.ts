import { describe, expect, it } from "vitest";
import { aliasOn, created, setup } from "./test-app.ts";

describe("GET /api/links/:code", () => {
  it("returns the metadata without the token", async () => {
    const { app } = setup();
    const link = await created(app, { url: "https://example.com/x", redirectStatus: 308 });
    const res = await app.request(`/api/links/${link.code}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    const { editToken: _token, position: _position, ...withoutToken } = link;
    // The memory store's one replica replays at once: live everywhere.
    expect(body).toEqual({ ...withoutToken, replicas: 1, caughtUp: 1 });
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

  it("503 + Retry-After when the shard's primary is down", async () => {
    const { app, memory } = setup();
    const alias = aliasOn("s0", "read");
    await created(app, { url: "https://example.com/", alias });
    memory.down.add("s0n0");
    const res = await app.request(`/api/links/${alias}`);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.get("content-type")).toBe("application/problem+json");
  });
});
