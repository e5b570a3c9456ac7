import type { Operation } from "../history.ts";
import { chainOf, type Model, observe, writtenValue } from "./model.ts";
import { type Violation, violation } from "./violation.ts";

/**
 * Monotonic reads per client (reported, not every strategy promises it): once a client has seen
 * version v of a code, it never sees an older one.
 */
export function checkMonotonicReads(model: Model): Violation[] {
  const found: Violation[] = [];
  const newest = new Map<string, { index: number; read: Operation }>();
  for (const read of model.reads) {
    const chain = chainOf(model, read.code, read.shard);
    const seen = observe(read, chain);
    if (seen.kind !== "version") continue;
    const key = `${read.client}\u0000${read.code}`;
    const before = newest.get(key);
    if (before && seen.index < before.index) {
      const write = chain.writes[before.index - 1];
      found.push(
        violation(
          "monotonic",
          read,
          [before.read],
          `${writtenValue(write)} (seen by read ${before.read.id}) or later`,
        ),
      );
    } else {
      newest.set(key, { index: seen.index, read });
    }
  }
  return found;
}
