import {
  etcdKey,
  type OriginAck,
  OriginAckSchema,
  type Reshard,
  ReshardSchema,
  type RingSpec,
  reshardKey,
  snapshotFromEtcd,
  type TopologySnapshot,
} from "@firstclick/core";
import type { Etcd3 } from "etcd3";
import { z } from "zod";
import { etcdClient } from "../topology/etcd-client.ts";
import { patroniSnapshotBuilder } from "../topology/patroni-source.ts";

/**
 * The mover's view of etcd: the topology (built the way the origin builds it, manual or
 * Patroni), the resharding's phase (written with a compare on the keys it read, so two movers
 * can never both move a phase on), its progress and the origins' acknowledgements (core
 * reshard.ts, side keys that never make a new snapshot).
 */

export interface ReshardEtcdOptions {
  endpoints: readonly string[];
  prefix: string;
  /** TOPOLOGY_SOURCE=patroni: the namespace of Patroni's scopes; null in the manual mode. */
  patroniNamespace: string | null;
  callTimeoutMs?: number;
}

export interface TopologyRead {
  snapshot: TopologySnapshot;
  /** Mod revisions of the ring and reshard keys (0: absent), for the compare of a write. */
  ringMod: string;
  reshardMod: string;
}

const SourceProgressSchema = z.object({
  /** Rows changed at or after this time (PostgreSQL text, UTC) are copied by the next pass. */
  watermark: z.string().nullable(),
  passes: z.int().min(0),
  copied: z.int().min(0),
  /** Cleanup: last code done (keyset), and moved rows deleted. */
  cleanedTo: z.string().nullable(),
  deleted: z.int().min(0),
  cleaned: z.boolean(),
});

export const ProgressSchema = z.object({
  id: z.string(),
  sources: z.record(z.string(), SourceProgressSchema),
  /** A cleanup chunk whose rollups may already be on the new shard (see cleanup.ts). */
  pending: z.object({ source: z.string(), key: z.string(), codes: z.array(z.string()) }).nullable(),
  /** ms since the epoch at each phase's start, and the write-refusal window. */
  times: z.record(z.string(), z.int()),
  switchWindowMs: z.int().nullable(),
});
export type Progress = z.output<typeof ProgressSchema>;
export type SourceProgress = z.output<typeof SourceProgressSchema>;

export function freshSource(): SourceProgress {
  return { watermark: null, passes: 0, copied: 0, cleanedTo: null, deleted: 0, cleaned: false };
}

/** The progress of one source shard, created on first use. */
export function sourceOf(progress: Progress, shard: string): SourceProgress {
  const existing = progress.sources[shard];
  if (existing) return existing;
  const fresh = freshSource();
  progress.sources[shard] = fresh;
  return fresh;
}

export class StaleTopologyError extends Error {
  override readonly name = "StaleTopologyError";
}

export class ReshardEtcd {
  readonly client: Etcd3;
  readonly prefix: string;
  readonly #build: (kvs: Record<string, string>, revision: number) => TopologySnapshot;

  constructor(o: ReshardEtcdOptions) {
    this.client = etcdClient(o.endpoints, o.callTimeoutMs ?? 3_000);
    this.prefix = o.prefix;
    this.#build = o.patroniNamespace
      ? patroniSnapshotBuilder(o.prefix, o.patroniNamespace)
      : (kvs, revision) => snapshotFromEtcd(kvs, revision, o.prefix);
  }

  /** The topology as the origins build it, and what a phase write must compare against. */
  async read(extra: Record<string, string> = {}): Promise<TopologyRead> {
    const response = await this.client.getAll().prefix(this.prefix).exec();
    const kvs: Record<string, string> = {};
    const mods: Record<string, string> = {};
    for (const kv of response.kvs) {
      const key = kv.key.toString("utf8");
      kvs[key] = kv.value.toString("utf8");
      mods[key] = String(kv.mod_revision);
    }
    const snapshot = this.#build({ ...kvs, ...extra }, Number(response.header.revision));
    return {
      snapshot,
      ringMod: mods[etcdKey.ring(this.prefix)] ?? "0",
      reshardMod: mods[etcdKey.reshard(this.prefix)] ?? "0",
    };
  }

  /**
   * Writes the ring and the resharding (null: deletes it) in one transaction, only if neither
   * key changed since `read`; throws StaleTopologyError when one did (another mover, an operator).
   */
  async write(read: TopologyRead, ring: RingSpec, reshard: Reshard | null): Promise<void> {
    const ringKey = etcdKey.ring(this.prefix);
    const reshardKeyName = etcdKey.reshard(this.prefix);
    const ops = [this.client.put(ringKey).value(JSON.stringify(ring))];
    const reshardOp = reshard
      ? this.client.put(reshardKeyName).value(JSON.stringify(ReshardSchema.parse(reshard)))
      : this.client.delete().key(reshardKeyName);
    const result = await this.client
      .if(ringKey, "Mod", "==", read.ringMod)
      .and(reshardKeyName, "Mod", "==", read.reshardMod)
      .then(...ops, reshardOp)
      .commit();
    if (!result.succeeded) {
      throw new StaleTopologyError(
        `the ring or the reshard key under ${this.prefix} changed while the mover worked; run reshard status`,
      );
    }
  }

  async progress(): Promise<Progress | null> {
    const raw = await this.client.get(reshardKey.progress(this.prefix)).string();
    return raw === null ? null : ProgressSchema.parse(JSON.parse(raw));
  }

  async saveProgress(progress: Progress | null): Promise<void> {
    const key = reshardKey.progress(this.prefix);
    if (progress === null) await this.client.delete().key(key);
    else await this.client.put(key).value(JSON.stringify(ProgressSchema.parse(progress)));
  }

  /** The live origins' acknowledgements (their keys are on leases: a dead origin's vanish). */
  async acks(): Promise<Map<string, OriginAck | null>> {
    const root = reshardKey.acks(this.prefix);
    const all = await this.client.getAll().prefix(root).strings();
    const acks = new Map<string, OriginAck | null>();
    for (const [key, value] of Object.entries(all)) {
      let ack: OriginAck | null = null;
      try {
        ack = OriginAckSchema.parse(JSON.parse(value));
      } catch {
        ack = null; // unreadable: counts as not acknowledged
      }
      acks.set(key.slice(root.length), ack);
    }
    return acks;
  }

  close(): void {
    this.client.close();
  }
}
