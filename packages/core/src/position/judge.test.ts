import { describe, expect, it } from "vitest";
import {
  currentTimeline,
  historyFromPatroni,
  MAX_TIMELINE_HISTORY,
  TimelineHistorySchema,
  type TimelineSwitch,
} from "./history.ts";
import { judgePosition, type PositionJudgement } from "./judge.ts";

// Timeline 1 forked at 0/3000060, timeline 2 at 0/5000000: the primary is on timeline 3.
const twice: TimelineSwitch[] = [
  { timeline: 1, switchLsn: "0/3000060" },
  { timeline: 2, switchLsn: "0/5000000" },
];

describe("judgePosition", () => {
  it.each<[string, number, string, TimelineSwitch[], PositionJudgement]>([
    ["a never-promoted shard, timeline 1", 1, "0/16B3F28", [], { kind: "wait", lsn: "0/16B3F28" }],
    ["the current timeline", 3, "0/5000100", twice, { kind: "wait", lsn: "0/5000100" }],
    ["the current timeline, below its fork", 3, "0/10", twice, { kind: "wait", lsn: "0/10" }],
    [
      "an old timeline, before its switch",
      1,
      "0/3000000",
      twice,
      { kind: "wait", lsn: "0/3000000" },
    ],
    [
      "an old timeline, at its switch (kept)",
      1,
      "0/3000060",
      twice,
      { kind: "wait", lsn: "0/3000060" },
    ],
    ["an old timeline, one byte past its switch", 1, "0/3000061", twice, { kind: "lost" }],
    ["an old timeline, far past its switch", 1, "1/0", twice, { kind: "lost" }],
    [
      "the middle timeline, at its switch",
      2,
      "0/5000000",
      twice,
      { kind: "wait", lsn: "0/5000000" },
    ],
    ["the middle timeline, past its switch", 2, "0/5000001", twice, { kind: "lost" }],
    ["a timeline from the future", 4, "0/1", twice, { kind: "ignore" }],
    ["timeline 2 on a never-promoted shard", 2, "0/1", [], { kind: "ignore" }],
    [
      "a timeline missing from the history (not an ancestor)",
      2,
      "0/1",
      [
        { timeline: 1, switchLsn: "0/3000060" },
        { timeline: 3, switchLsn: "0/5000000" },
      ],
      { kind: "ignore" },
    ],
    [
      "a timeline older than the kept history",
      1,
      "0/1",
      [{ timeline: 5, switchLsn: "0/9000000" }],
      { kind: "ignore" },
    ],
  ])("%s", (_, timeline, lsn, history, expected) => {
    expect(judgePosition({ timeline, lsn }, history)).toEqual(expected);
  });

  it("compares LSNs across the 32-bit boundary", () => {
    const history = [{ timeline: 1, switchLsn: "1/0" }];
    expect(judgePosition({ timeline: 1, lsn: "0/FFFFFFFF" }, history).kind).toBe("wait");
    expect(judgePosition({ timeline: 1, lsn: "1/1" }, history).kind).toBe("lost");
  });
});

describe("timeline history", () => {
  it("the current timeline is one past the last switch, or 1", () => {
    expect(currentTimeline([])).toBe(1);
    expect(currentTimeline(twice)).toBe(3);
  });

  it("accepts a valid history and refuses a disordered or oversized one", () => {
    expect(TimelineHistorySchema.parse(twice)).toEqual(twice);
    const reversed = [...twice].reverse();
    expect(TimelineHistorySchema.safeParse(reversed).success).toBe(false);
    const lsnBackwards = [twice[0], { timeline: 2, switchLsn: "0/1" }];
    expect(TimelineHistorySchema.safeParse(lsnBackwards).success).toBe(false);
    const long = Array.from({ length: MAX_TIMELINE_HISTORY + 1 }, (_, i) => ({
      timeline: i + 1,
      switchLsn: `0/${i + 1}`,
    }));
    expect(TimelineHistorySchema.safeParse(long).success).toBe(false);
    expect(TimelineHistorySchema.safeParse([{ timeline: 0, switchLsn: "0/1" }]).success).toBe(
      false,
    );
    expect(TimelineHistorySchema.safeParse([{ timeline: 1, switchLsn: "3000060" }]).success).toBe(
      false,
    );
  });
});

describe("historyFromPatroni", () => {
  it("reads Patroni 3's five-field lines and older three-field ones", () => {
    const raw = JSON.stringify([
      [1, 50331744, "no recovery target specified"],
      [2, 83886080, "no recovery target specified", "2026-12-02T10:00:00+00:00", "s0n1"],
    ]);
    expect(historyFromPatroni(raw)).toEqual(twice);
  });

  it("keeps the latest MAX_TIMELINE_HISTORY timelines", () => {
    const lines = Array.from({ length: 40 }, (_, i) => [i + 1, (i + 1) * 1000, "r"]);
    const history = historyFromPatroni(JSON.stringify(lines));
    expect(history).toHaveLength(MAX_TIMELINE_HISTORY);
    expect(history[0]?.timeline).toBe(9);
    expect(currentTimeline(history)).toBe(41);
  });

  it.each([
    ["no key", undefined],
    ["not JSON", "[[1,"],
    ["not a list", '{"1": 50331744}'],
    ["a line that is not a list", '[{"timeline": 1}]'],
    ["a string LSN", '[[1, "0/3000060", "r"]]'],
    ["a negative LSN", '[[1, -5, "r"]]'],
    ["timeline 0", '[[0, 5, "r"]]'],
    ["timelines out of order", '[[2, 5, "r"], [1, 9, "r"]]'],
  ])("reads %s as never promoted (no position is judged lost)", (_, raw) => {
    expect(historyFromPatroni(raw)).toEqual([]);
  });
});
