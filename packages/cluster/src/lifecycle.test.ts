/**
 * Starting and restarting: `up` twice in a row, `up` after a run whose processes were partly
 * SIGKILLed, the remote_apply + redis options, and the errors for a missing program and for an
 * occupied port. Real servers on ports 21200–21269.
 */
import { mkdtemp } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { attach, type Cluster, repoRoot } from "./cluster.ts";
import { processRefsIn, readLayout } from "./layout.ts";
import { poll } from "./poll.ts";
import { checkPortFree } from "./ports.ts";
import { withSql } from "./postgres/sql.ts";
import { isAlive, type ProcessRef } from "./processes.ts";
import { up } from "./up.ts";

const BASE_PORT = 21200;
const stateDir = join(repoRoot(), ".firstclick", "cluster-test-lifecycle");
async function start(options: Parameters<typeof up>[0] = {}): Promise<Cluster> {
  return up({
    stateDir,
    basePort: BASE_PORT,
    shards: 1,
    replicas: 1,
    apps: false,
    ...options,
  });
}

function redisPing(port: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const socket = connect({ port, host: "127.0.0.1" }, () => socket.write("PING\r\n"));
    socket.once("data", (d) => {
      socket.destroy();
      resolve(d.toString("utf8").trim());
    });
    socket.once("error", reject);
  });
}

afterAll(async () => {
  // Whatever the state dir still records (a failed test may have left a cluster running).
  if (await readLayout(stateDir)) await (await attach(stateDir)).down();
});

describe("up", () => {
  it("twice in a row: the second stops the first and starts a fresh cluster", async () => {
    const first = await start();
    const firstProcesses = await processRefsIn(stateDir);
    await withSql(first.node("s0n0").pg.port, async (sql) => {
      await sql`INSERT INTO links (code, target, edit_token_hash) VALUES ('first1', 'https://a.example', 't')`;
    });
    const second = await start();
    expect(firstProcesses.filter(isAlive)).toEqual([]);
    expect((await processRefsIn(stateDir)).every(isAlive)).toBe(true);
    // Fresh data: the first cluster's row is gone, the schema is there.
    const rows = await withSql(second.node("s0n0").pg.port, (sql) => sql`SELECT code FROM links`);
    expect(rows).toHaveLength(0);
  });

  it("restartApps with STRATEGY=redis starts redis when the cluster had none", async () => {
    const cluster = await start();
    expect(cluster.urls.redis).toBeNull();
    await cluster.restartApps({ env: { STRATEGY: "cookie,redis" } });
    expect(cluster.urls.redis).toBe(`redis://127.0.0.1:${BASE_PORT + 4}`);
    expect(await redisPing(BASE_PORT + 4)).toBe("+PONG");
  });

  it("cleans up after a crashed run (some processes SIGKILLed, layout left behind)", async () => {
    const crashed = await start();
    const refs = await processRefsIn(stateDir);
    const etcd = crashed.layout.etcd.process as ProcessRef;
    const primary = crashed.node("s0n0").pg.process as ProcessRef;
    // The owner "crashed": etcd and the primary's postmaster die hard (stale postmaster.pid),
    // the replica keeps running, and layout.json still says everything is up.
    process.kill(etcd.pid, "SIGKILL");
    process.kill(primary.pid, "SIGKILL");
    const fresh = await start();
    expect(refs.filter(isAlive)).toEqual([]);
    expect((await processRefsIn(stateDir)).every(isAlive)).toBe(true);
    expect((await fresh.topology()).shards.s0?.primary?.id).toBe("s0n0");
  });

  it("with durability remote_apply and STRATEGY=redis: sync standby on the primary, redis answers", async () => {
    const cluster = await start({ durability: "remote_apply", env: { STRATEGY: "redis" } });
    const settings = await withSql(cluster.node("s0n0").pg.port, async (sql) => {
      const rows = await sql<{ names: string; commit: string }[]>`
        SELECT current_setting('synchronous_standby_names') AS names,
               current_setting('synchronous_commit') AS commit`;
      return rows[0];
    });
    expect(settings).toEqual({ names: "ANY 1 (*)", commit: "local" });
    // A remote_apply commit returns only once the replica has applied it: readable at once.
    await withSql(cluster.node("s0n0").pg.port, async (sql) => {
      await sql.begin(async (tx) => {
        await tx`SET LOCAL synchronous_commit = remote_apply`;
        await tx`INSERT INTO links (code, target, edit_token_hash) VALUES ('sync1', 'https://a.example', 't')`;
      });
    });
    const onReplica = await withSql(
      cluster.node("s0n1").pg.port,
      (sql) => sql`SELECT 1 FROM links WHERE code = 'sync1'`,
    );
    expect(onReplica).toHaveLength(1);

    expect(cluster.urls.redis).toBe(`redis://127.0.0.1:${BASE_PORT + 4}`);
    expect(await redisPing(BASE_PORT + 4)).toBe("+PONG");
    const redisProcess = cluster.layout.redis?.process as ProcessRef;
    await cluster.down();
    expect(isAlive(redisProcess)).toBe(false);
    await expect(checkPortFree(BASE_PORT + 4, "redis")).resolves.toBeUndefined();
  });

  it("promote with two replicas re-points the other replica at the new primary", async () => {
    const cluster = await start({ replicas: 2 });
    await cluster.kill("s0n0");
    await cluster.promote("s0n1");
    const topology = await cluster.topology();
    expect(topology.shards.s0?.primary?.id).toBe("s0n1");
    expect(topology.shards.s0?.replicas.map((r) => r.id)).toEqual(["s0n2"]);
    await poll(
      async () => {
        const status = await cluster.status();
        const streaming = status.nodes.find((n) => n.id === "s0n1")?.health.streaming ?? [];
        return streaming.some((s) => s.name === "s0n2" && s.state === "streaming")
          ? true
          : undefined;
      },
      { timeoutMs: 15_000, what: "s0n2 to stream from s0n1" },
    );
    await withSql(cluster.node("s0n1").pg.port, async (sql) => {
      await sql`INSERT INTO links (code, target, edit_token_hash) VALUES ('after1', 'https://a.example', 't')`;
    });
    await poll(
      async () => {
        const rows = await withSql(
          cluster.node("s0n2").pg.port,
          (sql) => sql`SELECT 1 FROM links WHERE code = 'after1'`,
        );
        return rows.length === 1 ? true : undefined;
      },
      { timeoutMs: 10_000, what: "the new primary's row on s0n2" },
    );
    await cluster.down();
  });

  it("fails quickly with one clear message when programs are missing", async () => {
    const empty = await mkdtemp(join(tmpdir(), "firstclick-nobin-"));
    const t = Date.now();
    await expect(start({ binDirs: [empty] })).rejects.toThrow(
      /missing system programs: PostgreSQL server tools \(initdb.*\); etcd .*searched only/,
    );
    expect(Date.now() - t).toBeLessThan(5_000);
    // Nothing was started: every port is still free.
    await expect(checkPortFree(BASE_PORT, "etcd")).resolves.toBeUndefined();
  });

  it("fails quickly naming the port when one is taken", async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(BASE_PORT + 11, "127.0.0.1", resolve));
    try {
      const t = Date.now();
      await expect(start()).rejects.toThrow(/port 21211 \(PostgreSQL s0n1\) is already in use/);
      expect(Date.now() - t).toBeLessThan(5_000);
      await expect(checkPortFree(BASE_PORT, "etcd")).resolves.toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});
