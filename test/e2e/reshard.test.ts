/**
 * Issue 17, small: a shard added online (2 → 3) under a redirect load and a create/edit load
 * through the edge (strategy `position`). Nothing a user does may notice: no failed redirect, no
 * lost or stale link, every creator reads their own write at once, about a third of the links
 * move, and none is left on its old shard after cleanup. Ports 25900–25999.
 */
import { describe, expect, it } from "vitest";
import { type ReshardReport, runReshard } from "../reshard/harness.ts";

describe("resharding 2 → 3 shards under load", () => {
  it("moves a third of the links with no failed redirect, no lost write, read-your-own-writes throughout", async () => {
    const report: ReshardReport = await runReshard({
      name: "e2e-reshard",
      basePort: 25_900,
      ha: "manual",
      from: 2,
      links: 3_000,
      strategy: "position",
      graceSeconds: 2,
      warmupMs: 1_000,
      redirects: { concurrency: 4, paceMs: 20 },
      writes: { writers: 4, paceMs: 50 },
      maxMs: 120_000,
      maxRequests: 40_000,
      editable: 300,
      edgeSample: 600,
      log: () => {},
    });
    const context = JSON.stringify(
      { ...report, checked: { ...report.checked, foundOn: undefined } },
      null,
      1,
    );
    expect(report.redirects.sent, context).toBeGreaterThan(100);
    expect(report.redirects.failures, context).toEqual([]);
    expect(report.writes.creates + report.writes.edits, context).toBeGreaterThan(20);
    expect(report.writes.reclicks, context).toBeGreaterThan(0);
    expect(report.ryowViolations, context).toEqual([]);
    expect(report.writes.errors, context).toEqual([]);
    expect(report.checked.primaries.lost, context).toBe(0);
    expect(report.checked.primaries.stale, context).toBe(0);
    expect(report.checked.primaries.leftover, context).toBe(0);
    expect(report.checked.edge.wrong, context).toBe(0);
    expect(report.movedFraction, context).toBeGreaterThan(0.25);
    expect(report.movedFraction, context).toBeLessThan(0.42);
    expect(report.movedFraction, context).toBeCloseTo(report.predictedFraction, 6);
    // The mover went through every phase, and the topology has no resharding left.
    expect(
      report.phases.map((p) => p.phase),
      context,
    ).toEqual(["copying", "switching", "serving", "cleanup", "done"]);
    // (The 100 ms phase tracker stops with the loads and can miss the key's deletion: ask etcd.)
    expect(report.reshardLeft, context).toBeNull();
  }, 240_000);
});
