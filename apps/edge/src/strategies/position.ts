import {
  judgePosition,
  POSITION_COOKIE,
  type PositionJudgement,
  readPositionToken,
  type Topology,
} from "@firstclick/core";
import type { EdgeConfig } from "../env.ts";

/**
 * Strategy `position` (issue 12): the client's position token (`ryow_pos` cookie and/or the
 * `x-firstclick-position` header) names, per shard, the WAL position of its latest write. For
 * the shard of the code asked for, core's judgePosition decides in memory against the shard's
 * timeline history: read a replica that has replayed it (`wait`), tell the client a failover
 * lost it (`lost`), or read as without a token (null). Not a RyowStrategy: it does not choose
 * primary or replica but a minimum position, which planRedirect (route.ts) turns into a plan.
 */

export interface PositionQuery {
  topology: Topology;
  shard: string;
  cookieHeader: string | null;
  headerValue: string | null;
  nowSeconds: number;
}

export type PositionConfig = Pick<EdgeConfig, "strategies" | "ryowSecrets" | "positionTtlSeconds">;

/**
 * The judgement for `query.shard`, or null (strategy off, no usable entry for the shard, or
 * one judgePosition ignores). Never throws: a token it cannot trust counts as absent.
 */
export async function judgeClientPosition(
  config: PositionConfig,
  query: PositionQuery,
): Promise<Exclude<PositionJudgement, { kind: "ignore" }> | null> {
  if (!config.strategies.has("position")) return null;
  // Nothing to read: no crypto, no parsing on the common click without a token.
  if (query.headerValue === null && !query.cookieHeader?.includes(`${POSITION_COOKIE}=`))
    return null;
  const token = await readPositionToken(query.cookieHeader, query.headerValue, query.nowSeconds, {
    secrets: config.ryowSecrets,
    ttlSeconds: config.positionTtlSeconds,
    knownShards: [query.shard],
  });
  const entry = token.find((e) => e.shard === query.shard);
  if (!entry) return null;
  const judgement = judgePosition(entry, query.topology.historyOf(query.shard));
  return judgement.kind === "ignore" ? null : judgement;
}
