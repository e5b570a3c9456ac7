/** `status`: what every process of a cluster is doing, asked from the processes themselves. */
import type { Layout, NodeLayout, ServiceLayout } from "./layout.ts";
import { errorMessage } from "./poll.ts";
import { nodeHealth, unreachableHealth } from "./postgres/health.ts";
import { isAlive } from "./processes.ts";
import type { ShardManager } from "./shards/manager.ts";
import type { TopologySnapshot } from "./topology.ts";

export type ServiceStatus = ReturnType<typeof serviceStatus>;
export type NodeStatus = Awaited<ReturnType<typeof nodeStatus>>;
export type ClusterStatus = Awaited<ReturnType<typeof clusterStatus>>;

function serviceStatus(s: Pick<ServiceLayout, "url" | "process">) {
  return { url: s.url, pid: s.process?.pid ?? null, alive: isAlive(s.process) };
}

async function nodeStatus(node: NodeLayout) {
  const alive = isAlive(node.pg.process);
  return {
    id: node.id,
    shard: node.shard,
    /** Role in the layout/topology; `health` is what PostgreSQL itself says. */
    role: node.role,
    pgPort: node.pg.port,
    pid: node.pg.process?.pid ?? null,
    alive,
    health: alive ? await nodeHealth(node) : unreachableHealth("not running"),
    gateway: node.gateway ? serviceStatus(node.gateway) : null,
  };
}

export async function clusterStatus(layout: Layout, shards: ShardManager) {
  const etcd = serviceStatus(layout.etcd);
  let topology: TopologySnapshot | null = null;
  let topologyError: string | null = etcd.alive ? null : "etcd is not running";
  if (etcd.alive) {
    try {
      topology = await shards.topology();
    } catch (error) {
      topologyError = errorMessage(error);
    }
  }
  // Patroni's view first: it also refreshes the layout's roles.
  const patroni = etcd.alive ? await shards.status() : null;
  return {
    stateDir: layout.stateDir,
    stoppedAt: layout.stoppedAt,
    etcd,
    topology,
    topologyError,
    nodes: await Promise.all(layout.nodes.map(nodeStatus)),
    origin: layout.apps.origin ? serviceStatus(layout.apps.origin) : null,
    edge: layout.apps.edge ? serviceStatus(layout.apps.edge) : null,
    redis: layout.redis ? serviceStatus(layout.redis) : null,
    /** Patroni mode: Patroni's view of each shard; null in the manual mode. */
    patroni,
  };
}
