import { currentTimeline, type TimelineSwitch } from "./history.ts";
import { compareLsn } from "./lsn.ts";
import type { Position } from "./position.ts";

/**
 * What the edge does with a client's position for the shard of the code it asked for, decided
 * in memory from the shard's timeline history in the topology snapshot:
 * - `wait`: read a replica only once it has replayed `lsn` (the gateway's `minLsn`);
 * - `lost`: the write was acknowledged on a timeline that a failover abandoned past it;
 * - `ignore`: nothing to go by (a timeline the history does not know, or one from the future,
 *   i.e. forged or ahead of the snapshot): a plain replica read, as without a token.
 */
export type PositionJudgement =
  | { kind: "wait"; lsn: string }
  | { kind: "lost" }
  | { kind: "ignore" };

export function judgePosition(
  entry: Pick<Position, "timeline" | "lsn">,
  history: readonly TimelineSwitch[],
): PositionJudgement {
  const current = currentTimeline(history);
  if (entry.timeline === current) return { kind: "wait", lsn: entry.lsn };
  if (entry.timeline > current) return { kind: "ignore" };
  const fork = history.find((s) => s.timeline === entry.timeline);
  if (!fork) return { kind: "ignore" };
  // At the switch point itself the WAL is common to both timelines: the write survived.
  return compareLsn(entry.lsn, fork.switchLsn) <= 0
    ? { kind: "wait", lsn: entry.lsn }
    : { kind: "lost" };
}
