import type { TopologySnapshot } from "@firstclick/core";
import type { SourceStatus } from "./state.ts";

/**
 * Where the topology comes from. `manual` is etcd keys written by the cluster CLI
 * (EtcdTopologySource); a Patroni-backed source plugs in behind the same interface. A source
 * may deliver snapshots in any order and more than once: TopologyState keeps the newest.
 */
export interface TopologySource {
  start(sink: TopologySink): void;
  /** Stops watching and releases connections; no calls to the sink afterwards. */
  close(): Promise<void>;
}

export interface TopologySink {
  snapshot(snapshot: TopologySnapshot): void;
  /** Whether the source's backing store is reachable right now (reported by /health). */
  status(status: SourceStatus): void;
}
