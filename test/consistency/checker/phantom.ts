import { chainOf, type Model, observe } from "./model.ts";
import { type Violation, violation } from "./violation.ts";

/**
 * No phantom: a redirect's target was written to that code by a write sent before the read was
 * answered; a 410 follows a delete; a code never created is never redirected.
 */
export function checkPhantoms(model: Model): Violation[] {
  const found: Violation[] = [];
  for (const read of model.reads) {
    const seen = observe(read, chainOf(model, read.code, read.shard));
    if (seen.kind === "phantom") found.push(violation("phantom", read, [], seen.why));
  }
  return found;
}
