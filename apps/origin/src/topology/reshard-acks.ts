import { type OriginAck, reshardKey, type Topology } from "@firstclick/core";
import type { Etcd3, Lease } from "etcd3";
import { etcdClient } from "./etcd-client.ts";
import { InterruptibleSleep } from "./interruptible-sleep.ts";
import type { TopologyListener } from "./state.ts";
import type { WriteGate } from "./write-gate.ts";

/**
 * The origin's side of a resharding (core/reshard.ts, docs/architecture.md "Resharding"): when it
 * applies a topology whose resharding (id, phase) differs from the one it last acknowledged
 * (including the resharding ending: id and phase null), it waits until
 *   (a) every link write it began under an older topology version has finished (WriteGate), and
 *   (b) the edge has that version or a newer one (EDGE_URL set: EdgePublisher#delivered),
 * then puts `<prefix minus slash>.reshard/acks/<originId>` = OriginAck JSON
 * `{reshardId, phase, version, at}` in etcd on a lease of its own (TTL 10 s, kept alive by the
 * etcd3 client). The mover moves on only when every live origin acknowledged; an origin that
 * dies drops out when its lease expires, and close() revokes the lease at once.
 *
 * etcd errors are retried with backoff (logged once per outage); a lost lease is granted again
 * and the acknowledgement put again. While (a) or (b) does not hold it keeps waiting — an edge
 * that is down holds the resharding, which is what the mover must see.
 */

export interface ReshardAcksOptions {
  endpoints: readonly string[];
  prefix: string;
  originId: string;
  /** The origin's topology (TopologyState): the current one and every change. */
  topology: { current(): Topology | null; onChange(listener: TopologyListener): () => void };
  writes: WriteGate;
  /** The edge publisher when EDGE_URL is set; null: no edge to wait for. */
  edge?: { delivered(version: number): Promise<void> } | null;
  log?: (message: string) => void;
  ttlSeconds?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Per unary etcd call (grant, put, revoke) and per connection attempt. */
  callTimeoutMs?: number;
  now?: () => number;
}

/** What the next acknowledgement says (OriginAck without `at`). */
type Target = Omit<OriginAck, "at">;

/** What the loop is doing now (tests, logs). */
export type AckWait = "idle" | "writes" | "edge" | "etcd";

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function targetOf(topology: Topology): Target {
  const r = topology.reshard;
  return { reshardId: r?.id ?? null, phase: r?.phase ?? null, version: topology.version };
}

const samePhase = (a: Target, b: Target) => a.reshardId === b.reshardId && a.phase === b.phase;

export class ReshardAcks {
  readonly #o: Required<Omit<ReshardAcksOptions, "edge">> & Pick<ReshardAcksOptions, "edge">;
  readonly #key: string;
  #target: Target | null = null;
  /** The acknowledgement in etcd on the live lease; null before the first and after a loss. */
  #written: OriginAck | null = null;
  #client: Etcd3 | null = null;
  #lease: Lease | null = null;
  #wait: AckWait = "idle";
  #closed = false;
  #off: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  /** Wakes the loop when there is something new to do (a target, a lost lease, close). */
  #kick: (() => void) | null = null;
  readonly #closing: Promise<void>;
  #resolveClosing: () => void = () => {};
  readonly #pause = new InterruptibleSleep();
  #failing: string | null = null;

  constructor(options: ReshardAcksOptions) {
    this.#o = {
      log: console.error,
      ttlSeconds: 10,
      initialBackoffMs: 200,
      maxBackoffMs: 5_000,
      callTimeoutMs: 2_000,
      now: Date.now,
      ...options,
    };
    this.#key = reshardKey.ack(options.prefix, options.originId);
    this.#closing = new Promise((resolve) => {
      this.#resolveClosing = resolve;
    });
  }

  /** The etcd key this origin acknowledges under. */
  get key(): string {
    return this.#key;
  }

  /** What is in etcd (as far as this origin knows), and what it is waiting for. */
  status(): { written: OriginAck | null; waitingFor: AckWait } {
    return { written: this.#written, waitingFor: this.#wait };
  }

  start(): void {
    if (this.#loop) throw new Error("ReshardAcks already started");
    this.#off = this.#o.topology.onChange((next) => this.#consider(next));
    const current = this.#o.topology.current();
    if (current) this.#consider(current);
    this.#loop = this.#run();
  }

  /** Stops acknowledging and revokes the lease, so the acknowledgement is gone at once. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#off?.();
    this.#resolveClosing();
    this.#kick?.();
    this.#pause.wake();
    await this.#loop;
    const lease = this.#lease;
    this.#lease = null;
    if (lease) {
      try {
        await lease.revoke();
      } catch (error) {
        this.#o.log(`could not revoke the reshard acknowledgement's lease: ${describe(error)}`);
      }
    }
    this.#client?.close();
    this.#client = null;
  }

  #consider(topology: Topology): void {
    const next = targetOf(topology);
    if (this.#target && samePhase(this.#target, next)) return;
    this.#target = next;
    this.#kick?.();
  }

  #changed(): Promise<void> {
    return new Promise((resolve) => {
      this.#kick = resolve;
    });
  }

  async #until(p: Promise<void>): Promise<void> {
    await Promise.race([p, this.#closing]);
  }

  async #run(): Promise<void> {
    let backoff = this.#o.initialBackoffMs;
    while (!this.#closed) {
      const target = this.#target;
      const written = this.#written;
      if (!target || (written && samePhase(written, target))) {
        this.#wait = "idle";
        await this.#changed();
        continue;
      }
      this.#wait = "writes";
      await this.#until(this.#o.writes.drained(target.version));
      if (this.#o.edge) {
        this.#wait = "edge";
        await this.#until(this.#o.edge.delivered(target.version));
      }
      if (this.#closed) break;
      // A newer resharding state came in meanwhile: acknowledge that one (it needs more).
      if (this.#target !== target) continue;
      this.#wait = "etcd";
      try {
        await this.#put(target);
        backoff = this.#o.initialBackoffMs;
      } catch (error) {
        if (this.#closed) break;
        this.#failed(describe(error));
        this.#drop();
        await this.#pause.sleep(backoff);
        backoff = Math.min(backoff * 2, this.#o.maxBackoffMs);
      }
    }
    this.#wait = "idle";
  }

  async #put(target: Target): Promise<void> {
    const lease = this.#lease ?? this.#grant();
    const ack: OriginAck = { ...target, at: this.#o.now() };
    await lease.put(this.#key).value(JSON.stringify(ack));
    if (this.#lease !== lease) throw new Error("the lease was lost while writing");
    const previous = this.#written;
    this.#written = ack;
    if (this.#failing !== null) {
      this.#o.log("reshard acknowledgement written to etcd again");
      this.#failing = null;
    }
    if (ack.reshardId !== null || (previous?.reshardId ?? null) !== null) {
      this.#o.log(
        `acknowledged resharding ${ack.reshardId ?? "(none)"} phase ${ack.phase ?? "(none)"} at topology version ${ack.version}`,
      );
    }
  }

  #grant(): Lease {
    this.#client ??= etcdClient(this.#o.endpoints, this.#o.callTimeoutMs);
    const lease = this.#client.lease(this.#o.ttlSeconds);
    lease.on("lost", (error) => {
      if (this.#lease !== lease || this.#closed) return;
      this.#failed(`lease lost: ${describe(error)}`);
      this.#lease = null;
      this.#written = null;
      this.#kick?.();
    });
    this.#lease = lease;
    return lease;
  }

  /** After an error: a fresh client and lease next time (grpc may hold a broken channel). */
  #drop(): void {
    this.#lease?.release();
    this.#lease = null;
    this.#written = null;
    this.#client?.close();
    this.#client = null;
  }

  #failed(reason: string): void {
    if (this.#failing === null) {
      this.#o.log(`writing the reshard acknowledgement to etcd failed (${reason}); retrying`);
    }
    this.#failing = reason;
  }
}
