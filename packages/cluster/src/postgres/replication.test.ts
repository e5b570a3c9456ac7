import { describe, expect, it } from "vitest";
import { HISTORY_LIMIT, parseTimelineHistory } from "./replication.ts";

describe("parseTimelineHistory", () => {
  it("reads one entry per past timeline, oldest first, skipping comments and blank lines", () => {
    const file = [
      "1\t0/3000060\tno recovery target specified",
      "",
      "# a comment PostgreSQL also skips",
      "2\t0/5A0001B8\tno recovery target specified",
      "",
    ].join("\n");
    expect(parseTimelineHistory(file)).toEqual([
      { timeline: 1, switchLsn: "0/3000060" },
      { timeline: 2, switchLsn: "0/5A0001B8" },
    ]);
  });

  it("an empty file (timeline 1) is an empty history", () => {
    expect(parseTimelineHistory("")).toEqual([]);
  });

  it("keeps only the newest entries", () => {
    const file = Array.from({ length: 40 }, (_, i) => `${i + 1}\t0/${i + 1}000000\treason`);
    const history = parseTimelineHistory(file.join("\n"));
    expect(history).toHaveLength(HISTORY_LIMIT);
    expect(history[0]).toEqual({ timeline: 9, switchLsn: "0/9000000" });
    expect(history.at(-1)).toEqual({ timeline: 40, switchLsn: "0/40000000" });
  });

  it.each([
    ["not a line of a history file", /not a timeline history line/],
    ["1\tnot-an-lsn\treason", /not a timeline history line/],
    ["2\t0/1\tr\n1\t0/2\tr", /out of order/],
    ["0\t0/1\treason", /out of order/],
  ])("refuses %j", (text, error) => {
    expect(() => parseTimelineHistory(text)).toThrow(error);
  });
});
