import { type FaultEvent, isAcknowledged, type Operation } from "../history.ts";
import {
  type Chain,
  chainOf,
  killThatCouldLose,
  type Model,
  observe,
  writtenValue,
} from "./model.ts";
import { type Violation, violation } from "./violation.ts";

export interface LostWrites {
  /** The primary kill that lost them. */
  fault: FaultEvent;
  writes: number[];
}

export interface ConvergenceResult {
  violations: Violation[];
  lost: LostWrites[];
}

/**
 * Convergence: after the faults ended and the replicas caught up, every read (the `converge`
 * phase) reflects the last acknowledged write of its code, or a later unacknowledged one. A
 * final state older than that is excused only for writes acknowledged before a primary kill of
 * the shard: those are the lost acknowledged writes, listed per failover.
 */
export function checkConvergence(model: Model): ConvergenceResult {
  const violations: Violation[] = [];
  const lostByKill = new Map<FaultEvent, Set<Operation>>();
  for (const read of model.reads) {
    if (read.phase !== "converge") continue;
    const chain = chainOf(model, read.code, read.shard);
    const last = lastAcknowledged(chain);
    if (last === 0) continue;
    const seen = observe(read, chain);
    if (seen.kind === "unavailable" || seen.kind === "phantom") {
      if (seen.kind === "unavailable") {
        violations.push(violation("convergence", read, [], "an answer once the faults ended"));
      }
      continue;
    }
    const reached = seen.kind === "lost" ? 0 : seen.index;
    if (reached >= last) continue;
    const missing = chain.writes.slice(reached, last).filter(isAcknowledged);
    const kills = missing.map((w) => killThatCouldLose(model, w));
    if (kills.every((k) => k !== null)) {
      missing.forEach((w, i) => {
        const kill = kills[i];
        if (!kill) return;
        const set = lostByKill.get(kill) ?? new Set<Operation>();
        lostByKill.set(kill, set);
        set.add(w);
      });
    } else {
      const lastWrite = chain.writes[last - 1];
      violations.push(
        violation("convergence", read, lastWrite ? [lastWrite] : [], writtenValue(lastWrite)),
      );
    }
  }
  const lost = [...lostByKill].map(([fault, writes]) => ({
    fault,
    writes: [...writes].map((w) => w.id).sort((a, b) => a - b),
  }));
  return { violations, lost };
}

function lastAcknowledged(chain: Chain): number {
  let version = 0;
  chain.writes.forEach((w, i) => {
    if (isAcknowledged(w)) version = i + 1;
  });
  return version;
}
