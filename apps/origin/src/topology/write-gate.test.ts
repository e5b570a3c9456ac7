import { describe, expect, it } from "vitest";
import { WriteGate } from "./write-gate.ts";

/** Whether `p` has settled by the time already-queued callbacks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

describe("WriteGate", () => {
  it("drained(v) waits for every write begun under an older version, not for newer ones", async () => {
    const gate = new WriteGate();
    const endA = gate.begin(7);
    const endB = gate.begin(7);
    const endNew = gate.begin(8);
    expect(gate.inFlight()).toBe(3);

    const drained = gate.drained(8);
    expect(await settled(drained)).toBe(false);
    expect(await settled(gate.drained(7))).toBe(true);
    endA();
    endA(); // ending twice counts once
    expect(await settled(drained)).toBe(false);
    endB();
    expect(await settled(drained)).toBe(true);
    expect(gate.inFlight()).toBe(1);
    expect(await settled(gate.drained(9))).toBe(false);
    endNew();
    expect(await settled(gate.drained(9))).toBe(true);
    expect(gate.inFlight()).toBe(0);
  });

  it("run() counts a write until it settles, also when it fails", async () => {
    const gate = new WriteGate();
    let fail: (e: Error) => void = () => {};
    const write = gate.run(3, () => new Promise<void>((_, reject) => (fail = reject)));
    const drained = gate.drained(4);
    expect(await settled(drained)).toBe(false);
    fail(new Error("shard down"));
    await expect(write).rejects.toThrow("shard down");
    expect(await settled(drained)).toBe(true);
  });
});
