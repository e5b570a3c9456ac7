import { join } from "node:path";
import { type Cluster, defaultStateDir, poll, up } from "@firstclick/cluster";
import {
  etcdKey,
  etcdValuesFor,
  type OriginAck,
  OriginAckSchema,
  type ReshardPhase,
  reshardKey,
  type TopologySnapshot,
} from "@firstclick/core";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOriginApp } from "../app.ts";
import { MemoryLinkStore } from "../links/memory-store.ts";
import type { NewLink, ShardPrimary, WrittenLink } from "../links/store.ts";
import { TokenBucketLimiter } from "../rate-limit.ts";
import { EtcdTopologySource } from "./etcd-source.ts";
import { ReshardAcks } from "./reshard-acks.ts";
import { TopologyState } from "./state.ts";
import { WriteGate } from "./write-gate.ts";

// A real etcd (and one small shard, which the cluster needs to write a topology).
const BASE_PORT = 23_000;
const PREFIX = "/firstclick/";
const ORIGIN_ID = "origin-acks-test";
const KEY = reshardKey.ack(PREFIX, ORIGIN_ID);

let cluster: Cluster;
let etcd: Etcd3;

beforeAll(async () => {
  cluster = await up({
    stateDir: join(defaultStateDir(), "origin-reshard-acks"),
    shards: 1,
    replicas: 0,
    basePort: BASE_PORT,
    apps: false,
  });
  etcd = new Etcd3({ hosts: cluster.urls.etcd });
});

afterAll(async () => {
  etcd?.close();
  await cluster?.down();
});

/** A store whose creates wait while `hold` is set: a write held open in flight. */
class HeldStore extends MemoryLinkStore {
  hold: Promise<void> | null = null;

  override async create(at: ShardPrimary, link: NewLink): Promise<WrittenLink | "conflict"> {
    await this.hold;
    return super.create(at, link);
  }
}

async function readAck(): Promise<OriginAck | null> {
  const value = await etcd.get(KEY).string();
  return value === null ? null : OriginAckSchema.parse(JSON.parse(value));
}

function ackIn(phase: ReshardPhase | null, what: string): Promise<OriginAck> {
  return poll(
    async () => {
      const ack = await readAck();
      return ack && ack.phase === phase ? ack : undefined;
    },
    { timeoutMs: 20_000, what },
  );
}

/** Writes the whole topology (ring, shards, resharding) in one transaction; its revision. */
async function writeTopology(snapshot: Omit<TopologySnapshot, "version">): Promise<number> {
  const values = etcdValuesFor(snapshot, PREFIX);
  const txn = etcd.if(etcdKey.ring(PREFIX), "Version", ">", 0);
  const res = await txn
    .then(...Object.entries(values).map(([k, v]) => etcd.put(k).value(v)))
    .else()
    .commit();
  expect(res.succeeded).toBe(true);
  return Number(res.header.revision);
}

describe("ReshardAcks against etcd", () => {
  it("acknowledges each phase once older writes finished, again after a lost lease, and revokes on close", async () => {
    const logs: string[] = [];
    const log = (m: string) => logs.push(m);
    const state = new TopologyState(log);
    const source = new EtcdTopologySource({
      endpoints: [cluster.urls.etcd],
      prefix: PREFIX,
      log,
      initialBackoffMs: 50,
      maxBackoffMs: 500,
    });
    source.start({ snapshot: (s) => state.apply(s), status: (s) => state.setSourceStatus(s) });
    const writes = new WriteGate();
    const store = new HeldStore();
    const app = createOriginApp({
      store,
      topology: state,
      writes,
      rateLimiter: new TokenBucketLimiter({ perMinute: 0 }),
      clientKey: () => "test",
      config: { publicBaseUrl: "http://127.0.0.1:23099", ryowWindow: 30 },
      logError: log,
    });
    const acks = new ReshardAcks({
      endpoints: [cluster.urls.etcd],
      prefix: PREFIX,
      originId: ORIGIN_ID,
      topology: state,
      writes,
      log,
      initialBackoffMs: 50,
      maxBackoffMs: 500,
    });
    acks.start();
    try {
      // No resharding: the origin says so.
      const base = await cluster.topology();
      const none = await ackIn(null, "the first acknowledgement (no resharding)");
      expect(none).toMatchObject({ reshardId: null, phase: null, version: base.version });

      // A create held open under the current version.
      let release = () => {};
      store.hold = new Promise((resolve) => {
        release = resolve;
      });
      const held = app.request("/api/links", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: "https://example.com/held", alias: "held-write" }),
      });
      await poll(() => (writes.inFlight() === 1 ? true : undefined), {
        timeoutMs: 5_000,
        what: "the create in flight",
      });

      // The mover starts a resharding 1 → 2 shards.
      const { version: _, ...plain } = base;
      const s1 = {
        id: "s1n0",
        gatewayUrl: "http://127.0.0.1:23098",
        pg: { host: "127.0.0.1", port: 23097 },
      };
      const resharding = (phase: ReshardPhase): Omit<TopologySnapshot, "version"> => ({
        ...plain,
        shards: { ...plain.shards, s1: { primary: s1, replicas: [] } },
        reshard: {
          id: "grow-1",
          phase,
          from: base.ring,
          to: { shards: ["s0", "s1"], vnodes: base.ring.vnodes },
          graceUntil: null,
        },
      });
      const copyingAt = await writeTopology(resharding("copying"));
      await poll(() => (acks.status().waitingFor === "writes" ? true : undefined), {
        timeoutMs: 10_000,
        what: "the acknowledgement to wait for the held write",
      });
      expect(state.current()?.reshard?.phase).toBe("copying");
      // Not acknowledged while the write begun under the old version runs.
      expect((await readAck())?.phase).toBeNull();
      expect(writes.inFlight()).toBe(1);

      release();
      expect((await held).status).toBe(201);
      const copying = await ackIn("copying", "the copying acknowledgement");
      expect(copying.reshardId).toBe("grow-1");
      expect(copying.version).toBeGreaterThanOrEqual(copyingAt);
      expect(copying.version).toBe(state.current()?.version);

      const switchingAt = await writeTopology(resharding("switching"));
      const switching = await ackIn("switching", "the switching acknowledgement");
      expect(switching).toMatchObject({ reshardId: "grow-1" });
      expect(switching.version).toBeGreaterThanOrEqual(switchingAt);

      // The lease is lost (revoked behind the origin's back): the key goes, and comes back.
      const kv = (await etcd.get(KEY).exec()).kvs[0];
      expect(Number(kv?.lease)).toBeGreaterThan(0);
      await etcd.leaseClient.leaseRevoke({ ID: kv?.lease ?? "0" });
      expect(await readAck()).toBeNull();
      const again = await ackIn("switching", "the acknowledgement put again on a new lease");
      expect(again).toMatchObject({ reshardId: "grow-1", version: switching.version });
      const kvAgain = (await etcd.get(KEY).exec()).kvs[0];
      expect(kvAgain?.lease).not.toBe(kv?.lease);

      // The resharding ends (aborted before the switch): the key is gone from the topology.
      await etcd.delete().key(etcdKey.reshard(PREFIX)).exec();
      const ended = await ackIn(null, "the acknowledgement of no resharding");
      expect(ended.reshardId).toBeNull();
      expect(ended.version).toBeGreaterThan(switching.version);
    } finally {
      await acks.close();
      await source.close();
    }
    // close() revoked the lease: the acknowledgement is gone at once, not after the TTL.
    expect(await readAck()).toBeNull();
    expect(logs.filter((l) => l.includes("failed"))).toEqual(
      expect.arrayContaining([expect.stringContaining("lease lost")]),
    );
  });
});
