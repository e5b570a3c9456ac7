import { z } from "zod";
import { historyFromPatroni, type TimelineSwitch } from "./position/history.ts";
import { ownerRing, type Reshard, ReshardSchema, reshardShards } from "./reshard.ts";
import { describeIssues } from "./settings.ts";
import {
  MAX_SHARDS,
  MAX_VNODES,
  NodeSchema,
  snapshotFromEtcd,
  TopologyError,
  type TopologyNode,
  type TopologySnapshot,
  TopologySnapshotSchema,
} from "./topology.ts";

/**
 * The topology of Patroni-managed shards, read from Patroni's own keys in etcd: one Patroni scope
 * per shard, `<namespace><scope>/leader` holding the leader's member name (leased: it vanishes
 * about `ttl` seconds after the leader dies) and `<namespace><scope>/members/<name>` holding each
 * member's JSON, with the shard gateway's URL in its `tags.gateway_url`, and
 * `<namespace><scope>/history` holding the leader's timeline history (historyFromPatroni). The same snapshot type
 * as the manual mode, so the edge and the origin route the same way in both modes.
 */

export const DEFAULT_PATRONI_NAMESPACE = "/firstclick/patroni/";

/**
 * A member's key as Patroni 3.0 writes it (extra fields such as `version` or
 * `checkpoint_after_promote` are allowed). Only what the topology needs is checked.
 */
export const PatroniMemberSchema = z.looseObject({
  conn_url: z.string().max(2048),
  state: z.string(),
  role: z.string().optional(),
  api_url: z.string().optional(),
  xlog_location: z.number().optional(),
  timeline: z.number().optional(),
  tags: z.looseObject({ gateway_url: z.string().max(2048).optional() }).optional(),
});
export type PatroniMember = z.output<typeof PatroniMemberSchema>;

export interface PatroniSnapshotOptions {
  /** Patroni's `namespace` setting, e.g. `/firstclick/patroni/`. */
  namespace: string;
  /** Shard id → Patroni scope of that shard. Its keys are the ring's shards, in this order. */
  scopes: Readonly<Record<string, string>>;
  /** Virtual nodes per shard on the ring (the same value as the manual mode's ring key). */
  vnodes: number;
  /**
   * A resharding in progress (the manual mode's `<prefix>reshard` key): then `scopes` names the
   * shards of both rings, and the snapshot's ring is the one that owns codes in its phase.
   */
  reshard?: Reshard | null;
}

/** `/firstclick/patroni/` + `s0` → `/firstclick/patroni/s0/`, the way Patroni joins them. */
export function patroniScopePrefix(namespace: string, scope: string): string {
  return `/${namespace}/${scope}/`.replace(/\/+/g, "/");
}

const SCOPE = /^[A-Za-z0-9_.-]{1,128}$/;

function checkOptions(options: PatroniSnapshotOptions): string[] {
  const shardIds = Object.keys(options.scopes);
  if (shardIds.length === 0) throw new TopologyError("Patroni mode needs at least one shard scope");
  if (shardIds.length > MAX_SHARDS) {
    throw new TopologyError(`too many shards (${shardIds.length} > ${MAX_SHARDS})`);
  }
  if (!Number.isInteger(options.vnodes) || options.vnodes < 1 || options.vnodes > MAX_VNODES) {
    throw new TopologyError(`vnodes must be an integer in 1..${MAX_VNODES}`);
  }
  if (options.namespace.trim() === "") throw new TopologyError("the Patroni namespace is empty");
  const seen = new Map<string, string>();
  for (const id of shardIds) {
    const scope = options.scopes[id] ?? "";
    if (!SCOPE.test(scope)) {
      throw new TopologyError(`shard ${id}: Patroni scope "${scope}" is not a valid scope name`);
    }
    const other = seen.get(scope);
    if (other !== undefined) {
      throw new TopologyError(`shards ${other} and ${id} name the same Patroni scope "${scope}"`);
    }
    seen.set(scope, id);
  }
  return shardIds;
}

/** `postgres://127.0.0.1:54320/postgres` → host and port; null when it is not such a URL. */
function pgAddress(connUrl: string): TopologyNode["pg"] | null {
  const url = URL.parse(connUrl);
  if (!url || (url.protocol !== "postgres:" && url.protocol !== "postgresql:")) return null;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = url.port === "" ? 5432 : Number(url.port);
  if (host === "" || !Number.isInteger(port) || port < 1 || port > 65_535) return null;
  return { host, port };
}

/**
 * The member as a topology node, or null when it must stay out of the snapshot: JSON that is
 * not a Patroni member, a state other than `running` (starting, stopped, creating a replica,
 * crashed…), no usable gateway URL in its tags, or an unreadable `conn_url`.
 */
function nodeOf(name: string, raw: string): TopologyNode | null {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return null;
  }
  const member = PatroniMemberSchema.safeParse(json);
  if (!member.success || member.data.state !== "running") return null;
  const pg = pgAddress(member.data.conn_url);
  if (!pg) return null;
  // The same node schema as the manual mode: an http(s) gateway URL, a sane id and address.
  const node = NodeSchema.safeParse({ id: name, gatewayUrl: member.data.tags?.gateway_url, pg });
  return node.success ? node.data : null;
}

function byId(a: TopologyNode, b: TopologyNode): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Builds the topology snapshot from the etcd keys under the Patroni namespace, read at etcd
 * `revision` (the snapshot's version). Per shard: the member named by the scope's leader key
 * is the primary (if that member is running with a gateway tag), every other running member
 * with a gateway tag is a replica, sorted by name. A shard without a leader (the window of a
 * failover) has `primary: null` and keeps its replicas for reads.
 *
 * The leader key, not the member's `role`, decides: Patroni takes the key first and its member
 * key says `replica` for one more HA loop while PostgreSQL is promoted.
 *
 * Members that cannot be used are skipped, never fatal; only structural problems (bad options,
 * a node in two shards) throw TopologyError.
 */
export function snapshotFromPatroni(
  kvs: Readonly<Record<string, string>>,
  revision: number,
  options: PatroniSnapshotOptions,
): TopologySnapshot {
  const shardIds = checkOptions(options);
  if (!Number.isInteger(revision) || revision < 0) {
    throw new TopologyError(`etcd revision must be a non-negative integer (got ${revision})`);
  }
  const shards: Record<
    string,
    { primary: TopologyNode | null; replicas: TopologyNode[]; history: TimelineSwitch[] }
  > = {};
  for (const id of shardIds) {
    const prefix = patroniScopePrefix(options.namespace, options.scopes[id] ?? "");
    const membersPrefix = `${prefix}members/`;
    const leaderName = Object.hasOwn(kvs, `${prefix}leader`) ? kvs[`${prefix}leader`] : undefined;
    let primary: TopologyNode | null = null;
    const replicas: TopologyNode[] = [];
    for (const [key, value] of Object.entries(kvs)) {
      if (!key.startsWith(membersPrefix)) continue;
      const name = key.slice(membersPrefix.length);
      if (name === "" || name.includes("/")) continue;
      const node = nodeOf(name, value);
      if (!node) continue;
      if (name === leaderName) primary = node;
      else replicas.push(node);
    }
    replicas.sort(byId);
    const history = historyFromPatroni(
      Object.hasOwn(kvs, `${prefix}history`) ? kvs[`${prefix}history`] : undefined,
    );
    shards[id] = { primary, replicas, history };
  }
  const result = TopologySnapshotSchema.safeParse({
    version: revision,
    ring: options.reshard
      ? ownerRing(options.reshard)
      : { shards: shardIds, vnodes: options.vnodes },
    shards,
    ...(options.reshard ? { reshard: options.reshard } : {}),
  });
  if (!result.success) {
    throw new TopologyError(
      `Patroni topology under ${options.namespace} at revision ${revision} is invalid: ${describeIssues(result.error)}`,
    );
  }
  return result.data;
}

/**
 * The Patroni mode's whole topology from etcd: the ring (and a resharding in progress) from the
 * cluster's own keys under `prefix`, every shard's nodes from its Patroni scope (scope = shard id)
 * under `namespace`. What the origin's Patroni source and the cluster CLI both read.
 */
export function snapshotFromPatroniKeys(
  kvs: Readonly<Record<string, string>>,
  revision: number,
  o: { prefix: string; namespace: string },
): TopologySnapshot {
  // The manual reader validates the ring and reshard keys; without `shards/*` keys its shards
  // are empty.
  const { ring, reshard } = snapshotFromEtcd({ ...kvs }, revision, o.prefix);
  const ids = reshard ? reshardShards(reshard) : ring.shards;
  return snapshotFromPatroni(kvs, revision, {
    namespace: o.namespace,
    scopes: Object.fromEntries(ids.map((id) => [id, id])),
    vnodes: ring.vnodes,
    reshard: reshard ? ReshardSchema.parse(reshard) : null,
  });
}
