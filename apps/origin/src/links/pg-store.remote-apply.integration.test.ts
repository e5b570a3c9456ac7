import { type Cluster, withSql } from "@firstclick/cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadEnv } from "../env.ts";
import { startOrigin } from "../server.ts";
import { newLink, type StoreOnCluster, storeOnCluster } from "./pg-store.fixtures.ts";
import type { PgLinkStore } from "./pg-store.ts";
import { ReplicationTimeoutError, type ShardPrimary } from "./store.ts";

// One shard, primary + replica, the cluster in remote_apply mode (synchronous_standby_names set).
const BASE_PORT = 23_200;
const TIMEOUT_MS = 1_000;
const ORIGIN_PORT = 23_290;

let cluster: Cluster;
let store: PgLinkStore;

let on: StoreOnCluster;
const primary = (): ShardPrimary => on.at("s0n0");

async function row(nodeId: string, code: string): Promise<{ target: string } | null> {
  return withSql(cluster.node(nodeId).pg.port, async (sql) => {
    const rows = await sql<{ target: string }[]>`select target from links where code = ${code}`;
    return rows[0] ?? null;
  });
}

beforeAll(async () => {
  on = await storeOnCluster({
    name: "origin-remote-apply",
    basePort: BASE_PORT,
    shards: 1,
    replicas: 1,
    durability: "remote_apply",
    // Every write here also reads its position after COMMIT (none after a cancelled wait).
    store: { positions: true, remoteApplyTimeoutMs: TIMEOUT_MS },
  });
  ({ cluster, store } = on);
});

afterAll(async () => {
  await on?.close();
});

describe("DURABILITY=remote_apply", () => {
  it("a create returns once the replica has applied it: readable there at once", async () => {
    const created = await store.create(primary(), newLink("raSync1"));
    expect(await row("s0n1", "raSync1")).not.toBeNull();
    expect(created === "conflict" ? null : created.position).toMatchObject({
      shard: "s0",
      timeline: 1,
    });
  });

  it("with replay paused, a create fails after the timeout and leaves nothing behind", async () => {
    await cluster.pauseReplay("s0n1");
    try {
      const started = Date.now();
      const error = await store.create(primary(), newLink("raLost1")).catch((e: unknown) => e);
      const elapsed = Date.now() - started;
      expect(error).toBeInstanceOf(ReplicationTimeoutError);
      expect((error as ReplicationTimeoutError).committedOnPrimary).toBe(false);
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS);
      expect(elapsed).toBeLessThan(TIMEOUT_MS + 4_000);
      // Compensated on the primary: the code is free again.
      expect(await row("s0n0", "raLost1")).toBeNull();

      // An edit is kept on the primary (idempotent; the client retries) and reported as such.
      await cluster.resumeReplay("s0n1");
      await store.create(primary(), newLink("raEdit1"));
      await cluster.pauseReplay("s0n1");
      const editError = await store
        .update(primary(), "raEdit1", { url: "https://example.com/edited" })
        .catch((e: unknown) => e);
      expect(editError).toBeInstanceOf(ReplicationTimeoutError);
      expect((editError as ReplicationTimeoutError).committedOnPrimary).toBe(true);
      expect((await row("s0n0", "raEdit1"))?.target).toBe("https://example.com/edited");
    } finally {
      await cluster.resumeReplay("s0n1");
    }
    // Once the replica replays, it has the edit and never shows the undone create.
    await expect
      .poll(async () => (await row("s0n1", "raEdit1"))?.target, { timeout: 10_000 })
      .toBe("https://example.com/edited");
    expect(await row("s0n1", "raLost1")).toBeNull();
    // And the same code can be created again, now confirmed.
    await store.create(primary(), newLink("raLost1"));
    expect(await row("s0n1", "raLost1")).not.toBeNull();
  });
});

describe("DURABILITY=remote_apply through the API", () => {
  it("a create with no replica applying answers 503 + Retry-After within the bound, nothing created", async () => {
    const origin = await startOrigin(
      loadEnv({
        ORIGIN_PORT: String(ORIGIN_PORT),
        ETCD_ENDPOINTS: cluster.urls.etcd,
        DURABILITY: "remote_apply",
        REMOTE_APPLY_TIMEOUT_MS: String(TIMEOUT_MS),
        CREATE_RATE_LIMIT_PER_MINUTE: "0",
      }),
      { log: () => {} },
    );
    const post = (alias: string) =>
      fetch(`${origin.url}/api/links`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: "https://example.com/", alias }),
      });
    try {
      expect((await post("ra-api-ok")).status).toBe(201);
      expect(await row("s0n1", "ra-api-ok")).not.toBeNull();

      await cluster.pauseReplay("s0n1");
      try {
        const started = Date.now();
        const res = await post("ra-api-lost");
        expect(res.status).toBe(503);
        expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 4_000);
        expect(res.headers.get("retry-after")).toBe("5");
        expect(res.headers.get("set-cookie")).toBeNull();
        const problem = (await res.json()) as { type: string; detail: string };
        expect(problem.type).toBe("tag:firstclick,2026:replication-timeout");
        expect(problem.detail).toContain("nothing was created");
        expect(await row("s0n0", "ra-api-lost")).toBeNull();
      } finally {
        await cluster.resumeReplay("s0n1");
      }
      // The alias was freed by the compensation: the retry the 503 asked for succeeds.
      expect((await post("ra-api-lost")).status).toBe(201);
    } finally {
      await origin.close();
    }
  });
});
