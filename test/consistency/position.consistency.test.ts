/**
 * `cookie,position` (issue 12) keeps read-your-writes through a replay pause three times the
 * RYOW window: 0 violations of any required kind. Ports 28200–28299.
 */
import { expect, it } from "vitest";
import { requiredViolations } from "./checker/index.ts";
import { runConsistency } from "./runner.ts";
import { explainViolation } from "./table.ts";

it("cookie,position: no violation with replicas paused past the window", async () => {
  const result = await runConsistency({
    strategy: "cookie,position",
    seed: 13,
    durationMs: 24_000,
    clients: 6,
    pastWindow: true,
    windowSeconds: 5,
    basePort: 28_200,
  });
  const found = requiredViolations(result.report);
  const explained = found.slice(0, 3).map((v) => explainViolation(v, result.history.operations));
  expect(explained).toEqual([]);
  expect(result.report.reads).toBeGreaterThan(0);
}, 180_000);
