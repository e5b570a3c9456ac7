import { describe, expect, it } from "vitest";
import { HistoryBuilder } from "./fixtures.ts";
import { checkHistory, requiredViolations } from "./index.ts";

const A = "https://example.com/a";
const B = "https://example.com/b";

describe("read your writes", () => {
  it("passes when the creator's first click, edit and delete are all reflected", () => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "abc", A, { at: 0 });
    h.read("c1", "read-own", "abc", A, { at: 20 });
    h.write("c1", "edit", "abc", B, { at: 40 });
    h.read("c1", "read-own", "abc", B, { at: 60 });
    h.remove("c1", "abc", { at: 80 });
    h.read("c1", "read-own", "abc", 410, { at: 100 });
    const report = checkHistory(h.history);
    expect(requiredViolations(report)).toEqual([]);
    expect(report.reads).toBe(3);
  });

  it.each([
    [
      "a 404 for an acknowledged create",
      (h: HistoryBuilder) => h.read("c1", "read-own", "abc", 404, { at: 50 }),
    ],
    [
      "the old target after an acknowledged edit",
      (h: HistoryBuilder) => {
        h.write("c1", "edit", "abc", B, { at: 30 });
        h.read("c1", "read-own", "abc", A, { at: 50 });
      },
    ],
    [
      "a redirect after an acknowledged delete",
      (h: HistoryBuilder) => {
        h.remove("c1", "abc", { at: 30 });
        h.read("c1", "read-own", "abc", A, { at: 50 });
      },
    ],
  ])("reports %s", (_name, rest) => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "abc", A, { at: 0 });
    rest(h);
    const { violations } = checkHistory(h.history);
    expect(violations.readYourWrites).toHaveLength(1);
    expect(violations.readYourWrites[0]).toMatchObject({ client: "c1", code: "abc" });
  });

  it("does not judge a read sent before the write was acknowledged (concurrent)", () => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "abc", A, { at: 0, answeredAt: 100 });
    h.read("c1", "read-own", "abc", 404, { at: 50 });
    // another client's 404 is never a read-your-writes violation
    h.read("c2", "read-other", "abc", 404, { at: 150 });
    expect(checkHistory(h.history).violations.readYourWrites).toEqual([]);
  });

  it("accepts 'lost in a failover' only for a write acknowledged before a primary kill", () => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "lost1", A, { at: 0 });
    h.kill("s0", 100);
    h.read("c1", "read-own", "lost1", "lost", { at: 200 });
    h.write("c1", "create", "late1", B, { at: 300 });
    h.read("c1", "read-own", "late1", "lost", { at: 400 });
    const { violations } = checkHistory(h.history);
    expect(violations.readYourWrites.map((v) => v.code)).toEqual(["late1"]);
  });

  it("ignores reads with no answer or a 5xx", () => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "abc", A, { at: 0 });
    h.read("c1", "read-own", "abc", 503, { at: 20 });
    const report = checkHistory(h.history);
    expect(requiredViolations(report)).toEqual([]);
    expect(report.unavailable).toBe(1);
  });
});

describe("no phantom", () => {
  it("reports a redirect for a code never created, and a target never written", () => {
    const h = new HistoryBuilder();
    h.read("c2", "read-never", "never01", A, { at: 0 });
    h.read("c2", "read-never", "never02", 404, { at: 0 });
    h.write("c1", "create", "abc", A, { at: 0 });
    h.read("c2", "read-other", "abc", "https://example.com/other", { at: 50 });
    const { violations } = checkHistory(h.history);
    expect(violations.phantom.map((v) => v.code)).toEqual(["never01", "abc"]);
  });

  it("reports a 410 for a code never deleted and a target written only after the read", () => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "abc", A, { at: 0 });
    h.read("c2", "read-other", "abc", 410, { at: 50 });
    h.read("c2", "read-other", "abc", B, { at: 60 });
    h.write("c1", "edit", "abc", B, { at: 200 });
    expect(checkHistory(h.history).violations.phantom).toHaveLength(2);
  });

  it("accepts a write that was still in flight or never acknowledged", () => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "abc", A, { at: 0, answeredAt: 100 });
    h.read("c2", "read-other", "abc", A, { at: 50 });
    h.write("c1", "edit", "abc", B, { at: 200 }, 503);
    h.read("c2", "read-other", "abc", B, { at: 300 });
    expect(checkHistory(h.history).violations.phantom).toEqual([]);
  });

  it("does not count a refused write (4xx) as written", () => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "taken", A, { at: 0 }, 409);
    h.read("c2", "read-other", "taken", A, { at: 50 });
    expect(checkHistory(h.history).violations.phantom).toHaveLength(1);
  });
});

describe("monotonic reads", () => {
  it("reports a client seeing the old target after the new one, and not across clients", () => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "abc", A, { at: 0 });
    h.write("c1", "edit", "abc", B, { at: 20 });
    h.read("c2", "read-other", "abc", B, { at: 40 });
    h.read("c3", "read-other", "abc", A, { at: 50 });
    h.read("c2", "read-other", "abc", A, { at: 60 });
    const report = checkHistory(h.history);
    expect(report.violations.monotonic.map((v) => v.client)).toEqual(["c2"]);
    // reported, not required
    expect(requiredViolations(report)).toEqual([]);
  });
});

describe("convergence and lost writes", () => {
  it("passes when every final read shows the last acknowledged state", () => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "abc", A, { at: 0 });
    h.write("c1", "edit", "abc", B, { at: 20 });
    h.read("c2", "read-other", "abc", B, { at: 1_000 }, "converge");
    expect(requiredViolations(checkHistory(h.history))).toEqual([]);
  });

  it("reports a stale final read when no failover explains it", () => {
    const h = new HistoryBuilder();
    h.write("c1", "create", "abc", A, { at: 0 });
    h.write("c1", "edit", "abc", B, { at: 20 });
    h.read("c2", "read-other", "abc", A, { at: 1_000 }, "converge");
    h.read("c3", "read-other", "abc", 503, { at: 1_000 }, "converge");
    const report = checkHistory(h.history);
    expect(report.violations.convergence).toHaveLength(2);
    expect(report.lost).toEqual([]);
  });

  it("counts writes acknowledged before a primary kill and missing afterwards as lost, per failover", () => {
    const h = new HistoryBuilder();
    const kept = h.write("c1", "create", "kept", A, { at: 0 });
    const gone = h.write("c1", "create", "gone", B, { at: 50 });
    const kill = h.kill("s0", 100, 5_000);
    h.write("c2", "create", "after", "https://example.com/after", { at: 6_000 });
    h.read("c3", "read-other", "kept", A, { at: 9_000 }, "converge");
    h.read("c3", "read-other", "gone", 404, { at: 9_000 }, "converge");
    h.read("c1", "read-own", "gone", "lost", { at: 9_000 }, "converge");
    const report = checkHistory(h.history);
    expect(report.lost).toEqual([{ fault: kill, writes: [gone.id] }]);
    expect(report.violations.convergence).toEqual([]);
    expect(report.failoversSurvived).toBe(1);
    expect(kept.id).not.toBe(gone.id);
  });
});
