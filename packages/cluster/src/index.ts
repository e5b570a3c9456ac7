/**
 * @firstclick/cluster: the local system (etcd, PostgreSQL shards with streaming replicas, redis,
 * gateways, origin, edge) for `npm run dev`, tests and benchmarks. Node only.
 */
export {
  type AddShardOptions,
  attach,
  Cluster,
  type ClusterStatus,
  type ClusterUrls,
  defaultStateDir,
  type MoverResult,
  type NodeStatus,
  repoRoot,
  type ServiceStatus,
} from "./cluster.ts";
export { type EtcdEntry, readPrefix } from "./etcd.ts";
export type { AppEnv, Layout, NodeLayout, ServiceLayout } from "./layout.ts";
export type { SwitchoverResult } from "./patroni/settle.ts";
export { poll } from "./poll.ts";
export { MAX_NODES, type PortLayout, portLayout } from "./ports.ts";
export { type Durability, PG_DATABASE, PG_USER, withSql } from "./postgres/sql.ts";
export { isAlive, type ProcessRef } from "./processes.ts";
export type { ShardPatroniStatus } from "./shards/manager.ts";
export {
  HA_ENV,
  type HaMode,
  type PatroniUpOptions,
  patroniNamespace,
  restApiPort,
} from "./shards/patroni.ts";
export type { TopologySnapshot } from "./topology.ts";
export { type UpOptions, up } from "./up.ts";
