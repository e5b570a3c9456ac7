/**
 * What the PgLinkStore integration tests share: a real cluster (packages/cluster, no apps) with a
 * store on it, the shape of a node and a new link. Used by `*.integration.test.ts` only.
 */
import { join } from "node:path";
import { type Cluster, defaultStateDir, up } from "@firstclick/cluster";
import type { TopologyNode } from "@firstclick/core";
import { PgLinkStore, type PgLinkStoreOptions } from "./pg-store.ts";
import type { NewLink, ShardPrimary } from "./store.ts";

export interface StoreOnCluster {
  cluster: Cluster;
  store: PgLinkStore;
  /** A node of the cluster as the topology names it. */
  node(id: string): TopologyNode;
  /** `id` as the primary of `shard` (default s0). */
  at(id: string, shard?: string): ShardPrimary;
  /** Stops the store's pools, then the cluster. */
  close(): Promise<void>;
}

export async function storeOnCluster(o: {
  name: string;
  basePort: number;
  shards: number;
  replicas: number;
  durability?: "async" | "remote_apply";
  store?: Partial<PgLinkStoreOptions>;
}): Promise<StoreOnCluster> {
  const durability = o.durability ?? "async";
  const cluster = await up({
    stateDir: join(defaultStateDir(), o.name),
    shards: o.shards,
    replicas: o.replicas,
    basePort: o.basePort,
    durability,
    apps: false,
  });
  const store = new PgLinkStore({
    user: "firstclick",
    database: "firstclick",
    poolMax: 4,
    connectTimeoutMs: 1_000,
    durability,
    remoteApplyTimeoutMs: 3_000,
    positions: false,
    logError: () => {},
    ...o.store,
  });
  const node = (id: string): TopologyNode => {
    const n = cluster.node(id);
    return { id: n.id, gatewayUrl: n.gatewayUrl, pg: { host: n.pg.host, port: n.pg.port } };
  };
  return {
    cluster,
    store,
    node,
    at: (id, shard = "s0") => ({ shard, node: node(id) }),
    close: async () => {
      await store.close();
      await cluster.down();
    },
  };
}

export function newLink(code: string, over: Partial<NewLink> = {}): NewLink {
  return {
    code,
    url: "https://example.com/",
    redirectStatus: 302,
    expiresAt: null,
    editTokenHash: "a".repeat(64),
    ...over,
  };
}
