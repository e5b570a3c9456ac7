import { snapshotFromPatroniKeys, TopologyError, type TopologySnapshot } from "@firstclick/core";
import { EtcdTopologySource, type EtcdTopologySourceOptions } from "./etcd-source.ts";
import type { TopologySink, TopologySource } from "./source.ts";

/**
 * TOPOLOGY_SOURCE=patroni: every shard is one Patroni scope named like the shard (`s0`, `s1`, …)
 * under PATRONI_NAMESPACE (default `<ETCD_PREFIX>patroni/`), and the ring (shards + vnodes) is
 * the cluster's usual ring key `<ETCD_PREFIX>ring`. Patroni keeps each scope's leader key and
 * member keys itself, so a failover reaches the origin, then the edge, without anyone acting.
 *
 * The etcd mechanics (read at a revision, watch, reconnect with backoff, keep the last snapshot
 * while etcd is away) are the manual source's: the same EtcdTopologySource watches the whole
 * prefix (ring + namespace) and only the builder differs. The snapshot's version is the etcd
 * revision of the read, so nothing older ever replaces something newer.
 *
 * Patroni rewrites its keys all the time (member keys carry the WAL position, `/status` the
 * leader's optime): most revisions change nothing the topology holds. Those are not passed on,
 * or the edge would be re-published every second under write load.
 */

export interface PatroniTopologySourceOptions
  extends Omit<EtcdTopologySourceOptions, "build" | "prefix"> {
  /** The cluster's prefix: the ring key is `<prefix>ring`. */
  prefix: string;
  /** Patroni's `namespace`; must lie under `prefix` (one watch covers both). */
  namespace: string;
}

function withSlash(path: string): string {
  return path.endsWith("/") ? path : `${path}/`;
}

/** `<prefix>patroni/`, where `up --ha patroni` puts the scopes. */
export function defaultPatroniNamespace(prefix: string): string {
  return `${withSlash(prefix)}patroni/`;
}

/**
 * The pure part: etcd keys (ring + Patroni's) at `revision` → the snapshot. Scope = shard id.
 * Throws TopologyError when the ring key is missing or invalid (Patroni's own keys never make
 * it throw: an unusable member is left out, a scope without a leader has `primary: null`).
 */
export function patroniSnapshotBuilder(
  prefix: string,
  namespace: string,
): (kvs: Record<string, string>, revision: number) => TopologySnapshot {
  if (!withSlash(namespace).startsWith(withSlash(prefix))) {
    throw new TopologyError(
      `PATRONI_NAMESPACE ${namespace} must lie under ETCD_PREFIX ${prefix} (one watch covers both)`,
    );
  }
  return (kvs, revision) => snapshotFromPatroniKeys(kvs, revision, { prefix, namespace });
}

/** Same ring and same nodes in the same roles and order: the version alone differs. */
export function sameTopology(a: TopologySnapshot | null, b: TopologySnapshot): boolean {
  if (!a) return false;
  const { version: _a, ...restA } = a;
  const { version: _b, ...restB } = b;
  return JSON.stringify(restA) === JSON.stringify(restB);
}

export class PatroniTopologySource implements TopologySource {
  readonly #inner: EtcdTopologySource;
  #last: TopologySnapshot | null = null;

  constructor(options: PatroniTopologySourceOptions) {
    const { namespace, ...rest } = options;
    this.#inner = new EtcdTopologySource({
      ...rest,
      build: patroniSnapshotBuilder(options.prefix, namespace),
    });
  }

  start(sink: TopologySink): void {
    this.#inner.start({
      snapshot: (snapshot) => {
        // Sessions may re-read an older revision after a reconnect: keep only newer content.
        if (this.#last && snapshot.version <= this.#last.version) return;
        if (sameTopology(this.#last, snapshot)) return;
        this.#last = snapshot;
        sink.snapshot(snapshot);
      },
      status: (status) => sink.status(status),
    });
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
