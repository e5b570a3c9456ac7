/**
 * The local system: `up()` starts etcd, the PostgreSQL shards, redis (optionally) and the apps;
 * `attach()` finds a running one from its layout.json; the `Cluster` object runs the operations
 * tests and operators need (kill, promote, rejoin, pause replay, stop etcd, restart apps, down).
 * How shards run (manual or Patroni) is one ShardManager, chosen once from the layout's mode.
 */

import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type AddShardOptions, addShard } from "./add-shard.ts";
import { edgeEnv, gatewayEnv, originEnv, spawnApp, waitForApp } from "./apps.ts";
import { findBinaries } from "./binaries.ts";
import { startEtcd } from "./etcd.ts";
import {
  type AppEnv,
  type Layout,
  type NodeLayout,
  nodeOf,
  primaryOf,
  readLayout,
  replicasOf,
  writeLayout,
} from "./layout.ts";
import type { SwitchoverResult } from "./patroni/settle.ts";
import { layoutServices, redisService, strategyNeedsRedis } from "./plan.ts";
import { poll, settleAll } from "./poll.ts";
import { checkPortFree, checkPortsFree } from "./ports.ts";
import { isInRecovery } from "./postgres/health.ts";
import { setReplayPaused } from "./postgres/replication.ts";
import { isAlive, type ProcessRef, stopProcess } from "./processes.ts";
import { spawnRedis, waitForRedis } from "./redis.ts";
import { type MoverResult, runMover } from "./reshard.ts";
import type { ShardHost, ShardManager } from "./shards/manager.ts";
import { ManualShards } from "./shards/manual.ts";
import { PatroniShards, type PatroniUpOptions } from "./shards/patroni.ts";
import { defaultStateDir } from "./state-dir.ts";
import { type ClusterStatus, clusterStatus } from "./status.ts";
import type { TopologySnapshot } from "./topology.ts";

export type { AddShardOptions } from "./add-shard.ts";
export type { MoverResult } from "./reshard.ts";
export { defaultStateDir, deleteTrash, repoRoot } from "./state-dir.ts";
export type { ClusterStatus, NodeStatus, ServiceStatus } from "./status.ts";

export interface ClusterUrls {
  etcd: string;
  origin: string | null;
  edge: string | null;
  /** The edge Worker without miniflare's entry worker in front (for load tests). */
  edgeDirect: string | null;
  redis: string | null;
}

/** The cluster described by `<stateDir>/layout.json` (default `<repo>/.firstclick`). */
export async function attach(
  stateDir: string = defaultStateDir(),
  options: { log?: (line: string) => void } = {},
): Promise<Cluster> {
  const layout = await readLayout(resolve(stateDir));
  if (!layout) throw new Error(`no cluster layout in ${resolve(stateDir)} (run \`up\` first)`);
  return new Cluster(layout, options.log ?? (() => {}));
}

export class Cluster implements ShardHost {
  private saving: Promise<void> = Promise.resolve();
  /** Another `up` has replaced this cluster in its state dir (and stopped its processes). */
  private superseded = false;
  /** @internal How this cluster's shards run: chosen once, from the layout's mode. */
  readonly shards: ShardManager;

  /** @internal Made by `up` and `attach`. */
  constructor(
    private readonly current: Layout,
    readonly log: (line: string) => void,
    patroni: PatroniUpOptions = {},
  ) {
    this.shards =
      current.ha === "patroni"
        ? new PatroniShards(this, patroni)
        : new ManualShards(this, join(defaultStateDir(), "cache"));
  }

  /** The live layout (also on disk as layout.json). Treat as read-only. */
  get layout(): Layout {
    return this.current;
  }

  get stateDir(): string {
    return this.current.stateDir;
  }

  get urls(): ClusterUrls {
    const { apps, etcd, ports, redis } = this.current;
    return {
      etcd: etcd.url,
      origin: apps.origin?.url ?? null,
      edge: apps.edge?.url ?? null,
      edgeDirect: apps.edge ? `http://127.0.0.1:${ports.edgeDirect}` : null,
      redis: redis?.url ?? null,
    };
  }

  get nodes(): readonly NodeLayout[] {
    return this.current.nodes;
  }

  node(id: string): NodeLayout {
    return nodeOf(this.current, id);
  }

  /** The shard's primary as this tool last set it (after a promotion: the promoted node). */
  primaryOf(shard: string): NodeLayout {
    return primaryOf(this.current, shard);
  }

  replicasOf(shard: string): NodeLayout[] {
    return replicasOf(this.current, shard);
  }

  /** postgres:// URL of a node's `firstclick` database. */
  databaseUrl(id: string): string {
    return this.node(id).pg.url;
  }

  /** Writes layout.json; concurrent callers are serialised so the last state wins. */
  save(): Promise<void> {
    const next = this.saving.then(() => writeLayout(this.current));
    this.saving = next.catch(() => {});
    return next;
  }

  /**
   * Reloads layout.json when another process (a CLI verb in another terminal) changed this
   * cluster since: `down` in `up --serve` must stop a node that `rejoin` restarted elsewhere.
   * A layout written by a newer `up` means this cluster is gone (that `up` stopped it).
   */
  async reload(): Promise<void> {
    await this.saving;
    let disk: Layout | null = null;
    try {
      disk = await readLayout(this.current.stateDir);
    } catch {
      return;
    }
    if (!disk) return;
    if (disk.createdAt !== this.current.createdAt) {
      this.superseded = true;
      return;
    }
    Object.assign(this.current, disk);
  }

  // ---- start-up pieces (used by up) -------------------------------------------------------

  /** @internal Starts origin or edge (spawned at once); resolves once it answers /health. */
  async startApp(kind: "origin" | "edge"): Promise<void> {
    const svc = this.current.apps[kind];
    if (!svc) throw new Error(`${kind} is not part of this cluster`);
    const env = kind === "origin" ? originEnv(this.current, svc) : edgeEnv(this.current, svc);
    const daemon = spawnApp(this.current, kind, svc, env);
    svc.process = daemon.ref;
    await this.save();
    await waitForApp(kind, svc, daemon);
  }

  /** @internal */
  async startGateway(node: NodeLayout): Promise<void> {
    const gateway = node.gateway;
    if (!gateway) return;
    const daemon = spawnApp(this.current, "gateway", gateway, gatewayEnv(node, gateway));
    gateway.process = daemon.ref;
    await this.save();
    await waitForApp("gateway", gateway, daemon);
  }

  /** @internal Starts redis, adding it first when the cluster was started without it. */
  async startRedis(): Promise<void> {
    const port = this.current.ports.redis;
    if (!this.current.redis) {
      await checkPortFree(port, "redis");
      this.current.redis = redisService(port, this.stateDir);
    }
    this.current.binaries.redis ??= (await findBinaries({ redis: true, log: this.log })).redis;
    const redis = this.current.redis;
    const binary = this.current.binaries.redis;
    if (!binary) throw new Error("no redis-server found");
    const dir = join(this.stateDir, "redis");
    await mkdir(dir, { recursive: true });
    const daemon = spawnRedis(binary, redis, dir);
    redis.process = daemon.ref;
    await this.save();
    await waitForRedis(redis, daemon);
  }

  // ---- inspection ---------------------------------------------------------------------------

  /** The topology as etcd holds it, validated with core's schema; version = etcd revision. */
  async topology(): Promise<TopologySnapshot> {
    return this.shards.topology();
  }

  async status(): Promise<ClusterStatus> {
    await this.reload();
    return clusterStatus(this.current, this.shards);
  }

  /** Is the node in recovery (a replica) according to PostgreSQL itself? */
  async inRecovery(id: string): Promise<boolean> {
    await this.reload();
    return isInRecovery(this.runningNode(id));
  }

  // ---- operations ---------------------------------------------------------------------------

  async pauseReplay(id: string): Promise<void> {
    await this.reload();
    await setReplayPaused(this.runningNode(id), true);
  }

  async resumeReplay(id: string): Promise<void> {
    await this.reload();
    await setReplayPaused(this.runningNode(id), false);
  }

  private runningNode(id: string): NodeLayout {
    const node = this.node(id);
    if (!isAlive(node.pg.process)) throw new Error(`PostgreSQL node ${id} is not running`);
    return node;
  }

  /**
   * Hard-kills a PostgreSQL node (SIGKILL to the postmaster and all its backends at once, like
   * a crashed machine). Its gateway keeps running and reports the database as unreachable.
   * Manual mode: the topology is unchanged (`promote` a replica, or `restartNode` it). Patroni
   * mode: its Patroni dies with it, and Patroni fails over.
   */
  async kill(id: string): Promise<void> {
    await this.reload();
    await this.shards.kill(id);
  }

  /** Starts a stopped or killed node again (Patroni mode: a former leader rejoins by pg_rewind). */
  async restartNode(id: string): Promise<void> {
    await this.reload();
    await this.shards.restart(id);
  }

  /** Manual mode: promotes a replica; one etcd transaction for its shard (shards/manual.ts). */
  async promote(id: string): Promise<{ revision: number }> {
    await this.reload();
    return this.shards.promote(id);
  }

  /** Manual mode: pg_rewind a replaced primary back in as a replica of its shard. */
  async rejoin(id: string): Promise<{ revision: number }> {
    await this.reload();
    return this.shards.rejoin(id);
  }

  /** Patroni mode: a planned switchover of `shard` to `candidate` (or the replica Patroni picks). */
  async switchover(shard: string, candidate?: string): Promise<SwitchoverResult> {
    await this.reload();
    return this.shards.switchover(shard, candidate);
  }

  /**
   * One more shard (`s<N>`, R replicas, default the cluster's), started, migrated and recorded,
   * then, unless `reshard: false`, the product's resharding mover adds it to the ring
   * (add-shard.ts). Resolves with the new shard's id.
   */
  async addShard(options: AddShardOptions = {}): Promise<string> {
    await this.reload();
    return addShard(this, options);
  }

  /**
   * Runs the resharding mover with `args` (`status`, `resume`, `abort`, …) and resolves with its
   * exit code and output; each line goes to `onLine` as it comes (default: the log).
   */
  async reshard(
    args: readonly string[],
    onLine: (line: string) => void = (line) => this.log(`mover: ${line}`),
  ): Promise<MoverResult> {
    await this.reload();
    return runMover(this.current, args, { onLine });
  }

  /** Stops etcd (tests need it down for a while); everything else keeps running. */
  async stopEtcd(): Promise<void> {
    await this.reload();
    await stopProcess(this.current.etcd.process, { graceMs: 3_000 });
    this.current.etcd.process = null;
    await this.save();
  }

  /** Starts etcd again on its old data dir: the topology is still there. */
  async startEtcd(): Promise<void> {
    await this.reload();
    await this.startEtcdProcess();
  }

  /** @internal also used by up, which must not reload the layout while it builds it. */
  async startEtcdProcess(): Promise<void> {
    const etcd = this.current.etcd;
    if (isAlive(etcd.process)) return;
    await checkPortFree(etcd.clientPort, "etcd client");
    const daemon = await startEtcd({ ...etcd, binary: this.current.binaries.etcd });
    etcd.process = daemon.ref;
    await this.save();
  }

  /**
   * Restarts origin and edge with new extra env (tests switch strategies this way). Each given
   * field replaces the previous one; omitted fields are kept.
   */
  async restartApps(appEnv: Partial<AppEnv> = {}): Promise<void> {
    await this.reload();
    this.current.appEnv = { ...this.current.appEnv, ...appEnv };
    if (strategyNeedsRedis(this.current.appEnv) && !isAlive(this.current.redis?.process)) {
      await this.startRedis();
    }
    const { origin, edge } = this.current.apps;
    await settleAll([
      stopProcess(origin?.process, { graceMs: 3_000 }),
      stopProcess(edge?.process, { graceMs: 3_000 }),
    ]);
    if (origin) origin.process = null;
    if (edge) edge.process = null;
    await this.save();
    await settleAll([edge ? this.startApp("edge") : null, origin ? this.startApp("origin") : null]);
  }

  /**
   * Stops everything this cluster started, by PID: apps first (TERM, KILL after 3 s), then
   * the databases (see the shard manager), redis and etcd. Data and logs stay in the state dir
   * until the next `up`. Returns once no process is left and every port is free.
   */
  async down(): Promise<void> {
    await this.reload();
    const layout = this.current;
    const stop = async (s: { process: ProcessRef | null } | null) => {
      if (!s) return;
      await stopProcess(s.process, { graceMs: 3_000 });
      s.process = null;
    };
    await settleAll([
      stop(layout.apps.origin),
      stop(layout.apps.edge),
      ...layout.nodes.map((n) => stop(n.gateway)),
    ]);
    const databases = this.shards.stop();
    await settleAll([
      databases,
      stop(layout.redis),
      (async () => {
        // Patroni releases its leader keys as it stops: etcd goes last in that mode.
        if (this.shards.needsEtcdToStop) await databases.catch(() => {});
        await stop(layout.etcd);
      })(),
    ]);
    layout.stoppedAt = new Date().toISOString();
    // A newer `up` owns the state dir (and the ports): leave its layout.json alone.
    if (this.superseded) return;
    if (existsSync(layout.stateDir)) await this.save();
    // A listening socket can outlive its process by a moment while the kernel tears it down.
    await poll(
      async () => {
        await checkPortsFree([...layoutServices(layout), ...this.shards.extraPorts()]);
        return true;
      },
      // 5 s was not enough for a PostgreSQL node at load 10 on 2 cores.
      { timeoutMs: 20_000, what: "the cluster's ports to be free" },
    );
  }
}
