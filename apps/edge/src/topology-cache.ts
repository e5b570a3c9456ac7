import { isNewer, parseTopologySnapshot, Topology, type TopologySnapshot } from "@firstclick/core";
import type { Background } from "./background.ts";

/** The KV key every isolate reads the snapshot from; the topology route writes it. */
export const TOPOLOGY_KV_KEY = "snapshot";
/** A warm isolate re-reads KV in the background when its copy was checked longer ago. */
export const REFRESH_AFTER_MS = 2_000;
// A background refresh that never settled (its request was torn down) does not block the next.
const REFRESH_GIVE_UP_MS = 10_000;
// Production KV caches reads at each location for cacheTtl seconds (30 is the minimum): this
// isolate's own PUTs are applied at once, other locations see a new snapshot within about that.
const KV_CACHE_TTL_SECONDS = 30;

/**
 * The shard topology of one isolate: in memory, refreshed from KV in the background. The
 * redirect path never waits on KV once warm; a cold isolate awaits one KV read.
 */
export class TopologyCache {
  #current: Topology | null = null;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #refreshStartedAt: number | null = null;
  // The KV value last parsed: a warm isolate re-reads KV every few seconds and almost always
  // finds the same snapshot, which needs no JSON parse and schema validation again.
  #lastRaw: string | null = null;
  readonly #logError: (message: string) => void;

  constructor(options: { logError?: (message: string) => void } = {}) {
    this.#logError = options.logError ?? ((m) => console.error(m));
  }

  get current(): Topology | null {
    return this.#current;
  }

  /** For the redirect path. `background` schedules work that outlives the response (waitUntil). */
  async get(kv: KVNamespace, nowMs: number, background: Background): Promise<Topology | null> {
    const stale = nowMs - this.#checkedAt >= REFRESH_AFTER_MS;
    if (this.#current) {
      const busy =
        this.#refreshStartedAt !== null && nowMs - this.#refreshStartedAt < REFRESH_GIVE_UP_MS;
      if (stale && !busy) {
        this.#refreshStartedAt = nowMs;
        background(
          this.refresh(kv, nowMs).finally(() => {
            this.#refreshStartedAt = null;
          }),
        );
      }
      return this.#current;
    }
    // Cold: one awaited read. While KV has nothing either, look again only after the refresh
    // interval, so a topology-less edge answering 503s does not read KV on every request.
    if (stale) await this.refresh(kv, nowMs);
    return this.#current;
  }

  /** Reads KV and applies its snapshot if newer. Never throws: a bad read keeps what we have. */
  async refresh(kv: KVNamespace, nowMs: number): Promise<Topology | null> {
    this.#checkedAt = nowMs;
    try {
      const raw = await kv.get(TOPOLOGY_KV_KEY, { type: "text", cacheTtl: KV_CACHE_TTL_SECONDS });
      if (raw !== null && raw !== this.#lastRaw) {
        this.offer(parseTopologySnapshot(JSON.parse(raw)));
        this.#lastRaw = raw;
      }
    } catch (error) {
      this.#logError(
        `topology: reading KV failed, keeping version ${this.#current?.version ?? "none"}: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    return this.#current;
  }

  /** Applies a validated snapshot if it is newer than ours (never an older over a newer one). */
  offer(snapshot: TopologySnapshot): boolean {
    if (!isNewer(this.#current, snapshot)) return false;
    this.#current = Topology.from(snapshot);
    return true;
  }
}
