/**
 * An asynchronous failover that loses an acknowledged create (issue 12), Patroni mode, strategy
 * `position`. The replica never receives the create: s0's replica is hard-killed (Patroni and
 * PostgreSQL), a create is acknowledged by the leader, the leader is hard-killed, the replica is
 * started again and Patroni elects it (the create's WAL is far below maximum_lag_on_failover).
 * Patroni writes the scope's `history` key; it reaches the edge's snapshot, and the creator's
 * token, past timeline 1's switch point, is judged lost: 410 linkLost at the edge and from
 * GET /api/links/:code. A create acknowledged before is served as usual. Ports 27300–27399.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { expectLostAndKept } from "../e2e/lost-write.ts";
import { aliasOn, target } from "../e2e/support.ts";
import { type HaSystem, startHaSystem, timeUntil } from "./support.ts";

const SHARD = "s0";
let system: HaSystem;

beforeAll(async () => {
  system = await startHaSystem({
    name: "ha-position-failover",
    basePort: 27_300,
    strategy: "position",
  });
}, 240_000);

afterAll(async () => {
  await system?.cluster.down();
});

it("Patroni: a create lost in a failover is reported lost; one that survived is served", async () => {
  const topology = await system.topology();
  const creator = system.client();
  const kept = await creator.create({
    url: target("ha-kept"),
    alias: aliasOn(topology, SHARD, "hakept"),
  });
  expect(kept.status).toBe(201);
  await system.untilReplicated(kept.code);

  const leader = await system.leaderOf(SHARD);
  const replica = topology.snapshot.shards[SHARD]?.replicas[0]?.id;
  if (!leader || !replica) throw new Error(`${SHARD} needs a leader and a replica`);
  await system.cluster.kill(replica);
  const lost = await creator.create({
    url: target("ha-lost"),
    alias: aliasOn(topology, SHARD, "halost"),
  });
  expect(lost.status).toBe(201);
  await system.cluster.kill(leader);
  // Waits until the scope settles with the restarted replica as its only running member: leader.
  await system.cluster.restartNode(replica);
  expect(await system.leaderOf(SHARD)).toBe(replica);

  // Patroni's history key (timeline 1 ended at the switch point) reaches the edge's snapshot.
  const { value: history } = await timeUntil(
    async () => {
      const version = await system.edgeVersion();
      if (version === null) return undefined;
      const shard = (await system.snapshotAt(version)).shards[SHARD];
      return shard?.primary?.id === replica && (shard.history ?? []).length > 0
        ? shard.history
        : undefined;
    },
    { timeoutMs: 60_000, what: `the edge's snapshot to name ${replica} and s0's history` },
  );
  expect(history.at(-1)?.timeline).toBe(1);

  await expectLostAndKept(creator, system.client(), lost, kept);
}, 300_000);
