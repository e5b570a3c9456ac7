import { type Cluster, withSql } from "@firstclick/cluster";
import { compareLsn, type Position } from "@firstclick/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newLink, type StoreOnCluster, storeOnCluster } from "./pg-store.fixtures.ts";
import type { PgLinkStore } from "./pg-store.ts";
import type { ReplicationStatus, ShardPrimary, WrittenLink } from "./store.ts";

// Real PostgreSQL (packages/cluster): 1 shard × (primary + 2 async streaming replicas), so one
// replica can be paused while the other streams.
const BASE_PORT = 23_300;
// Replicas report their replay every wal_receiver_status_interval (10 s by default) when no
// new WAL arrives: "caught up" may take that long to show on the primary.
const REPORT_BOUND_MS = 15_000;

let cluster: Cluster;
let store: PgLinkStore;
const logged: string[] = [];

let on: StoreOnCluster;
const primary = (): ShardPrimary => on.at("s0n0");
const link = (code: string) => newLink(code);

/** The node's own view: primary → its flush position; replica → what it has replayed. */
async function lsnOf(nodeId: string, what: "flush" | "replay"): Promise<string> {
  return withSql(cluster.node(nodeId).pg.port, async (sql) => {
    const rows =
      what === "flush"
        ? await sql<{ lsn: string }[]>`select pg_current_wal_flush_lsn()::text as lsn`
        : await sql<{ lsn: string }[]>`select pg_last_wal_replay_lsn()::text as lsn`;
    return rows[0]?.lsn ?? "";
  });
}

async function timelineOf(nodeId: string): Promise<number> {
  return withSql(cluster.node(nodeId).pg.port, async (sql) => {
    const rows = await sql<
      { tli: number }[]
    >`select timeline_id as tli from pg_control_checkpoint()`;
    return rows[0]?.tli ?? 0;
  });
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + REPORT_BOUND_MS;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function positionOf(written: WrittenLink | "conflict" | null): Position {
  if (written === null || written === "conflict" || written.position === null) {
    throw new Error(`no position: ${JSON.stringify(written)}`);
  }
  return written.position;
}

beforeAll(async () => {
  on = await storeOnCluster({
    name: "origin-wal-position",
    basePort: BASE_PORT,
    shards: 1,
    replicas: 2,
    store: { positions: true, logError: (m) => logged.push(m) },
  });
  ({ cluster, store } = on);
});

afterAll(async () => {
  await on?.close();
});

describe("the WAL position of a write, on real PostgreSQL", () => {
  it("is at or after the primary's position before the write, on its timeline, and a replica that replayed it has the row", async () => {
    const before = await lsnOf("s0n0", "flush");
    const position = positionOf(await store.create(primary(), link("walPos1")));
    expect(position.shard).toBe("s0");
    expect(position.timeline).toBe(await timelineOf("s0n0"));
    expect(compareLsn(position.lsn, before)).toBe(1);
    // Nothing of ours is written after it: the primary's flush position has not moved past it.
    expect(compareLsn(position.lsn, await lsnOf("s0n0", "flush"))).toBeLessThanOrEqual(0);

    const replayed = await until(
      "s0n1 replaying the create",
      () => lsnOf("s0n1", "replay"),
      (lsn) => compareLsn(lsn, position.lsn) >= 0,
    );
    expect(compareLsn(replayed, position.lsn)).toBeGreaterThanOrEqual(0);
    const rows = await withSql(
      cluster.node("s0n1").pg.port,
      (sql) => sql<{ n: number }[]>`select count(*)::int as n from links where code = 'walPos1'`,
    );
    expect(rows[0]?.n).toBe(1);
    expect(logged).toEqual([]);
  });

  it("shows on the primary as replayed by both replicas once they report it (quiet shard)", async () => {
    const position = positionOf(await store.create(primary(), link("walPos4")));
    const started = Date.now();
    await until(
      "both replicas reporting the create",
      () => store.replication(primary(), position.lsn),
      (s) => s.replicas === 2 && s.caughtUp === 2,
    );
    console.info(`live everywhere ${Date.now() - started} ms after the create (quiet shard)`);
  });

  it("moves on with every edit and delete", async () => {
    const created = positionOf(await store.create(primary(), link("walPos2")));
    const edited = positionOf(
      await store.update(primary(), "walPos2", { url: "https://example.com/v2" }),
    );
    const deleted = positionOf(await store.softDelete(primary(), "walPos2"));
    expect(compareLsn(edited.lsn, created.lsn)).toBe(1);
    expect(compareLsn(deleted.lsn, edited.lsn)).toBe(1);
  });

  it("counts replicas and those that replayed a write, with one of two paused", async () => {
    await cluster.pauseReplay("s0n2");
    try {
      const position = positionOf(await store.create(primary(), link("walPos3")));
      const started = Date.now();
      const status = await until<ReplicationStatus>(
        "the streaming replica reporting the create",
        () => store.replication(primary(), position.lsn),
        (s) => s.caughtUp === 1,
      );
      expect(status).toEqual({ replicas: 2, caughtUp: 1 });
      // Without the write's position the primary's current one stands in: never more.
      expect((await store.replication(primary(), null)).caughtUp).toBeLessThanOrEqual(1);
      await cluster.resumeReplay("s0n2");
      const all = await until(
        "both replicas reporting the create",
        () => store.replication(primary(), position.lsn),
        (s) => s.caughtUp === 2,
      );
      expect(all).toEqual({ replicas: 2, caughtUp: 2 });
      console.info(`live everywhere ${Date.now() - started} ms after the create (one paused)`);
    } finally {
      await cluster.resumeReplay("s0n2");
    }
  });
});
