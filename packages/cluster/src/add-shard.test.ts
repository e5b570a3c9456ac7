/**
 * `addShard` on a running manual-mode cluster (etcd + 1 shard × (primary + 1 replica) + their
 * gateways): the new shard s1 runs, replicates, has its gateways, its etcd keys (the ring is
 * untouched), is seen by status / kill / restartNode / attach, and `down` stops it. Also the
 * mover runner's env and exit code, and the refusals. Real servers on ports 21500–21599.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attach, type Cluster, repoRoot } from "./cluster.ts";
import { readPrefix } from "./etcd.ts";
import { processRefsIn, readLayout } from "./layout.ts";
import { poll } from "./poll.ts";
import { checkPortFree } from "./ports.ts";
import { withSql } from "./postgres/sql.ts";
import { isAlive } from "./processes.ts";
import { runMover } from "./reshard.ts";
import { up } from "./up.ts";

const BASE_PORT = 21500;
const stateDir = join(repoRoot(), ".firstclick", "cluster-test-add-shard");
const RING_KEY = "/firstclick/ring";
let cluster: Cluster;
let ringBefore: { value: string; modRevision: number } | undefined;

async function insertLink(port: number): Promise<string> {
  const c = `a${randomBytes(4).toString("hex")}`;
  await withSql(port, async (sql) => {
    await sql`INSERT INTO links (code, target, edit_token_hash)
              VALUES (${c}, ${`https://example.com/${c}`}, 'test')`;
  });
  return c;
}

function waitForLink(port: number, c: string, what: string): Promise<true> {
  return poll(
    async () => {
      const rows = await withSql(port, (sql) => sql`SELECT 1 FROM links WHERE code = ${c}`);
      return rows.length === 1 ? true : undefined;
    },
    { timeoutMs: 15_000, what },
  );
}

beforeAll(async () => {
  cluster = await up({
    stateDir,
    basePort: BASE_PORT,
    shards: 1,
    replicas: 1,
    apps: { gateway: true, origin: false, edge: false },
  });
  ringBefore = (await readPrefix(cluster.layout, RING_KEY)).entries.get(RING_KEY);
});

afterAll(async () => {
  // Whatever the state dir still records (a failed test may have left a cluster running).
  if (await readLayout(stateDir)) await (await attach(stateDir)).down();
});

describe("addShard on a 1 × (1 + 1) manual cluster", () => {
  it("refuses bad input and a taken port, and leaves the layout as it was", async () => {
    await expect(cluster.addShard({ replicas: -1, reshard: false })).rejects.toThrow(
      /replicas must be an integer ≥ 0/,
    );
    // s1n0 would get node index 2, PostgreSQL port B+12: occupy it.
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(BASE_PORT + 12, "127.0.0.1", resolve));
    try {
      await expect(cluster.addShard({ replicas: 1, reshard: false })).rejects.toThrow(
        `port ${BASE_PORT + 12} (PostgreSQL s1n0) is already in use`,
      );
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
    expect(cluster.nodes.map((n) => n.id)).toEqual(["s0n0", "s0n1"]);
    expect(cluster.layout.shards).toBe(1);
    expect((await readLayout(stateDir))?.nodes.map((n) => n.id)).toEqual(["s0n0", "s0n1"]);
    const { entries } = await readPrefix(cluster.layout, "/firstclick/shards/s1/");
    expect(entries.size).toBe(0);
  });

  it("starts s1 on the ports `up` would give it, with running gateways", async () => {
    expect(await cluster.addShard({ replicas: 1, reshard: false })).toBe("s1");
    const s1 = cluster.nodes.filter((n) => n.shard === "s1");
    expect(s1.map((n) => [n.id, n.role, n.pg.port, n.gatewayUrl])).toEqual([
      ["s1n0", "primary", BASE_PORT + 12, `http://127.0.0.1:${BASE_PORT + 42}`],
      ["s1n1", "replica", BASE_PORT + 13, `http://127.0.0.1:${BASE_PORT + 43}`],
    ]);
    for (const node of s1) {
      const health = await fetch(`${node.gatewayUrl}/health`);
      expect(health.status).toBe(200);
    }
    // Another process (a CLI verb) sees it in layout.json.
    const other = await attach(stateDir);
    expect(other.layout.shards).toBe(2);
    expect(other.replicasOf("s1").map((n) => n.id)).toEqual(["s1n1"]);
  });

  it("migrated s1n0 and its replica streams from it", async () => {
    const c = await insertLink(cluster.node("s1n0").pg.port);
    await waitForLink(cluster.node("s1n1").pg.port, c, "a row of s1n0 on s1n1");
    expect(await cluster.inRecovery("s1n1")).toBe(true);
    expect(await cluster.inRecovery("s1n0")).toBe(false);
  });

  it("publishes s1's keys in etcd and leaves the ring alone", async () => {
    const { entries } = await readPrefix(cluster.layout, "/firstclick/shards/s1/");
    expect(JSON.parse(entries.get("/firstclick/shards/s1/primary")?.value ?? "null")).toEqual({
      id: "s1n0",
      gatewayUrl: `http://127.0.0.1:${BASE_PORT + 42}`,
      pg: { host: "127.0.0.1", port: BASE_PORT + 12 },
    });
    const replicas = JSON.parse(entries.get("/firstclick/shards/s1/replicas")?.value ?? "[]");
    expect(replicas.map((r: { id: string }) => r.id)).toEqual(["s1n1"]);
    expect(entries.get("/firstclick/shards/s1/history")?.value).toBe("[]");
    const ring = (await readPrefix(cluster.layout, RING_KEY)).entries.get(RING_KEY);
    expect(ringBefore).toBeDefined();
    expect(ring).toEqual(ringBefore);
    // The topology the apps read is still valid, on the old ring.
    expect((await cluster.topology()).ring.shards).toEqual(["s0"]);
  });

  it("status lists s1's nodes, and kill / restartNode work on them", async () => {
    const status = await cluster.status();
    const s1 = status.nodes.filter((n) => n.shard === "s1");
    expect(s1.map((n) => [n.id, n.alive, n.health.inRecovery])).toEqual([
      ["s1n0", true, false],
      ["s1n1", true, true],
    ]);
    expect(s1.every((n) => n.gateway?.alive)).toBe(true);
    await cluster.kill("s1n1");
    const c = await insertLink(cluster.node("s1n0").pg.port);
    await cluster.restartNode("s1n1");
    await waitForLink(cluster.node("s1n1").pg.port, c, "a row written while s1n1 was down");
  });

  it("runs the mover with the origin's etcd and PostgreSQL settings and passes its exit code", async () => {
    const dir = await mkdtemp(join(tmpdir(), "fake-mover-"));
    const entry = join(dir, "mover.mjs");
    const keys = ["ETCD_ENDPOINTS", "ETCD_PREFIX", "TOPOLOGY_SOURCE", "PG_USER", "PG_DATABASE"];
    await writeFile(
      entry,
      `for (const k of ${JSON.stringify(keys)}) console.log(k + "=" + process.env[k]);
       console.error("args " + process.argv.slice(2).join(" "));
       process.exit(3);\n`,
    );
    const lines: string[] = [];
    const result = await runMover(cluster.layout, ["status"], {
      entry,
      onLine: (l) => lines.push(l),
    });
    expect(result.code).toBe(3);
    expect(lines).toEqual(result.output.split("\n"));
    expect(lines).toEqual(
      expect.arrayContaining([
        `ETCD_ENDPOINTS=http://127.0.0.1:${BASE_PORT}`,
        "ETCD_PREFIX=/firstclick/",
        "TOPOLOGY_SOURCE=manual",
        "PG_USER=firstclick",
        "PG_DATABASE=firstclick",
        "args status",
      ]),
    );
  });

  it("down stops s1 too: no process and no port left", async () => {
    const refs = await processRefsIn(cluster.stateDir);
    // etcd, 4 PostgreSQL nodes, 4 gateways.
    expect(refs).toHaveLength(9);
    expect(refs.every(isAlive)).toBe(true);
    await cluster.down();
    expect(refs.filter(isAlive)).toEqual([]);
    for (const port of [12, 13, 42, 43].map((d) => BASE_PORT + d)) {
      await expect(checkPortFree(port, "s1")).resolves.toBeUndefined();
    }
  });
});
