/**
 * Patroni mode (`up --ha patroni`): each shard is one Patroni scope under
 * `<etcdPrefix>patroni/<shard>/`, its PostgreSQL nodes bootstrapped and managed by Patroni (the
 * patroni module), so a dead primary is replaced without anyone acting. The cluster keeps its
 * own ring key (`<etcdPrefix>ring`), the gateways run as in the manual mode (one per node, on
 * the node's PostgreSQL port, their URL in the member's Patroni tags), and the origin builds the
 * topology from Patroni's keys (TOPOLOGY_SOURCE=patroni).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import {
  DEFAULT_PATRONI_NAMESPACE,
  etcdKey,
  patroniScopePrefix,
  snapshotFromPatroniKeys,
  type TopologySnapshot,
} from "@firstclick/core";
import { migratePrimary } from "@firstclick/db/migrate";
import { deletePrefix, readValues, withEtcd } from "../etcd.ts";
import { type Layout, type NodeLayout, nodeOf } from "../layout.ts";
import { checkTimings, DEFAULT_PATRONI_TIMINGS, type PatroniTimings } from "../patroni/config.ts";
import type { PatroniLayout, PatroniShard } from "../patroni/schema.ts";
import {
  type PatroniStatus,
  patroniStatus,
  type SwitchoverResult,
  switchover,
  waitForPatroniShard,
} from "../patroni/settle.ts";
import {
  killMember,
  restartMember,
  startPatroniShard,
  stopPatroniShard,
} from "../patroni/shard.ts";
import { settleAll } from "../poll.ts";
import { type NamedPort, portLayout } from "../ports.ts";
import { isAlive, type ProcessRef } from "../processes.ts";
import { shardIds } from "../topology.ts";
import type { ShardHost, ShardManager, ShardPatroniStatus } from "./manager.ts";

export type { HaMode } from "../patroni/schema.ts";

/** Patroni's settings for `up --ha patroni` (defaults: the patroni module's measured ones). */
export type PatroniUpOptions = Partial<PatroniTimings>;

/** The env var the CLI reads for the default of `--ha` (so `npm run dev` can use Patroni). */
export const HA_ENV = "FIRSTCLICK_HA";

/** Patroni's namespace under the cluster's etcd prefix: `/firstclick/` → `/firstclick/patroni/`. */
export function patroniNamespace(etcdPrefix: string): string {
  const prefix = etcdPrefix.endsWith("/") ? etcdPrefix : `${etcdPrefix}/`;
  // The default prefix gives core's default namespace; spelled out so they cannot drift apart.
  return prefix === "/firstclick/" ? DEFAULT_PATRONI_NAMESPACE : `${prefix}patroni/`;
}

/** Port of node k's Patroni REST API (ports.ts: 8900+k, or B+70+k with a base port B). */
export function restApiPort(basePort: number | null, k: number): number {
  return portLayout(basePort ?? undefined).patroniApi(k);
}

function asGroupRef(ref: { pid: number; startTicks: string | null } | null): ProcessRef | null {
  // Patroni leads its own process group: `serve` and the crash clean-up signal the group.
  return ref ? { pid: ref.pid, startTicks: ref.startTicks, group: true } : null;
}

export class PatroniShards implements ShardManager {
  readonly needsEtcdToStop = true;

  constructor(
    private readonly host: ShardHost,
    private readonly timings: Partial<PatroniTimings> = {},
  ) {}

  private get layout(): Layout {
    return this.host.layout;
  }

  private get patroni(): PatroniLayout {
    if (!this.layout.patroni) throw new Error("this cluster's Patroni mode was never prepared");
    return this.layout.patroni;
  }

  private handleOf(shard: string): PatroniShard {
    const handle = this.patroni.shards[shard];
    if (!handle) {
      const known = Object.keys(this.patroni.shards).join(", ");
      throw new Error(`shard ${shard} has no Patroni scope (known: ${known})`);
    }
    return handle;
  }

  extraPorts(): NamedPort[] {
    return this.layout.nodes.map((n) => ({
      port: restApiPort(this.layout.basePort, n.index),
      what: `Patroni REST API ${n.id}`,
    }));
  }

  async prepare(): Promise<void> {
    const timings: PatroniTimings = { ...DEFAULT_PATRONI_TIMINGS, ...this.timings };
    checkTimings(timings);
    this.layout.patroni = {
      namespace: patroniNamespace(this.layout.etcdPrefix),
      timings,
      synchronousMode: this.layout.durability === "remote_apply",
      shards: {},
    };
    for (const node of this.layout.nodes) this.placeDataDir(node);
  }

  /** The scope's state dir is `pg/<shard>/`, a member's data dir `pg/<shard>/<id>/data`. */
  private placeDataDir(node: NodeLayout): void {
    node.pg.dataDir = join(this.layout.stateDir, "pg", node.shard, node.id, "data");
  }

  /** A shard added to a running cluster: a new scope named like the shard, bootstrapped + migrated. */
  async addShard(shard: string): Promise<void> {
    for (const node of this.layout.nodes) if (node.shard === shard) this.placeDataDir(node);
    await this.startShard(shard, Promise.resolve());
  }

  /** Stops the shard's scope (if it started), deletes its state dir and its keys in etcd. */
  async removeShard(shard: string): Promise<void> {
    const handle = this.patroni.shards[shard];
    if (handle) await stopPatroniShard(handle, { graceMs: 15_000 });
    delete this.patroni.shards[shard];
    for (const node of this.layout.nodes) if (node.shard === shard) node.pg.process = null;
    await rm(join(this.layout.stateDir, "pg", shard), { recursive: true, force: true });
    await deletePrefix(this.layout, patroniScopePrefix(this.patroni.namespace, shard));
  }

  /** Mirrors each member's Patroni process and Patroni's roles into the layout's nodes. */
  private sync(shard: PatroniShard, status?: PatroniStatus): void {
    for (const member of shard.members) {
      const node = this.layout.nodes.find((n) => n.id === member.name);
      if (!node) continue;
      node.pg.process = asGroupRef(member.patroni);
      const view = status?.members.find((m) => m.name === member.name);
      if (view?.role === "leader") node.role = "primary";
      else if (view?.role === "replica" || view?.role === "sync_standby") node.role = "replica";
    }
  }

  private async syncAndSave(handle: PatroniShard, withStatus = true): Promise<void> {
    this.sync(handle, withStatus ? await patroniStatus(handle) : undefined);
    await this.host.save();
  }

  /** Into layout.json as soon as a member is spawned: `up`'s clean-up of a crash finds it there. */
  private async record(shard: string, handle: PatroniShard): Promise<void> {
    this.patroni.shards[shard] = handle;
    await this.syncAndSave(handle, false);
  }

  /**
   * Starts one shard as a Patroni scope once etcd runs (Patroni keeps its state there from the
   * first moment): bootstrap on the first node, base backups on the others, then the migrations
   * on the leader (replicas get them by streaming).
   */
  async startShard(shard: string, etcd: Promise<void>): Promise<void> {
    await etcd;
    const nodes = this.layout.nodes.filter((n) => n.shard === shard);
    const log = (line: string) => this.host.log(`  ${shard}: ${line}`);
    const started = Date.now();
    const handle = await startPatroniShard({
      scope: shard,
      namespace: this.patroni.namespace,
      etcdUrl: this.layout.etcd.url,
      stateDir: join(this.layout.stateDir, "pg", shard),
      pgBinDir: this.layout.binaries.pgBinDir,
      nodes: nodes.map((n) => ({
        name: n.id,
        pgPort: n.pg.port,
        restApiPort: restApiPort(this.layout.basePort, n.index),
        gatewayUrl: n.gatewayUrl,
      })),
      ...this.patroni.timings,
      synchronousMode: this.patroni.synchronousMode,
      patroniBin: this.layout.binaries.patroni ?? undefined,
      record: (h) => this.record(shard, h),
      log,
    });
    const settled = await waitForPatroniShard(handle, { timeoutMs: 60_000 });
    const leader = nodeOf(this.layout, settled.leader);
    await migratePrimary(leader.pg.url);
    log(`Patroni scope up (leader ${leader.id}) and migrated in ${Date.now() - started} ms`);
    await this.syncAndSave(handle);
  }

  /**
   * The ring key, and nothing of the manual mode's `shards/*` keys: in this mode a shard's nodes
   * are Patroni's keys, under the namespace, which must not be touched (no prefix delete).
   */
  async writeTopology(): Promise<void> {
    const prefix = this.layout.etcdPrefix.endsWith("/")
      ? this.layout.etcdPrefix
      : `${this.layout.etcdPrefix}/`;
    const ring = JSON.stringify({ shards: shardIds(this.layout), vnodes: this.layout.vnodes });
    await deletePrefix(this.layout, `${prefix}shards/`);
    await withEtcd(this.layout, (client) => client.put(etcdKey.ring(prefix)).value(ring).exec());
  }

  /** The topology the origin builds in this mode: ring key + Patroni's keys, read at one revision. */
  async topology(): Promise<TopologySnapshot> {
    const { revision, kvs } = await readValues(this.layout, this.layout.etcdPrefix);
    return snapshotFromPatroniKeys(kvs, revision, {
      prefix: this.layout.etcdPrefix,
      namespace: this.patroni.namespace,
    });
  }

  /** Patroni's view of every shard (leader, members, lag, timeline); refreshes the roles. */
  async status(): Promise<ShardPatroniStatus[]> {
    const shards = Object.entries(this.patroni.shards).sort(([a], [b]) =>
      a.localeCompare(b, "en", { numeric: true }),
    );
    return Promise.all(
      shards.map(async ([shard, handle]) => {
        const status = await patroniStatus(handle);
        this.sync(handle, status);
        return { shard, ...status };
      }),
    );
  }

  /** Hard kill: its Patroni dies with it (a crashed machine), and Patroni fails over. */
  async kill(id: string): Promise<void> {
    const handle = this.handleOf(nodeOf(this.layout, id).shard);
    await killMember(handle, id);
    await this.syncAndSave(handle, false);
  }

  /**
   * Starts a killed/stopped member again on its data dir: Patroni rewinds a former leader
   * (pg_rewind) and it follows the current leader. Waits until it streams; restarts its gateway
   * if that died.
   */
  async restart(id: string): Promise<void> {
    const node = nodeOf(this.layout, id);
    const handle = this.handleOf(node.shard);
    const member = handle.members.find((m) => m.name === id);
    if (member && !isAlive(asGroupRef(member.patroni))) {
      await restartMember(handle, id, {
        timeoutMs: 120_000,
        record: (h) => this.syncAndSave(h, false),
      });
    }
    await this.syncAndSave(handle);
    if (node.gateway && !isAlive(node.gateway.process)) await this.host.startGateway(node);
  }

  async promote(): Promise<{ revision: number }> {
    throw new Error(
      "promote is for the manual mode; Patroni manages this cluster: use switchover <shard> [candidate]",
    );
  }

  async rejoin(): Promise<{ revision: number }> {
    throw new Error(
      "rejoin is for the manual mode; Patroni manages this cluster: use restart-node: Patroni rewinds it",
    );
  }

  /** Planned switchover by Patroni; resolves once the old leader streams from the new one. */
  async switchover(shard: string, candidate?: string): Promise<SwitchoverResult> {
    const handle = this.handleOf(shard);
    const result = await switchover(handle, candidate, { timeoutMs: 60_000 });
    await this.syncAndSave(handle);
    return result;
  }

  /**
   * Stops every Patroni member (replicas before leaders; Patroni stops its PostgreSQL and
   * releases its lock, so etcd must still be up). No process and no port is left.
   */
  async stop(): Promise<void> {
    await settleAll(
      Object.values(this.layout.patroni?.shards ?? {}).map(async (handle) => {
        await stopPatroniShard(handle, { graceMs: 15_000 });
        this.sync(handle);
      }),
    );
  }
}

/** Human-readable Patroni view for `status`. */
export function formatPatroniStatus(statuses: readonly ShardPatroniStatus[]): string[] {
  const lines = ["Patroni (leader, members, lag, timeline)"];
  for (const s of statuses) {
    lines.push(
      `  ${s.shard} (scope ${s.scope}): leader ${s.leader ?? "(none)"}${s.reachable ? "" : "  [no REST API answered]"}`,
    );
    for (const m of s.members) {
      const lag = m.lagBytes === null ? "-" : `${m.lagBytes} B`;
      lines.push(
        `    ${m.name.padEnd(7)} ${m.role.padEnd(12)} ${m.state.padEnd(16)} tl ${String(m.timeline ?? "-").padEnd(3)} lag ${lag.padEnd(10)} pg ${m.pgPort}  api ${m.apiUrl}  patroni pid ${m.pid ?? "-"}`,
      );
    }
  }
  return lines;
}
