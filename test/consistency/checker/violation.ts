import type { Operation } from "../history.ts";
import { describeAnswer } from "./model.ts";

export type CheckName = "readYourWrites" | "phantom" | "monotonic" | "convergence";

export interface Violation {
  check: CheckName;
  client: string;
  code: string;
  /** The read that broke the rule. */
  read: number;
  /** The operations that explain it (the write it should have reflected, an earlier read). */
  related: number[];
  expected: string;
  observed: string;
}

export function violation(
  check: CheckName,
  read: Operation,
  related: readonly Operation[],
  expected: string,
): Violation {
  return {
    check,
    client: read.client,
    code: read.code,
    read: read.id,
    related: related.map((op) => op.id),
    expected,
    observed: describeAnswer(read),
  };
}
