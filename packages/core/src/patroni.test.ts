import { describe, expect, it } from "vitest";
import {
  DEFAULT_PATRONI_NAMESPACE,
  type PatroniSnapshotOptions,
  patroniScopePrefix,
  snapshotFromPatroni,
  snapshotFromPatroniKeys,
} from "./patroni.ts";
import type { TimelineSwitch } from "./position/history.ts";
import {
  etcdValuesFor,
  snapshotFromEtcd,
  Topology,
  TopologyError,
  type TopologyNode,
} from "./topology.ts";

/**
 * Member values as Debian's Patroni 3.0.2 wrote them during a real failover (captured with
 * packages/cluster/src/patroni/capture-keys.ts; only the scope was renamed to `s0`).
 */
const member = {
  /** The bootstrapped leader. */
  s0n0Leader:
    '{"conn_url":"postgres://127.0.0.1:24610/postgres","api_url":"http://127.0.0.1:24620/patroni","state":"running","role":"master","version":"3.0.2","tags":{"gateway_url":"http://127.0.0.1:24630"},"xlog_location":50331648,"timeline":1}',
  /** A replica still being cloned. */
  s0n1Cloning:
    '{"conn_url":"postgres://127.0.0.1:24611/postgres","api_url":"http://127.0.0.1:24621/patroni","state":"stopped","role":"uninitialized","version":"3.0.2","tags":{"gateway_url":"http://127.0.0.1:24631"}}',
  s0n1Replica:
    '{"conn_url":"postgres://127.0.0.1:24611/postgres","api_url":"http://127.0.0.1:24621/patroni","state":"running","role":"replica","version":"3.0.2","tags":{"gateway_url":"http://127.0.0.1:24631"},"xlog_location":50332432,"timeline":1}',
  /** Holder of the leader key one HA loop after the failover: its member key still says replica. */
  s0n1JustElected:
    '{"conn_url":"postgres://127.0.0.1:24611/postgres","api_url":"http://127.0.0.1:24621/patroni","state":"running","role":"replica","version":"3.0.2","checkpoint_after_promote":false,"tags":{"gateway_url":"http://127.0.0.1:24631"},"xlog_location":50332432,"timeline":1}',
  s0n1Leader:
    '{"conn_url":"postgres://127.0.0.1:24611/postgres","api_url":"http://127.0.0.1:24621/patroni","state":"running","role":"master","version":"3.0.2","tags":{"gateway_url":"http://127.0.0.1:24631"},"xlog_location":50332656,"timeline":2}',
  /** The killed former leader, rewound and streaming again. */
  s0n0Rejoined:
    '{"conn_url":"postgres://127.0.0.1:24610/postgres","api_url":"http://127.0.0.1:24620/patroni","state":"running","role":"replica","version":"3.0.2","tags":{"gateway_url":"http://127.0.0.1:24630"},"xlog_location":50332656,"timeline":2}',
};

const ns = "/firstclick/patroni/s0/";
/** Keys Patroni keeps beside the members; the topology ignores them. */
const scopeKeys = {
  [`${ns}config`]:
    '{"ttl":5,"loop_wait":1,"retry_timeout":2,"maximum_lag_on_failover":1048576,"synchronous_mode":false,"postgresql":{"use_pg_rewind":true,"use_slots":true}}',
  [`${ns}initialize`]: "7711345015283119523",
  [`${ns}status`]: '{"optime":50331648}',
};

const options: PatroniSnapshotOptions = {
  namespace: DEFAULT_PATRONI_NAMESPACE,
  scopes: { s0: "s0" },
  vnodes: 160,
};

const n0: TopologyNode = {
  id: "s0n0",
  gatewayUrl: "http://127.0.0.1:24630",
  pg: { host: "127.0.0.1", port: 24610 },
};
const n1: TopologyNode = {
  id: "s0n1",
  gatewayUrl: "http://127.0.0.1:24631",
  pg: { host: "127.0.0.1", port: 24611 },
};

function withMember(raw: string, changes: Record<string, unknown>): string {
  return JSON.stringify({ ...JSON.parse(raw), ...changes });
}

interface Stage {
  stage: string;
  kvs: Record<string, string>;
  primary: TopologyNode | null;
  replicas: TopologyNode[];
  history?: TimelineSwitch[];
}

describe("snapshotFromPatroni over the stages of a real failover", () => {
  it.each<Stage>([
    {
      stage: "healthy: leader and streaming replica",
      kvs: {
        [`${ns}leader`]: "s0n0",
        [`${ns}members/s0n0`]: member.s0n0Leader,
        [`${ns}members/s0n1`]: member.s0n1Replica,
      },
      primary: n0,
      replicas: [n1],
    },
    {
      stage: "replica still cloning (state stopped): left out",
      kvs: {
        [`${ns}leader`]: "s0n0",
        [`${ns}members/s0n0`]: member.s0n0Leader,
        [`${ns}members/s0n1`]: member.s0n1Cloning,
      },
      primary: n0,
      replicas: [],
    },
    {
      // Patroni's keys keep a dead leader for up to ttl seconds after a hard kill: the snapshot
      // follows Patroni, it cannot know earlier.
      stage: "leader hard-killed, its lease not yet expired",
      kvs: {
        [`${ns}leader`]: "s0n0",
        [`${ns}members/s0n0`]: member.s0n0Leader,
        [`${ns}members/s0n1`]: member.s0n1Replica,
      },
      primary: n0,
      replicas: [n1],
    },
    {
      stage: "lease expired, no leader yet: replicas kept for reads",
      kvs: { [`${ns}members/s0n1`]: member.s0n1Replica },
      primary: null,
      replicas: [n1],
    },
    {
      stage: "new leader holds the key while its member key still says replica",
      kvs: { [`${ns}leader`]: "s0n1", [`${ns}members/s0n1`]: member.s0n1JustElected },
      primary: n1,
      replicas: [],
    },
    {
      stage: "former leader rejoined as a replica on timeline 2",
      kvs: {
        [`${ns}leader`]: "s0n1",
        [`${ns}history`]:
          '[[1,50332432,"no recovery target specified","2026-11-23T12:37:12.714909+00:00","s0n1"]]',
        [`${ns}members/s0n0`]: member.s0n0Rejoined,
        [`${ns}members/s0n1`]: member.s0n1Leader,
      },
      primary: n1,
      replicas: [n0],
      // 50332432 bytes = 0/3000310: timeline 1 forked there when s0n1 was promoted.
      history: [{ timeline: 1, switchLsn: "0/3000310" }],
    },
  ])("$stage", ({ kvs, primary, replicas, history = [] }) => {
    const snapshot = snapshotFromPatroni({ ...scopeKeys, ...kvs }, 21, options);
    expect(snapshot).toEqual({
      version: 21,
      ring: { shards: ["s0"], vnodes: 160 },
      shards: { s0: { primary, replicas, history } },
    });
  });
});

describe("snapshotFromPatroni leaves out members it cannot route to", () => {
  const healthy = { [`${ns}leader`]: "s0n0", [`${ns}members/s0n0`]: member.s0n0Leader };
  it.each([
    ["no tags", withMember(member.s0n1Replica, { tags: undefined })],
    ["tags without gateway_url", withMember(member.s0n1Replica, { tags: { nofailover: true } })],
    [
      "a gateway_url that is not http(s)",
      withMember(member.s0n1Replica, { tags: { gateway_url: "ftp://127.0.0.1:1" } }),
    ],
    [
      "a gateway_url that is not a URL",
      withMember(member.s0n1Replica, { tags: { gateway_url: "gateway" } }),
    ],
    [
      "a gateway_url that is not a string",
      withMember(member.s0n1Replica, { tags: { gateway_url: 24631 } }),
    ],
    ["state starting", withMember(member.s0n1Replica, { state: "starting" })],
    ["state crashed", withMember(member.s0n1Replica, { state: "crashed" })],
    ["state creating replica", withMember(member.s0n1Replica, { state: "creating replica" })],
    ["no state", withMember(member.s0n1Replica, { state: undefined })],
    ["no conn_url", withMember(member.s0n1Replica, { conn_url: undefined })],
    [
      "a conn_url that is not postgres://",
      withMember(member.s0n1Replica, { conn_url: "http://127.0.0.1:24611/" }),
    ],
    [
      "a conn_url without host",
      withMember(member.s0n1Replica, { conn_url: "postgres:///postgres" }),
    ],
    [
      "a conn_url with port 0",
      withMember(member.s0n1Replica, { conn_url: "postgres://127.0.0.1:0/postgres" }),
    ],
    ["a value that is not JSON", "{not json"],
    ["a JSON array", "[]"],
    ["JSON null", "null"],
  ])("a member with %s", (_, value) => {
    const snapshot = snapshotFromPatroni({ ...healthy, [`${ns}members/s0n1`]: value }, 5, options);
    expect(snapshot.shards.s0).toEqual({ primary: n0, replicas: [], history: [] });
  });

  it("a leader key naming a member without a key: no primary, replicas kept", () => {
    const kvs = { [`${ns}leader`]: "s0n7", [`${ns}members/s0n1`]: member.s0n1Replica };
    expect(snapshotFromPatroni(kvs, 5, options).shards.s0).toEqual({
      primary: null,
      replicas: [n1],
      history: [],
    });
  });

  it("a leader that is not running, or has no gateway: no primary (creates answer 503)", () => {
    for (const leader of [
      withMember(member.s0n0Leader, { state: "stopped" }),
      withMember(member.s0n0Leader, { tags: {} }),
    ]) {
      const kvs = {
        [`${ns}leader`]: "s0n0",
        [`${ns}members/s0n0`]: leader,
        [`${ns}members/s0n1`]: member.s0n1Replica,
      };
      expect(snapshotFromPatroni(kvs, 5, options).shards.s0).toEqual({
        primary: null,
        replicas: [n1],
        history: [],
      });
    }
  });

  it("a shard with no keys at all has no primary and no replicas", () => {
    expect(snapshotFromPatroni({}, 0, options)).toEqual({
      version: 0,
      ring: { shards: ["s0"], vnodes: 160 },
      shards: { s0: { primary: null, replicas: [], history: [] } },
    });
  });

  it("accepts postgresql:// URLs, a default port and IPv6 hosts", () => {
    const kvs = {
      [`${ns}members/a`]: withMember(member.s0n1Replica, {
        conn_url: "postgresql://db.internal/postgres",
      }),
      [`${ns}members/b`]: withMember(member.s0n1Replica, {
        conn_url: "postgres://[::1]:24611/postgres",
      }),
    };
    const { replicas } = snapshotFromPatroni(kvs, 1, options).shards.s0 ?? { replicas: [] };
    expect(replicas.map((r) => r.pg)).toEqual([
      { host: "db.internal", port: 5432 },
      { host: "::1", port: 24611 },
    ]);
  });
});

describe("snapshotFromPatroni with several shards", () => {
  const two: PatroniSnapshotOptions = {
    namespace: "/firstclick/patroni/",
    scopes: { s0: "s0", s1: "pg-s1" },
    vnodes: 64,
  };
  const s1 = "/firstclick/patroni/pg-s1/";
  const s1n0 = withMember(member.s0n0Leader, {
    conn_url: "postgres://127.0.0.1:24612/postgres",
    tags: { gateway_url: "http://127.0.0.1:24632" },
  });
  const kvs = {
    [`${ns}leader`]: "s0n0",
    [`${ns}members/s0n0`]: member.s0n0Leader,
    [`${ns}members/s0n1`]: member.s0n1Replica,
    [`${s1}leader`]: "s1n0",
    [`${s1}members/s1n0`]: s1n0,
    [`${s1}history`]: '[[1,50332432,"no recovery target specified"],[2,83886080,"r"]]',
    // Another scope whose name starts like a configured one, another namespace, the manual
    // mode's keys: none of them belongs to this topology.
    "/firstclick/patroni/pg-s10/leader": "x",
    "/firstclick/patroni/pg-s10/members/x": member.s0n1Replica,
    "/other/s0/members/y": member.s0n1Replica,
    "/firstclick/ring": '{"shards":["s0"],"vnodes":160}',
    "/firstclick/shards/s0/primary": "null",
  };

  it("builds one ring over the shard ids, in the given order, and one entry per shard", () => {
    const snapshot = snapshotFromPatroni(kvs, 99, two);
    expect(snapshot.ring).toEqual({ shards: ["s0", "s1"], vnodes: 64 });
    expect(snapshot.shards.s0).toEqual({ primary: n0, replicas: [n1], history: [] });
    expect(snapshot.shards.s1).toEqual({
      primary: {
        id: "s1n0",
        gatewayUrl: "http://127.0.0.1:24632",
        pg: { host: "127.0.0.1", port: 24612 },
      },
      replicas: [],
      history: [
        { timeline: 1, switchLsn: "0/3000310" },
        { timeline: 2, switchLsn: "0/5000000" },
      ],
    });
  });

  it("a history key it cannot read makes the shard look never promoted", () => {
    const bad = { ...kvs, [`${s1}history`]: '[[1,"0/3000310","r"]]' };
    expect(snapshotFromPatroni(bad, 99, two).shards.s1?.history).toEqual([]);
  });

  it("does not depend on the order of the keys (replicas sorted by name)", () => {
    const reversed = Object.fromEntries(Object.entries(kvs).reverse());
    const extra = {
      ...reversed,
      [`${ns}members/s0n2`]: withMember(member.s0n1Replica, {
        conn_url: "postgres://127.0.0.1:24613/postgres",
      }),
    };
    const ids = snapshotFromPatroni(extra, 99, two).shards.s0?.replicas.map((r) => r.id);
    expect(ids).toEqual(["s0n1", "s0n2"]);
  });

  it("is the same snapshot type as the manual mode: it round-trips through the manual keys", () => {
    const snapshot = snapshotFromPatroni(kvs, 99, two);
    const { version: _, ...rest } = snapshot;
    expect(snapshotFromEtcd(etcdValuesFor(rest), 99)).toEqual(snapshot);
    const topology = Topology.from(snapshot);
    expect(topology.primaryOf("s0")?.id).toBe("s0n0");
    expect(topology.historyOf("s1").map((s) => s.timeline)).toEqual([1, 2]);
    expect(topology.nodesFor("s0", "replica").map((n) => n.id)).toEqual(["s0n1", "s0n0"]);
  });

  it("reads the namespace the way Patroni joins it (slashes optional)", () => {
    const loose = { ...two, namespace: "firstclick/patroni" };
    expect(snapshotFromPatroni(kvs, 99, loose)).toEqual(snapshotFromPatroni(kvs, 99, two));
    expect(patroniScopePrefix("firstclick//patroni", "s0")).toBe("/firstclick/patroni/s0/");
  });
});

describe("snapshotFromPatroni rejects structural problems with TopologyError", () => {
  it.each([
    ["no shards", { ...options, scopes: {} }, 1],
    ["vnodes 0", { ...options, vnodes: 0 }, 1],
    ["vnodes not an integer", { ...options, vnodes: 1.5 }, 1],
    ["an empty namespace", { ...options, namespace: " " }, 1],
    ["a bad shard id", { ...options, scopes: { "s 0": "s0" } }, 1],
    ["a bad scope name", { ...options, scopes: { s0: "s0/x" } }, 1],
    ["two shards on one scope", { ...options, scopes: { s0: "s0", s1: "s0" } }, 1],
    ["a negative revision", options, -1],
    ["a fractional revision", options, 1.5],
  ])("%s", (_, opts, revision) => {
    expect(() => snapshotFromPatroni({}, revision, opts)).toThrow(TopologyError);
  });

  it("the same member name in two scopes (a node in two shards)", () => {
    const kvs = {
      [`${ns}members/s0n1`]: member.s0n1Replica,
      "/firstclick/patroni/s1/members/s0n1": member.s0n1Replica,
    };
    const two = { ...options, scopes: { s0: "s0", s1: "s1" } };
    expect(() => snapshotFromPatroni(kvs, 3, two)).toThrow(/appears more than once/);
  });
});

describe("snapshotFromPatroniKeys", () => {
  const s1 = "/firstclick/patroni/s1/";
  const kvs = {
    [`${ns}leader`]: "s0n0",
    [`${ns}members/s0n0`]: member.s0n0Leader,
    [`${s1}leader`]: "s1n0",
    [`${s1}members/s1n0`]: member.s0n1Leader
      .replaceAll("2461", "2471")
      .replaceAll("2462", "2472")
      .replaceAll("2463", "2473"),
    "/firstclick/ring": '{"shards":["s0"],"vnodes":64}',
  };

  it("reads the ring's scopes only, when no resharding names another", () => {
    const snapshot = snapshotFromPatroniKeys(kvs, 5, {
      prefix: "/firstclick/",
      namespace: DEFAULT_PATRONI_NAMESPACE,
    });
    expect(Object.keys(snapshot.shards)).toEqual(["s0"]);
    expect(snapshot.reshard).toBeUndefined();
  });

  it("adds the scope a resharding brings in, with the ring of the phase", () => {
    const reshard = {
      id: "add-s1",
      phase: "copying",
      from: { shards: ["s0"], vnodes: 64 },
      to: { shards: ["s0", "s1"], vnodes: 64 },
    };
    const snapshot = snapshotFromPatroniKeys(
      { ...kvs, "/firstclick/reshard": JSON.stringify(reshard) },
      6,
      { prefix: "/firstclick/", namespace: DEFAULT_PATRONI_NAMESPACE },
    );
    expect(snapshot.ring.shards).toEqual(["s0"]);
    expect(Topology.from(snapshot).primaryOf("s1")?.id).toBe("s1n0");
    expect(snapshot.reshard?.phase).toBe("copying");
  });
});
