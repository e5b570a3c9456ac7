/**
 * The manual mode: every node is a copy of one PostgreSQL template, started by PID; this tool
 * promotes, re-points and rejoins nodes on request and publishes each shard's primary, replicas
 * and timeline history in etcd, a change of primary in one transaction.
 */
import { existsSync, readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { etcdKey, snapshotFromEtcd, type TopologySnapshot } from "@firstclick/core";
import { migratePrimary } from "@firstclick/db/migrate";
import { deletePrefix, readPrefix, readValues, withEtcd } from "../etcd.ts";
import { type Layout, nodeOf, primaryOf, replicasOf } from "../layout.ts";
import type { SwitchoverResult } from "../patroni/settle.ts";
import { poll, settleAll } from "../poll.ts";
import type { NamedPort } from "../ports.ts";
import { initNode, pgTemplate } from "../postgres/config.ts";
import { nodeHealth } from "../postgres/health.ts";
import { killNode, postmasterOf, startNode, stopNode } from "../postgres/process.ts";
import {
  currentLsn,
  ensureSlot,
  promoteNode,
  readTimelineHistory,
  repointReplica,
  rewindAsReplica,
  type TimelineEntry,
  waitForReplay,
} from "../postgres/replication.ts";
import { isAlive, killTree } from "../processes.ts";
import { shardIds, shardTopology, topologyValues } from "../topology.ts";
import type { ShardHost, ShardManager } from "./manager.ts";

/** Kills postmasters a crashed run started but did not record (found from their data dirs). */
export async function stopLeftoverPostmasters(
  stateDir: string,
  log: (line: string) => void,
): Promise<void> {
  const pgDir = join(stateDir, "pg");
  if (!existsSync(pgDir)) return;
  for (const name of readdirSync(pgDir)) {
    const ref = postmasterOf(join(pgDir, name));
    if (ref) {
      log(`killing leftover postmaster ${ref.pid} (${name})`);
      await killTree(ref);
    }
  }
}

export class ManualShards implements ShardManager {
  readonly needsEtcdToStop = false;
  private template: Promise<string> | null = null;

  constructor(
    private readonly host: ShardHost,
    /** Where the per-machine PostgreSQL template is kept. */
    private readonly cacheDir: string,
  ) {}

  private get layout(): Layout {
    return this.host.layout;
  }

  extraPorts(): NamedPort[] {
    return [];
  }

  async prepare(): Promise<void> {
    // Made once per machine, then copied for every node: started now, awaited by every shard.
    this.template = pgTemplate(this.layout, this.cacheDir);
    // Awaited by every shard; this keeps a failure from being reported as unhandled meanwhile.
    this.template.catch(() => {});
  }

  /**
   * Data dirs from the template, primary + slots, then migrations while the replicas start;
   * returns once the replicas have replayed everything.
   */
  async startShard(shard: string): Promise<void> {
    if (!this.template) throw new Error("prepare() makes the PostgreSQL template first");
    const template = await this.template;
    const pg = this.layout;
    const primary = primaryOf(this.layout, shard);
    const replicas = replicasOf(this.layout, shard);
    let t = Date.now();
    const step = (what: string) => {
      this.host.log(`  ${shard}: ${what} ${Date.now() - t} ms`);
      t = Date.now();
    };
    // Every node of the shard is a copy of the same template, made before the primary starts.
    await settleAll([
      initNode(pg, primary, template),
      ...replicas.map((r) => initNode(pg, r, template, primary)),
    ]);
    step("data dirs");
    primary.pg.process = await startNode(pg, primary);
    await this.host.save();
    for (const replica of replicas) await ensureSlot(primary, replica);
    step("start primary + slots");
    await settleAll([
      migratePrimary(primary.pg.url).then(() => step("migrations")),
      ...replicas.map(async (replica) => {
        replica.pg.process = await startNode(pg, replica);
        await this.host.save();
        step(`start ${replica.id}`);
      }),
    ]);
    // Ready means the replicas have the schema too: their gateways can serve at once.
    const lsn = await currentLsn(primary);
    await settleAll(replicas.map((r) => waitForReplay(r, lsn)));
    step("replicas caught up");
  }

  /**
   * A shard added to a running cluster: started like `up` starts one, then its primary,
   * replicas and (empty) history published in one transaction; the ring key is not touched.
   */
  async addShard(shard: string): Promise<void> {
    if (!this.template) await this.prepare();
    await this.startShard(shard);
    await this.publishShard(shard, []);
  }

  /** Stops the shard's nodes, deletes their data dirs and the shard's etcd keys. */
  async removeShard(shard: string): Promise<void> {
    const nodes = this.layout.nodes.filter((n) => n.shard === shard);
    await settleAll(
      nodes.map(async (node) => {
        // Also a postmaster started but not yet recorded when the start failed.
        node.pg.process ??= postmasterOf(node.pg.dataDir);
        await stopNode(this.layout, node);
        node.pg.process = null;
        await rm(node.pg.dataDir, { recursive: true, force: true });
      }),
    );
    await deletePrefix(this.layout, `${this.layout.etcdPrefix}shards/${shard}/`);
  }

  /** The whole topology (ring + every shard, no timeline history yet) in one transaction. */
  async writeTopology(): Promise<void> {
    const prefix = this.layout.etcdPrefix;
    const values = topologyValues(this.layout);
    for (const shard of shardIds(this.layout)) values[etcdKey.history(prefix, shard)] = "[]";
    await withEtcd(this.layout, async (client) => {
      await client.delete().prefix(prefix).exec();
      await client
        // Always true (a missing key compares as revision 0): the compare only opens the txn.
        .if(etcdKey.ring(prefix), "Mod", ">", -1)
        .then(...Object.entries(values).map(([k, v]) => client.put(k).value(v)))
        .commit();
    });
  }

  async topology(): Promise<TopologySnapshot> {
    const { revision, kvs } = await readValues(this.layout, this.layout.etcdPrefix);
    return snapshotFromEtcd(kvs, revision, this.layout.etcdPrefix);
  }

  async status(): Promise<null> {
    return null;
  }

  /** SIGKILL to the postmaster and all its backends; its gateway keeps running. */
  async kill(id: string): Promise<void> {
    const node = nodeOf(this.layout, id);
    await killNode(node);
    node.pg.process = null;
    await this.host.save();
  }

  /** Starts a stopped or killed node again in its current role (crash recovery included). */
  async restart(id: string): Promise<void> {
    const node = nodeOf(this.layout, id);
    if (node.role === "detached") {
      throw new Error(
        `${id} was replaced by a promotion: use rejoin to bring it back as a replica`,
      );
    }
    if (!isAlive(node.pg.process)) {
      node.pg.process = await startNode(this.layout, node);
      await this.host.save();
    }
    if (node.gateway && !isAlive(node.gateway.process)) await this.host.startGateway(node);
  }

  /**
   * Promotes a replica to primary of its shard. A still-running old primary is stopped first
   * (fast shutdown: its replicas receive everything it committed, so nothing is lost and there
   * are never two primaries). Other replicas of the shard are re-pointed at the new primary.
   * Then `primary`, `replicas` and `history` of the shard change in ONE etcd transaction,
   * guarded by their mod revisions. The old primary becomes `detached` until `rejoin`.
   */
  async promote(id: string): Promise<{ revision: number }> {
    const node = nodeOf(this.layout, id);
    if (node.role !== "replica") throw new Error(`${id} is not a replica (role ${node.role})`);
    if (!isAlive(node.pg.process)) throw new Error(`${id} is not running: restartNode it first`);
    const shard = node.shard;
    const oldPrimary = primaryOf(this.layout, shard);
    if (isAlive(oldPrimary.pg.process)) {
      this.host.log(`stopping the old primary ${oldPrimary.id} before promoting ${id}`);
      await stopNode(this.layout, oldPrimary);
      oldPrimary.pg.process = null;
    }
    await promoteNode(node);
    node.role = "primary";
    oldPrimary.role = "detached";
    await this.host.save();
    for (const other of replicasOf(this.layout, shard)) {
      if (isAlive(other.pg.process)) {
        await repointReplica(node, other);
      } else {
        this.host.log(
          `${other.id} is not running: it still follows ${oldPrimary.id} when restarted`,
        );
      }
    }
    return this.publishShard(shard, await readTimelineHistory(node));
  }

  /**
   * Brings a detached former primary back as a replica of its shard's current primary:
   * pg_rewind, standby.signal + primary_conninfo + a slot on the new primary, start, wait
   * until it streams, then add it to the shard's replicas in etcd.
   */
  async rejoin(id: string): Promise<{ revision: number }> {
    const node = nodeOf(this.layout, id);
    if (node.role !== "detached") {
      throw new Error(
        `${id} is not detached (role ${node.role}); rejoin is for a replaced primary`,
      );
    }
    const primary = primaryOf(this.layout, node.shard);
    const pg = this.layout;
    if (node.pg.process) {
      await stopNode(pg, node);
      node.pg.process = null;
    }
    await rewindAsReplica(pg, node, primary);
    node.pg.process = await startNode(pg, node);
    node.role = "replica";
    await this.host.save();
    await poll(
      async () => {
        const health = await nodeHealth(primary);
        return health.streaming.some((s) => s.name === node.id && s.state === "streaming")
          ? true
          : undefined;
      },
      { timeoutMs: 30_000, what: `${node.id} to stream from ${primary.id}` },
    );
    if (node.gateway && !isAlive(node.gateway.process)) await this.host.startGateway(node);
    return this.publishShard(node.shard);
  }

  async switchover(): Promise<SwitchoverResult> {
    throw new Error("switchover is for Patroni mode (up --ha patroni); use promote");
  }

  async stop(): Promise<void> {
    const pg = this.layout;
    await settleAll(
      this.layout.nodes.map(async (node) => {
        await stopNode(pg, node);
        node.pg.process = null;
      }),
    );
  }

  /**
   * Rewrites one shard's primary + replicas (and, after a promotion, its timeline history) in
   * one transaction, compare-and-swap on what was read.
   */
  private async publishShard(
    shard: string,
    history?: readonly TimelineEntry[],
  ): Promise<{ revision: number }> {
    const prefix = this.layout.etcdPrefix;
    const primaryKey = etcdKey.primary(prefix, shard);
    const t = shardTopology(this.layout, shard);
    const writes = new Map([
      [primaryKey, JSON.stringify(t.primary)],
      [etcdKey.replicas(prefix, shard), JSON.stringify(t.replicas)],
    ]);
    if (history) writes.set(etcdKey.history(prefix, shard), JSON.stringify(history));
    const { entries } = await readPrefix(this.layout, `${prefix}shards/${shard}/`);
    const unchanged = (key: string) => entries.get(key)?.modRevision ?? 0;
    const result = await withEtcd(this.layout, (client) => {
      let txn = client.if(primaryKey, "Mod", "==", unchanged(primaryKey));
      for (const key of writes.keys()) {
        if (key !== primaryKey) txn = txn.and(key, "Mod", "==", unchanged(key));
      }
      return txn.then(...[...writes].map(([k, v]) => client.put(k).value(v))).commit();
    });
    if (!result.succeeded) {
      throw new Error(`shard ${shard} changed in etcd while it was being updated; retry`);
    }
    return { revision: Number(result.header.revision) };
  }
}
