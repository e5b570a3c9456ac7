import { isAcknowledged, type Operation } from "../history.ts";
import {
  chainOf,
  killThatCouldLose,
  lastAcknowledgedBefore,
  type Model,
  observe,
  writtenValue,
} from "./model.ts";
import { type Violation, violation } from "./violation.ts";

/**
 * Read your writes: a client's read of a code it wrote reflects its own latest write
 * acknowledged before the read was sent, or a later one. The only excuse is an answer that says
 * the write was lost in a failover, and then a primary kill of the shard must lie between that
 * write's acknowledgement and the read's answer.
 */
export function checkReadYourWrites(model: Model): Violation[] {
  const found: Violation[] = [];
  for (const read of model.reads) {
    const chain = chainOf(model, read.code, read.shard);
    if (chain.owner !== read.client) continue;
    const expectedVersion = lastAcknowledgedBefore(chain, read.sentMs);
    const write = chain.writes[expectedVersion - 1];
    if (!write || !isAcknowledged(write)) continue;
    const seen = observe(read, chain);
    if (seen.kind === "lost") {
      if (anyLosable(model, chain.writes, expectedVersion, read)) continue;
      found.push(
        violation(
          "readYourWrites",
          read,
          [write],
          `${writtenValue(write)} (no primary kill could have lost it)`,
        ),
      );
    } else if (seen.kind === "version" && seen.index < expectedVersion) {
      found.push(violation("readYourWrites", read, [write], `${writtenValue(write)} or later`));
    }
  }
  return found;
}

/** Some acknowledged write of the client's up to `version` was acknowledged before a kill. */
function anyLosable(
  model: Model,
  writes: readonly Operation[],
  version: number,
  read: Operation,
): boolean {
  return writes
    .slice(0, version)
    .some((w) => isAcknowledged(w) && killThatCouldLose(model, w, read.answeredMs) !== null);
}
