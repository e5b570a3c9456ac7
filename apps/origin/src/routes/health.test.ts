import { describe, expect, it } from "vitest";
import { setup } from "./test-app.ts";

describe("GET /health", () => {
  it("without a topology answers 503 and says so", async () => {
    const { app } = setup({ topology: null });
    const health = await app.request("/health");
    expect(health.status).toBe(503);
    expect(health.headers.get("cache-control")).toBe("no-store");
    expect(await health.json()).toEqual({ ok: false, topologyVersion: null, etcd: "connected" });
  });

  it("/health reports the topology version and the source's state", async () => {
    const { app, topology } = setup();
    expect(await (await app.request("/health")).json()).toEqual({
      ok: true,
      topologyVersion: 7,
      etcd: "connected",
    });
    topology.setSourceStatus("disconnected");
    const res = await app.request("/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, etcd: "disconnected" });
  });
});
