/**
 * The topology this cluster publishes in etcd (manual mode), derived from the layout's roles.
 * The key names and JSON shapes are the contract in docs/architecture.md ("Topology in etcd").
 */
import { z } from "zod";
import type { EtcdEntry } from "./etcd.ts";
import type { Layout, NodeLayout } from "./layout.ts";

export const DEFAULT_VNODES = 160;

export interface TopologyNodeValue {
  id: string;
  gatewayUrl: string;
  pg: { host: string; port: number };
}

export interface ShardTopology {
  primary: TopologyNodeValue;
  replicas: TopologyNodeValue[];
}

export interface TopologyValue {
  ring: { shards: string[]; vnodes: number };
  shards: Record<string, ShardTopology>;
}

export const etcdKeys = {
  ring: (prefix: string) => `${prefix}ring`,
  primary: (prefix: string, shard: string) => `${prefix}shards/${shard}/primary`,
  replicas: (prefix: string, shard: string) => `${prefix}shards/${shard}/replicas`,
};

export function topologyNode(node: NodeLayout): TopologyNodeValue {
  return {
    id: node.id,
    // Without a gateway (apps disabled) the URL is still where it would listen.
    gatewayUrl: node.gateway?.url ?? "",
    pg: { host: node.pg.host, port: node.pg.port },
  };
}

export function shardIds(layout: Pick<Layout, "shards">): string[] {
  return Array.from({ length: layout.shards }, (_, i) => `s${i}`);
}

/** One shard as the layout's roles describe it (detached nodes are in no list). */
export function shardTopology(layout: Layout, shard: string): ShardTopology {
  const nodes = layout.nodes.filter((n) => n.shard === shard);
  const primary = nodes.find((n) => n.role === "primary");
  if (!primary) throw new Error(`shard ${shard} has no primary in the layout`);
  return {
    primary: topologyNode(primary),
    replicas: nodes.filter((n) => n.role === "replica").map(topologyNode),
  };
}

export function topologyOf(layout: Layout): TopologyValue {
  const shards = shardIds(layout);
  return {
    ring: { shards, vnodes: layout.vnodes },
    shards: Object.fromEntries(shards.map((s) => [s, shardTopology(layout, s)])),
  };
}

/** The etcd key → JSON value pairs for a whole topology. */
export function etcdValues(topology: TopologyValue, prefix: string): Record<string, string> {
  const values: Record<string, string> = {
    [etcdKeys.ring(prefix)]: JSON.stringify(topology.ring),
  };
  for (const [shard, t] of Object.entries(topology.shards)) {
    values[etcdKeys.primary(prefix, shard)] = JSON.stringify(t.primary);
    values[etcdKeys.replicas(prefix, shard)] = JSON.stringify(t.replicas);
  }
  return values;
}

// TODO(core): replace with @firstclick/core's NodeSchema / TopologySnapshotSchema /
// snapshotFromEtcd once packages/core exports them.
const NodeSchema = z.strictObject({
  id: z.string().min(1),
  gatewayUrl: z.string(),
  pg: z.strictObject({ host: z.string(), port: z.number().int() }),
});

const TopologySnapshotSchema = z.strictObject({
  version: z.number().int(),
  ring: z.strictObject({ shards: z.array(z.string()).min(1), vnodes: z.number().int().positive() }),
  shards: z.record(
    z.string(),
    z.strictObject({ primary: NodeSchema, replicas: z.array(NodeSchema) }),
  ),
});

export type TopologySnapshot = z.infer<typeof TopologySnapshotSchema>;

/** Parses and validates what etcd holds under the prefix; throws a clear error when it is wrong. */
export function readTopology(
  entries: ReadonlyMap<string, EtcdEntry>,
  revision: number,
  prefix: string,
): TopologySnapshot {
  const json = (key: string): unknown => {
    const entry = entries.get(key);
    if (!entry) throw new Error(`etcd has no ${key}`);
    return JSON.parse(entry.value);
  };
  const ring = z
    .object({ shards: z.array(z.string()), vnodes: z.number() })
    .parse(json(etcdKeys.ring(prefix)));
  const shards = Object.fromEntries(
    ring.shards.map((shard) => [
      shard,
      {
        primary: json(etcdKeys.primary(prefix, shard)),
        replicas: json(etcdKeys.replicas(prefix, shard)),
      },
    ]),
  );
  return TopologySnapshotSchema.parse({ version: revision, ring, shards });
}
