import { describe, expect, it } from "vitest";
import { HashRing } from "./ring.ts";
import {
  DEFAULT_ETCD_PREFIX,
  etcdKey,
  etcdValuesFor,
  isNewer,
  NodeSchema,
  parseTopologySnapshot,
  ShardSchema,
  snapshotFromEtcd,
  Topology,
  TopologyError,
  type TopologyNode,
  type TopologySnapshot,
  TopologySnapshotSchema,
} from "./topology.ts";

function node(id: string, port: number): TopologyNode {
  return {
    id,
    gatewayUrl: `http://127.0.0.1:${port}`,
    pg: { host: "127.0.0.1", port: port + 1000 },
  };
}

const s0n0 = node("s0n0", 8800);
const s0n1 = node("s0n1", 8801);
const s0n2 = node("s0n2", 8802);
const s1n0 = node("s1n0", 8810);
const s1n1 = node("s1n1", 8811);

// s0 was promoted once: timeline 1 forked at 0/3000060, its primary is on timeline 2.
const s0History = [{ timeline: 1, switchLsn: "0/3000060" }];

const snapshot: TopologySnapshot = {
  version: 7,
  ring: { shards: ["s0", "s1"], vnodes: 160 },
  shards: {
    s0: { primary: s0n0, replicas: [s0n1, s0n2], history: s0History },
    s1: { primary: s1n0, replicas: [s1n1], history: [] },
  },
};

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

describe("etcdKey", () => {
  it.each([
    [
      DEFAULT_ETCD_PREFIX,
      "/firstclick/ring",
      "/firstclick/shards/s0/primary",
      "/firstclick/shards/s0/replicas",
    ],
    ["/other/", "/other/ring", "/other/shards/s0/primary", "/other/shards/s0/replicas"],
    ["/no-slash", "/no-slash/ring", "/no-slash/shards/s0/primary", "/no-slash/shards/s0/replicas"],
  ])("under %s", (prefix, ring, primary, replicas) => {
    expect(etcdKey.ring(prefix)).toBe(ring);
    expect(etcdKey.primary(prefix, "s0")).toBe(primary);
    expect(etcdKey.replicas(prefix, "s0")).toBe(replicas);
  });
});

describe("etcdValuesFor and snapshotFromEtcd", () => {
  const { version: _version, ...withoutVersion } = snapshot;

  it("writes the documented keys and values", () => {
    expect(etcdValuesFor(withoutVersion)).toEqual({
      "/firstclick/ring": '{"shards":["s0","s1"],"vnodes":160}',
      "/firstclick/shards/s0/primary": JSON.stringify(s0n0),
      "/firstclick/shards/s0/replicas": JSON.stringify([s0n1, s0n2]),
      "/firstclick/shards/s0/history": '[{"timeline":1,"switchLsn":"0/3000060"}]',
      "/firstclick/shards/s1/primary": JSON.stringify(s1n0),
      "/firstclick/shards/s1/replicas": JSON.stringify([s1n1]),
      "/firstclick/shards/s1/history": "[]",
    });
  });

  it("matches the example in docs/architecture.md", () => {
    const kvs = {
      "/firstclick/ring": '{"shards":["s0","s1"],"vnodes":160}',
      "/firstclick/shards/s0/primary":
        '{"id":"s0n0","gatewayUrl":"http://127.0.0.1:8800","pg":{"host":"127.0.0.1","port":54320}}',
      "/firstclick/shards/s0/replicas": "[]",
      "/firstclick/shards/s1/primary":
        '{"id":"s1n0","gatewayUrl":"http://127.0.0.1:8810","pg":{"host":"127.0.0.1","port":54330}}',
    };
    const s = snapshotFromEtcd(kvs, 12);
    expect(s.version).toBe(12);
    expect(s.ring).toEqual({ shards: ["s0", "s1"], vnodes: 160 });
    expect(s.shards.s0?.primary?.pg.port).toBe(54320);
    expect(s.shards.s1?.replicas).toEqual([]);
  });

  it.each([DEFAULT_ETCD_PREFIX, "/staging/fc/"])("round-trips a topology under %s", (prefix) => {
    expect(snapshotFromEtcd(etcdValuesFor(withoutVersion, prefix), 42, prefix)).toEqual({
      ...snapshot,
      version: 42,
    });
  });

  it("round-trips a shard without a primary as null", () => {
    const noPrimary = {
      ...withoutVersion,
      shards: { ...snapshot.shards, s1: { primary: null, replicas: [s1n1] } },
    };
    const kvs = etcdValuesFor(noPrimary);
    expect(kvs["/firstclick/shards/s1/primary"]).toBe("null");
    expect(snapshotFromEtcd(kvs, 3).shards.s1).toEqual({
      primary: null,
      replicas: [s1n1],
      history: [],
    });
  });

  it("treats missing primary and replicas keys as none, and ignores unrelated keys", () => {
    const kvs = {
      "/firstclick/ring": '{"shards":["s0"],"vnodes":8}',
      "/firstclick/shards/s9/primary": "garbage of a shard outside the ring",
      "/firstclick/s0/leader": "patroni keys live here too",
    };
    expect(snapshotFromEtcd(kvs, 5)).toEqual({
      version: 5,
      ring: { shards: ["s0"], vnodes: 8 },
      shards: { s0: { primary: null, replicas: [], history: [] } },
    });
  });

  it("keeps the latest 32 timelines of a long history key", () => {
    const long = Array.from({ length: 40 }, (_, i) => ({
      timeline: i + 1,
      switchLsn: `0/${i + 1}`,
    }));
    const kvs = {
      "/firstclick/ring": '{"shards":["s0"],"vnodes":8}',
      "/firstclick/shards/s0/history": JSON.stringify(long),
    };
    const history = snapshotFromEtcd(kvs, 5).shards.s0?.history ?? [];
    expect(history.map((h) => h.timeline)).toEqual(long.slice(-32).map((h) => h.timeline));
  });

  it.each([
    ["no ring key", {}, /etcd key \/firstclick\/ring is missing/],
    [
      "a ring that is not JSON",
      { "/firstclick/ring": "{shards" },
      /etcd key \/firstclick\/ring does not hold JSON/,
    ],
    [
      "a ring without vnodes",
      { "/firstclick/ring": '{"shards":["s0"]}' },
      /\/firstclick\/ring is invalid: vnodes/,
    ],
    [
      "duplicate ring shards",
      { "/firstclick/ring": '{"shards":["s0","s0"],"vnodes":1}' },
      /must be unique/,
    ],
    [
      "a primary that is not JSON",
      {
        "/firstclick/ring": '{"shards":["s0"],"vnodes":1}',
        "/firstclick/shards/s0/primary": "s0n0",
      },
      /etcd key \/firstclick\/shards\/s0\/primary does not hold JSON/,
    ],
    [
      "a primary with a bad gateway URL",
      {
        "/firstclick/ring": '{"shards":["s0"],"vnodes":1}',
        "/firstclick/shards/s0/primary":
          '{"id":"a","gatewayUrl":"nope","pg":{"host":"h","port":1}}',
      },
      /at revision 9 is invalid: shards\.s0\.primary\.gatewayUrl/,
    ],
    [
      "replicas that are an object",
      {
        "/firstclick/ring": '{"shards":["s0"],"vnodes":1}',
        "/firstclick/shards/s0/replicas": "{}",
      },
      /shards\.s0\.replicas/,
    ],
    [
      "a history entry without a switch LSN",
      {
        "/firstclick/ring": '{"shards":["s0"],"vnodes":1}',
        "/firstclick/shards/s0/history": '[{"timeline":1}]',
      },
      /shards\.s0\.history\.0\.switchLsn/,
    ],
  ])("throws a TopologyError for %s", (_name, kvs, message) => {
    expect(() => snapshotFromEtcd(kvs, 9)).toThrow(TopologyError);
    expect(() => snapshotFromEtcd(kvs, 9)).toThrow(message);
  });

  it("rejects a negative revision", () => {
    expect(() => snapshotFromEtcd(etcdValuesFor(withoutVersion), -1)).toThrow(/version/);
  });

  it("refuses to write an invalid topology", () => {
    expect(() =>
      etcdValuesFor({ ...withoutVersion, ring: { shards: ["s0", "s2"], vnodes: 160 } }),
    ).toThrow(/ring shard "s2" has no entry/);
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
