import { type Cluster, withSql } from "@firstclick/cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newLink, type StoreOnCluster, storeOnCluster } from "./pg-store.fixtures.ts";
import type { PgLinkStore } from "./pg-store.ts";
import { type ShardPrimary, ShardUnavailableError, type StoredLink } from "./store.ts";

// Real PostgreSQL shards (packages/cluster): 2 shards × (primary + replica), async replication.
const BASE_PORT = 23_100;
// A loopback port nothing listens on.
const DEAD_PORT = 23_199;

let on: StoreOnCluster;
let cluster: Cluster;
let store: PgLinkStore;
const nodeOf = (id: string) => on.node(id);
const at = (shard: string, nodeId: string) => on.at(nodeId, shard);

async function rowsOn(nodeId: string, code: string): Promise<number> {
  return withSql(cluster.node(nodeId).pg.port, async (sql) => {
    const rows = await sql<
      { n: number }[]
    >`select count(*)::int as n from links where code = ${code}`;
    return rows[0]?.n ?? 0;
  });
}

beforeAll(async () => {
  on = await storeOnCluster({
    name: "origin-pg-store",
    basePort: BASE_PORT,
    shards: 2,
    replicas: 1,
  });
  ({ cluster, store } = on);
});

afterAll(async () => {
  await on?.close();
});

describe("PgLinkStore on real primaries", () => {
  it("writes to the node it is given and nowhere else", async () => {
    const created = (await store.create(
      at("s0", "s0n0"),
      newLink("pgOne01", { expiresAt: new Date("2099-01-01T00:00:00Z"), redirectStatus: 308 }),
    )) as StoredLink;
    expect(created).toMatchObject({
      code: "pgOne01",
      url: "https://example.com/",
      redirectStatus: 308,
      deletedAt: null,
    });
    expect(created.expiresAt?.toISOString()).toBe("2099-01-01T00:00:00.000Z");
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(await rowsOn("s0n0", "pgOne01")).toBe(1);
    expect(await rowsOn("s1n0", "pgOne01")).toBe(0);
  });

  it("reports a taken code as a conflict", async () => {
    await store.create(at("s1", "s1n0"), newLink("pgDup01"));
    expect(
      await store.create(at("s1", "s1n0"), newLink("pgDup01", { url: "https://x.test/" })),
    ).toBe("conflict");
    const found = await store.find(at("s1", "s1n0"), "pgDup01");
    expect(found?.url).toBe("https://example.com/");
  });

  it("updates and soft-deletes; a deleted link is not updated again", async () => {
    const where = at("s0", "s0n0");
    const created = (await store.create(where, newLink("pgEdit1"))) as StoredLink;
    const updated = await store.update(where, "pgEdit1", {
      url: "https://example.com/after",
      redirectStatus: 301,
      expiresAt: new Date("2098-01-01T00:00:00Z"),
    });
    expect(updated).toMatchObject({ url: "https://example.com/after", redirectStatus: 301 });
    expect(updated?.updatedAt.getTime()).toBeGreaterThanOrEqual(created.updatedAt.getTime());
    const cleared = await store.update(where, "pgEdit1", { expiresAt: null });
    expect(cleared?.expiresAt).toBeNull();
    const deleted = await store.softDelete(where, "pgEdit1");
    expect(deleted?.deletedAt).toBeInstanceOf(Date);
    expect(await store.softDelete(where, "pgEdit1")).toBeNull();
    expect(await store.update(where, "pgEdit1", { redirectStatus: 302 })).toBeNull();
    expect((await store.find(where, "pgEdit1"))?.deletedAt).toBeInstanceOf(Date);
    expect(await store.find(where, "pgNone1")).toBeNull();
  });

  it("an unreachable primary is ShardUnavailableError within the connect timeout; other shards work", async () => {
    const dead: ShardPrimary = {
      shard: "s0",
      node: {
        id: "ghost",
        gatewayUrl: "http://127.0.0.1:1",
        pg: { host: "127.0.0.1", port: DEAD_PORT },
      },
    };
    const started = Date.now();
    const error = await store.create(dead, newLink("pgDead1")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect((error as ShardUnavailableError).shard).toBe("s0");
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await store.create(at("s1", "s1n0"), newLink("pgAlive1"))).not.toBe("conflict");
  });

  it("refuses to write to a hot standby named as primary (target_session_attrs=primary)", async () => {
    const started = Date.now();
    const error = await store
      .create(at("s0", "s0n1"), newLink("pgStby01"))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShardUnavailableError);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await rowsOn("s0n0", "pgStby01")).toBe(0);
  });

  it("keeps pools only for the current primaries", async () => {
    await store.find(at("s0", "s0n0"), "anything");
    await store.find(at("s1", "s1n0"), "anything");
    expect(store.openPools()).toEqual(expect.arrayContaining(["s0n0", "s1n0"]));
    store.retainOnly([nodeOf("s1n0")]);
    expect(store.openPools()).toEqual(["s1n0"]);
    // A closed pool is reopened on demand.
    expect(await store.find(at("s0", "s0n0"), "pgOne01")).not.toBeNull();
  });
});
