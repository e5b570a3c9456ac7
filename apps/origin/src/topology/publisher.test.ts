import { parseTopologySnapshot, type TopologySnapshot } from "@firstclick/core";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { EdgePublisher } from "./publisher.ts";

const SECRET = "internal-secret";

function snapshot(version: number): TopologySnapshot {
  return {
    version,
    ring: { shards: ["s0"], vnodes: 16 },
    shards: {
      s0: {
        primary: {
          id: "s0n0",
          gatewayUrl: "http://127.0.0.1:1",
          pg: { host: "127.0.0.1", port: 2 },
        },
        replicas: [],
      },
    },
  };
}

/** A stand-in for the edge's topology route with the contract's behaviour, plus fault knobs. */
function fakeEdge() {
  const state = {
    version: null as number | null,
    puts: [] as number[],
    gets: 0,
    failNext: 0,
    unauthorized: 0,
  };
  const app = new Hono();
  app.use("/_internal/topology", async (c, next) => {
    if (c.req.header("authorization") !== `Bearer ${SECRET}`) {
      state.unauthorized++;
      return c.json({ error: "unauthorized" }, 401);
    }
    if (state.failNext > 0) {
      state.failNext--;
      return c.text("upstream hiccup", 503);
    }
    await next();
  });
  app.put("/_internal/topology", async (c) => {
    const s = parseTopologySnapshot(await c.req.json());
    state.puts.push(s.version);
    const accepted = state.version === null || s.version > state.version;
    if (accepted) state.version = s.version;
    return c.json({ version: state.version, accepted });
  });
  app.get("/_internal/topology", (c) => {
    state.gets++;
    return c.json({ version: state.version });
  });
  const fetchFn: typeof fetch = async (input, init) =>
    app.request(input instanceof Request ? input : String(input), init);
  return { state, fetch: fetchFn };
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const publishers: EdgePublisher[] = [];
afterEach(async () => {
  await Promise.all(publishers.splice(0).map((p) => p.close()));
});

function publisher(edge: ReturnType<typeof fakeEdge>, logs: string[] = [], secret = SECRET) {
  const p = new EdgePublisher({
    edgeUrl: "http://edge.test/",
    secret,
    fetch: edge.fetch,
    checkIntervalMs: 50,
    initialBackoffMs: 5,
    maxBackoffMs: 40,
    log: (m) => logs.push(m),
  });
  publishers.push(p);
  return p;
}

describe("EdgePublisher", () => {
  it("PUTs each new snapshot with the bearer secret", async () => {
    const edge = fakeEdge();
    const p = publisher(edge);
    p.publish(snapshot(3));
    await p.idle();
    expect(edge.state.version).toBe(3);
    p.publish(snapshot(5));
    await p.idle();
    expect(edge.state.puts).toEqual([3, 5]);
    expect(p.status()).toEqual({ edgeVersion: 5, upToDate: true });
  });

  it("never sends an older snapshot after a newer one", async () => {
    const edge = fakeEdge();
    const p = publisher(edge);
    p.publish(snapshot(9));
    p.publish(snapshot(4));
    await p.idle();
    expect(edge.state.puts).toEqual([9]);
  });

  it("retries with backoff until the edge has it, and logs the outage once", async () => {
    const edge = fakeEdge();
    const logs: string[] = [];
    const p = publisher(edge, logs);
    edge.state.failNext = 5;
    p.publish(snapshot(7));
    await p.idle();
    expect(edge.state.version).toBe(7);
    expect(logs.filter((l) => l.includes("failed"))).toHaveLength(1);
    expect(logs.filter((l) => l.includes("again"))).toHaveLength(1);
  });

  it("re-publishes when the periodic check finds the edge behind (edge restarted)", async () => {
    const edge = fakeEdge();
    const p = publisher(edge);
    p.start();
    p.publish(snapshot(11));
    await p.idle();
    edge.state.version = null; // a fresh edge with an empty store
    await until(() => edge.state.version === 11, "the re-publish");
    expect(edge.state.gets).toBeGreaterThan(0);
    expect(edge.state.puts).toEqual([11, 11]);
  });

  it("keeps retrying with a wrong secret (and says so) without flooding", async () => {
    const edge = fakeEdge();
    const logs: string[] = [];
    const p = publisher(edge, logs, "wrong");
    p.publish(snapshot(1));
    await until(() => edge.state.unauthorized >= 3, "a few attempts");
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Backoff capped at 40 ms: a few attempts per 200 ms, not thousands.
    expect(edge.state.unauthorized).toBeLessThan(30);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain("401");
    expect(p.status().upToDate).toBe(false);
  });

  it("delivered(v) resolves once the edge reports v or newer, and waits while it is down", async () => {
    const edge = fakeEdge();
    const p = publisher(edge);
    let delivered = false;
    const waiting = p.delivered(6).then(() => {
      delivered = true;
    });
    edge.state.failNext = 3;
    p.publish(snapshot(5));
    await p.idle();
    expect(edge.state.version).toBe(5);
    expect(delivered).toBe(false);
    p.publish(snapshot(8));
    await waiting;
    expect(edge.state.version).toBe(8);
    await p.delivered(7); // already there: resolves at once
  });
});
