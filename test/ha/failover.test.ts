/**
 * Patroni mode end to end (async replication, 2 shards × (leader + 1 replica)): the leader of
 * shard s0 hard-killed, then restarted, then a planned switchover, each under a bounded stream
 * of redirects (old links of both shards) and creates (s0: the shard being failed over; s1:
 * untouched), every response counted. Real Patroni, etcd, PostgreSQL, gateways, origin, edge.
 *
 * The tests run in order on one cluster: each starts from the state the previous one left.
 */
import { readFileSync } from "node:fs";
import { createConnection } from "node:net";
import { isAlive } from "@firstclick/cluster";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  byStatus,
  createsOn as creates,
  type HaSystem,
  type LoadEvent,
  loadShards,
  seedLinks,
  startHaSystem,
  timeUntil,
} from "./support.ts";

const FAILED = "s0";
const OTHER = "s1";

let system: HaSystem;
let oldLinks: { code: string; shard: string }[] = [];
/** The leader killed by the first test, restarted by the second. */
let killed = "";

beforeAll(async () => {
  system = await startHaSystem({ name: "ha-failover", basePort: 27_000 });
  oldLinks = [...(await seedLinks(system, FAILED, 12)), ...(await seedLinks(system, OTHER, 12))];
});

afterAll(async () => {
  await system?.cluster.down();
});

/**
 * The behaviour every failover must keep: no redirect fails (any shard), the untouched shard's
 * creates all succeed, the failed shard's creates fail only with 503 + Retry-After, and once
 * they succeed again they keep succeeding. Returns the failed shard's first success after its
 * failures began (at or after `at`).
 */
function expectFailoverBehaviour(events: readonly LoadEvent[], at: number): LoadEvent {
  const redirects = events.filter((e) => e.op === "redirect");
  expect(redirects.length).toBeGreaterThan(20);
  expect(redirects.filter((e) => !e.ok).map((e) => `${e.code} ${e.status}`)).toEqual([]);
  expect(new Set(redirects.map((e) => e.shard))).toEqual(new Set([FAILED, OTHER]));

  const other = creates(events, OTHER);
  expect(other.length).toBeGreaterThan(5);
  expect(byStatus(other)).toEqual({ "201": other.length });

  const failed = creates(events, FAILED);
  const failures = failed.filter((e) => e.status !== 201);
  expect(failures.map((e) => e.status).filter((s) => s !== 503)).toEqual([]);
  expect(failures.every((e) => e.retryAfter !== null)).toBe(true);
  // A switchover's old leader still takes writes for a moment: recovery is the first success
  // sent after the first failure (or after `at` when nothing failed).
  const firstFailure = failed.find((e) => e.sent > at && e.status !== 201);
  const from = firstFailure?.sent ?? at;
  const recovered = failed.find((e) => e.sent > from && e.status === 201);
  if (!recovered) throw new Error(`no create for ${FAILED} succeeded after the failover`);
  const later = failed.filter((e) => e.sent > recovered.at);
  expect(later.length).toBeGreaterThan(3);
  expect(byStatus(later)).toEqual({ "201": later.length });
  return recovered;
}

describe("Patroni mode: the system follows a failover by itself", () => {
  it("the leader of one shard hard-killed: redirects never fail, creates there answer 503 until the new leader is published, then 201; the other shard is unaffected", async () => {
    const leader = await system.leaderOf(FAILED);
    if (!leader) throw new Error(`${FAILED} has no leader`);
    killed = leader;
    const load = await loadShards(system, [FAILED, OTHER], oldLinks);
    let killAt = 0;
    let killedAt = 0;
    try {
      await timeUntil(async () => (creates(load.events, FAILED).length >= 5 ? true : undefined), {
        timeoutMs: 10_000,
        what: "a baseline of creates",
      });
      killAt = Date.now();
      await system.cluster.kill(leader);
      // Creates sent before kill() returned may have committed before the SIGKILL landed.
      killedAt = Date.now();
      const created = timeUntil(
        async () => creates(load.events, FAILED).find((e) => e.sent > killedAt && e.status === 201),
        { timeoutMs: 40_000, what: `a create on ${FAILED} to succeed after the kill` },
      );
      const published = timeUntil(
        async () => {
          const primary = await system.edgePrimary(FAILED);
          return primary !== null && primary !== leader ? primary : undefined;
        },
        { timeoutMs: 40_000, what: "the edge to name a new primary" },
      );
      const [c, p] = await Promise.all([created, published]);
      console.log(
        `hard kill of ${leader}: first create ${c.value.at - killAt} ms, edge names ${p.value} at ${p.at - killAt} ms`,
      );
      // Keep the load on a little after the recovery: it must stay recovered.
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      await load.stop();
    }
    const events = load.events;
    const recovered = expectFailoverBehaviour(events, killAt);
    const failed = creates(events, FAILED);
    console.log(
      `creates ${FAILED}: ${JSON.stringify(byStatus(failed))}, ${OTHER}: ${JSON.stringify(byStatus(creates(events, OTHER)))}, redirects: ${JSON.stringify(byStatus(events.filter((e) => e.op === "redirect")))}; creates failed for ${recovered.at - killAt} ms`,
    );

    // Async replication's price: creates acknowledged by the old leader just before the crash
    // may never have reached the replica. Counted and reported, not asserted.
    const acked = failed.filter((e) => e.status === 201).map((e) => e.code);
    const present = await system.codesOnLeader(FAILED, acked);
    const lost = acked.filter((code) => !present.has(code));
    console.log(
      `async durability, hard kill: ${lost.length} of ${acked.length} acknowledged creates lost${lost.length ? ` (${lost.join(", ")})` : ""}`,
    );
    const newLeader = await system.leaderOf(FAILED);
    expect(newLeader).not.toBe(leader);
    expect(newLeader).not.toBeNull();
  });

  it("the killed node started again rejoins as a replica by itself (pg_rewind) and serves reads", async () => {
    const leader = await system.leaderOf(FAILED);
    if (!leader) throw new Error(`${FAILED} has no leader`);
    // A link written on the new timeline only: the rejoined node must stream it.
    const [alias = ""] = await system.aliasesFor(FAILED, 1);
    expect((await system.create(alias)).status).toBe(201);

    await system.cluster.restartNode(killed);
    const view = await system.memberView(FAILED, killed);
    const leaderView = await system.memberView(FAILED, leader);
    expect(view).toMatchObject({ role: "replica", state: "running" });
    expect(view?.timeline).toBe(leaderView?.timeline);
    const gateway = system.cluster.node(killed).gatewayUrl;
    const health = (await (await fetch(`${gateway}/health`)).json()) as {
      role: string;
      linkReads: number;
    };
    expect(health.role).toBe("replica");
    const direct = await timeUntil(
      async () => {
        const res = await fetch(`${gateway}/links/${alias}`);
        return res.status === 200 ? res.status : undefined;
      },
      { timeoutMs: 10_000, what: `${killed} to have the link written after the failover` },
    );
    expect(direct.value).toBe(200);

    // The edge takes it back as a replica and sends it reads (no cookie: replica first).
    await timeUntil(
      async () => {
        const version = await system.edgeVersion();
        if (version === null) return undefined;
        const s = await system.snapshotAt(version);
        return s.shards[FAILED]?.replicas.some((n) => n.id === killed) ? true : undefined;
      },
      { timeoutMs: 20_000, what: `the edge to list ${killed} as a replica` },
    );
    const before = health.linkReads;
    for (const link of oldLinks.filter((l) => l.shard === FAILED)) {
      const r = await system.follow(link.code);
      expect(r.status).toBe(302);
      expect(r.route).toBe(`replica; shard=${FAILED}`);
    }
    const after = (await (await fetch(`${gateway}/health`)).json()) as { linkReads: number };
    expect(after.linkReads).toBeGreaterThan(before);
  });

  it("a planned switchover: redirects never fail, creates fail briefly with 503 only, the creator of a link made just before follows it at once", async () => {
    const from = await system.leaderOf(FAILED);
    const [creatorAlias = ""] = await system.aliasesFor(FAILED, 1);
    const load = await loadShards(system, [FAILED, OTHER], oldLinks);
    let startedAt = 0;
    try {
      await timeUntil(async () => (creates(load.events, FAILED).length >= 5 ? true : undefined), {
        timeoutMs: 10_000,
        what: "a baseline of creates",
      });
      // Created just before the switchover, by a browser that keeps its RYOW cookie.
      const creator = await system.create(creatorAlias);
      expect(creator.status).toBe(201);
      expect(creator.cookie).toMatch(/^ryow_until=/);
      startedAt = Date.now();
      const result = await system.cluster.switchover(FAILED);
      expect(result.from).toBe(from);
      expect(result.to).not.toBe(from);
      // At once: the creator's cookie routes to the primary, whichever the edge knows.
      const code = creator.code ?? "";
      const followed = await system.follow(code, creator.cookie ?? undefined);
      expect(followed).toMatchObject({
        status: 302,
        location: `https://example.com/ha/${code}`,
        route: `primary; shard=${FAILED}`,
      });
      await timeUntil(
        async () =>
          creates(load.events, FAILED).find((e) => e.sent > startedAt && e.status === 201),
        { timeoutMs: 30_000, what: `a create on ${FAILED} after the switchover` },
      );
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      await load.stop();
    }
    const events = load.events;
    expectFailoverBehaviour(events, startedAt);
    const failures = creates(events, FAILED).filter((e) => e.status !== 201);
    const window = failures.length
      ? `${failures.length} failed creates between +${(failures[0]?.at ?? 0) - startedAt} ms and +${(failures.at(-1)?.at ?? 0) - startedAt} ms`
      : "no failed create";
    console.log(
      `switchover ${from}: ${window}; ${JSON.stringify(byStatus(creates(events, FAILED)))}`,
    );
  });

  it("layout.json records the mode and every Patroni member; down leaves no process and no port", async () => {
    const layout = system.cluster.layout;
    expect(layout.ha).toBe("patroni");
    expect(layout.patroni?.namespace).toBe("/firstclick/patroni/");
    const members = Object.values(layout.patroni?.shards ?? {}).flatMap((s) => s.members);
    expect(members.map((m) => m.name).sort()).toEqual(["s0n0", "s0n1", "s1n0", "s1n1"]);
    const postmasters: number[] = [];
    for (const m of members) {
      expect(m.patroni?.pid).toBeGreaterThan(1);
      expect(isAlive(m.patroni ?? null)).toBe(true);
      postmasters.push(Number(readFileSync(`${m.dataDir}/postmaster.pid`, "utf8").split("\n")[0]));
    }

    await system.cluster.down();

    for (const m of members) {
      expect(isAlive(m.patroni ?? null)).toBe(false);
    }
    for (const pid of postmasters) {
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      } catch {
        // gone
      }
      expect(cmdline).not.toMatch(/postgres/);
    }
    const ports = members.flatMap((m) => [m.pgPort, m.restApiPort]);
    const open = await Promise.all(
      ports.map(
        (port) =>
          new Promise<number | null>((resolve) => {
            const socket = createConnection({ host: "127.0.0.1", port });
            socket.once("connect", () => {
              socket.destroy();
              resolve(port);
            });
            socket.once("error", () => resolve(null));
          }),
      ),
    );
    expect(open.filter((p) => p !== null)).toEqual([]);
  });
});
