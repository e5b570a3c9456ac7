/**
 * Patroni mode (`up --ha patroni`): each shard is one Patroni scope under
 * `<etcdPrefix>patroni/<shard>/`, its PostgreSQL nodes bootstrapped and managed by Patroni (the
 * patroni module), so a dead primary is replaced without anyone acting. The cluster keeps its
 * own ring key (`<etcdPrefix>ring`), the gateways run as in the manual mode (one per node, on
 * the node's PostgreSQL port, their URL in the member's Patroni tags), and the origin builds the
 * topology from Patroni's keys (TOPOLOGY_SOURCE=patroni).
 *
 * The Cluster class calls into this file from its verbs when `layout.ha === "patroni"`.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  DEFAULT_PATRONI_NAMESPACE,
  etcdKey,
  snapshotFromEtcd,
  snapshotFromPatroni,
  type TopologySnapshot,
} from "@firstclick/core";
import { migratePrimary } from "@firstclick/db/migrate";
import type { Cluster } from "./cluster.ts";
import { withEtcd } from "./etcd.ts";
import type { PatroniLayout } from "./ha-layout.ts";
import type { Layout, NodeLayout } from "./layout.ts";
import {
  checkTimings,
  DEFAULT_PATRONI_TIMINGS,
  installPatroni,
  killMember,
  loadPatroniShard,
  PATRONI_STATE_FILE,
  type PatroniShard,
  type PatroniStatus,
  type PatroniTimings,
  patroniStatus,
  readEtcdPrefix,
  restartMember,
  type SwitchoverResult,
  startPatroniShard,
  stopPatroniShard,
  switchover,
  waitForPatroniShard,
} from "./patroni/index.ts";
import { isAlive, type ProcessRef } from "./processes.ts";

export type { HaMode } from "./ha-layout.ts";

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

/**
 * Port of node k's Patroni REST API. Dev layout: 8900+k (beside the gateways' 8800+k); with a
 * base port B: B+70+k (after the gateways' B+40…B+69).
 */
export function restApiPort(basePort: number | null, k: number): number {
  return basePort === null ? 8900 + k : basePort + 70 + k;
}

/** Throws when a base port leaves no room for the REST API ports. */
export function checkPatroniPorts(basePort: number | null, nodes: number): void {
  const last = restApiPort(basePort, nodes - 1);
  if (last > 65_535) {
    throw new Error(
      `base port ${basePort} leaves no room for the Patroni REST ports (up to ${last})`,
    );
  }
}

/** The extra ports Patroni mode listens on, for the "port in use" checks. */
export function patroniPorts(layout: Layout): { port: number; what: string }[] {
  if (layout.ha !== "patroni") return [];
  return layout.nodes.map((n) => ({
    port: restApiPort(layout.basePort, n.index),
    what: `Patroni REST API ${n.id}`,
  }));
}

/** Installs Patroni when missing (once, before the shards start in parallel). */
export async function preparePatroni(
  layout: Pick<Layout, "etcdPrefix" | "durability">,
  options: { timings?: PatroniUpOptions; install?: boolean; log: (line: string) => void },
): Promise<PatroniLayout> {
  const timings: PatroniTimings = { ...DEFAULT_PATRONI_TIMINGS, ...options.timings };
  checkTimings(timings);
  const binaries = await installPatroni({ install: options.install, log: options.log });
  return {
    namespace: patroniNamespace(layout.etcdPrefix),
    timings,
    synchronousMode: layout.durability === "remote_apply",
    binaries,
    shards: {},
  };
}

function patroniOf(layout: Layout): PatroniLayout {
  if (layout.ha !== "patroni" || !layout.patroni) {
    throw new Error("this cluster does not run in Patroni mode");
  }
  return layout.patroni;
}

function handleOf(layout: Layout, shard: string): PatroniShard {
  const handle = patroniOf(layout).shards[shard];
  if (!handle)
    throw new Error(
      `shard ${shard} has no Patroni scope (known: ${Object.keys(patroniOf(layout).shards).join(", ")})`,
    );
  return handle;
}

/** A node's PostgreSQL data dir in Patroni mode (the scope's state dir is `pg/<shard>/`). */
export function patroniDataDir(stateDir: string, shard: string, id: string): string {
  return join(stateDir, "pg", shard, id, "data");
}

function asGroupRef(ref: { pid: number; startTicks: string | null } | null): ProcessRef | null {
  // Patroni leads its own process group: `serve` and the crash clean-up signal the group.
  return ref ? { pid: ref.pid, startTicks: ref.startTicks, group: true } : null;
}

/** Mirrors each member's Patroni process and Patroni's roles into the layout's nodes. */
function syncNodes(layout: Layout, shard: PatroniShard, status?: PatroniStatus): void {
  for (const member of shard.members) {
    const node = layout.nodes.find((n) => n.id === member.name);
    if (!node) continue;
    node.pg.process = asGroupRef(member.patroni);
    const view = status?.members.find((m) => m.name === member.name);
    if (!view) continue;
    if (view.role === "leader") node.role = "primary";
    else if (view.role === "replica" || view.role === "sync_standby") node.role = "replica";
  }
}

/**
 * Starts one shard as a Patroni scope (etcd must be up): bootstrap on the first node, base
 * backups on the others, then the migrations on the leader (replicas get them by streaming).
 */
export async function startPatroniShardFor(
  cluster: Cluster,
  shard: string,
  log: (line: string) => void,
): Promise<void> {
  const layout = cluster.layout;
  const patroni = patroniOf(layout);
  const nodes = layout.nodes.filter((n) => n.shard === shard);
  const started = Date.now();
  const handle = await startPatroniShard({
    scope: shard,
    namespace: patroni.namespace,
    etcdUrl: layout.etcd.url,
    stateDir: join(layout.stateDir, "pg", shard),
    pgBinDir: layout.binaries.pgBinDir,
    nodes: nodes.map((n) => ({
      name: n.id,
      pgPort: n.pg.port,
      restApiPort: restApiPort(layout.basePort, n.index),
      gatewayUrl: n.gatewayUrl,
    })),
    ...patroni.timings,
    synchronousMode: patroni.synchronousMode,
    binaries: patroni.binaries,
    log: (line) => log(`  ${shard}: ${line}`),
  });
  patroni.shards[shard] = handle;
  const settled = await waitForPatroniShard(handle, { timeoutMs: 60_000 });
  const leader = nodes.find((n) => n.id === settled.leader);
  if (!leader) throw new Error(`shard ${shard}: Patroni elected unknown member ${settled.leader}`);
  await migratePrimary(leader.pg.url);
  log(
    `  ${shard}: Patroni scope up (leader ${leader.id}) and migrated in ${Date.now() - started} ms`,
  );
  syncNodes(layout, handle, await patroniStatus(handle));
  await cluster.save();
}

/**
 * The ring key, and nothing of the manual mode's `shards/*` keys: in this mode a shard's nodes
 * are Patroni's keys, under the namespace, which must not be touched (no prefix delete).
 */
export async function writePatroniRing(layout: Layout): Promise<void> {
  const prefix = layout.etcdPrefix.endsWith("/") ? layout.etcdPrefix : `${layout.etcdPrefix}/`;
  const ring = JSON.stringify({ shards: shardIdsOf(layout), vnodes: layout.vnodes });
  await withEtcd(layout, async (client) => {
    await client.delete().prefix(`${prefix}shards/`).exec();
    await client.put(etcdKey.ring(prefix)).value(ring).exec();
  });
}

function shardIdsOf(layout: Pick<Layout, "shards">): string[] {
  return Array.from({ length: layout.shards }, (_, i) => `s${i}`);
}

/** The topology the origin builds in this mode: ring key + Patroni's keys, read at one revision. */
export async function patroniTopology(layout: Layout): Promise<TopologySnapshot> {
  const { revision, kvs } = await readEtcdPrefix(layout.etcd.url, layout.etcdPrefix);
  // The ring key is validated by core's manual-mode reader (no shards/* keys: all empty).
  const { ring } = snapshotFromEtcd(kvs, revision, layout.etcdPrefix);
  return snapshotFromPatroni(kvs, revision, {
    namespace: patroniOf(layout).namespace,
    scopes: Object.fromEntries(ring.shards.map((s) => [s, s])),
    vnodes: ring.vnodes,
  });
}

function nodeOf(layout: Layout, id: string): NodeLayout {
  const node = layout.nodes.find((n) => n.id === id);
  if (!node) {
    throw new Error(
      `no node ${id} in this cluster (nodes: ${layout.nodes.map((n) => n.id).join(", ")})`,
    );
  }
  return node;
}

/** Hard kill of a member: SIGKILL to its Patroni and its PostgreSQL (postmaster + backends). */
export async function patroniKill(cluster: Cluster, id: string): Promise<void> {
  const node = nodeOf(cluster.layout, id);
  const handle = handleOf(cluster.layout, node.shard);
  await killMember(handle, id);
  syncNodes(cluster.layout, handle);
  await cluster.save();
}

/**
 * Starts a killed/stopped member again on its data dir: Patroni rewinds a former leader
 * (pg_rewind) and it follows the current leader. Waits until it streams; restarts its gateway
 * if that died.
 */
export async function patroniRestart(cluster: Cluster, id: string): Promise<void> {
  const node = nodeOf(cluster.layout, id);
  const handle = handleOf(cluster.layout, node.shard);
  const member = handle.members.find((m) => m.name === id);
  if (member && !isAlive(asGroupRef(member.patroni))) {
    await restartMember(handle, id, { timeoutMs: 120_000 });
  }
  syncNodes(cluster.layout, handle, await patroniStatus(handle));
  await cluster.save();
  if (node.gateway && !isAlive(node.gateway.process)) await cluster.startGateway(node);
}

/** Planned switchover by Patroni (to `candidate`, or the replica Patroni picks). */
export async function patroniSwitchover(
  cluster: Cluster,
  shard: string,
  candidate?: string,
): Promise<SwitchoverResult> {
  const handle = handleOf(cluster.layout, shard);
  const result = await switchover(handle, candidate, { timeoutMs: 60_000 });
  syncNodes(cluster.layout, handle, await patroniStatus(handle));
  await cluster.save();
  return result;
}

export interface ShardPatroniStatus extends PatroniStatus {
  shard: string;
}

/** Patroni's view of every shard (leader, members, lag, timeline); refreshes the layout's roles. */
export async function patroniStatuses(layout: Layout): Promise<ShardPatroniStatus[]> {
  const patroni = patroniOf(layout);
  const shards = Object.entries(patroni.shards).sort(([a], [b]) =>
    a.localeCompare(b, "en", { numeric: true }),
  );
  return Promise.all(
    shards.map(async ([shard, handle]) => {
      const status = await patroniStatus(handle);
      syncNodes(layout, handle, status);
      return { shard, ...status };
    }),
  );
}

/**
 * Stops every Patroni member (replicas before leaders; Patroni stops its PostgreSQL and
 * releases its lock, so etcd must still be up). No process and no port is left.
 */
export async function stopPatroni(layout: Layout): Promise<void> {
  const patroni = layout.patroni;
  if (!patroni) return;
  const results = await Promise.allSettled(
    shardIdsOf(layout).map(async (shard) => {
      // The scope's own state file is written as soon as a member is spawned, before `up`
      // records the scope in layout.json: after a crash mid-bootstrap only the file knows it.
      const file = join(layout.stateDir, "pg", shard);
      const handle = existsSync(join(file, PATRONI_STATE_FILE))
        ? await loadPatroniShard(file)
        : patroni.shards[shard];
      if (!handle) return;
      await stopPatroniShard(handle, { graceMs: 15_000 });
      patroni.shards[shard] = handle;
      syncNodes(layout, handle);
    }),
  );
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * A crashed `up` may have started Patroni members before recording them in layout.json: each
 * scope's own state file (`pg/<shard>/patroni-shard.json`) names them. Stops them by PID.
 */
export async function stopPatroniLeftovers(
  stateDir: string,
  log: (line: string) => void,
): Promise<void> {
  const pgDir = join(stateDir, "pg");
  if (!existsSync(pgDir)) return;
  for (const name of readdirSync(pgDir)) {
    const dir = join(pgDir, name);
    if (!existsSync(join(dir, PATRONI_STATE_FILE))) continue;
    try {
      const handle = await loadPatroniShard(dir);
      if (handle.members.some((m) => isAlive(asGroupRef(m.patroni)))) {
        log(`stopping leftover Patroni members of scope ${handle.scope}`);
      }
      await stopPatroniShard(handle, { graceMs: 5_000 });
    } catch (error) {
      log(
        `leftover Patroni scope in ${dir}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
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
