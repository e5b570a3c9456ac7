/**
 * @firstclick/cluster: the local system (etcd, PostgreSQL shards with streaming replicas, redis,
 * gateways, origin, edge) for `npm run dev`, tests and benchmarks. Node only.
 */
export {
  attach,
  Cluster,
  type ClusterStatus,
  type ClusterUrls,
  defaultStateDir,
  type NodeStatus,
  repoRoot,
  type ServiceStatus,
  type UpOptions,
  up,
} from "./cluster.ts";
export { type EtcdEntry, readPrefix } from "./etcd.ts";
export {
  HA_ENV,
  type HaMode,
  type PatroniUpOptions,
  patroniNamespace,
  restApiPort,
  type ShardPatroniStatus,
} from "./ha.ts";
export type { AppEnv, Layout, NodeLayout, ServiceLayout } from "./layout.ts";
export type { SwitchoverResult } from "./patroni/index.ts";
export { MAX_NODES, type PortLayout, portLayout } from "./ports.ts";
export { type Durability, PG_DATABASE, PG_USER, withSql } from "./postgres.ts";
export { isAlive, type ProcessRef, poll } from "./processes.ts";
export type { TopologySnapshot } from "./topology.ts";
