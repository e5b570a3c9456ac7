/**
 * A real Patroni scope (1 leader + 1 replica) on a real etcd started by this test: bootstrap,
 * replication, hard kill of the leader, rejoin by pg_rewind, planned switchover, clean stop and
 * resume. Ports 24000–24099; state in .firstclick/patroni-test.
 */
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import type postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readValues, startScratchEtcd } from "../etcd.ts";
import { poll } from "../poll.ts";
import { portAnswers } from "../ports.ts";
import { postmasterOf } from "../postgres/process.ts";
import { sqlClient } from "../postgres/sql.ts";
import { isAlive } from "../processes.ts";
import type { PatroniShard } from "./schema.ts";
import { patroniStatus, switchover, waitForPatroniShard } from "./settle.ts";
import { killMember, restartMember, startPatroniShard, stopPatroniShard } from "./shard.ts";

const dir = resolve(import.meta.dirname, "../../../../.firstclick/patroni-test");
const namespace = "/firstclick/patroni/";
const nodes = [
  { name: "t0n0", pgPort: 24010, restApiPort: 24020, gatewayUrl: "http://127.0.0.1:24030" },
  { name: "t0n1", pgPort: 24011, restApiPort: 24021, gatewayUrl: "http://127.0.0.1:24031" },
] as const;

let etcd: Awaited<ReturnType<typeof startScratchEtcd>> | null = null;
let shard: PatroniShard | null = null;
let syncShard: PatroniShard | null = null;
/** What `record` was last told: a copy, as layout.json holds it. */
let recorded: PatroniShard | null = null;
const clients: postgres.Sql[] = [];

function current(): PatroniShard {
  if (!shard) throw new Error("the shard did not start");
  return shard;
}

function sqlFor(port: number): postgres.Sql {
  const sql = sqlClient(port, undefined, { connect_timeout: 2 });
  clients.push(sql);
  return sql;
}

function portOf(name: string): number {
  const node = nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no node ${name}`);
  return node.pgPort;
}

/** `poll` for a truthy answer (errors count as "not yet"). */
function eventually<T>(
  check: () => Promise<T | null | undefined | false>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return poll(async () => (await check()) || undefined, { timeoutMs, what });
}

async function hasCode(port: number, code: string): Promise<boolean> {
  const sql = sqlFor(port);
  try {
    const rows = await sql`select code from patroni_probe where code = ${code}`;
    return rows.length === 1;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function insertCode(port: number, code: string): Promise<void> {
  const sql = sqlFor(port);
  try {
    await sql`insert into patroni_probe (code) values (${code})`;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

function etcdUrl(): string {
  if (!etcd) throw new Error("etcd did not start");
  return etcd.url;
}

beforeAll(async () => {
  await rm(dir, { recursive: true, force: true });
  etcd = await startScratchEtcd({ dir, clientPort: 24000, peerPort: 24001 });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end({ timeout: 1 }).catch(() => {})));
  if (shard) await stopPatroniShard(shard).catch(() => {});
  if (syncShard) await stopPatroniShard(syncShard).catch(() => {});
  await etcd?.stop();
}, 120_000);

describe("a Patroni scope with one leader and one replica", { timeout: 90_000 }, () => {
  beforeAll(async () => {
    shard = await startPatroniShard({
      scope: "t0",
      namespace,
      etcdUrl: etcdUrl(),
      stateDir: join(dir, "t0"),
      pgBinDir: "/usr/lib/postgresql/15/bin",
      nodes,
      timeoutMs: 90_000,
      record: async (s) => {
        recorded = structuredClone(s);
      },
    });
  }, 180_000);

  // Two cores: the next scope starts only once this one is gone.
  afterAll(async () => {
    if (shard) await stopPatroniShard(shard);
    shard = null;
  }, 120_000);

  it("bootstraps with the first node as leader, the other streaming, the app role and database", async () => {
    const status = await patroniStatus(current());
    expect(status.leader).toBe("t0n0");
    expect(status.members.map((m) => [m.name, m.role, m.state])).toEqual([
      ["t0n0", "leader", "running"],
      ["t0n1", "replica", "running"],
    ]);

    const leader = sqlFor(portOf("t0n0"));
    await leader`create table patroni_probe (code text primary key)`;
    await leader.end();
    await insertCode(portOf("t0n0"), "first");
    await eventually(() => hasCode(portOf("t0n1"), "first"), 10_000, "the row on the replica");
    // The replica is a hot standby: a write there is refused.
    await expect(insertCode(portOf("t0n1"), "nope")).rejects.toThrow(/read-only/);
  });

  it("publishes leader and members with the gateway URL in etcd, and records every spawned PID", async () => {
    const keys = await eventually(
      async () => {
        const { kvs } = await readValues(current().etcdUrls[0] ?? "", namespace);
        const replica = kvs["/firstclick/patroni/t0/members/t0n1"];
        // The member key lags the REST API by a loop or two.
        return replica && JSON.parse(replica).state === "running" ? kvs : null;
      },
      10_000,
      "both member keys to say running",
    );
    expect(keys["/firstclick/patroni/t0/leader"]).toBe("t0n0");
    const member = JSON.parse(keys["/firstclick/patroni/t0/members/t0n0"] ?? "null");
    expect(member).toMatchObject({
      conn_url: "postgres://127.0.0.1:24010/postgres",
      api_url: "http://127.0.0.1:24020/patroni",
      state: "running",
      role: "master",
      tags: { gateway_url: "http://127.0.0.1:24030" },
    });
    expect(recorded?.members.map((m) => m.patroni?.pid)).toEqual(
      current().members.map((m) => m.patroni?.pid),
    );
  });

  it("elects the replica when the leader is hard-killed, keeping acknowledged rows", async () => {
    const s = current();
    await insertCode(portOf("t0n0"), "before-kill");
    await eventually(() => hasCode(portOf("t0n1"), "before-kill"), 10_000, "replication");
    const killedAt = Date.now();
    await killMember(s, "t0n0");
    const member = s.members[0];
    expect(member?.patroni).toBeNull();
    expect(postmasterOf(member?.dataDir ?? "")).toBeNull();
    expect(await portAnswers(24010)).toBe(false);

    const settled = await waitForPatroniShard(s, { timeoutMs: 60_000 });
    const elapsed = Date.now() - killedAt;
    expect(settled.leader).toBe("t0n1");
    // ttl 5: the lease of the dead leader runs out within 5 s; a bound well above that.
    expect(elapsed).toBeLessThan(20_000);
    console.log(`patroni: hard kill → new leader in ${elapsed} ms`);

    await insertCode(portOf("t0n1"), "after-kill");
    expect(await hasCode(portOf("t0n1"), "before-kill")).toBe(true);
    const status = await patroniStatus(s);
    expect(status.leader).toBe("t0n1");
    expect(status.members.find((m) => m.name === "t0n0")?.pid).toBeNull();
  });

  it("rejoins the killed former leader as a replica by itself (pg_rewind), streaming new rows", async () => {
    const s = current();
    const settled = await restartMember(s, "t0n0", { timeoutMs: 90_000 });
    expect(settled).toEqual({ leader: "t0n1", replicas: ["t0n0"] });
    await insertCode(portOf("t0n1"), "after-rejoin");
    await eventually(
      () => hasCode(portOf("t0n0"), "after-rejoin"),
      10_000,
      "row on the rejoined node",
    );
    expect(await hasCode(portOf("t0n0"), "after-kill")).toBe(true);
    const status = await patroniStatus(s);
    const [leader, rejoined] = [
      status.members.find((m) => m.name === "t0n1"),
      status.members.find((m) => m.name === "t0n0"),
    ];
    expect(rejoined).toMatchObject({ role: "replica", state: "running" });
    // The failover started timeline 2; the rejoined node follows it.
    expect(leader?.timeline).toBe(2);
    // Rewound, not re-cloned: Patroni logs the pg_rewind run and its result.
    const log = await readFile(s.members[0]?.logFile ?? "", "utf8");
    expect(log).toMatch(/pg_rewind exit code=0/);
  });

  it("switches over to a named candidate on request, and refuses an unknown one", async () => {
    const s = current();
    await expect(switchover(s, "t0n9")).rejects.toThrow(/no member "t0n9"/);
    await expect(switchover(s, "t0n1")).rejects.toThrow(/already the leader/);

    const result = await switchover(s, "t0n0", { timeoutMs: 60_000 });
    expect(result).toMatchObject({ from: "t0n1", to: "t0n0" });
    console.log(
      `patroni: switchover answered in ${result.answeredMs} ms, settled in ${result.settledMs} ms`,
    );
    expect(result.settledMs).toBeLessThan(30_000);
    await insertCode(portOf("t0n0"), "after-switchover");
    await eventually(() => hasCode(portOf("t0n1"), "after-switchover"), 10_000, "replication");
    expect((await patroniStatus(s)).leader).toBe("t0n0");
  });

  it("stops cleanly leaving no process or port, and resumes from the same data", async () => {
    const s = current();
    const pids = s.members.map((m) => m.patroni);
    await stopPatroniShard(s);
    for (const ref of pids) expect(isAlive(ref)).toBe(false);
    for (const m of s.members) expect(postmasterOf(m.dataDir)).toBeNull();
    for (const port of [24010, 24011, 24020, 24021]) expect(await portAnswers(port)).toBe(false);

    shard = await startPatroniShard({
      scope: "t0",
      namespace,
      etcdUrl: s.etcdUrls,
      stateDir: s.stateDir,
      pgBinDir: s.pgBinDir,
      nodes,
      timeoutMs: 90_000,
    });
    const status = await patroniStatus(current());
    expect(status.leader).not.toBeNull();
    const leaderPort = status.leader === "t0n1" ? 24011 : 24010;
    expect(await hasCode(leaderPort, "after-switchover")).toBe(true);
  });
});

describe("a scope in synchronous mode with two replicas", { timeout: 90_000 }, () => {
  const syncNodes = [
    { name: "u0n0", pgPort: 24040, restApiPort: 24050, gatewayUrl: "http://127.0.0.1:24060" },
    { name: "u0n1", pgPort: 24041, restApiPort: 24051, gatewayUrl: "http://127.0.0.1:24061" },
    { name: "u0n2", pgPort: 24042, restApiPort: 24052, gatewayUrl: "http://127.0.0.1:24062" },
  ];

  beforeAll(async () => {
    syncShard = await startPatroniShard({
      scope: "u0",
      namespace,
      etcdUrl: etcdUrl(),
      stateDir: join(dir, "u0"),
      pgBinDir: "/usr/lib/postgresql/15/bin",
      nodes: syncNodes,
      synchronousMode: true,
      timeoutMs: 90_000,
    });
  }, 180_000);

  it("a remote_apply commit is readable at once on the synchronous standby, which survives a hard kill of the leader", async () => {
    const s = syncShard;
    if (!s) throw new Error("the shard did not start");
    const status = await eventually(
      async () => {
        const view = await patroniStatus(s);
        return view.members.some((m) => m.role === "sync_standby") ? view : null;
      },
      20_000,
      "Patroni to name a synchronous standby",
    );
    expect(status.leader).toBe("u0n0");
    const standby = status.members.find((m) => m.role === "sync_standby");
    if (!standby) throw new Error("no synchronous standby");

    const leader = sqlFor(24040);
    await leader`create table patroni_probe (code text primary key)`;
    await leader.begin(async (tx) => {
      await tx`set local synchronous_commit = remote_apply`;
      await tx`insert into patroni_probe (code) values ('applied')`;
    });
    await leader.end();
    // No polling: remote_apply returned only once the standby had replayed the insert.
    expect(await hasCode(standby.pgPort, "applied")).toBe(true);

    await killMember(s, "u0n0");
    const settled = await waitForPatroniShard(s, { timeoutMs: 60_000 });
    // Patroni promotes only the synchronous standby: the acknowledged row cannot be lost.
    expect(settled.leader).toBe(standby.name);
    expect(await hasCode(standby.pgPort, "applied")).toBe(true);
  });
});
