import { join } from "node:path";
import { type Cluster, defaultStateDir, up, withSql } from "@firstclick/cluster";
import { Topology, type TopologyNode, type TopologySnapshot } from "@firstclick/core";
import { type ClickDelivery, hourOf, type RollupRow } from "@firstclick/core/clicks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ShardUnavailableError } from "../links/store.ts";
import { NodePools } from "./node-pools.ts";
import { RollupWriter } from "./rollup-writer.ts";
import { StatsReader } from "./stats-reader.ts";

// Real PostgreSQL shards (packages/cluster): 2 shards × (primary + replica), async replication.
const BASE_PORT = 23_800;
const DEAD_PORT = 23_899;
const HOUR = hourOf(Date.UTC(2030, 0, 10, 9));

let cluster: Cluster;
let pools: NodePools;
let writer: RollupWriter;
let topology: Topology;

function nodeOf(id: string, port?: number): TopologyNode {
  const n = cluster.node(id);
  return { id: n.id, gatewayUrl: n.gatewayUrl, pg: { host: n.pg.host, port: port ?? n.pg.port } };
}

function snapshotWith(over: Partial<TopologySnapshot["shards"]> = {}, version = 1): Topology {
  return Topology.from({
    version,
    ring: { shards: ["s0", "s1"], vnodes: 160 },
    shards: {
      s0: { primary: nodeOf("s0n0"), replicas: [nodeOf("s0n1")] },
      s1: { primary: nodeOf("s1n0"), replicas: [nodeOf("s1n1")] },
      ...over,
    },
  });
}

/** A code of a link that exists on `shard`'s primary. */
const codes: { s0: string[]; s1: string[] } = { s0: [], s1: [] };

function row(code: string, count: number, over: Partial<RollupRow> = {}): RollupRow {
  return {
    code,
    hour: HOUR,
    outcome: "redirect",
    country: "DE",
    referrerHost: "news.example",
    device: "mobile",
    bot: false,
    count,
    ...over,
  };
}

async function countsOn(nodeId: string, code: string): Promise<number> {
  return withSql(cluster.node(nodeId).pg.port, async (sql) => {
    const rows = await sql<{ n: number }[]>`
      select coalesce(sum(count), 0)::int as n from click_rollups where code = ${code}`;
    return rows[0]?.n ?? 0;
  });
}

beforeAll(async () => {
  cluster = await up({
    stateDir: join(defaultStateDir(), "origin-stats"),
    shards: 2,
    replicas: 1,
    basePort: BASE_PORT,
    apps: false,
  });
  topology = snapshotWith();
  for (let i = 0; codes.s0.length < 2 || codes.s1.length < 2; i++) {
    const code = `stat${i}xx`;
    const shard = topology.shardFor(code);
    const list = shard === "s0" ? codes.s0 : codes.s1;
    if (!list || list.length >= 2) continue;
    list.push(code);
    await withSql(cluster.node(`${shard}n0`).pg.port, (sql) =>
      sql`insert into links (code, target, edit_token_hash)
          values (${code}, 'https://example.com/', ${"a".repeat(64)})`.then(() => {}),
    );
  }
  pools = new NodePools({
    user: "firstclick",
    database: "firstclick",
    poolMax: 2,
    connectTimeoutMs: 1_000,
    logError: () => {},
  });
  writer = new RollupWriter({ pools, deadlineMs: 5_000 });
});

afterAll(async () => {
  await pools?.close();
  await cluster?.down();
});

const [a0, b0] = [() => codes.s0[0] ?? "", () => codes.s1[0] ?? ""];

describe("RollupWriter on real primaries", () => {
  it("adds each row to the primary of the shard that owns its code, and nowhere else", async () => {
    const deliveries: ClickDelivery[] = [
      { id: "w1-m1", rows: [row(a0(), 3), row(b0(), 2)] },
      { id: "w1-m2", rows: [row(a0(), 1), row(a0(), 4, { bot: true })] },
    ];
    expect(await writer.write(topology, deliveries)).toEqual({ counted: 2, duplicates: 0 });
    expect(await countsOn("s0n0", a0())).toBe(8);
    expect(await countsOn("s1n0", b0())).toBe(2);
    expect(await countsOn("s1n0", a0())).toBe(0);
  });

  it("a retried batch does not count twice", async () => {
    const deliveries: ClickDelivery[] = [{ id: "w2-m1", rows: [row(b0(), 5)] }];
    const before = await countsOn("s1n0", b0());
    expect(await writer.write(topology, deliveries)).toEqual({ counted: 1, duplicates: 0 });
    expect(await writer.write(topology, deliveries)).toEqual({ counted: 0, duplicates: 1 });
    expect(await countsOn("s1n0", b0())).toBe(before + 5);
  });

  it("a batch that failed on one shard counts exactly once after the retry", async () => {
    const deliveries: ClickDelivery[] = [{ id: "w3-m1", rows: [row(a0(), 10), row(b0(), 20)] }];
    const [s0Before, s1Before] = [await countsOn("s0n0", a0()), await countsOn("s1n0", b0())];
    const s1Down = snapshotWith({ s1: { primary: nodeOf("s1n0", DEAD_PORT), replicas: [] } }, 2);
    await expect(writer.write(s1Down, deliveries)).rejects.toBeInstanceOf(ShardUnavailableError);
    // s0 committed its part; the redelivery adds only s1's.
    expect(await countsOn("s0n0", a0())).toBe(s0Before + 10);
    expect(await countsOn("s1n0", b0())).toBe(s1Before);
    expect(await writer.write(snapshotWith({}, 3), deliveries)).toEqual({
      counted: 1,
      duplicates: 0,
    });
    expect(await countsOn("s0n0", a0())).toBe(s0Before + 10);
    expect(await countsOn("s1n0", b0())).toBe(s1Before + 20);
  });

  it("does not store clicks of codes that no shard holds (a scanner's 404s)", async () => {
    await writer.write(topology, [
      { id: "w4-m1", rows: [row("noSuchCode", 7, { outcome: "not_found" })] },
    ]);
    for (const id of ["s0n0", "s1n0"]) expect(await countsOn(id, "noSuchCode")).toBe(0);
  });
});

describe("click_batches pruning", () => {
  const DAY_MS = 24 * 3_600_000;
  const idsOn = (nodeId: string) =>
    withSql(cluster.node(nodeId).pg.port, async (sql) =>
      (await sql<{ id: string }[]>`select id from click_batches where id like 'p-%'`).map(
        (r) => r.id,
      ),
    );
  const counted = (nodeId: string, id: string, daysAgo: number) =>
    withSql(cluster.node(nodeId).pg.port, (sql) =>
      sql`insert into click_batches (id, counted_at)
          values (${id}, now() - make_interval(days => ${daysAgo}))`.then(() => {}),
    );

  it("an ingest deletes ids older than the retention, keeps younger ones, once per interval", async () => {
    await counted("s0n0", "p-old", 15);
    await counted("s0n0", "p-young", 13);
    const pruning = new RollupWriter({
      pools,
      batchRetentionMs: 14 * DAY_MS,
      pruneEveryMs: 3_600_000,
    });
    await pruning.write(topology, [{ id: "p-m1", rows: [row(a0(), 1)] }]);
    expect((await idsOn("s0n0")).sort()).toEqual(["p-m1", "p-young"]);
    // Within the interval the next ingest does not prune again.
    await counted("s0n0", "p-old2", 20);
    await pruning.write(topology, [{ id: "p-m2", rows: [row(a0(), 1)] }]);
    expect((await idsOn("s0n0")).sort()).toEqual(["p-m1", "p-m2", "p-old2", "p-young"]);
  });

  it("a message redelivered within the retention is still not counted twice", async () => {
    const pruning = new RollupWriter({ pools, pruneEveryMs: 0 });
    const before = await countsOn("s1n0", b0());
    const delivery: ClickDelivery[] = [{ id: "p-m3", rows: [row(b0(), 4)] }];
    expect(await pruning.write(topology, delivery)).toEqual({ counted: 1, duplicates: 0 });
    expect(await pruning.write(topology, delivery)).toEqual({ counted: 0, duplicates: 1 });
    expect(await countsOn("s1n0", b0())).toBe(before + 4);
  });
});

describe("StatsReader on real replicas", () => {
  it("reads totals, series and breakdowns from the replica", async () => {
    const code = codes.s0[1] ?? "";
    await writer.write(topology, [
      {
        id: "r1-m1",
        rows: [
          row(code, 6),
          row(code, 2, { bot: true, device: "other", country: null }),
          row(code, 1, { hour: HOUR + 3600, outcome: "not_found", referrerHost: null }),
        ],
      },
    ]);
    const reader = new StatsReader(pools);
    const range = {
      from: new Date(HOUR * 1000),
      to: new Date((HOUR + 3 * 3600) * 1000),
      interval: "hour" as const,
    };
    // Replication is asynchronous: wait until the replica has replayed the write.
    let stats = (await reader.read(topology, code, range))?.stats;
    for (let i = 0; i < 100 && stats?.total !== 9; i++) {
      await new Promise((r) => setTimeout(r, 50));
      stats = (await reader.read(topology, code, range))?.stats;
    }
    expect(stats).toMatchObject({
      total: 9,
      outcomes: { redirect: 8, not_found: 1, gone: 0 },
      bots: { count: 2, share: 2 / 9 },
      series: [
        { t: new Date(HOUR * 1000).toISOString(), count: 8 },
        { t: new Date((HOUR + 3600) * 1000).toISOString(), count: 1 },
        { t: new Date((HOUR + 7200) * 1000).toISOString(), count: 0 },
      ],
    });
    expect(stats?.countries).toEqual([
      { country: "DE", count: 7 },
      { country: null, count: 2 },
    ]);
    expect(stats?.referrers).toEqual([
      { host: "news.example", count: 8 },
      { host: null, count: 1 },
    ]);
  });

  it("answers null for a code the replica does not hold", async () => {
    const range = { from: new Date(0), to: new Date(3_600_000), interval: "hour" as const };
    expect(await new StatsReader(pools).read(topology, "noSuchCode", range)).toBeNull();
  });

  it("never reads a primary, even when the topology lists it as a replica", async () => {
    const wrong = snapshotWith({ s0: { primary: nodeOf("s0n0"), replicas: [nodeOf("s0n0")] } }, 4);
    const range = { from: new Date(0), to: new Date(3_600_000), interval: "hour" as const };
    await expect(new StatsReader(pools).read(wrong, a0(), range)).rejects.toBeInstanceOf(
      ShardUnavailableError,
    );
  });
});
