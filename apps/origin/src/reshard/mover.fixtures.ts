/**
 * What the mover's integration tests share: three real shards (packages/cluster, no apps), s2
 * kept out of the ring as add-shard leaves a new shard, links seeded on their owners under the
 * old ring, and ways to run the mover in this process or as the CLI. `*.integration.test.ts` only.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type Cluster, defaultStateDir, up } from "@firstclick/cluster";
import { etcdKey, HashRing, reshardKey } from "@firstclick/core";
import { Etcd3 } from "etcd3";
import postgres, { type Sql } from "postgres";
import { ReshardEtcd } from "./etcd.ts";
import { Mover, type MoverOptions } from "./mover.ts";

export const PREFIX = "/firstclick/";
export const oldRing = new HashRing(["s0", "s1"], { vnodes: 256 });
export const newRing = new HashRing(["s0", "s1", "s2"], { vnodes: 256 });
export const target = (code: string, version: number) => `https://example.com/${code}/v${version}`;

export interface MoverRun {
  child: ChildProcess;
  lines: string[];
  exit: Promise<number>;
}

export interface MoverCluster {
  cluster: Cluster;
  etcd: Etcd3;
  codes: string[];
  /** The current primary of `shard` (re-read after a failover with `refresh`). */
  sqlOf(shard: string): Sql;
  refresh(): Promise<void>;
  ringOf(shards: string[]): Promise<void>;
  /** Clears every shard and any resharding, sets the old ring, seeds the links (target v0). */
  seed(): Promise<void>;
  /** Where each code's row is, and its target, per shard. */
  rows(): Promise<Map<string, Map<string, string>>>;
  mover(log: string[], options?: Partial<MoverOptions>): Mover;
  runMain(args: string[]): MoverRun;
  close(): Promise<void>;
}

/** Resolves when the run printed a line matching `pattern`; fails with its output if it exits. */
export function untilLine(run: Pick<MoverRun, "lines" | "exit">, pattern: RegExp): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const check = setInterval(() => {
      if (run.lines.some((l) => pattern.test(l))) {
        clearInterval(check);
        resolve();
      }
    }, 5);
    void run.exit.then((code) => {
      clearInterval(check);
      if (run.lines.some((l) => pattern.test(l))) resolve();
      else reject(new Error(`mover exited ${code} before ${pattern}:\n${run.lines.join("\n")}`));
    });
  });
}

export async function moverCluster(o: {
  name: string;
  basePort: number;
  links: number;
}): Promise<MoverCluster> {
  const cluster = await up({
    stateDir: join(defaultStateDir(), o.name),
    shards: 3,
    replicas: 1,
    basePort: o.basePort,
    apps: false,
  });
  const etcd = new Etcd3({ hosts: cluster.urls.etcd });
  const pools = new Map<string, { key: string; sql: Sql }>();
  const primaries = new Map<string, Sql>();
  const codes = Array.from({ length: o.links }, (_, i) => `mv${i.toString(36).padStart(4, "0")}`);

  async function refresh(): Promise<void> {
    const topology = await cluster.topology();
    for (const shard of ["s0", "s1", "s2"]) {
      const node = topology.shards[shard]?.primary;
      if (!node) throw new Error(`no primary for ${shard}`);
      const key = `${node.pg.host}:${node.pg.port}`;
      let pool = pools.get(key);
      if (!pool) {
        const sql = postgres({
          host: node.pg.host,
          port: node.pg.port,
          user: "firstclick",
          database: "firstclick",
          max: 2,
          onnotice: () => {},
        });
        pool = { key, sql };
        pools.set(key, pool);
      }
      primaries.set(shard, pool.sql);
    }
  }
  await refresh();
  const sqlOf = (shard: string) => primaries.get(shard) as Sql;
  const ringOf = async (shards: string[]) => {
    await etcd.put(etcdKey.ring(PREFIX)).value(JSON.stringify({ shards, vnodes: 256 }));
  };

  return {
    cluster,
    etcd,
    codes,
    sqlOf,
    refresh,
    ringOf,
    async seed() {
      // A test that failed half-way must not leave its resharding to the next one.
      await etcd.delete().key(etcdKey.reshard(PREFIX));
      await etcd.delete().key(reshardKey.progress(PREFIX));
      await ringOf(["s0", "s1"]);
      for (const sql of primaries.values()) await sql`truncate links, click_rollups, reshard_moves`;
      for (const shard of ["s0", "s1"]) {
        const mine = codes.filter((c) => oldRing.shardFor(c) === shard);
        await sqlOf(shard)`
          insert into links (code, target, edit_token_hash, updated_at)
          select c, 'https://example.com/' || c || '/v0', 'hash', now() - interval '1 hour'
          from unnest(${mine}::text[]) as c`;
        await sqlOf(shard)`
          insert into click_rollups (code, hour, outcome, country, referrer_host, device, bot, count)
          select c, date_trunc('hour', now()), 'redirect', 'DE', '', 'desktop', false, 3
          from unnest(${mine}::text[]) as c`;
      }
    },
    async rows() {
      const all = new Map<string, Map<string, string>>();
      for (const [shard, sql] of primaries) {
        const list = await sql<{ code: string; target: string }[]>`select code, target from links`;
        all.set(shard, new Map(list.map((r) => [r.code, r.target])));
      }
      return all;
    },
    mover(log, options = {}) {
      return new Mover({
        etcd: new ReshardEtcd({
          endpoints: [cluster.urls.etcd],
          prefix: PREFIX,
          patroniNamespace: null,
        }),
        pg: { user: "firstclick", database: "firstclick", connectTimeoutMs: 2_000 },
        log: (line) => log.push(line),
        graceMs: 500,
        ...options,
      });
    },
    runMain(args) {
      const child = spawn(process.execPath, [join(import.meta.dirname, "main.ts"), ...args], {
        env: { ...process.env, ETCD_ENDPOINTS: cluster.urls.etcd, ETCD_PREFIX: PREFIX },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const lines: string[] = [];
      for (const stream of [child.stdout, child.stderr]) {
        if (stream) createInterface({ input: stream }).on("line", (l) => lines.push(l));
      }
      const exit = new Promise<number>((resolve) =>
        child.on("exit", (code) => resolve(code ?? -1)),
      );
      return { child, lines, exit };
    },
    async close() {
      for (const pool of pools.values()) await pool.sql.end({ timeout: 5 });
      etcd.close();
      await cluster.down();
    },
  };
}
