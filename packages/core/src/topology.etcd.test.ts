import { describe, expect, it } from "vitest";
import { s0n0, s0n1, s0n2, s1n0, s1n1, snapshot } from "./topology.fixtures.ts";
import {
  DEFAULT_ETCD_PREFIX,
  etcdKey,
  etcdValuesFor,
  snapshotFromEtcd,
  TopologyError,
} from "./topology.ts";

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
