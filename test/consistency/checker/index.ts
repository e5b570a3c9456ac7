/**
 * The checker: pure functions over a recorded history (no clock, no network), so a history file
 * can be judged again later and every rule is unit-tested on hand-made histories.
 */
import { type History, isAcknowledged, isRead, isWrite } from "../history.ts";
import { checkConvergence, type LostWrites } from "./convergence.ts";
import { buildModel, chainOf, observe } from "./model.ts";
import { checkMonotonicReads } from "./monotonic.ts";
import { checkPhantoms } from "./phantom.ts";
import { checkReadYourWrites } from "./read-your-writes.ts";
import type { Violation } from "./violation.ts";

export type { LostWrites } from "./convergence.ts";
export type { CheckName, Violation } from "./violation.ts";

export interface CheckReport {
  operations: number;
  writes: number;
  acknowledged: number;
  reads: number;
  /** Reads with no judgeable answer (no answer, 5xx, 429). */
  unavailable: number;
  violations: {
    readYourWrites: Violation[];
    phantom: Violation[];
    monotonic: Violation[];
    convergence: Violation[];
  };
  lost: LostWrites[];
  failovers: number;
  /** Failovers after which the shard acknowledged a write again. */
  failoversSurvived: number;
}

export function checkHistory(history: History): CheckReport {
  const model = buildModel(history);
  const convergence = checkConvergence(model);
  const unavailable = model.reads.filter(
    (r) => observe(r, chainOf(model, r.code, r.shard)).kind === "unavailable",
  ).length;
  const survived = model.kills.filter((kill) =>
    history.operations.some(
      (op) => op.shard === kill.shard && isAcknowledged(op) && op.sentMs > kill.endMs,
    ),
  ).length;
  return {
    operations: history.operations.length,
    writes: history.operations.filter(isWrite).length,
    acknowledged: history.operations.filter(isAcknowledged).length,
    reads: history.operations.filter(isRead).length,
    unavailable,
    violations: {
      readYourWrites: checkReadYourWrites(model),
      phantom: checkPhantoms(model),
      monotonic: checkMonotonicReads(model),
      convergence: convergence.violations,
    },
    lost: convergence.lost,
    failovers: model.kills.length,
    failoversSurvived: survived,
  };
}

/** Violations that break a promise (monotonic reads are reported, not required). */
export function requiredViolations(report: CheckReport): Violation[] {
  const v = report.violations;
  return [...v.readYourWrites, ...v.phantom, ...v.convergence];
}
