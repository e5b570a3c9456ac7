import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up } from "@firstclick/cluster";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisWriteTracker, TRACK_TIMEOUT_MS } from "./redis-tracker.ts";

// A real redis-server from packages/cluster (one shard, no replica, no apps): ports 25300–25349
// (the strategies issue's range). A loopback port nothing listens on:
const BASE_PORT = 25_300;
const DEAD_PORT = 25_349;

let cluster: Cluster;
let redisUrl: string;
let tracker: RedisWriteTracker;
let reader: ReturnType<typeof createClient>;
const logged: string[] = [];

beforeAll(async () => {
  cluster = await up({
    stateDir: join(defaultStateDir(), "origin-redis-tracker"),
    basePort: BASE_PORT,
    shards: 1,
    replicas: 0,
    redis: true,
    apps: false,
  });
  const url = cluster.urls.redis;
  if (!url) throw new Error("the cluster started no redis");
  redisUrl = url;
  tracker = new RedisWriteTracker(redisUrl, 3, (m) => logged.push(m));
  reader = createClient({ url: redisUrl });
  await reader.connect();
});

afterAll(async () => {
  await tracker?.close();
  reader?.destroy();
  await cluster?.down();
});

describe("RedisWriteTracker against a real Redis", () => {
  it("sets ryow:<code> with the window as its TTL", async () => {
    // The client connects in the background: the first track may find it still offline.
    await poll(
      async () => {
        await tracker.track("trk0001");
        return true;
      },
      { timeoutMs: 10_000, what: "the tracker to connect" },
    );
    expect(await reader.get("ryow:trk0001")).toBe("1");
    const ttl = await reader.ttl("ryow:trk0001");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3);
  });

  it("a stalled Redis makes track() reject after the timeout instead of hanging", async () => {
    const pid = cluster.layout.redis?.process?.pid;
    if (!pid) throw new Error("redis is not running");
    // Freeze the redis-server this test's cluster started (by its PID), then thaw it.
    process.kill(pid, "SIGSTOP");
    try {
      const started = Date.now();
      await expect(tracker.track("trk0002")).rejects.toThrow();
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(TRACK_TIMEOUT_MS - 20);
      expect(took).toBeLessThan(TRACK_TIMEOUT_MS + 1_000);
    } finally {
      process.kill(pid, "SIGCONT");
    }
  });

  it("an unreachable Redis makes track() reject at once, and the error is logged once", async () => {
    const down = new RedisWriteTracker(`redis://127.0.0.1:${DEAD_PORT}`, 3, (m) => logged.push(m));
    try {
      const started = Date.now();
      await expect(down.track("trk0003")).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1_000);
      await poll(() => (logged.some((m) => m.includes(String(DEAD_PORT))) ? true : undefined), {
        timeoutMs: 5_000,
        what: "the connection error to be logged",
      });
      await expect(down.track("trk0004")).rejects.toThrow();
    } finally {
      await down.close();
    }
  });
});
