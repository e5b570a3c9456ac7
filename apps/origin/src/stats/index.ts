import type { Topology, TopologyNode } from "@firstclick/core";
import type { TopologyState } from "../topology/state.ts";
import { NodePools, type NodePoolsOptions } from "./node-pools.ts";
import { RollupWriter } from "./rollup-writer.ts";
import type { StatsDeps } from "./routes.ts";
import { StatsReader } from "./stats-reader.ts";

export { registerDashboardAssets } from "./dashboard.ts";
export { registerStatsRoutes, type StatsDeps } from "./routes.ts";

/** Every node of a topology (primaries and replicas): the pools worth keeping open. */
export function topologyNodes(topology: Topology): TopologyNode[] {
  return Object.values(topology.snapshot.shards).flatMap((s) => [
    ...(s.primary ? [s.primary] : []),
    ...s.replicas,
  ]);
}

/**
 * The stats module's dependencies for the origin's entry point: pools that follow the topology
 * (a node that leaves it, or moves, has its pool closed), the writer and the reader.
 */
export function createStatsDeps(
  options: NodePoolsOptions & { internalSecret: string | null; topology: TopologyState },
): { deps: StatsDeps; close: () => Promise<void> } {
  const pools = new NodePools(options);
  const stop = options.topology.onChange((next) => pools.retainOnly(topologyNodes(next)));
  return {
    deps: {
      writer: new RollupWriter({ pools }),
      reader: new StatsReader(pools),
      internalSecret: options.internalSecret,
    },
    close: async () => {
      stop();
      await pools.close();
    },
  };
}
