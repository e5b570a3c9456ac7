/**
 * The topology this cluster publishes in etcd (manual mode), derived from the layout's roles.
 * Keys, JSON shapes and validation are core's (docs/architecture.md, "Topology in etcd").
 */
import {
  etcdValuesFor,
  type TopologyNode,
  type TopologyShard,
  type TopologySnapshot,
} from "@firstclick/core";
import type { Layout, NodeLayout } from "./layout.ts";

export { DEFAULT_VNODES } from "@firstclick/core";
export type { TopologySnapshot };
export function topologyNode(node: NodeLayout): TopologyNode {
  return {
    id: node.id,
    gatewayUrl: node.gatewayUrl,
    pg: { host: node.pg.host, port: node.pg.port },
  };
}

export function shardIds(layout: Pick<Layout, "shards">): string[] {
  return Array.from({ length: layout.shards }, (_, i) => `s${i}`);
}

/** One shard as the layout's roles describe it (detached nodes are in no list). */
export function shardTopology(layout: Layout, shard: string): TopologyShard {
  const nodes = layout.nodes.filter((n) => n.shard === shard);
  const primary = nodes.find((n) => n.role === "primary");
  return {
    primary: primary ? topologyNode(primary) : null,
    replicas: nodes.filter((n) => n.role === "replica").map(topologyNode),
  };
}

/** The etcd key → JSON value pairs of the whole topology (validated by core). */
export function topologyValues(layout: Layout): Record<string, string> {
  const shards = shardIds(layout);
  return etcdValuesFor(
    {
      ring: { shards, vnodes: layout.vnodes },
      shards: Object.fromEntries(shards.map((s) => [s, shardTopology(layout, s)])),
    },
    layout.etcdPrefix,
  );
}
