import { describe, expect, it } from "vitest";
import { type ClickEvent, ClickMessageSchema, hourOf } from "./event.ts";
import { ClickIngestSchema, mergeRollups, rollUp } from "./rollup.ts";

const T0 = Date.UTC(2026, 10, 20, 14, 5, 0);

function click(over: Partial<ClickEvent> = {}): ClickEvent {
  return {
    code: "abc1234",
    at: T0,
    outcome: "redirect",
    country: "DE",
    referrerHost: "news.example",
    device: "mobile",
    bot: false,
    ...over,
  };
}

describe("rollUp", () => {
  it("counts identical clicks of one hour in one row", () => {
    const rows = rollUp([click(), click({ at: T0 + 1000 }), click({ at: T0 + 50 * 60_000 })]);
    expect(rows).toEqual([{ ...strip(click()), hour: hourOf(T0), count: 3 }]);
  });

  it.each([
    ["code", { code: "other12" }],
    ["hour", { at: T0 + 3_600_000 }],
    ["outcome", { outcome: "not_found" as const }],
    ["country", { country: null }],
    ["referrer host", { referrerHost: "mail.example" }],
    ["device", { device: "desktop" as const }],
    ["bot flag", { bot: true }],
  ])("keeps clicks that differ by %s apart", (_, over) => {
    const rows = rollUp([click(), click(over), click(over)]);
    expect(rows.map((r) => r.count).sort()).toEqual([1, 2]);
  });

  it("loses no click: the counts sum to the number of events", () => {
    const events = Array.from({ length: 500 }, (_, i) =>
      click({
        code: `c${i % 7}aaaaa`,
        at: T0 + i * 60_000,
        bot: i % 5 === 0,
        country: i % 3 ? "FR" : null,
      }),
    );
    expect(rollUp(events).reduce((n, r) => n + r.count, 0)).toBe(500);
  });
});

describe("mergeRollups", () => {
  it("sums rows of several deliveries by key without changing its input", () => {
    const a = rollUp([click(), click()]);
    const b = rollUp([click(), click({ bot: true })]);
    const merged = mergeRollups([...a, ...b]);
    expect(merged.map((r) => [r.bot, r.count]).sort()).toEqual([
      [false, 3],
      [true, 1],
    ]);
    expect(a[0]?.count).toBe(2);
  });
});

describe("hourOf", () => {
  it("is the start of the UTC hour in epoch seconds", () => {
    expect(hourOf(T0)).toBe(Date.UTC(2026, 10, 20, 14) / 1000);
  });
});

describe("contracts reject bad input", () => {
  it.each([
    ["an IP-like field", { v: 1, events: [{ ...click(), ip: "1.2.3.4" }] }],
    ["no events", { v: 1, events: [] }],
    ["a lower-case country", { v: 1, events: [click({ country: "de" })] }],
    ["a referrer with a path", { v: 1, events: [click({ referrerHost: "a.example/x" })] }],
    ["an unknown outcome", { v: 1, events: [{ ...click(), outcome: "teapot" }] }],
    ["too many events", { v: 1, events: Array.from({ length: 101 }, () => click()) }],
  ])("a message with %s", (_, body) => {
    expect(ClickMessageSchema.safeParse(body).success).toBe(false);
  });

  it.each([
    ["an hour not on the hour", { id: "m1", rows: [{ ...strip(click()), hour: 10, count: 1 }] }],
    ["a zero count", { id: "m1", rows: [{ ...strip(click()), hour: 3600, count: 0 }] }],
    ["an id with a slash", { id: "a/b", rows: [] }],
  ])("an ingest with %s", (_, delivery) => {
    expect(ClickIngestSchema.safeParse({ deliveries: [delivery] }).success).toBe(false);
  });
});

function strip<T extends { at?: number | undefined }>(o: T): Omit<T, "at"> {
  const { at: _, ...rest } = o;
  return rest;
}
