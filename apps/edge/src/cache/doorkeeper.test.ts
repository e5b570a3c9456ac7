import { describe, expect, it } from "vitest";
import { Doorkeeper } from "./doorkeeper.ts";

const codes = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe("Doorkeeper", () => {
  it("admits a code on its second miss, not its first", () => {
    const door = new Doorkeeper(1_000);
    expect(door.admit("abc123")).toBe(false);
    expect(door.admit("abc123")).toBe(true);
    expect(door.admit("abc123")).toBe(true);
    expect(door.admit("other")).toBe(false);
  });

  it("remembers at least capacity/2 recent codes, and forgets the oldest past capacity", () => {
    const door = new Doorkeeper(10_000);
    const old = codes("old", 5_000);
    for (const c of old) door.admit(c);
    // 5,000 newer codes fill the current filter: the old ones are still remembered.
    for (const c of codes("mid", 5_000)) door.admit(c);
    expect(old.filter((c) => door.admit(c)).length).toBe(5_000);
    // 10,000 more turn both filters over: the old codes are forgotten (bar false positives).
    for (const c of codes("new", 10_000)) door.admit(c);
    expect(codes("old", 5_000).filter((c) => door.admit(c)).length).toBeLessThan(30);
  });

  it("lets about 0.1 % of never-seen codes through per filter when full, in about 1.8 bytes per code", () => {
    const door = new Doorkeeper(20_000);
    for (const c of codes("seen", 20_000)) door.admit(c);
    const strangers = codes("stranger", 10_000).filter((c) => door.admit(c)).length;
    expect(strangers).toBeLessThan(60);
    expect(door.bytes).toBeLessThan(20_000 * 1.9);
  });
});
