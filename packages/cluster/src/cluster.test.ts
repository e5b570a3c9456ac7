/**
 * One real cluster (etcd + 2 shards × (primary + 1 replica), no apps) shared by the tests of
 * this file, which run in order: replication, pause/resume, kill + promote, rejoin, etcd
 * stop/start, then down.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Cluster, repoRoot } from "./cluster.ts";
import { readPrefix } from "./etcd.ts";
import { processRefsIn } from "./layout.ts";
import { poll } from "./poll.ts";
import { checkPortFree } from "./ports.ts";
import { withSql } from "./postgres/sql.ts";
import { isAlive, type ProcessRef } from "./processes.ts";
import { up } from "./up.ts";

const BASE_PORT = 21100;
let cluster: Cluster;

function code(): string {
  return `t${randomBytes(4).toString("hex")}`;
}

async function insertLink(port: number, c: string): Promise<void> {
  await withSql(port, async (sql) => {
    await sql`INSERT INTO links (code, target, edit_token_hash)
              VALUES (${c}, ${`https://example.com/${c}`}, 'test')`;
  });
}

async function hasLink(port: number, c: string): Promise<boolean> {
  return withSql(port, async (sql) => {
    const rows = await sql`SELECT 1 FROM links WHERE code = ${c}`;
    return rows.length === 1;
  });
}

function waitForLink(port: number, c: string, what: string): Promise<true> {
  return poll(async () => ((await hasLink(port, c)) ? true : undefined), {
    timeoutMs: 10_000,
    what,
  });
}

beforeAll(async () => {
  cluster = await up({
    stateDir: join(repoRoot(), ".firstclick", "cluster-test-main"),
    basePort: BASE_PORT,
    shards: 2,
    replicas: 1,
    apps: false,
  });
});

afterAll(async () => {
  await cluster?.down();
});

describe("a 2 × (1 + 1) cluster", () => {
  it("publishes the topology in etcd, validated by core's schema", async () => {
    const topology = await cluster.topology();
    expect(topology.ring.shards).toEqual(["s0", "s1"]);
    expect(topology.shards.s0?.primary?.id).toBe("s0n0");
    expect(topology.shards.s0?.replicas.map((r) => r.id)).toEqual(["s0n1"]);
    expect(topology.shards.s1?.primary).toMatchObject({
      id: "s1n0",
      pg: { host: "127.0.0.1", port: BASE_PORT + 12 },
      gatewayUrl: `http://127.0.0.1:${BASE_PORT + 42}`,
    });
    // Fresh shards are on timeline 1: no past timelines.
    const { entries } = await readPrefix(cluster.layout, "/firstclick/shards/");
    expect(entries.get("/firstclick/shards/s0/history")?.value).toBe("[]");
    expect(entries.get("/firstclick/shards/s1/history")?.value).toBe("[]");
  });

  it("replicates a row written on each primary to its replica", async () => {
    for (const shard of ["s0", "s1"]) {
      const c = code();
      const primary = cluster.primaryOf(shard);
      const [replica] = cluster.replicasOf(shard);
      if (!replica) throw new Error(`shard ${shard} has no replica`);
      await insertLink(primary.pg.port, c);
      await waitForLink(replica.pg.port, c, `${c} on ${replica.id}`);
    }
  });

  it("reports roles, streaming and pids in status", async () => {
    const status = await cluster.status();
    const byId = new Map(status.nodes.map((n) => [n.id, n]));
    expect(byId.get("s0n0")?.health.inRecovery).toBe(false);
    expect(byId.get("s0n1")?.health.inRecovery).toBe(true);
    expect(byId.get("s0n0")?.health.streaming.map((s) => s.name)).toEqual(["s0n1"]);
    expect(status.nodes.every((n) => n.alive && n.pid !== null)).toBe(true);
    expect(status.etcd.alive).toBe(true);
    expect(status.topology?.shards.s1?.primary?.id).toBe("s1n0");
  });

  it("rejects writes on a replica", async () => {
    await expect(insertLink(cluster.node("s1n1").pg.port, code())).rejects.toThrow(/read-only/);
  });

  it("pause-replay holds new rows back on the replica until resume-replay", async () => {
    const c = code();
    await cluster.pauseReplay("s1n1");
    await insertLink(cluster.node("s1n0").pg.port, c);
    expect(await hasLink(cluster.node("s1n0").pg.port, c)).toBe(true);
    // Paused replay never applies it, however long we wait: check a few times over a second.
    for (let i = 0; i < 5; i++) {
      expect(await hasLink(cluster.node("s1n1").pg.port, c)).toBe(false);
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await cluster.status()).nodes.find((n) => n.id === "s1n1")?.health.replayPaused).toBe(
      true,
    );
    await cluster.resumeReplay("s1n1");
    await waitForLink(cluster.node("s1n1").pg.port, c, "the row after resume-replay");
  });

  it("pause-replay refuses a primary", async () => {
    await expect(cluster.pauseReplay("s1n0")).rejects.toThrow(/not a replica/);
  });

  it("kill + promote: etcd changes primary and replicas in one revision; the new primary writes", async () => {
    const before = code();
    await insertLink(cluster.node("s0n0").pg.port, before);
    await waitForLink(cluster.node("s0n1").pg.port, before, "the row before the kill");
    const oldPostmaster = cluster.node("s0n0").pg.process as ProcessRef;
    await cluster.kill("s0n0");
    expect(isAlive(oldPostmaster)).toBe(false);
    await expect(checkPortFree(BASE_PORT + 10, "s0n0")).resolves.toBeUndefined();

    const { revision } = await cluster.promote("s0n1");
    const { entries } = await readPrefix(cluster.layout, "/firstclick/shards/s0/");
    const primaryKey = entries.get("/firstclick/shards/s0/primary");
    const replicasKey = entries.get("/firstclick/shards/s0/replicas");
    expect(primaryKey?.modRevision).toBe(revision);
    expect(replicasKey?.modRevision).toBe(revision);
    expect(JSON.parse(primaryKey?.value ?? "null")).toMatchObject({ id: "s0n1" });
    expect(JSON.parse(replicasKey?.value ?? "null")).toEqual([]);
    // The timeline history changes in the same transaction: timeline 1 forked at the promotion,
    // and the new primary writes on the timeline after the last entry.
    const historyKey = entries.get("/firstclick/shards/s0/history");
    expect(historyKey?.modRevision).toBe(revision);
    const history = JSON.parse(historyKey?.value ?? "null");
    expect(history).toEqual([
      { timeline: 1, switchLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/) },
    ]);
    const timeline = await withSql(cluster.node("s0n1").pg.port, async (sql) => {
      const [row] = await sql<{ tli: string }[]>`
        SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) AS tli`;
      return Number.parseInt(row?.tli ?? "", 16);
    });
    expect(timeline).toBe(2);
    const topology = await cluster.topology();
    expect(topology.version).toBeGreaterThanOrEqual(revision);
    expect(topology.shards.s0?.primary?.id).toBe("s0n1");
    // The other shard is untouched.
    expect(topology.shards.s1?.primary?.id).toBe("s1n0");

    const after = code();
    await insertLink(cluster.node("s0n1").pg.port, after);
    expect(await hasLink(cluster.node("s0n1").pg.port, before)).toBe(true);
    expect(await hasLink(cluster.node("s0n1").pg.port, after)).toBe(true);
  });

  it("promote refuses a node that is not a replica", async () => {
    await expect(cluster.promote("s1n0")).rejects.toThrow(/not a replica/);
  });

  it("rejoin makes the old primary a replica streaming from the new one", async () => {
    const { revision } = await cluster.rejoin("s0n0");
    const status = await cluster.status();
    const newPrimary = status.nodes.find((n) => n.id === "s0n1");
    expect(newPrimary?.health.streaming).toEqual([
      expect.objectContaining({ name: "s0n0", state: "streaming" }),
    ]);
    expect(status.nodes.find((n) => n.id === "s0n0")?.health.inRecovery).toBe(true);
    const c = code();
    await insertLink(cluster.node("s0n1").pg.port, c);
    await waitForLink(cluster.node("s0n0").pg.port, c, "a new row on the rejoined node");
    const topology = await cluster.topology();
    expect(topology.version).toBeGreaterThanOrEqual(revision);
    expect(topology.shards.s0?.replicas.map((r) => r.id)).toEqual(["s0n0"]);
  });

  it("restartNode brings a killed replica back, and it catches up", async () => {
    await cluster.kill("s1n1");
    const c = code();
    await insertLink(cluster.node("s1n0").pg.port, c);
    await cluster.restartNode("s1n1");
    await waitForLink(cluster.node("s1n1").pg.port, c, "a row written while s1n1 was down");
  });

  it("stop-etcd / start-etcd: etcd goes away and comes back with the topology", async () => {
    const etcdProcess = cluster.layout.etcd.process as ProcessRef;
    await cluster.stopEtcd();
    expect(isAlive(etcdProcess)).toBe(false);
    await expect(checkPortFree(BASE_PORT, "etcd")).resolves.toBeUndefined();
    await expect(cluster.topology()).rejects.toThrow();
    await cluster.startEtcd();
    const topology = await cluster.topology();
    expect(topology.shards.s0?.primary?.id).toBe("s0n1");
  });

  it("down leaves no process and no listening port behind", async () => {
    const refs = await processRefsIn(cluster.stateDir);
    expect(refs).toHaveLength(5);
    expect(refs.every(isAlive)).toBe(true);
    await cluster.down();
    expect(refs.filter(isAlive)).toEqual([]);
    const ports = [BASE_PORT, BASE_PORT + 1, ...[10, 11, 12, 13].map((d) => BASE_PORT + d)];
    for (const port of ports) await expect(checkPortFree(port, "test")).resolves.toBeUndefined();
    expect((await cluster.status()).nodes.every((n) => !n.alive)).toBe(true);
  });
});
