/**
 * The link writes (create, update, delete) in flight on this origin, counted by the topology
 * version they were routed under. A resharding's acknowledgement (reshard-acks.ts) waits on
 * `drained(v)`: once it resolves, no write that chose its shard (or its freeze decision) under a
 * topology older than `v` is still running here, so the mover may rely on `v`'s rules.
 */
interface Waiter {
  version: number;
  resolve: () => void;
}

export class WriteGate {
  /** version → writes in flight that were routed under it. */
  readonly #inFlight = new Map<number, number>();
  #waiters: Waiter[] = [];

  /** Counts one write under `version`; call the returned function when it settles (once). */
  begin(version: number): () => void {
    this.#inFlight.set(version, (this.#inFlight.get(version) ?? 0) + 1);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const left = (this.#inFlight.get(version) ?? 1) - 1;
      if (left > 0) this.#inFlight.set(version, left);
      else this.#inFlight.delete(version);
      this.#settle();
    };
  }

  /** Runs `fn` as one write routed under `version`. */
  async run<T>(version: number, fn: () => Promise<T>): Promise<T> {
    const end = this.begin(version);
    try {
      return await fn();
    } finally {
      end();
    }
  }

  /** Resolves once no write begun under a version older than `version` is in flight. */
  drained(version: number): Promise<void> {
    if (!this.#olderThan(version)) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ version, resolve }));
  }

  /** Writes in flight (all versions). */
  inFlight(): number {
    let n = 0;
    for (const count of this.#inFlight.values()) n += count;
    return n;
  }

  #olderThan(version: number): boolean {
    for (const v of this.#inFlight.keys()) if (v < version) return true;
    return false;
  }

  #settle(): void {
    const waiting: Waiter[] = [];
    for (const w of this.#waiters) {
      if (this.#olderThan(w.version)) waiting.push(w);
      else w.resolve();
    }
    this.#waiters = waiting;
  }
}
