/**
 * A bounded stream of redirects and creates against a running system, recording every response
 * (with its time) so a fault test can check each phase afterwards. Bounded in count and time;
 * stops early when told to.
 */
import type { Topology } from "@firstclick/core";
import { aliasOn, type System, target } from "./support.ts";

export interface StreamRecord {
  /** ms since the epoch when the response (or the error) arrived. */
  at: number;
  kind: "redirect" | "create";
  via: "edge" | "origin";
  shard: string;
  /** HTTP status, or 0 for a network error or timeout. */
  status: number;
  route: string | null;
  retryAfter: string | null;
  ms: number;
}

export interface StreamOptions {
  system: System;
  topology: Topology;
  /** Codes to redirect, already on every replica, by shard. */
  codes: Record<string, string[]>;
  /** Shards to create links on, through the edge and directly at the origin. */
  createShards: readonly string[];
  maxRequests: number;
  maxMs: number;
  /** Parallel redirect loops per shard (creates get one loop per shard and path). */
  redirectLoops?: number;
  /** Pause between two creates of one loop: a steady trickle, and a fine time resolution. */
  createPacingMs?: number;
}

export class LoadStream {
  readonly records: StreamRecord[] = [];
  private stopped = false;
  private done: Promise<void> | null = null;
  private readonly deadline: number;

  constructor(private readonly o: StreamOptions) {
    this.deadline = Date.now() + o.maxMs;
  }

  start(): this {
    const loops: Promise<void>[] = [];
    // Loops per shard: a shard whose reads got slow (a dead node costs the edge its upstream
    // timeout) must not starve the other shard's stream.
    for (const [shard, codes] of Object.entries(this.o.codes)) {
      for (let i = 0; i < (this.o.redirectLoops ?? 2); i++)
        loops.push(this.redirectLoop(shard, codes, i));
    }
    for (const shard of this.o.createShards) {
      loops.push(this.createLoop(shard, "edge"));
      loops.push(this.createLoop(shard, "origin"));
    }
    this.done = Promise.all(loops).then(() => {});
    return this;
  }

  /** Stops every loop after its current request; resolves with all records. */
  async stop(): Promise<StreamRecord[]> {
    this.stopped = true;
    await this.done;
    return this.records;
  }

  get running(): boolean {
    return !this.stopped && this.records.length < this.o.maxRequests && Date.now() < this.deadline;
  }

  /** Records matching `filter` so far. */
  count(filter: (r: StreamRecord) => boolean): number {
    return this.records.filter(filter).length;
  }

  private async redirectLoop(
    shard: string,
    codes: readonly string[],
    offset: number,
  ): Promise<void> {
    const client = this.o.system.client();
    for (let i = offset; this.running; i++) {
      const code = codes[i % codes.length];
      if (code === undefined) return;
      const started = Date.now();
      try {
        const f = await client.follow(code);
        this.record("redirect", "edge", shard, f.status, f.route, f.retryAfter, started);
      } catch {
        this.record("redirect", "edge", shard, 0, null, null, started);
      }
    }
  }

  private async createLoop(shard: string, via: "edge" | "origin"): Promise<void> {
    const client = via === "edge" ? this.o.system.client() : this.o.system.originClient();
    const pacing = this.o.createPacingMs ?? 50;
    while (this.running) {
      const alias = aliasOn(this.o.topology, shard, `ld-${via}`);
      const started = Date.now();
      try {
        const res = await client.request("/api/links", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ url: target(alias), alias }),
        });
        await res.arrayBuffer();
        this.record(
          "create",
          via,
          shard,
          res.status,
          null,
          res.headers.get("retry-after"),
          started,
        );
      } catch {
        this.record("create", via, shard, 0, null, null, started);
      }
      // Pacing of a load loop (not a wait for a condition): keeps creates a steady trickle.
      await new Promise((resolve) => setTimeout(resolve, pacing));
    }
  }

  private record(
    kind: StreamRecord["kind"],
    via: StreamRecord["via"],
    shard: string,
    status: number,
    route: string | null,
    retryAfter: string | null,
    started: number,
  ): void {
    const at = Date.now();
    this.records.push({ at, kind, via, shard, status, route, retryAfter, ms: at - started });
  }
}

/** `status×count` per status, for assertion messages and the report. */
export function statusCounts(records: readonly StreamRecord[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of records) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

/** p50, p99 and max of the response times, in ms. */
export function latency(records: readonly StreamRecord[]): {
  p50: number;
  p99: number;
  max: number;
} {
  const sorted = records.map((r) => r.ms).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}
