import { describe, expect, it } from "vitest";
import { HashRing } from "./ring.ts";
import { node, snapshot } from "./topology.fixtures.ts";
import {
  etcdValuesFor,
  parseTopologySnapshot,
  snapshotFromEtcd,
  Topology,
  TopologyError,
  type TopologySnapshot,
} from "./topology.ts";

const s2n0 = node("s2n0", 8820);
const from = { shards: ["s0", "s1"], vnodes: 160 };
const to = { shards: ["s0", "s1", "s2"], vnodes: 160 };

function resharding(
  phase: "copying" | "switching" | "serving" | "cleanup",
  graceUntil: number | null = null,
): TopologySnapshot {
  const ring = phase === "copying" || phase === "switching" ? from : to;
  return {
    ...snapshot,
    ring,
    shards: { ...snapshot.shards, s2: { primary: s2n0, replicas: [] } },
    reshard: { id: "add-s2", phase, from, to, graceUntil },
  };
}

/** Codes and their owners under both rings, computed independently of Topology. */
const codes = Array.from({ length: 3000 }, (_, i) => `c${i.toString(36)}x`);
const oldRing = new HashRing(from.shards, { vnodes: 160 });
const newRing = new HashRing(to.shards, { vnodes: 160 });
const moving = codes.filter((c) => oldRing.shardFor(c) !== newRing.shardFor(c));
const staying = codes.filter((c) => oldRing.shardFor(c) === newRing.shardFor(c));

describe("a resharding in the topology", () => {
  it("moves about a third of the codes, all of them to the new shard", () => {
    expect(moving.length / codes.length).toBeGreaterThan(0.25);
    expect(moving.length / codes.length).toBeLessThan(0.42);
    for (const code of moving) expect(newRing.shardFor(code)).toBe("s2");
  });

  it("routes by the old ring until the switch, by the new one from serving on", () => {
    const copying = Topology.from(parseTopologySnapshot(resharding("copying")));
    const serving = Topology.from(parseTopologySnapshot(resharding("serving", 10_000)));
    for (const code of moving.slice(0, 50)) {
      expect(copying.shardFor(code)).toBe(oldRing.shardFor(code));
      expect(serving.shardFor(code)).toBe("s2");
      expect(copying.moveOf(code)).toEqual({ from: oldRing.shardFor(code), to: "s2" });
    }
    for (const code of staying.slice(0, 50)) expect(copying.moveOf(code)).toBeNull();
    // The new shard's nodes are in the snapshot before it owns anything.
    expect(copying.primaryOf("s2")).toEqual(s2n0);
  });

  it("freezes the writes of moving codes, and only of those, while switching", () => {
    const switching = Topology.from(parseTopologySnapshot(resharding("switching")));
    const copying = Topology.from(parseTopologySnapshot(resharding("copying")));
    expect(moving.every((c) => switching.writeFrozen(c))).toBe(true);
    expect(staying.some((c) => switching.writeFrozen(c))).toBe(false);
    expect(moving.some((c) => copying.writeFrozen(c))).toBe(false);
  });

  it("names the old owner for a 404 of a moving code until graceUntil, not after", () => {
    const serving = Topology.from(parseTopologySnapshot(resharding("serving", 10_000)));
    const code = moving[0] as string;
    expect(serving.graceShardFor(code, 9_999)).toBe(oldRing.shardFor(code));
    expect(serving.graceShardFor(code, 10_000)).toBeNull();
    expect(serving.graceShardFor(staying[0] as string, 0)).toBeNull();
    const cleanup = Topology.from(parseTopologySnapshot(resharding("cleanup", 10_000)));
    expect(cleanup.graceShardFor(code, 0)).toBeNull();
  });

  it.each([
    ["the ring is not the phase's owner ring", { ...resharding("copying"), ring: to }],
    ["serving without graceUntil", resharding("serving", null)],
    ["a target shard without nodes", { ...resharding("copying"), shards: snapshot.shards }],
    [
      "the same ring twice",
      { ...resharding("copying"), reshard: { id: "x", phase: "copying", from, to: from } },
    ],
    [
      "an unknown phase",
      { ...resharding("copying"), reshard: { id: "x", phase: "done", from, to } },
    ],
  ])("rejects %s", (_name, value) => {
    expect(() => parseTopologySnapshot(value)).toThrow(TopologyError);
  });

  it("round-trips through etcd, with the new shard's nodes", () => {
    const { version: _v, ...rest } = resharding("switching");
    const values = etcdValuesFor(rest);
    expect(JSON.parse(values["/firstclick/reshard"] as string)).toMatchObject({
      id: "add-s2",
      phase: "switching",
    });
    expect(values["/firstclick/shards/s2/primary"]).toBe(JSON.stringify(s2n0));
    const back = snapshotFromEtcd(values, 42);
    expect(back).toEqual(parseTopologySnapshot({ ...rest, version: 42 }));
  });

  it("says which key is wrong when the reshard key is invalid", () => {
    const { version: _v, ...rest } = snapshot;
    const values = { ...etcdValuesFor(rest), "/firstclick/reshard": '{"phase":"copying"}' };
    expect(() => snapshotFromEtcd(values, 1)).toThrow(/etcd key \/firstclick\/reshard is invalid/);
  });
});

describe("writes just after the switch", () => {
  it("stay frozen for moving codes until the readers route by the new ring", () => {
    const serving = Topology.from(parseTopologySnapshot(resharding("serving", 10_000)));
    expect(moving.every((c) => serving.writeFrozen(c, false))).toBe(true);
    expect(moving.some((c) => serving.writeFrozen(c, true))).toBe(false);
    expect(staying.some((c) => serving.writeFrozen(c, false))).toBe(false);
  });
});
