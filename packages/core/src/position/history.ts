import { z } from "zod";
import { compareLsn, formatLsn, isLsn, lsnFromBytes } from "./lsn.ts";
import { isTimeline, MAX_TIMELINE } from "./position.ts";

/**
 * A shard's timeline history: the past timelines of its current primary, each with the LSN at
 * which the next timeline forked off it (PostgreSQL's `<timeline>.history` file, which Patroni
 * copies into its `history` key). Writes on a past timeline after its switch LSN were lost in
 * that failover; writes at or before it are part of every later timeline.
 */

/** Only the latest timelines are kept: a position older than these is simply not judged. */
export const MAX_TIMELINE_HISTORY = 32;

export const TimelineSwitchSchema = z.object({
  timeline: z.int().min(1).max(MAX_TIMELINE),
  switchLsn: z.string().refine(isLsn, { error: "an LSN in PostgreSQL's text form X/Y" }),
});
export type TimelineSwitch = z.output<typeof TimelineSwitchSchema>;

export const TimelineHistorySchema = z
  .array(TimelineSwitchSchema)
  .max(MAX_TIMELINE_HISTORY)
  .refine(
    (h) =>
      h.every((s, i) => {
        const prev = h[i - 1];
        return (
          !prev || (prev.timeline < s.timeline && compareLsn(prev.switchLsn, s.switchLsn) <= 0)
        );
      }),
    { error: "timelines must increase, and so must their switch LSNs" },
  );

/** The current primary's timeline: one past the last switch, or 1 for a never-promoted shard. */
export function currentTimeline(history: readonly TimelineSwitch[]): number {
  const last = history.at(-1);
  return last ? last.timeline + 1 : 1;
}

/** The latest MAX_TIMELINE_HISTORY entries: older ones can only make judgements "ignore". */
export function latestTimelines<T>(history: readonly T[]): T[] {
  return history.slice(-MAX_TIMELINE_HISTORY);
}

/**
 * Patroni's `history` key (`[[1, 50331800, "no recovery target specified", time?, leader?],
 * …]`, the LSN as a byte integer) → the history, latest MAX_TIMELINE_HISTORY entries. Anything
 * unreadable gives `[]`: the shard then looks never promoted, positions on later timelines are
 * ignored (plain replica reads), and none is ever judged lost by mistake.
 */
export function historyFromPatroni(raw: string | undefined): TimelineSwitch[] {
  if (raw === undefined) return [];
  let lines: unknown;
  try {
    lines = JSON.parse(raw);
  } catch {
    return [];
  }
  if (!Array.isArray(lines)) return [];
  const history: TimelineSwitch[] = [];
  for (const line of lines.slice(-MAX_TIMELINE_HISTORY)) {
    if (!Array.isArray(line)) return [];
    const [timeline, bytes] = line;
    const lsn = typeof bytes === "number" ? lsnFromBytes(bytes) : null;
    if (!isTimeline(timeline) || !lsn) return [];
    history.push({ timeline, switchLsn: formatLsn(lsn) });
  }
  return TimelineHistorySchema.safeParse(history).success ? history : [];
}
