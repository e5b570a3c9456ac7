import { z } from "zod";
import { type HashRing, RingSchema, type RingSpec } from "./ring.ts";

/**
 * An online resharding, as the topology records it (etcd key `<prefix>reshard`, docs/architecture.md
 * "Resharding"). The mover (apps/origin/src/reshard) writes it; the origin and the edge read it
 * from every snapshot and act on its phase:
 *
 * - `copying`   the snapshot's ring is `from`. Rows whose owner differs under `to` are copied to
 *               their new shard, and changes after the copy are followed (a watermark on
 *               `updated_at`). Reads and writes use `from`.
 * - `switching` still `from`, but writes of moving codes are refused (503 + Retry-After) while the
 *               last changes are copied. Reads go on from the old owner.
 * - `serving`   the ring is `to`. Until `graceUntil` (ms since the epoch) the edge, on a 404 from
 *               a moving code's new owner, asks its old owner once.
 * - `cleanup`   the ring is `to`; the moved rows are deleted from their old shards.
 *
 * When cleanup ends the key is deleted and the topology is an ordinary one again.
 */

export const RESHARD_PHASES = ["copying", "switching", "serving", "cleanup"] as const;
export type ReshardPhase = (typeof RESHARD_PHASES)[number];

export const ReshardSchema = z.object({
  /** Names this resharding in logs, status and the origins' acknowledgements. */
  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, "a resharding id is 1–128 of [A-Za-z0-9_.:-]"),
  phase: z.enum(RESHARD_PHASES),
  from: RingSchema,
  to: RingSchema,
  /** Serving phase: until when (ms since the epoch) a 404 from a new owner asks the old one. */
  graceUntil: z.int().min(0).nullable().default(null),
});
export type Reshard = z.output<typeof ReshardSchema>;
export type ReshardInput = z.input<typeof ReshardSchema>;

/** The ring that owns codes in this phase: `from` until the switch, `to` from then on. */
export function ownerRing(reshard: Pick<Reshard, "phase" | "from" | "to">): RingSpec {
  return reshard.phase === "copying" || reshard.phase === "switching" ? reshard.from : reshard.to;
}

/** Every shard either ring names: the snapshot needs nodes for all of them. */
export function reshardShards(reshard: Pick<Reshard, "from" | "to">): string[] {
  return [...new Set([...reshard.from.shards, ...reshard.to.shards])];
}

function sameRing(a: RingSpec, b: RingSpec): boolean {
  return a.vnodes === b.vnodes && [...a.shards].sort().join(",") === [...b.shards].sort().join(",");
}

/** Problems of a resharding against the snapshot's ring; [] when it is consistent. */
export function reshardIssues(reshard: Reshard, ring: RingSpec): string[] {
  const issues: string[] = [];
  if (sameRing(reshard.from, reshard.to))
    issues.push("reshard.from and reshard.to are the same ring");
  if (!sameRing(ownerRing(reshard), ring)) {
    issues.push(
      `in phase ${reshard.phase} the ring must be reshard.${reshard.phase === "copying" || reshard.phase === "switching" ? "from" : "to"}`,
    );
  }
  if (reshard.phase === "serving" && reshard.graceUntil === null) {
    issues.push("phase serving needs graceUntil");
  }
  return issues;
}

/**
 * Where one code stands in a resharding: `from`/`to` are its owners under the two rings (equal
 * for the codes that do not move, most of them). Built by Topology#moveOf.
 */
export interface CodeMove {
  from: string;
  to: string;
}

export function moveOf(code: string, from: HashRing, to: HashRing): CodeMove | null {
  const a = from.shardFor(code);
  const b = to.shardFor(code);
  return a === b ? null : { from: a, to: b };
}

/**
 * Keys beside the topology, not under its prefix (so writing them never makes a new snapshot):
 * `<prefix minus its slash>.reshard/…`, e.g. `/firstclick.reshard/progress`.
 */
export const reshardKey = {
  root: (prefix: string): string => `${prefix.replace(/\/+$/, "")}.reshard/`,
  /** The mover's progress (ReshardProgressSchema): resumable after a crash of the mover. */
  progress: (prefix: string): string => `${reshardKey.root(prefix)}progress`,
  /** Every origin's acknowledgement (OriginAckSchema), on a lease: `acks/<originId>`. */
  acks: (prefix: string): string => `${reshardKey.root(prefix)}acks/`,
  ack: (prefix: string, originId: string): string => `${reshardKey.acks(prefix)}${originId}`,
};

/**
 * What an origin has taken in: the resharding (id and phase, or null when none) of the newest
 * topology it applied, written once every write it had begun under an older topology finished
 * and the edge was sent the new one. The mover moves on from `switching` only when every live
 * origin acknowledged it (so no write of a moving code is still under way anywhere).
 */
export const OriginAckSchema = z.object({
  reshardId: z.string().nullable(),
  phase: z.enum(RESHARD_PHASES).nullable(),
  version: z.int().min(0),
  at: z.int().min(0),
});
export type OriginAck = z.output<typeof OriginAckSchema>;
