import type { PositionJudgement, Route, Topology, TopologyNode } from "@firstclick/core";
import type { CacheTier } from "./cache/link-cache.ts";

/**
 * The routing decision of a redirect, as a pure function: which shard owns the code and which
 * gateways to ask, in which order. The hono handler only feeds it (the route from the RYOW
 * strategies, a rotating replica start) and carries the plan out (upstream.ts).
 */

export type NodeRole = "primary" | "replica";

export interface Attempt {
  node: TopologyNode;
  role: NodeRole;
}

export interface RedirectPlan {
  shard: string;
  /** Nodes to ask in order; the first one that answers (200/404/410) decides. */
  attempts: Attempt[];
  /**
   * The `fallback` strategy: when a replica answers 404, ask this primary once before answering
   * 404 (the replica may not have replayed a brand-new link yet). Null when not applicable.
   */
  fallbackPrimary: TopologyNode | null;
  /**
   * Strategy `position`: ask each node for the link only once it has replayed this LSN (the
   * gateway's `minLsn`); a node that has not answers "behind" and the next one is asked.
   */
  minLsn: string | null;
  /**
   * Strategy `position`: the client's latest write on this shard was lost in a failover; a
   * 404 then means "lost", not "never existed" (the answer says so: linkLost).
   */
  lost: boolean;
  /**
   * A resharding's grace period (core reshard.ts): the code moved to this plan's shard, whose
   * replica may not have replayed the copied row yet; on a 404, the code's old owner is read
   * with this plan. Null outside a grace period and for codes that did not move.
   */
  grace: RedirectPlan | null;
}

export interface PlanRedirectInput {
  topology: Topology;
  code: string;
  /** What the RYOW strategies decided for this client and code. */
  route: Route;
  /** Rotates the replicas (round-robin per isolate) so reads spread over them. */
  replicaStart: number;
  /** Whether the `fallback` strategy is on. */
  fallback: boolean;
  /** Strategy `position`'s judgement for this shard (strategies/position.ts), null: none. */
  position?: Exclude<PositionJudgement, { kind: "ignore" }> | null;
  /** Now (ms since the epoch): whether a resharding's grace period is still on. */
  nowMs: number;
  /** Read this shard instead of the code's owner (the grace plan of the old owner). */
  shard?: string;
}

export function planRedirect(input: PlanRedirectInput): RedirectPlan {
  const { topology } = input;
  const shard = input.shard ?? topology.shardFor(input.code);
  const graceShard =
    input.shard === undefined ? topology.graceShardFor(input.code, input.nowMs) : null;
  const grace = graceShard
    ? planRedirect({ ...input, shard: graceShard, fallback: false, position: null })
    : null;
  const primary = topology.primaryOf(shard);
  // nodesFor("replica") is the replicas from `start`, then the primary as the last resort.
  const readOrder = topology.nodesFor(shard, "replica", input.replicaStart);
  const roleOf = (node: TopologyNode): NodeRole =>
    primary !== null && node.id === primary.id ? "primary" : "replica";

  const lost = input.position?.kind === "lost";
  // A lost write is only on a timeline no node serves any more: the primary is asked first
  // (it has every write that survived); so it is inside a RYOW window, which wins over a wait.
  if (input.route === "primary" || lost) {
    // Inside a RYOW window the primary is the only node sure to have the client's write. If it
    // cannot answer (down, mid-failover) a replica's possibly stale answer beats a 503.
    const replicas = readOrder.filter((node) => roleOf(node) === "replica");
    const attempts: Attempt[] = primary ? [{ node: primary, role: "primary" }] : [];
    for (const node of replicas) attempts.push({ node, role: "replica" });
    return { shard, attempts, fallbackPrimary: null, minLsn: null, lost, grace };
  }
  return {
    shard,
    attempts: readOrder.map((node) => ({ node, role: roleOf(node) })),
    fallbackPrimary: input.fallback ? primary : null,
    // The replicas in order, then the primary, each asked with the position: a replica that has
    // replayed it serves the creator (one subrequest), one that is behind passes to the next.
    minLsn: input.position?.kind === "wait" ? input.position.lsn : null,
    lost: false,
    grace,
  };
}

export type ServedBy = NodeRole | "fallback";

/** `X-Firstclick-Route`: how the answer was read. Shard ids only, never node addresses. */
export function routeHeader(servedBy: ServedBy, shard: string): string {
  return `${servedBy}; shard=${shard}`;
}

/**
 * `X-Firstclick-Route` of an answer from the edge's link cache (no gateway asked). The tier
 * comes last so `^(\w+); shard=(\w+)` parsers of the other values keep working.
 */
export function cacheRouteHeader(tier: CacheTier, shard: string): string {
  return `cache; shard=${shard}; tier=${tier}`;
}
