/**
 * How a cluster's shards are run: one interface, two implementations chosen once, by the
 * layout's `ha` mode, when a Cluster is made (up or attach): `ManualShards` (this tool copies,
 * starts, promotes and rejoins nodes and publishes the topology itself) and `PatroniShards`
 * (each shard is a Patroni scope that fails over by itself; the topology is Patroni's keys).
 */
import type { TopologySnapshot } from "@firstclick/core";
import type { Layout, NodeLayout } from "../layout.ts";
import type { PatroniStatus, SwitchoverResult } from "../patroni/settle.ts";
import type { NamedPort } from "../ports.ts";

export interface ShardPatroniStatus extends PatroniStatus {
  shard: string;
}

/** What a shard manager needs from the cluster it runs in. */
export interface ShardHost {
  /** The live layout; the manager records its processes and roles in it. */
  readonly layout: Layout;
  log(line: string): void;
  /** Writes layout.json. */
  save(): Promise<void>;
  /** Starts a node's gateway (when the cluster has gateways) and waits until it answers. */
  startGateway(node: NodeLayout): Promise<void>;
}

export interface ShardManager {
  /** Ports this mode listens on besides the layout's own (for the "port in use" checks). */
  extraPorts(): NamedPort[];
  /** Once, before any shard starts: fills in the layout (the programs are found by `up`). */
  prepare(): Promise<void>;
  /** Starts one shard's databases (migrated, replicas caught up); `etcd` resolves once etcd runs. */
  startShard(shard: string, etcd: Promise<void>): Promise<void>;
  /**
   * Starts a shard added to a running cluster (add-shard.ts: its nodes are already in the
   * layout), migrated like the others. Manual mode also publishes its primary, replicas and
   * history keys, never the ring (the ring changes only when a resharding switches); Patroni
   * mode starts a new scope named like the shard, which writes its own keys.
   */
  addShard(shard: string): Promise<void>;
  /**
   * Undoes a failed `addShard`: stops the shard's databases and deletes their data dirs and the
   * keys this mode wrote for it (the caller removes its nodes from the layout).
   */
  removeShard(shard: string): Promise<void>;
  /** The topology keys of a fresh cluster (the ring, and in the manual mode every shard). */
  writeTopology(): Promise<void>;
  /** The topology as etcd holds it, validated with core's schema; version = etcd revision. */
  topology(): Promise<TopologySnapshot>;
  /** Patroni's view of every shard; null in the manual mode. */
  status(): Promise<ShardPatroniStatus[] | null>;
  /** Hard kill of a node, as a crashed machine. */
  kill(id: string): Promise<void>;
  /** Starts a killed or stopped node again (and its gateway if that died). */
  restart(id: string): Promise<void>;
  promote(id: string): Promise<{ revision: number }>;
  rejoin(id: string): Promise<{ revision: number }>;
  switchover(shard: string, candidate?: string): Promise<SwitchoverResult>;
  /** Stops every database of the cluster. */
  stop(): Promise<void>;
  /** Whether `stop` needs etcd running until it is done (Patroni releases its leader keys). */
  readonly needsEtcdToStop: boolean;
}
