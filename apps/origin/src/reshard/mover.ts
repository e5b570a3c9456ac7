import {
  etcdKey,
  HashRing,
  ownerRing,
  type Reshard,
  type ReshardPhase,
  type RingSpec,
  Topology,
  type TopologyNode,
} from "@firstclick/core";
import type { Sql } from "postgres";
import { NodePools } from "../stats/node-pools.ts";
import { cleanupSource } from "./cleanup.ts";
import { copyPass } from "./copy.ts";
import {
  freshSource,
  type Progress,
  type ReshardEtcd,
  StaleTopologyError,
  sourceOf,
  type TopologyRead,
} from "./etcd.ts";

/**
 * The resharding mover: drives one resharding through its phases (core reshard.ts), keeping
 * everything it needs to go on in etcd, so `resume` after a crash continues where it stopped.
 *
 *   copying   passes over every source shard until a pass finds little left to copy
 *   switching writes of moving codes refused; once every origin acknowledged that (no such
 *             write still under way), one last pass; the new shard's replicas catch up
 *   serving   the new ring; the edge asks a moving code's old owner on a 404 until graceUntil
 *   cleanup   the moved rows leave their old shards; the reshard key is deleted
 */

export interface MoverOptions {
  etcd: ReshardEtcd;
  pg: { user: string; password?: string | undefined; database: string; connectTimeoutMs: number };
  log: (line: string) => void;
  /** Serving phase: how long the edge asks old owners on a 404 (default 30 s). */
  graceMs?: number;
  /** A pass that copies fewer rows than this ends the copying phase (default 200). */
  quietRows?: number;
  /** How long to wait for every origin's acknowledgement before giving up (default 60 s). */
  ackTimeoutMs?: number;
  /** Poll interval for acknowledgements and replica catch-up (default 25 ms). */
  pollMs?: number;
  /** How long a phase is retried through failures (etcd, a primary) before giving up (120 s). */
  retryForMs?: number;
}

export class ReshardError extends Error {
  override readonly name: string = "ReshardError";
}

/** A shard without a primary right now (mid-failover): worth retrying, unlike a ReshardError. */
export class UnavailableError extends ReshardError {
  override readonly name = "UnavailableError";
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Mover {
  readonly #o: Required<Omit<MoverOptions, "pg">> & Pick<MoverOptions, "pg">;
  readonly #pools: NodePools;

  constructor(options: MoverOptions) {
    this.#o = {
      graceMs: 30_000,
      quietRows: 200,
      ackTimeoutMs: 60_000,
      pollMs: 25,
      retryForMs: 120_000,
      ...options,
    };
    this.#pools = new NodePools({
      ...options.pg,
      poolMax: 2,
      applicationName: "firstclick-reshard",
      logError: options.log,
    });
  }

  async close(): Promise<void> {
    await this.#pools.close();
    this.#o.etcd.close();
  }

  /** Starts a resharding from the current ring to the ring plus `shard`. */
  async start(shard: string): Promise<void> {
    const { etcd, log } = this.#o;
    const read = await etcd.read();
    const { snapshot } = read;
    if (snapshot.reshard) {
      throw new ReshardError(
        `resharding ${snapshot.reshard.id} is already in phase ${snapshot.reshard.phase}: resume or abort it first`,
      );
    }
    const from = snapshot.ring;
    if (from.shards.includes(shard))
      throw new ReshardError(`shard ${shard} is already in the ring`);
    const to: RingSpec = { shards: [...from.shards, shard], vnodes: from.vnodes };
    const reshard: Reshard = {
      id: `add-${shard}-${Date.now()}`,
      phase: "copying",
      from,
      to,
      graceUntil: null,
    };
    // The new shard's nodes must be in etcd already (the cluster's add-shard, or an operator).
    let check: TopologyRead;
    try {
      check = await etcd.read({ [etcdKey.reshard(etcd.prefix)]: JSON.stringify(reshard) });
    } catch (error) {
      throw new ReshardError(
        `shard ${shard} cannot join: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (!Topology.from(check.snapshot).primaryOf(shard)) {
      throw new ReshardError(`shard ${shard} has no primary in etcd: start and register it first`);
    }
    const progress: Progress = {
      id: reshard.id,
      sources: Object.fromEntries(from.shards.map((s) => [s, freshSource()])),
      pending: null,
      times: { copying: Date.now() },
      switchWindowMs: null,
    };
    await etcd.saveProgress(progress);
    await etcd.write(read, from, reshard);
    log(`reshard ${reshard.id}: copying ${from.shards.join(",")} → ${to.shards.join(",")}`);
    await this.resume();
  }

  /** Continues the resharding in progress from its recorded phase. */
  async resume(): Promise<void> {
    const { etcd } = this.#o;
    let read = await etcd.read();
    const progress = await etcd.progress();
    if (!read.snapshot.reshard) throw new ReshardError("no resharding in progress");
    if (!progress || progress.id !== read.snapshot.reshard.id) {
      throw new ReshardError("the resharding's progress key is missing or names another one");
    }
    let failingSince: number | null = null;
    let backoff = 250;
    for (;;) {
      const reshard = read.snapshot.reshard;
      if (!reshard) break;
      try {
        const done = await this.#run(reshard as Reshard, read, progress);
        failingSince = null;
        backoff = 250;
        if (done) break;
        read = await etcd.read();
      } catch (error) {
        // A source primary failing over, etcd away for a moment: every phase can be run again
        // (passes restart from the saved watermark, cleanup from its cursor), on the topology
        // read afresh. A mistake of ours or of the operator (ReshardError) stops at once.
        if (error instanceof ReshardError && !(error instanceof UnavailableError)) throw error;
        if (error instanceof StaleTopologyError) throw error;
        failingSince ??= Date.now();
        const message = error instanceof Error ? error.message : String(error);
        if (Date.now() - failingSince > this.#o.retryForMs) {
          throw new ReshardError(
            `gave up after ${Math.round((Date.now() - failingSince) / 1000)} s of failures in phase ${reshard.phase} (last: ${message}); the resharding stays there: run resume once the cause is fixed`,
          );
        }
        this.#o.log(
          `reshard ${reshard.id}: ${reshard.phase} failed (${message}); retrying in ${backoff} ms`,
        );
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 2_000);
        read = await etcd.read().catch(() => read);
      }
    }
  }

  /** Carries out the current phase and moves to the next; true once the resharding is done. */
  async #run(reshard: Reshard, read: TopologyRead, progress: Progress): Promise<boolean> {
    const { etcd, log } = this.#o;
    const topology = Topology.from(read.snapshot);
    const to = new HashRing(reshard.to.shards, { vnodes: reshard.to.vnodes });
    const save = () => etcd.saveProgress(progress);
    const setPhase = async (phase: ReshardPhase | null, extra: Partial<Reshard> = {}) => {
      const fresh = await etcd.read();
      const now = fresh.snapshot.reshard;
      if (now?.id !== reshard.id || now.phase !== reshard.phase) {
        throw new ReshardError(
          `resharding ${reshard.id} moved on without this mover (now ${now ? `${now.id} ${now.phase}` : "none"})`,
        );
      }
      if (phase === null) {
        await etcd.write(fresh, reshard.to, null);
      } else {
        const next: Reshard = { ...reshard, ...extra, phase };
        await etcd.write(fresh, ownerRing(next), next);
      }
      progress.times[phase ?? "done"] = Date.now();
      await save();
      log(`reshard ${reshard.id}: ${phase ?? "done"}`);
    };
    switch (reshard.phase) {
      case "copying": {
        for (;;) {
          const copied = await this.#passAll(reshard, to, progress);
          if (copied < this.#o.quietRows) break;
        }
        await setPhase("switching");
        return false;
      }
      case "switching": {
        const started = progress.times.switching ?? Date.now();
        await this.#awaitAcks(reshard.id, "switching");
        await this.#passAll(reshard, to, progress);
        await this.#awaitReplicas(topology, reshard);
        await setPhase("serving", { graceUntil: Date.now() + this.#o.graceMs });
        progress.switchWindowMs = Date.now() - started;
        await save();
        log(
          `reshard ${reshard.id}: writes of moving codes were refused for ${progress.switchWindowMs} ms`,
        );
        return false;
      }
      case "serving": {
        await this.#awaitAcks(reshard.id, "serving");
        const wait = (reshard.graceUntil ?? 0) - Date.now();
        if (wait > 0) {
          log(`reshard ${reshard.id}: grace period, ${Math.ceil(wait / 1000)} s left`);
          await sleep(wait); // a deadline written in the topology, not a condition to poll
        }
        await setPhase("cleanup");
        return false;
      }
      case "cleanup": {
        for (const shard of reshard.from.shards) {
          const state = sourceOf(progress, shard);
          if (state.cleaned) continue;
          await cleanupSource({
            reshardId: reshard.id,
            sourceShard: shard,
            source: this.#primary(topology, shard),
            to,
            targetSql: (s) => this.#primary(topology, s),
            progress,
            state,
            save,
          });
          log(`reshard ${reshard.id}: ${shard} cleaned, ${state.deleted} moved rows deleted`);
        }
        await setPhase(null);
        return true;
      }
    }
  }

  /** One pass over every source shard; returns the rows copied. */
  async #passAll(reshard: Reshard, to: HashRing, progress: Progress): Promise<number> {
    const { etcd, log } = this.#o;
    // Each pass re-reads the topology: a source that failed over is read on its new primary.
    const topology = Topology.from((await etcd.read()).snapshot);
    let total = 0;
    for (const shard of reshard.from.shards) {
      const state = sourceOf(progress, shard);
      const result = await copyPass({
        sourceShard: shard,
        source: this.#primary(topology, shard),
        to,
        watermark: state.watermark,
        targetSql: (s) => this.#primary(topology, s),
      });
      state.watermark = result.watermark;
      state.passes += 1;
      state.copied += result.copied;
      total += result.copied;
      await etcd.saveProgress(progress);
      log(
        `reshard ${reshard.id}: ${shard} pass ${state.passes}: scanned ${result.scanned}, copied ${result.copied}`,
      );
    }
    return total;
  }

  #primary(topology: Topology, shard: string): Sql {
    const node = topology.primaryOf(shard);
    if (!node) throw new UnavailableError(`shard ${shard} has no primary right now`);
    return this.#pools.sql(node, "primary");
  }

  /** Waits until every live origin acknowledged `phase` of this resharding. */
  async #awaitAcks(id: string, phase: ReshardPhase): Promise<void> {
    const deadline = Date.now() + this.#o.ackTimeoutMs;
    for (;;) {
      const acks = await this.#o.etcd.acks();
      const behind = [...acks].filter(([, a]) => a?.reshardId !== id || a.phase !== phase);
      if (behind.length === 0) return;
      if (Date.now() > deadline) {
        throw new ReshardError(
          `origins ${behind.map(([o]) => o).join(", ")} did not acknowledge ${phase} within ${this.#o.ackTimeoutMs} ms; run reshard resume once they do`,
        );
      }
      await sleep(this.#o.pollMs);
    }
  }

  /** Waits (bounded) until the new shards' replicas replayed their primary's current WAL. */
  async #awaitReplicas(topology: Topology, reshard: Reshard): Promise<void> {
    const added = reshard.to.shards.filter((s) => !reshard.from.shards.includes(s));
    for (const shard of added) {
      const [row] = await this.#primary(topology, shard)<{ lsn: string }[]>`
        select pg_current_wal_lsn()::text as lsn`;
      const replicas: TopologyNode[] = topology.nodesFor(shard, "replica").slice(0, -1);
      const deadline = Date.now() + 10_000;
      for (const node of replicas) {
        for (;;) {
          const sql = this.#pools.sql(node, "standby");
          const [r] = await sql<{ ok: boolean }[]>`
            select coalesce(pg_last_wal_replay_lsn() >= ${row?.lsn ?? "0/0"}::pg_lsn, false) as ok`.catch(
            () => [{ ok: false }],
          );
          if (r?.ok || Date.now() > deadline) break;
          await sleep(this.#o.pollMs);
        }
      }
    }
  }

  /** Stops a resharding before its switch: the ring stays, the new shard's copies go. */
  async abort(): Promise<void> {
    const { etcd, log } = this.#o;
    const read = await etcd.read();
    const reshard = read.snapshot.reshard;
    if (!reshard) throw new ReshardError("no resharding in progress");
    if (reshard.phase !== "copying" && reshard.phase !== "switching") {
      throw new ReshardError(
        `resharding ${reshard.id} is past its switch (phase ${reshard.phase}); it can only be resumed`,
      );
    }
    const topology = Topology.from(read.snapshot);
    await etcd.write(read, reshard.from, null);
    const added = reshard.to.shards.filter((s) => !reshard.from.shards.includes(s));
    for (const shard of added) {
      const result = await this.#primary(topology, shard)`delete from links`;
      log(`reshard ${reshard.id}: aborted; ${result.count} copied rows deleted from ${shard}`);
    }
    await etcd.saveProgress(null);
  }
}
