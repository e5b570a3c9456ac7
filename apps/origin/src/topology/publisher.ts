import { isNewer, type TopologySnapshot } from "@firstclick/core";
import { InterruptibleSleep } from "./interruptible-sleep.ts";

/**
 * Pushes topology snapshots to the edge (docs/architecture.md, "Snapshot publishing"):
 * `PUT {EDGE_URL}/_internal/topology` with the bearer secret, retried with backoff until the edge
 * reports a version ≥ ours; and every `checkIntervalMs` a `GET` of the edge's version, which
 * re-publishes when the edge is behind (an edge restarted with an empty store, a lost PUT).
 * One delivery loop at a time; a newer snapshot handed in meanwhile is what the loop sends next.
 */

export interface EdgePublisherOptions {
  edgeUrl: string;
  secret: string;
  fetch?: typeof fetch;
  checkIntervalMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  requestTimeoutMs?: number;
  log?: (message: string) => void;
}

interface EdgeVersion {
  version: number | null;
}

function parseVersion(body: unknown): EdgeVersion | null {
  if (typeof body !== "object" || body === null || !("version" in body)) return null;
  const { version } = body;
  if (version === null) return { version: null };
  return typeof version === "number" && Number.isInteger(version) ? { version } : null;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class EdgePublisher {
  readonly #o: Required<Omit<EdgePublisherOptions, "fetch">> & { fetch: typeof fetch };
  #latest: TopologySnapshot | null = null;
  /** The edge's version as last reported by the edge itself. */
  #edgeVersion: number | null = null;
  #loop: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  readonly #pause = new InterruptibleSleep();
  /** delivered(): waiting for the edge to report at least `version`. */
  #waiters: { version: number; resolve: () => void }[] = [];
  /** Set while deliveries fail; logged once per outage. */
  #failing: string | null = null;

  constructor(options: EdgePublisherOptions) {
    this.#o = {
      fetch: globalThis.fetch,
      checkIntervalMs: 3_000,
      initialBackoffMs: 200,
      maxBackoffMs: 5_000,
      requestTimeoutMs: 3_000,
      log: console.error,
      ...options,
      edgeUrl: options.edgeUrl.replace(/\/+$/, ""),
    };
  }

  /** Starts the periodic version check. */
  start(): void {
    this.#timer ??= setInterval(() => {
      this.#check().catch(() => {});
    }, this.#o.checkIntervalMs);
    this.#timer.unref();
  }

  /** Hands over a snapshot; older than one already handed over is ignored. */
  publish(snapshot: TopologySnapshot): void {
    if (!isNewer(this.#latest, snapshot)) return;
    this.#latest = snapshot;
    this.#kick();
  }

  /** What the edge reported last, and whether it has our latest snapshot. */
  status(): { edgeVersion: number | null; upToDate: boolean } {
    return {
      edgeVersion: this.#edgeVersion,
      upToDate: this.#latest === null || this.#behind() === false,
    };
  }

  /**
   * Resolves once the edge reported a version ≥ `version` (ours, or a newer one another origin
   * sent). While the edge is down it keeps waiting: the deliveries retry meanwhile.
   */
  delivered(version: number): Promise<void> {
    if (this.#edgeVersion !== null && this.#edgeVersion >= version) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ version, resolve }));
  }

  /** Resolves when no delivery is running (tests and shutdown). */
  async idle(): Promise<void> {
    while (this.#loop) await this.#loop;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#pause.wake();
    await this.idle();
  }

  #setEdgeVersion(version: number | null): void {
    this.#edgeVersion = version;
    if (version === null) return;
    const waiting = this.#waiters.filter((w) => w.version > version);
    for (const w of this.#waiters) if (w.version <= version) w.resolve();
    this.#waiters = waiting;
  }

  #behind(): boolean {
    const latest = this.#latest;
    return latest !== null && (this.#edgeVersion === null || this.#edgeVersion < latest.version);
  }

  #kick(): void {
    if (this.#closed || this.#loop) return;
    this.#loop = this.#deliver().finally(() => {
      this.#loop = null;
    });
  }

  async #deliver(): Promise<void> {
    let backoff = this.#o.initialBackoffMs;
    while (!this.#closed && this.#behind()) {
      const snapshot = this.#latest;
      if (!snapshot) return;
      try {
        const edge = await this.#request("PUT", snapshot);
        this.#setEdgeVersion(edge.version);
        if (edge.version !== null && edge.version >= snapshot.version) {
          if (this.#failing !== null) {
            this.#o.log(`edge has topology version ${edge.version} again`);
            this.#failing = null;
          }
          backoff = this.#o.initialBackoffMs;
          continue;
        }
        // The edge answered but kept something older: try again, as for an error.
        this.#failed(`the edge kept version ${edge.version} after a PUT of ${snapshot.version}`);
      } catch (error) {
        this.#failed(describe(error));
      }
      await this.#pause.sleep(backoff);
      backoff = Math.min(backoff * 2, this.#o.maxBackoffMs);
    }
  }

  #failed(reason: string): void {
    if (this.#failing === null) {
      this.#o.log(`publishing the topology to the edge failed (${reason}); retrying with backoff`);
    }
    this.#failing = reason;
  }

  async #check(): Promise<void> {
    if (this.#closed || this.#loop || this.#latest === null) return;
    try {
      const edge = await this.#request("GET");
      this.#setEdgeVersion(edge.version);
    } catch (error) {
      this.#failed(describe(error));
      // Unknown: assume behind, so the PUT loop (with its backoff) takes over.
      this.#edgeVersion = null;
    }
    if (this.#behind()) this.#kick();
  }

  async #request(method: "GET" | "PUT", snapshot?: TopologySnapshot): Promise<EdgeVersion> {
    const response = await this.#o.fetch(`${this.#o.edgeUrl}/_internal/topology`, {
      method,
      headers: {
        authorization: `Bearer ${this.#o.secret}`,
        accept: "application/json",
        ...(snapshot ? { "content-type": "application/json" } : {}),
      },
      ...(snapshot ? { body: JSON.stringify(snapshot) } : {}),
      signal: AbortSignal.timeout(this.#o.requestTimeoutMs),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new Error(`${method} answered ${response.status}: ${text.slice(0, 200)}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`${method} answered non-JSON: ${text.slice(0, 200)}`);
    }
    const edge = parseVersion(body);
    if (!edge) throw new Error(`${method} answered without a version: ${text.slice(0, 200)}`);
    return edge;
  }
}
