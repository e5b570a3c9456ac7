import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up } from "@firstclick/cluster";
import { TopologyError, type TopologySnapshot } from "@firstclick/core";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  defaultPatroniNamespace,
  PatroniTopologySource,
  patroniSnapshotBuilder,
  sameTopology,
} from "./patroni-source.ts";

const PREFIX = "/firstclick/";
const NS = defaultPatroniNamespace(PREFIX);
const RING = JSON.stringify({ shards: ["s0", "s1"], vnodes: 160 });

/** A member key as Patroni 3.0.2 writes it (shape from core's captured fixtures). */
function member(
  port: number,
  role: string,
  changes: { state?: string; xlog?: number; gateway?: string | null } = {},
): string {
  return JSON.stringify({
    conn_url: `postgres://127.0.0.1:${port}/postgres`,
    api_url: `http://127.0.0.1:${port + 100}/patroni`,
    state: changes.state ?? "running",
    role,
    version: "3.0.2",
    ...(changes.gateway === null
      ? {}
      : { tags: { gateway_url: changes.gateway ?? `http://127.0.0.1:${port + 200}` } }),
    xlog_location: changes.xlog ?? 50331648,
    timeline: 1,
  });
}

function healthy(): Record<string, string> {
  return {
    [`${PREFIX}ring`]: RING,
    [`${NS}s0/leader`]: "s0n0",
    [`${NS}s0/members/s0n0`]: member(100, "master"),
    [`${NS}s0/members/s0n1`]: member(101, "replica"),
    [`${NS}s0/status`]: '{"optime":50331648}',
    [`${NS}s1/leader`]: "s1n0",
    [`${NS}s1/members/s1n0`]: member(102, "master"),
    [`${NS}s1/members/s1n1`]: member(103, "replica"),
  };
}

describe("patroniSnapshotBuilder (pure)", () => {
  const build = patroniSnapshotBuilder(PREFIX, NS);

  it("builds the ring from the ring key and each shard from its scope's leader and members", () => {
    const s = build(healthy(), 42);
    expect(s.version).toBe(42);
    expect(s.ring).toEqual({ shards: ["s0", "s1"], vnodes: 160 });
    expect(s.shards.s0?.primary?.id).toBe("s0n0");
    expect(s.shards.s0?.replicas.map((n) => n.id)).toEqual(["s0n1"]);
    expect(s.shards.s1?.primary).toEqual({
      id: "s1n0",
      gatewayUrl: "http://127.0.0.1:302",
      pg: { host: "127.0.0.1", port: 102 },
    });
  });

  it("a scope with no leader keeps its replicas for reads; the other shard is untouched", () => {
    const kvs = healthy();
    delete kvs[`${NS}s0/leader`];
    const s = build(kvs, 43);
    expect(s.shards.s0?.primary).toBeNull();
    expect(s.shards.s0?.replicas.map((n) => n.id)).toEqual(["s0n0", "s0n1"]);
    expect(s.shards.s1?.primary?.id).toBe("s1n0");
  });

  it("members not running, or without a gateway tag, are left out", () => {
    const kvs = healthy();
    kvs[`${NS}s0/members/s0n1`] = member(101, "replica", { state: "starting" });
    kvs[`${NS}s1/members/s1n1`] = member(103, "replica", { gateway: null });
    const s = build(kvs, 44);
    expect(s.shards.s0?.replicas).toEqual([]);
    expect(s.shards.s1?.replicas).toEqual([]);
  });

  it("the leader key decides, not the member's role (a just-elected leader still says replica)", () => {
    const kvs = healthy();
    kvs[`${NS}s0/leader`] = "s0n1";
    const s = build(kvs, 45);
    expect(s.shards.s0?.primary?.id).toBe("s0n1");
    expect(s.shards.s0?.replicas.map((n) => n.id)).toEqual(["s0n0"]);
  });

  it("no ring key, or a broken one, is a TopologyError (the source keeps its last snapshot)", () => {
    const kvs = healthy();
    delete kvs[`${PREFIX}ring`];
    expect(() => build(kvs, 46)).toThrow(TopologyError);
    expect(() => build({ ...healthy(), [`${PREFIX}ring`]: "{" }, 47)).toThrow(TopologyError);
    expect(() =>
      build({ ...healthy(), [`${PREFIX}ring`]: '{"shards":[],"vnodes":160}' }, 48),
    ).toThrow(TopologyError);
  });

  it("refuses a namespace outside the prefix (one watch covers both)", () => {
    expect(() => patroniSnapshotBuilder(PREFIX, "/elsewhere/patroni/")).toThrow(/must lie under/);
  });

  it("sameTopology ignores the version and Patroni's WAL positions, not a change of role", () => {
    const a = build(healthy(), 50);
    const walMoved = healthy();
    walMoved[`${NS}s0/members/s0n1`] = member(101, "replica", { xlog: 99_999_999 });
    walMoved[`${NS}s0/status`] = '{"optime":99999999}';
    expect(sameTopology(a, build(walMoved, 51))).toBe(true);
    const failedOver = healthy();
    failedOver[`${NS}s0/leader`] = "s0n1";
    expect(sameTopology(a, build(failedOver, 52))).toBe(false);
    expect(sameTopology(null, a)).toBe(false);
  });
});

// A real etcd (the cluster needs one small shard to start; its manual-mode keys under
// `shards/` are ignored by this source). The Patroni keys are written as Patroni writes them.
describe("PatroniTopologySource on a real etcd", () => {
  let cluster: Cluster;
  let etcd: Etcd3;

  beforeAll(async () => {
    cluster = await up({
      stateDir: join(defaultStateDir(), "origin-patroni-source"),
      shards: 1,
      replicas: 0,
      basePort: 27_900,
      apps: false,
    });
    etcd = new Etcd3({ hosts: cluster.urls.etcd });
  });

  afterAll(async () => {
    etcd?.close();
    await cluster?.down();
  });

  async function put(key: string, value: string): Promise<number> {
    return Number((await etcd.put(key).value(value).exec()).header.revision);
  }

  it("follows a failover as it happens in etcd, skipping revisions that change nothing", async () => {
    for (const [k, v] of Object.entries(healthy())) await put(k, v);
    const seen: TopologySnapshot[] = [];
    const source = new PatroniTopologySource({
      endpoints: [cluster.urls.etcd],
      prefix: PREFIX,
      namespace: NS,
      log: () => {},
      initialBackoffMs: 50,
    });
    source.start({ snapshot: (s) => seen.push(s), status: () => {} });
    try {
      await poll(async () => (seen.length > 0 ? true : undefined), {
        timeoutMs: 10_000,
        what: "the first snapshot",
      });
      expect(seen[0]?.shards.s0?.primary?.id).toBe("s0n0");

      // Patroni's routine rewrites (WAL positions, optime): no new snapshot.
      await put(`${NS}s0/members/s0n1`, member(101, "replica", { xlog: 60_000_000 }));
      await put(`${NS}s0/status`, '{"optime":60000000}');

      // The leader's lease expires: the leader key goes; then s0n1 takes it.
      const gone = Number((await etcd.delete().key(`${NS}s0/leader`).exec()).header.revision);
      await poll(async () => (seen.at(-1)?.shards.s0?.primary === null ? true : undefined), {
        timeoutMs: 10_000,
        what: "the leaderless snapshot",
      });
      const elected = await put(`${NS}s0/leader`, "s0n1");
      await poll(async () => (seen.at(-1)?.shards.s0?.primary?.id === "s0n1" ? true : undefined), {
        timeoutMs: 10_000,
        what: "the snapshot naming s0n1",
      });

      expect(seen).toHaveLength(3);
      expect(seen[1]?.version).toBe(gone);
      expect(seen[1]?.shards.s0?.replicas.map((n) => n.id)).toEqual(["s0n0", "s0n1"]);
      expect(seen[2]?.version).toBe(elected);
      const versions = seen.map((s) => s.version);
      expect([...versions].sort((a, b) => a - b)).toEqual(versions);
      // The other shard never changed.
      for (const s of seen) expect(s.shards.s1?.primary?.id).toBe("s1n0");
    } finally {
      await source.close();
    }
  });
});
