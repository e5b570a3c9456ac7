import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up } from "@firstclick/cluster";
import { etcdKey, type TopologySnapshot } from "@firstclick/core";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdTopologySource } from "./etcd-source.ts";
import type { SourceStatus } from "./state.ts";

// A real etcd (and one small shard, which the cluster needs to write a topology).
const BASE_PORT = 23_500;
const PREFIX = "/firstclick/";

let cluster: Cluster;

beforeAll(async () => {
  cluster = await up({
    stateDir: join(defaultStateDir(), "origin-etcd-source"),
    shards: 1,
    replicas: 1,
    basePort: BASE_PORT,
    apps: false,
  });
});

afterAll(async () => {
  await cluster?.down();
});

function recorder() {
  const seen = {
    snapshots: [] as TopologySnapshot[],
    statuses: [] as SourceStatus[],
    logs: [] as string[],
  };
  const source = new EtcdTopologySource({
    endpoints: [cluster.urls.etcd],
    prefix: PREFIX,
    log: (m) => seen.logs.push(m),
    initialBackoffMs: 50,
    maxBackoffMs: 500,
    callTimeoutMs: 1_000,
  });
  source.start({
    snapshot: (s) => seen.snapshots.push(s),
    status: (s) => seen.statuses.push(s),
  });
  const latest = () => seen.snapshots.at(-1);
  return { source, seen, latest };
}

async function put(key: string, value: string): Promise<number> {
  // Right after etcd restarts, grpc-js's shared subchannel can still be in its failure backoff:
  // retry the write until etcd takes it (bounded).
  return poll(
    async () => {
      const client = new Etcd3({ hosts: cluster.urls.etcd });
      try {
        const res = await client.put(key).value(value).exec();
        return Number(res.header.revision);
      } finally {
        client.close();
      }
    },
    { timeoutMs: 10_000, what: `etcd to accept a write to ${key}` },
  );
}

describe("EtcdTopologySource", () => {
  it("delivers the topology at the etcd revision, then every change", async () => {
    const { source, seen, latest } = recorder();
    try {
      const expected = await cluster.topology();
      await poll(() => latest(), { timeoutMs: 5_000, what: "the first snapshot" });
      expect(latest()).toEqual(expected);
      await poll(() => (seen.statuses.at(-1) === "connected" ? true : undefined), {
        timeoutMs: 5_000,
        what: "connected",
      });
      const replicas = expected.shards.s0?.replicas ?? [];
      const revision = await put(etcdKey.replicas(PREFIX, "s0"), JSON.stringify([]));
      await poll(() => ((latest()?.version ?? 0) >= revision ? true : undefined), {
        timeoutMs: 5_000,
        what: "the change",
      });
      expect(latest()?.shards.s0?.replicas).toEqual([]);
      await put(etcdKey.replicas(PREFIX, "s0"), JSON.stringify(replicas));
    } finally {
      await source.close();
    }
  });

  it("an invalid topology in etcd keeps the last snapshot and is logged once", async () => {
    const { source, seen, latest } = recorder();
    try {
      await poll(() => latest(), { timeoutMs: 5_000, what: "the first snapshot" });
      const good = await cluster.topology();
      const count = seen.snapshots.length;
      await put(etcdKey.ring(PREFIX), "not json");
      await put(etcdKey.ring(PREFIX), "still not json");
      await poll(() => (seen.logs.some((l) => l.includes("not usable")) ? true : undefined), {
        timeoutMs: 5_000,
        what: "the log line",
      });
      const revision = await put(etcdKey.ring(PREFIX), JSON.stringify(good.ring));
      await poll(() => ((latest()?.version ?? 0) >= revision ? true : undefined), {
        timeoutMs: 5_000,
        what: "the repaired topology",
      });
      // Nothing the invalid values produced was published: every snapshot since is the good
      // ring (a start-up snapshot may still arrive twice, so the count is not exact).
      const since = seen.snapshots.slice(count);
      expect(since.length).toBeGreaterThanOrEqual(1);
      for (const snapshot of since) expect(snapshot.ring).toEqual(good.ring);
      expect(seen.logs.filter((l) => l.includes("not usable")).length).toBeLessThanOrEqual(2);
      expect(latest()?.ring).toEqual(good.ring);
    } finally {
      await source.close();
    }
  });

  it("started while etcd is down: no snapshot, disconnected; etcd back: the snapshot arrives", async () => {
    await cluster.stopEtcd();
    const { source, seen, latest } = recorder();
    try {
      await poll(() => (seen.statuses.includes("disconnected") ? true : undefined), {
        timeoutMs: 10_000,
        what: "disconnected",
      });
      expect(latest()).toBeUndefined();
      expect(seen.logs.filter((l) => l.startsWith("etcd unreachable"))).toHaveLength(1);
      await cluster.startEtcd();
      await poll(() => latest(), { timeoutMs: 15_000, what: "the snapshot after etcd started" });
      expect(latest()).toEqual(await cluster.topology());
    } finally {
      await cluster.startEtcd();
      await source.close();
    }
  });

  it("closes promptly while etcd is down, and reports nothing afterwards", async () => {
    const { source, seen, latest } = recorder();
    await poll(() => latest(), { timeoutMs: 5_000, what: "the first snapshot" });
    await cluster.stopEtcd();
    try {
      await poll(() => (seen.statuses.at(-1) === "disconnected" ? true : undefined), {
        timeoutMs: 10_000,
        what: "disconnected",
      });
      const started = Date.now();
      await source.close();
      expect(Date.now() - started).toBeLessThan(3_000);
      const count = seen.snapshots.length + seen.statuses.length;
      await cluster.startEtcd();
      // A live source sees the next change; by then the closed one would have seen it too.
      const live = recorder();
      try {
        const replicas = (await cluster.topology()).shards.s0?.replicas ?? [];
        const revision = await put(etcdKey.replicas(PREFIX, "s0"), JSON.stringify(replicas));
        await poll(() => ((live.latest()?.version ?? 0) >= revision ? true : undefined), {
          timeoutMs: 10_000,
          what: "a live source to see the change",
        });
      } finally {
        await live.source.close();
      }
      expect(seen.snapshots.length + seen.statuses.length).toBe(count);
    } finally {
      await cluster.startEtcd();
    }
  });
});
