import { z } from "zod";
import { latestTimelines, TimelineHistorySchema, type TimelineSwitch } from "./position/history.ts";
import {
  type CodeMove,
  moveOf,
  type Reshard,
  ReshardSchema,
  reshardIssues,
  reshardShards,
} from "./reshard.ts";
import { HashRing, RingSchema } from "./ring.ts";
import type { Route } from "./ryow.ts";
import { describeIssues } from "./settings.ts";

/**
 * The shard topology: which shards the ring has, and for each shard its primary and replicas.
 * Stored in etcd (one key per place, see docs/architecture.md), read into a snapshot whose
 * version is the etcd revision, pushed to the edge. Shard ids decide code ownership; node
 * addresses change on failover without moving a single code.
 */

export const DEFAULT_ETCD_PREFIX = "/firstclick/";
export { MAX_SHARDS, MAX_VNODES } from "./ring.ts";
export const NodeSchema = z.object({
  id: z.string().min(1).max(128),
  gatewayUrl: z.url({ protocol: /^https?$/, error: "gatewayUrl must be an http(s) URL" }),
  pg: z.object({
    host: z.string().min(1).max(255),
    port: z.int().min(1).max(65535),
  }),
});

export const ShardSchema = z.object({
  primary: NodeSchema.nullable(),
  replicas: z.array(NodeSchema),
  /** The current primary's past timelines (judgePosition); absent in older snapshots. */
  history: TimelineHistorySchema.default([]),
});

export const TopologySnapshotSchema = z
  .object({
    version: z.int().min(0),
    ring: RingSchema,
    shards: z.record(z.string(), ShardSchema),
    /** An online resharding in progress (reshard.ts); absent: none. */
    reshard: ReshardSchema.optional(),
  })
  .superRefine((s, ctx) => {
    const ids = s.reshard
      ? [...new Set([...s.ring.shards, ...reshardShards(s.reshard)])]
      : s.ring.shards;
    for (const message of s.reshard ? reshardIssues(s.reshard, s.ring) : []) {
      ctx.addIssue({ code: "custom", path: ["reshard"], message });
    }
    for (const id of ids) {
      if (!Object.hasOwn(s.shards, id)) {
        ctx.addIssue({
          code: "custom",
          path: ["shards", id],
          message: `ring shard "${id}" has no entry in shards`,
        });
      }
    }
    // A node serves one database, so it belongs to one shard, once.
    const seen = new Set<string>();
    for (const [shardId, shard] of Object.entries(s.shards)) {
      const nodes = shard.primary ? [shard.primary, ...shard.replicas] : shard.replicas;
      for (const node of nodes) {
        if (seen.has(node.id)) {
          ctx.addIssue({
            code: "custom",
            path: ["shards", shardId],
            message: `node "${node.id}" appears more than once in the topology`,
          });
        }
        seen.add(node.id);
      }
    }
  });

// Input types: identical to the parsed ones except that `history` may be left out, so snapshots
// and shards written before it existed (and literals in tests) stay valid. Parsed snapshots
// always carry it; read it through Topology#historyOf.
export type TopologyNode = z.input<typeof NodeSchema>;
export type TopologyShard = z.input<typeof ShardSchema>;
export type TopologySnapshot = z.input<typeof TopologySnapshotSchema>;

export class TopologyError extends Error {
  override readonly name = "TopologyError";
}

/** Validates untrusted input (a request body, a file) as a snapshot; throws TopologyError. */
export function parseTopologySnapshot(input: unknown): TopologySnapshot {
  const result = TopologySnapshotSchema.safeParse(input);
  if (!result.success)
    throw new TopologyError(`invalid topology snapshot: ${describeIssues(result.error)}`);
  return result.data;
}

function withSlash(prefix: string): string {
  return prefix.endsWith("/") ? prefix : `${prefix}/`;
}

export const etcdKey = {
  ring: (prefix: string): string => `${withSlash(prefix)}ring`,
  primary: (prefix: string, shard: string): string => `${withSlash(prefix)}shards/${shard}/primary`,
  replicas: (prefix: string, shard: string): string =>
    `${withSlash(prefix)}shards/${shard}/replicas`,
  /** `[{"timeline":1,"switchLsn":"0/3000060"}, …]`, written with `primary` on a promotion. */
  history: (prefix: string, shard: string): string => `${withSlash(prefix)}shards/${shard}/history`,
  /** The resharding in progress (core/reshard.ts), absent when there is none. */
  reshard: (prefix: string): string => `${withSlash(prefix)}reshard`,
};

function parseJsonKey(kvs: Record<string, string>, key: string): unknown {
  const raw = kvs[key];
  if (raw === undefined) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    throw new TopologyError(
      `etcd key ${key} does not hold JSON: ${JSON.stringify(raw.slice(0, 80))}`,
    );
  }
}

/** A list keeps its latest MAX_TIMELINE_HISTORY entries; anything else is left to the schema. */
function latestIfList(value: unknown): unknown {
  return Array.isArray(value) ? latestTimelines(value) : value;
}

/**
 * Builds a snapshot from the keys under `prefix` read at etcd `revision`. A shard without a
 * primary key (or with `null`) has no primary; without a replicas key it has none; without a
 * history key it was never promoted (the latest 32 timelines are kept). Keys of shards
 * not in the ring, and any other keys under the prefix, are ignored. Throws TopologyError.
 */
export function snapshotFromEtcd(
  kvs: Record<string, string>,
  revision: number,
  prefix: string = DEFAULT_ETCD_PREFIX,
): TopologySnapshot {
  const ringKey = etcdKey.ring(prefix);
  const ring = parseJsonKey(kvs, ringKey);
  if (ring === undefined) throw new TopologyError(`etcd key ${ringKey} is missing`);
  const ringResult = RingSchema.safeParse(ring);
  if (!ringResult.success) {
    throw new TopologyError(`etcd key ${ringKey} is invalid: ${describeIssues(ringResult.error)}`);
  }
  const reshardKey = etcdKey.reshard(prefix);
  const rawReshard = parseJsonKey(kvs, reshardKey) ?? null;
  const reshardResult = ReshardSchema.nullable().safeParse(rawReshard);
  if (!reshardResult.success) {
    throw new TopologyError(
      `etcd key ${reshardKey} is invalid: ${describeIssues(reshardResult.error)}`,
    );
  }
  const reshard = reshardResult.data;
  const ids = reshard
    ? [...new Set([...ringResult.data.shards, ...reshardShards(reshard)])]
    : ringResult.data.shards;
  const shards: Record<string, unknown> = {};
  for (const id of ids) {
    shards[id] = {
      primary: parseJsonKey(kvs, etcdKey.primary(prefix, id)) ?? null,
      replicas: parseJsonKey(kvs, etcdKey.replicas(prefix, id)) ?? [],
      history: latestIfList(parseJsonKey(kvs, etcdKey.history(prefix, id)) ?? []),
    };
  }
  const result = TopologySnapshotSchema.safeParse({
    version: revision,
    ring: ringResult.data,
    shards,
    ...(reshard ? { reshard } : {}),
  });
  if (!result.success) {
    throw new TopologyError(
      `topology under ${withSlash(prefix)} at revision ${revision} is invalid: ${describeIssues(result.error)}`,
    );
  }
  return result.data;
}

/**
 * The etcd keys and values that describe a topology (the inverse of snapshotFromEtcd). A shard
 * without a primary gets the value `null`. Throws TopologyError on an invalid topology.
 */
export function etcdValuesFor(
  snapshot: Omit<TopologySnapshot, "version">,
  prefix: string = DEFAULT_ETCD_PREFIX,
): Record<string, string> {
  const valid = parseTopologySnapshot({ ...snapshot, version: 0 });
  const values: Record<string, string> = {
    [etcdKey.ring(prefix)]: JSON.stringify({
      shards: valid.ring.shards,
      vnodes: valid.ring.vnodes,
    }),
  };
  if (valid.reshard) values[etcdKey.reshard(prefix)] = JSON.stringify(valid.reshard);
  for (const id of Object.keys(valid.shards)) {
    const shard = valid.shards[id];
    if (!shard) continue; // unreachable: the schema requires an entry per ring shard
    values[etcdKey.primary(prefix, id)] = JSON.stringify(shard.primary);
    values[etcdKey.replicas(prefix, id)] = JSON.stringify(shard.replicas);
    values[etcdKey.history(prefix, id)] = JSON.stringify(shard.history);
  }
  return values;
}

/** True when `next` should replace `current`: nothing ever applies an older version. */
export function isNewer(
  current: { version: number } | null | undefined,
  next: { version: number },
): boolean {
  return current == null || next.version > current.version;
}

// Rings depend only on (shard ids, vnodes), which a failover does not change: share them
// across snapshot versions. Bounded, since a process sees few distinct rings.
const rings = new Map<string, HashRing>();
const topologies = new WeakMap<TopologySnapshot, Topology>();

function ringFor(shards: readonly string[], vnodes: number): HashRing {
  const key = `${vnodes}|${[...shards].sort().join(",")}`;
  let ring = rings.get(key);
  if (!ring) {
    ring = new HashRing(shards, { vnodes });
    if (rings.size >= 8) rings.clear();
    rings.set(key, ring);
  }
  return ring;
}

export class Topology {
  readonly version: number;
  readonly snapshot: TopologySnapshot;
  readonly #ring: HashRing;
  /** The resharding in progress and its two rings; null when there is none. */
  readonly #reshard: { spec: Reshard; from: HashRing; to: HashRing } | null;

  private constructor(snapshot: TopologySnapshot, ring: HashRing) {
    this.snapshot = snapshot;
    this.version = snapshot.version;
    this.#ring = ring;
    const spec = snapshot.reshard ? ReshardSchema.parse(snapshot.reshard) : null;
    this.#reshard = spec
      ? {
          spec,
          from: ringFor(spec.from.shards, spec.from.vnodes),
          to: ringFor(spec.to.shards, spec.to.vnodes),
        }
      : null;
  }

  /**
   * The routing view of a snapshot that is already validated (parseTopologySnapshot or
   * snapshotFromEtcd). Cheap to call repeatedly: cached per snapshot object, rings per ring.
   */
  static from(snapshot: TopologySnapshot): Topology {
    const cached = topologies.get(snapshot);
    if (cached) return cached;
    for (const id of snapshot.ring.shards) {
      if (!Object.hasOwn(snapshot.shards, id)) {
        throw new TopologyError(`ring shard "${id}" has no entry in shards`);
      }
    }
    let ring: HashRing;
    try {
      ring = ringFor(snapshot.ring.shards, snapshot.ring.vnodes);
    } catch (error) {
      throw new TopologyError(
        `invalid ring: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const topology = new Topology(snapshot, ring);
    topologies.set(snapshot, topology);
    return topology;
  }

  shardFor(code: string): string {
    return this.#ring.shardFor(code);
  }

  /** The resharding in progress, or null. */
  get reshard(): Reshard | null {
    return this.#reshard?.spec ?? null;
  }

  /** The code's old and new owner while a resharding moves it; null when it does not move. */
  moveOf(code: string): CodeMove | null {
    const r = this.#reshard;
    return r ? moveOf(code, r.from, r.to) : null;
  }

  /**
   * Whether writes of this code are refused: while switching, if it moves; and just after the
   * switch until the readers route by the new ring (`readersSwitched` false: the origin has not
   * yet delivered this snapshot to the edge), or a creator's click would still go to the old
   * owner, which never gets the write.
   */
  writeFrozen(code: string, readersSwitched = true): boolean {
    const phase = this.#reshard?.spec.phase;
    if (phase !== "switching" && (phase !== "serving" || readersSwitched)) return false;
    return this.moveOf(code) !== null;
  }

  /**
   * Serving phase, before `graceUntil`: the old owner to ask once when the new owner answers
   * 404 for this code (its copy may not have reached the replica read); null otherwise.
   */
  graceShardFor(code: string, nowMs: number): string | null {
    const r = this.#reshard?.spec;
    if (r?.phase !== "serving" || r.graceUntil === null || nowMs >= r.graceUntil) return null;
    return this.moveOf(code)?.from ?? null;
  }

  #shard(shard: string): TopologyShard {
    const entry = Object.hasOwn(this.snapshot.shards, shard)
      ? this.snapshot.shards[shard]
      : undefined;
    if (!entry)
      throw new TopologyError(`unknown shard "${shard}" in topology version ${this.version}`);
    return entry;
  }

  primaryOf(shard: string): TopologyNode | null {
    return this.#shard(shard).primary;
  }

  /** The shard's past timelines, for judgePosition (`[]` in snapshots from before history). */
  historyOf(shard: string): readonly TimelineSwitch[] {
    return this.#shard(shard).history ?? [];
  }

  /**
   * Nodes to try for a read, in order. "primary": the primary, or nothing while the shard has
   * none. "replica": the replicas starting at `start` (callers rotate it to spread load), then
   * the primary as the last resort.
   */
  nodesFor(shard: string, route: Route, start = 0): TopologyNode[] {
    const { primary, replicas } = this.#shard(shard);
    if (route === "primary") return primary ? [primary] : [];
    const n = replicas.length;
    const offset = n === 0 || !Number.isFinite(start) ? 0 : ((Math.trunc(start) % n) + n) % n;
    const nodes = [...replicas.slice(offset), ...replicas.slice(0, offset)];
    if (primary) nodes.push(primary);
    return nodes;
  }
}
