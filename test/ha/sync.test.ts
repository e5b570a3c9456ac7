/**
 * Patroni mode with DURABILITY=remote_apply: Patroni's synchronous_mode, 2 replicas per shard
 * (so the shard keeps a synchronous standby after losing one node). A create is acknowledged only
 * once a replica applied it, and Patroni promotes only the synchronous standby: a hard kill of
 * the leader under a stream of creates must lose none of the acknowledged ones.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  byStatus,
  createsOn as creates,
  type HaSystem,
  loadShards,
  seedLinks,
  startHaSystem,
  timeUntil,
} from "./support.ts";

const FAILED = "s0";
const OTHER = "s1";

let system: HaSystem;
let oldLinks: { code: string; shard: string }[] = [];

beforeAll(async () => {
  system = await startHaSystem({
    name: "ha-sync",
    basePort: 27_100,
    replicas: 2,
    durability: "remote_apply",
  });
  oldLinks = [...(await seedLinks(system, FAILED, 8)), ...(await seedLinks(system, OTHER, 8))];
});

afterAll(async () => {
  await system?.cluster.down();
});

describe("Patroni mode, remote_apply (synchronous standby, 2 replicas per shard)", () => {
  it("a hard-killed leader loses no acknowledged create; redirects never fail; the other shard is unaffected", async () => {
    const status = await system.cluster.status();
    const scope = status.patroni?.find((s) => s.shard === FAILED);
    const leader = scope?.leader;
    const syncStandby = scope?.members.find((m) => m.role === "sync_standby")?.name;
    if (!leader || !syncStandby) {
      throw new Error(`${FAILED} needs a leader and a sync standby: ${JSON.stringify(scope)}`);
    }
    const load = await loadShards(system, [FAILED, OTHER], oldLinks);
    let killAt = 0;
    let killedAt = 0;
    let recoveredAt = 0;
    try {
      await timeUntil(async () => (creates(load.events, FAILED).length >= 10 ? true : undefined), {
        timeoutMs: 15_000,
        what: "a baseline of creates",
      });
      killAt = Date.now();
      await system.cluster.kill(leader);
      // Creates sent before kill() returned may have committed before the SIGKILL landed.
      killedAt = Date.now();
      const recovered = await timeUntil(
        async () => creates(load.events, FAILED).find((e) => e.sent > killedAt && e.status === 201),
        { timeoutMs: 40_000, what: `a create on ${FAILED} to succeed after the kill` },
      );
      recoveredAt = recovered.at;
      console.log(`remote_apply, hard kill of ${leader}: first create ${recovered.at - killAt} ms`);
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      await load.stop();
    }
    const events = load.events;
    // Patroni promoted the synchronous standby, the only member sure to hold every commit.
    expect(await system.leaderOf(FAILED)).toBe(syncStandby);

    const redirects = events.filter((e) => e.op === "redirect");
    expect(redirects.length).toBeGreaterThan(20);
    expect(redirects.filter((e) => !e.ok).map((e) => `${e.code} ${e.status}`)).toEqual([]);
    const other = creates(events, OTHER);
    expect(byStatus(other)).toEqual({ "201": other.length });
    const failed = creates(events, FAILED);
    expect(failed.filter((e) => e.status !== 201 && e.status !== 503)).toEqual([]);
    expect(failed.filter((e) => e.status === 503 && e.retryAfter === null)).toEqual([]);
    const later = failed.filter((e) => e.sent > recoveredAt);
    expect(later.length).toBeGreaterThan(3);
    expect(byStatus(later)).toEqual({ "201": later.length });

    const acked = failed.filter((e) => e.status === 201).map((e) => e.code);
    const present = await system.codesOnLeader(FAILED, acked);
    const lost = acked.filter((code) => !present.has(code));
    console.log(
      `remote_apply, hard kill: ${lost.length} of ${acked.length} acknowledged creates lost; ${JSON.stringify(byStatus(failed))}`,
    );
    expect(acked.length).toBeGreaterThan(10);
    expect(lost).toEqual([]);
  });
});
