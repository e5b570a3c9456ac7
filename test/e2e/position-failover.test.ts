/**
 * An asynchronous failover that loses an acknowledged create (issue 12), manual mode. Pausing
 * replay would not lose it (the replica still receives the WAL and replays all of it when
 * promoted), so the replica never receives it: s0's replica killed, a create acknowledged by the
 * primary, the primary killed, the replica restarted (its primary is dead: it stays where it was)
 * and promoted (its etcd transaction records timeline 1's switch point). The creator is told the
 * link was lost (edge 410 linkLost, GET /api/links/:code the same); a create acknowledged before
 * is served as usual. Ports 25600–25699.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { expectLostAndKept } from "./lost-write.ts";
import { aliasOn, type System, startSystem, target } from "./support.ts";

const BASE_PORT = 25_600;
let system: System;

beforeAll(async () => {
  system = await startSystem({
    name: "e2e-position-failover",
    basePort: BASE_PORT,
    strategy: "position",
  });
}, 180_000);

afterAll(async () => {
  await system?.down();
});

it("a create lost in a failover is reported lost; one that survived is served", async () => {
  const topology = await system.topology();
  const creator = system.client();
  const kept = await creator.create({
    url: target("kept"),
    alias: aliasOn(topology, "s0", "kept"),
  });
  expect(kept.status).toBe(201);
  await system.untilReplicated(kept.code);

  const [replica] = system.cluster.replicasOf("s0");
  const primary = topology.primaryOf("s0");
  if (!replica || !primary) throw new Error("s0 needs a primary and a replica");
  await system.cluster.kill(replica.id);
  const lost = await creator.create({
    url: target("lost"),
    alias: aliasOn(topology, "s0", "lost"),
  });
  expect(lost.status).toBe(201);
  await system.cluster.kill(primary.id);
  await system.cluster.restartNode(replica.id);
  await system.cluster.promote(replica.id);
  await system.ready();

  await expectLostAndKept(creator, system.client(), lost, kept);
}, 240_000);
