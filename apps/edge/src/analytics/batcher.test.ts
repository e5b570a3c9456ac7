import type { ClickEvent, ClickMessage } from "@firstclick/core/clicks";
import { describe, expect, it } from "vitest";
import { ClickBatcher } from "./batcher.ts";

function click(i: number): ClickEvent {
  return {
    code: `code${i}`,
    at: i,
    outcome: "redirect",
    country: null,
    referrerHost: null,
    device: "desktop",
    bot: false,
  };
}

/** Collects the tasks handed to waitUntil, as workerd would keep them running. */
function tasks(): { waitUntil: (p: Promise<unknown>) => void; settled: () => Promise<unknown> } {
  const all: Promise<unknown>[] = [];
  return { waitUntil: (p) => all.push(p), settled: () => Promise.all(all) };
}

describe("ClickBatcher", () => {
  it("sends one message when the batch is full, without waiting", async () => {
    const sent: ClickMessage[] = [];
    const batcher = new ClickBatcher({
      send: async (m) => {
        sent.push(m);
      },
      maxEvents: 3,
      maxWaitMs: 60_000,
    });
    const t = tasks();
    for (let i = 0; i < 3; i++) batcher.record(click(i), t.waitUntil);
    await batcher.flush();
    expect(sent.map((m) => m.events.map((e) => e.code))).toEqual([["code0", "code1", "code2"]]);
    expect(batcher.pending).toBe(0);
  });

  it("sends a partial batch once the wait is over, in a task the request keeps alive", async () => {
    const sent: ClickMessage[] = [];
    const batcher = new ClickBatcher({
      send: async (m) => {
        sent.push(m);
      },
      maxEvents: 100,
      maxWaitMs: 20,
    });
    const t = tasks();
    batcher.record(click(1), t.waitUntil);
    batcher.record(click(2), t.waitUntil);
    expect(sent).toEqual([]);
    await t.settled();
    expect(sent).toHaveLength(1);
    expect(sent[0]?.events).toHaveLength(2);
  });

  it("loses no event across many flushes", async () => {
    const sent: ClickMessage[] = [];
    const batcher = new ClickBatcher({
      send: async (m) => {
        sent.push(m);
      },
      maxEvents: 7,
      maxWaitMs: 5,
    });
    const t = tasks();
    for (let i = 0; i < 100; i++) batcher.record(click(i), t.waitUntil);
    await t.settled();
    const codes = sent.flatMap((m) => m.events.map((e) => e.code));
    expect(codes).toEqual(Array.from({ length: 100 }, (_, i) => `code${i}`));
    expect(sent.every((m) => m.events.length <= 7)).toBe(true);
  });

  it("logs a failed send instead of failing the request's task", async () => {
    const errors: string[] = [];
    const batcher = new ClickBatcher({
      send: () => Promise.reject(new Error("queue full")),
      maxEvents: 1,
      logError: (m) => errors.push(m),
    });
    const t = tasks();
    batcher.record(click(1), t.waitUntil);
    await expect(t.settled()).resolves.toBeDefined();
    expect(errors.join()).toContain("queue full");
  });
});
