import type { Route, Topology, TopologyNode } from "@firstclick/core";

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
}

export function planRedirect(input: PlanRedirectInput): RedirectPlan {
  const { topology } = input;
  const shard = topology.shardFor(input.code);
  const primary = topology.primaryOf(shard);
  // nodesFor("replica") is the replicas from `start`, then the primary as the last resort.
  const readOrder = topology.nodesFor(shard, "replica", input.replicaStart);
  const roleOf = (node: TopologyNode): NodeRole =>
    primary !== null && node.id === primary.id ? "primary" : "replica";

  if (input.route === "primary") {
    // Inside a RYOW window the primary is the only node sure to have the client's write. If it
    // cannot answer (down, mid-failover) a replica's possibly stale answer beats a 503.
    const replicas = readOrder.filter((node) => roleOf(node) === "replica");
    const attempts: Attempt[] = primary ? [{ node: primary, role: "primary" }] : [];
    for (const node of replicas) attempts.push({ node, role: "replica" });
    return { shard, attempts, fallbackPrimary: null };
  }
  return {
    shard,
    attempts: readOrder.map((node) => ({ node, role: roleOf(node) })),
    fallbackPrimary: input.fallback ? primary : null,
  };
}

export type ServedBy = NodeRole | "fallback";

/** `X-Firstclick-Route`: how the answer was read. Shard ids only, never node addresses. */
export function routeHeader(servedBy: ServedBy, shard: string): string {
  return `${servedBy}; shard=${shard}`;
}
