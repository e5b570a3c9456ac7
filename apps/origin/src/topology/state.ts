import { isNewer, Topology, type TopologySnapshot } from "@firstclick/core";

/**
 * The origin's current topology: whatever source feeds it (etcd, a snapshot file, later
 * Patroni), an older version never replaces a newer one. Listeners (the primary pools, the edge
 * publisher, the snapshot file) hear about every accepted snapshot.
 */

export type SourceStatus = "connected" | "disconnected";

/** What the HTTP app reads: the routing view, and whether the source is reachable right now. */
export interface TopologyView {
  current(): Topology | null;
  sourceStatus(): SourceStatus;
}

export type TopologyListener = (next: Topology, previous: Topology | null) => void;

export class TopologyState implements TopologyView {
  #current: Topology | null = null;
  #status: SourceStatus = "disconnected";
  readonly #listeners = new Set<TopologyListener>();

  private readonly logError: (message: string) => void;

  constructor(logError: (message: string) => void = console.error) {
    this.logError = logError;
  }

  current(): Topology | null {
    return this.#current;
  }

  sourceStatus(): SourceStatus {
    return this.#status;
  }

  setSourceStatus(status: SourceStatus): void {
    this.#status = status;
  }

  /** Takes `snapshot` if it is newer than the current one; returns whether it did. */
  apply(snapshot: TopologySnapshot): boolean {
    if (!isNewer(this.#current, snapshot)) return false;
    const previous = this.#current;
    const next = Topology.from(snapshot);
    this.#current = next;
    for (const listener of this.#listeners) {
      try {
        listener(next, previous);
      } catch (error) {
        // One broken listener must not keep the others (or the state) from moving on.
        this.logError(
          `topology listener failed on version ${next.version}: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
    return true;
  }

  onChange(listener: TopologyListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
