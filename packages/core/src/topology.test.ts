import { describe, expect, it } from "vitest";
import { HashRing } from "./ring.ts";
import { s0History, s0n0, s0n1, s0n2, s1n0, s1n1, snapshot } from "./topology.fixtures.ts";
import {
  isNewer,
  NodeSchema,
  parseTopologySnapshot,
  ShardSchema,
  Topology,
  TopologyError,
  TopologySnapshotSchema,
} from "./topology.ts";

describe("NodeSchema", () => {
  it("accepts a node", () => {
    expect(NodeSchema.parse(s0n0)).toEqual(s0n0);
  });

  it.each([
    ["an empty id", { ...s0n0, id: "" }],
    ["a non-http gateway URL", { ...s0n0, gatewayUrl: "ftp://127.0.0.1:8800" }],
    ["a gateway that is not a URL", { ...s0n0, gatewayUrl: "127.0.0.1:8800" }],
    ["port 0", { ...s0n0, pg: { host: "127.0.0.1", port: 0 } }],
    ["port 65536", { ...s0n0, pg: { host: "127.0.0.1", port: 65536 } }],
    ["a fractional port", { ...s0n0, pg: { host: "127.0.0.1", port: 5432.5 } }],
    ["a port as a string", { ...s0n0, pg: { host: "127.0.0.1", port: "5432" } }],
    ["an empty pg host", { ...s0n0, pg: { host: "", port: 5432 } }],
    ["no pg", { id: "x", gatewayUrl: "http://127.0.0.1:1" }],
    ["null", null],
  ])("rejects %s", (_name, value) => {
    expect(NodeSchema.safeParse(value).success).toBe(false);
  });
});

describe("ShardSchema", () => {
  it.each([
    ["a primary and replicas", { primary: s0n0, replicas: [s0n1] }],
    ["no primary (mid-failover)", { primary: null, replicas: [s0n1] }],
    ["no replicas", { primary: s0n0, replicas: [] }],
  ])("accepts %s", (_name, value) => {
    expect(ShardSchema.safeParse(value).success).toBe(true);
  });

  it.each([
    ["a missing primary field", { replicas: [] }],
    ["replicas that are not a list", { primary: s0n0, replicas: s0n1 }],
    ["a bad replica", { primary: s0n0, replicas: [{ id: "x" }] }],
    ["a history that is not a list", { primary: s0n0, replicas: [], history: {} }],
    [
      "a history with a bad LSN",
      { primary: s0n0, replicas: [], history: [{ timeline: 1, switchLsn: "3000060" }] },
    ],
    [
      "a history out of order",
      {
        primary: s0n0,
        replicas: [],
        history: [
          { timeline: 2, switchLsn: "0/9" },
          { timeline: 1, switchLsn: "0/5" },
        ],
      },
    ],
    [
      "a history of 33 timelines",
      {
        primary: s0n0,
        replicas: [],
        history: Array.from({ length: 33 }, (_, i) => ({
          timeline: i + 1,
          switchLsn: `0/${i + 1}`,
        })),
      },
    ],
  ])("rejects %s", (_name, value) => {
    expect(ShardSchema.safeParse(value).success).toBe(false);
  });

  it("reads a shard from before timeline history as never promoted", () => {
    expect(ShardSchema.parse({ primary: s0n0, replicas: [] }).history).toEqual([]);
  });
});

describe("TopologySnapshotSchema / parseTopologySnapshot", () => {
  it("accepts a valid snapshot", () => {
    expect(parseTopologySnapshot(snapshot)).toEqual(snapshot);
    expect(TopologySnapshotSchema.safeParse(snapshot).success).toBe(true);
  });

  it.each([
    ["a negative version", { ...snapshot, version: -1 }, /version/],
    ["a fractional version", { ...snapshot, version: 1.5 }, /version/],
    ["no ring shards", { ...snapshot, ring: { shards: [], vnodes: 160 } }, /ring\.shards/],
    [
      "duplicate ring shards",
      { ...snapshot, ring: { shards: ["s0", "s0"], vnodes: 160 } },
      /unique/,
    ],
    ["an empty shard id", { ...snapshot, ring: { shards: [""], vnodes: 160 } }, /shard id/],
    [
      "a shard id with a slash",
      { ...snapshot, ring: { shards: ["s/0"], vnodes: 160 } },
      /shard id/,
    ],
    ["zero vnodes", { ...snapshot, ring: { shards: ["s0", "s1"], vnodes: 0 } }, /vnodes/],
    [
      "too many vnodes",
      { ...snapshot, ring: { shards: ["s0", "s1"], vnodes: 1_000_000 } },
      /vnodes/,
    ],
    [
      "a ring shard without an entry",
      { ...snapshot, ring: { shards: ["s0", "s1", "s2"], vnodes: 160 } },
      /ring shard "s2" has no entry in shards/,
    ],
    [
      "a node in two places",
      { ...snapshot, shards: { ...snapshot.shards, s1: { primary: s1n0, replicas: [s0n1] } } },
      /node "s0n1" appears more than once/,
    ],
    [
      "the primary also listed as a replica",
      { ...snapshot, shards: { ...snapshot.shards, s0: { primary: s0n0, replicas: [s0n0] } } },
      /node "s0n0" appears more than once/,
    ],
    ["no shards record", { version: 1, ring: snapshot.ring }, /shards/],
    ["a string", "topology", /invalid topology snapshot/],
  ])("rejects %s with a clear message", (_name, value, message) => {
    expect(() => parseTopologySnapshot(value)).toThrow(TopologyError);
    expect(() => parseTopologySnapshot(value)).toThrow(message);
  });
});

describe("Topology", () => {
  const topology = Topology.from(snapshot);

  it("exposes the version and the snapshot", () => {
    expect(topology.version).toBe(7);
    expect(topology.snapshot).toBe(snapshot);
  });

  it("routes codes with the ring the snapshot describes", () => {
    const ring = new HashRing(["s0", "s1"], { vnodes: 160 });
    for (const code of ["aaaaaaa", "abc", "Zz09_-x", "launch-2026"]) {
      expect(topology.shardFor(code)).toBe(ring.shardFor(code));
    }
  });

  it("keeps code ownership across a failover (only addresses change)", () => {
    const promoted = Topology.from({
      ...snapshot,
      version: 8,
      shards: { ...snapshot.shards, s0: { primary: s0n1, replicas: [s0n2] } },
    });
    for (const code of ["aaaaaaa", "abc", "Zz09_-x", "launch-2026"]) {
      expect(promoted.shardFor(code)).toBe(topology.shardFor(code));
    }
    expect(promoted.primaryOf("s0")).toEqual(s0n1);
  });

  it("returns the same Topology for the same snapshot object", () => {
    expect(Topology.from(snapshot)).toBe(topology);
  });

  it("answers primaryOf, including a shard without a primary", () => {
    expect(topology.primaryOf("s0")).toEqual(s0n0);
    const headless = Topology.from({
      ...snapshot,
      shards: { ...snapshot.shards, s1: { primary: null, replicas: [s1n1] } },
    });
    expect(headless.primaryOf("s1")).toBeNull();
  });

  it.each([
    ["primary", 0, ["s0n0"]],
    ["replica", 0, ["s0n1", "s0n2", "s0n0"]],
    ["replica", 1, ["s0n2", "s0n1", "s0n0"]],
    ["replica", 2, ["s0n1", "s0n2", "s0n0"]],
    ["replica", 7, ["s0n2", "s0n1", "s0n0"]],
    ["replica", -1, ["s0n2", "s0n1", "s0n0"]],
    ["replica", 1.9, ["s0n2", "s0n1", "s0n0"]],
    ["replica", Number.NaN, ["s0n1", "s0n2", "s0n0"]],
  ] as const)("nodesFor(s0, %s, %d)", (route, start, ids) => {
    expect(topology.nodesFor("s0", route, start).map((n) => n.id)).toEqual(ids);
  });

  it("defaults start to 0", () => {
    expect(topology.nodesFor("s0", "replica").map((n) => n.id)).toEqual(["s0n1", "s0n2", "s0n0"]);
  });

  it.each([
    ["no primary, primary route", { primary: null, replicas: [s1n1] }, "primary", []],
    ["no primary, replica route", { primary: null, replicas: [s1n1] }, "replica", ["s1n1"]],
    ["no replicas, replica route", { primary: s1n0, replicas: [] }, "replica", ["s1n0"]],
    ["nothing at all", { primary: null, replicas: [] }, "replica", []],
  ] as const)("nodesFor with %s", (_name, shard, route, ids) => {
    const s1 = { primary: shard.primary, replicas: [...shard.replicas] };
    const t = Topology.from({ ...snapshot, shards: { ...snapshot.shards, s1 } });
    expect(t.nodesFor("s1", route, 3).map((n) => n.id)).toEqual(ids);
  });

  it("does not let callers mutate the snapshot through nodesFor", () => {
    topology.nodesFor("s0", "replica").pop();
    expect(topology.nodesFor("s0", "replica")).toHaveLength(3);
  });

  it("answers historyOf, [] for a snapshot from before timeline history", () => {
    expect(topology.historyOf("s0")).toEqual(s0History);
    expect(topology.historyOf("s1")).toEqual([]);
    const old = Topology.from({
      ...snapshot,
      shards: { s0: { primary: s0n0, replicas: [] }, s1: { primary: s1n0, replicas: [] } },
    });
    expect(old.historyOf("s0")).toEqual([]);
  });

  it.each([
    ["primaryOf", () => topology.primaryOf("s9")],
    ["historyOf", () => topology.historyOf("s9")],
    ["nodesFor", () => topology.nodesFor("s9", "replica")],
    ["an inherited property name", () => topology.primaryOf("constructor")],
  ])("throws a TopologyError for an unknown shard in %s", (_name, call) => {
    expect(call).toThrow(TopologyError);
    expect(call).toThrow(/unknown shard/);
  });

  it.each([
    [
      "a ring shard without an entry",
      { ...snapshot, ring: { shards: ["s0", "s1", "s2"], vnodes: 160 } },
      /no entry/,
    ],
    [
      "duplicate ring shards",
      { ...snapshot, ring: { shards: ["s0", "s0"], vnodes: 160 } },
      /duplicate shard id/,
    ],
    ["zero vnodes", { ...snapshot, ring: { shards: ["s0"], vnodes: 0 } }, /vnodes/],
  ])("from() throws a TopologyError for %s", (_name, bad, message) => {
    expect(() => Topology.from(bad)).toThrow(TopologyError);
    expect(() => Topology.from(bad)).toThrow(message);
  });
});

describe("isNewer", () => {
  it.each([
    ["nothing yet", null, 0, true],
    ["undefined yet", undefined, 5, true],
    ["a higher version", 5, 6, true],
    ["the same version", 5, 5, false],
    ["an older version", 6, 5, false],
  ] as const)("%s → %s", (_name, current, next, expected) => {
    const cur = current == null ? current : { version: current };
    expect(isNewer(cur, { version: next })).toBe(expected);
  });
});
