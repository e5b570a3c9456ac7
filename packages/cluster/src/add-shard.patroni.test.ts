/**
 * `addShard` in Patroni mode (etcd + 1 Patroni scope × (leader + 1 replica), no apps): s1 is a
 * new Patroni scope named like the shard under the cluster's namespace, bootstrapped and
 * migrated; its replica streams; Patroni wrote its keys, the ring is untouched; `status` shows
 * the scope and `down` stops it. Real servers on ports 21700–21799.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attach, type Cluster, repoRoot } from "./cluster.ts";
import { readPrefix } from "./etcd.ts";
import { readLayout } from "./layout.ts";
import { poll } from "./poll.ts";
import { checkPortFree } from "./ports.ts";
import { withSql } from "./postgres/sql.ts";
import { up } from "./up.ts";

const BASE_PORT = 21700;
const stateDir = join(repoRoot(), ".firstclick", "cluster-test-add-shard-patroni");
const RING_KEY = "/firstclick/ring";
let cluster: Cluster;

beforeAll(async () => {
  cluster = await up({
    stateDir,
    basePort: BASE_PORT,
    shards: 1,
    replicas: 1,
    ha: "patroni",
    apps: false,
  });
}, 240_000);

afterAll(async () => {
  if (await readLayout(stateDir)) await (await attach(stateDir)).down();
}, 120_000);

describe("addShard on a 1 × (1 + 1) Patroni cluster", () => {
  it("starts s1 as a new Patroni scope that replicates, without touching the ring", async () => {
    const ringBefore = (await readPrefix(cluster.layout, RING_KEY)).entries.get(RING_KEY);
    expect(await cluster.addShard({ reshard: false })).toBe("s1");

    const { entries } = await readPrefix(cluster.layout, "/firstclick/patroni/s1/");
    const leader = entries.get("/firstclick/patroni/s1/leader")?.value;
    expect(["s1n0", "s1n1"]).toContain(leader);
    expect(entries.has("/firstclick/patroni/s1/members/s1n0")).toBe(true);
    expect(entries.has("/firstclick/patroni/s1/members/s1n1")).toBe(true);
    expect((await readPrefix(cluster.layout, RING_KEY)).entries.get(RING_KEY)).toEqual(ringBefore);

    const primary = cluster.primaryOf("s1");
    const [replica] = cluster.replicasOf("s1");
    expect(primary.id).toBe(leader);
    expect(replica).toBeDefined();
    const c = `p${randomBytes(4).toString("hex")}`;
    await withSql(primary.pg.port, async (sql) => {
      await sql`INSERT INTO links (code, target, edit_token_hash)
                VALUES (${c}, 'https://example.com/p', 'test')`;
    });
    await poll(
      async () => {
        const port = replica?.pg.port ?? 0;
        const rows = await withSql(port, (sql) => sql`SELECT 1 FROM links WHERE code = ${c}`);
        return rows.length === 1 ? true : undefined;
      },
      { timeoutMs: 20_000, what: "a row of s1's leader on its replica" },
    );

    const status = await cluster.status();
    expect(status.patroni?.map((p) => p.shard)).toEqual(["s0", "s1"]);
    expect(status.patroni?.find((p) => p.shard === "s1")?.leader).toBe(leader);
  }, 240_000);

  it("down stops s1's Patroni members: its PostgreSQL and REST API ports are free", async () => {
    await cluster.down();
    // s1n0/s1n1 are node indices 2 and 3: PostgreSQL B+12/B+13, Patroni REST B+72/B+73.
    for (const port of [12, 13, 72, 73].map((d) => BASE_PORT + d)) {
      await expect(checkPortFree(port, "s1")).resolves.toBeUndefined();
    }
  }, 120_000);
});
