import { compareLsn } from "@firstclick/core";

/**
 * How far this node had certainly replayed WAL before a lookup's snapshot was taken.
 *
 * PostgreSQL takes a statement's snapshot before it evaluates pg_last_wal_replay_lsn(), so a
 * lookup's own reading can be a little past what its snapshot holds: replay may cross a commit in
 * between, and the row comes back without it. A reading by a lookup that had *finished* before
 * this one was sent is not: replay only moves forward, and what was replayed before a snapshot
 * is in it. So the gateway keeps the last finished lookup's reading and uses it, not the lookup's
 * own, wherever the answer must include every write up to a position:
 *   - a replica's answer carries it as `lsn` (the edge's cache serves a position token from it);
 *   - `minLsn` passes at once only when it is at or below it; when only the lookup's own reading
 *     reached minLsn, the lookup runs once more (now a finished lookup has read it).
 * The last reading, not the highest: an older one is only more cautious, and a node that was
 * rebuilt or promoted must not keep a position from before. Forgotten when a lookup fails.
 */
export class ReplayWatermark {
  #last: string | null = null;

  /** The position every write up to which a lookup sent now will see; null: not known. */
  known(): string | null {
    return this.#last;
  }

  /** What a finished lookup read (null on a primary). */
  observe(replayLsn: string | null): void {
    this.#last = replayLsn;
  }

  forget(): void {
    this.#last = null;
  }

  /** Whether `known` is at or past `lsn`. */
  static covers(known: string | null, lsn: string): boolean {
    return known !== null && compareLsn(known, lsn) >= 0;
  }
}
