import { formatLsn, parseLsn } from "./lsn.ts";

/**
 * The position of a write: `<shard>:<timeline>/<lsn>`, e.g. `s0:2/0/3000060`. The shard's
 * primary was on `timeline` and had written WAL up to `lsn` at or after the write's commit
 * record, so any node of that timeline that has replayed `lsn` has the write.
 */

export interface Position {
  readonly shard: string;
  /** PostgreSQL's TimeLineID: 1 for a fresh cluster, +1 on each promotion. */
  readonly timeline: number;
  /** PostgreSQL's spelling (upper-case hex, no leading zeros). */
  readonly lsn: string;
}

// The topology's shard id pattern: shard ids are etcd path segments.
const SHARD_ID = /^[A-Za-z0-9_-]{1,64}$/;
const TIMELINE = /^[1-9][0-9]{0,9}$/;
export const MAX_TIMELINE = 2 ** 32 - 1;
/** The longest position text: 64-char shard, 10-digit timeline, 17-char LSN, 2 separators. */
export const MAX_POSITION_LENGTH = 64 + 1 + 10 + 1 + 17;

export function isTimeline(n: unknown): n is number {
  return typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_TIMELINE;
}

/** `s0:2/0/3000060` → Position (LSN normalised), or null when malformed. Never throws. */
export function parsePosition(text: unknown): Position | null {
  if (typeof text !== "string" || text.length > MAX_POSITION_LENGTH) return null;
  const colon = text.indexOf(":");
  const slash = text.indexOf("/", colon + 1);
  if (colon === -1 || slash === -1) return null;
  const shard = text.slice(0, colon);
  const timelineText = text.slice(colon + 1, slash);
  const lsn = parseLsn(text.slice(slash + 1));
  if (!SHARD_ID.test(shard) || !TIMELINE.test(timelineText) || !lsn) return null;
  const timeline = Number(timelineText);
  if (!isTimeline(timeline)) return null;
  return { shard, timeline, lsn: formatLsn(lsn) };
}

/** Position → `s0:2/0/3000060`. Throws RangeError on an invalid position. */
export function formatPosition(p: Position): string {
  const lsn = parseLsn(p.lsn);
  if (!SHARD_ID.test(p.shard) || !isTimeline(p.timeline) || !lsn) {
    throw new RangeError(`not a position: ${JSON.stringify(p)}`);
  }
  return `${p.shard}:${p.timeline}/${formatLsn(lsn)}`;
}
