import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { type Cluster, defaultStateDir, up } from "@firstclick/cluster";
import { etcdKey, HashRing, reshardKey } from "@firstclick/core";
import { Etcd3 } from "etcd3";
import postgres, { type Sql } from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReshardEtcd } from "./etcd.ts";
import { Mover } from "./mover.ts";

// Three shards started, s2 kept out of the ring (as add-shard leaves a new shard), 1 replica each.
const BASE_PORT = 23_600;
const PREFIX = "/firstclick/";
const LINKS = 3_000;
const oldRing = new HashRing(["s0", "s1"], { vnodes: 256 });
const newRing = new HashRing(["s0", "s1", "s2"], { vnodes: 256 });

let cluster: Cluster;
let etcd: Etcd3;
const primaries = new Map<string, Sql>();
const sqlOf = (shard: string) => primaries.get(shard) as Sql;

const codes = Array.from({ length: LINKS }, (_, i) => `mv${i.toString(36).padStart(4, "0")}`);
const target = (code: string, version: number) => `https://example.com/${code}/v${version}`;

async function ringOf(shards: string[]): Promise<void> {
  await etcd.put(etcdKey.ring(PREFIX)).value(JSON.stringify({ shards, vnodes: 256 }));
}

async function seed(): Promise<void> {
  // A test that failed half-way must not leave its resharding to the next one.
  await etcd.delete().key(etcdKey.reshard(PREFIX));
  await etcd.delete().key(reshardKey.progress(PREFIX));
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
}

/** Where each code's row is, and its target, on every shard. */
async function rows(): Promise<Map<string, Map<string, string>>> {
  const all = new Map<string, Map<string, string>>();
  for (const [shard, sql] of primaries) {
    const list = await sql<{ code: string; target: string }[]>`select code, target from links`;
    all.set(shard, new Map(list.map((r) => [r.code, r.target])));
  }
  return all;
}

function moverFor(log: string[]): Mover {
  return new Mover({
    etcd: new ReshardEtcd({
      endpoints: [cluster.urls.etcd],
      prefix: PREFIX,
      patroniNamespace: null,
    }),
    pg: { user: "firstclick", database: "firstclick", connectTimeoutMs: 2_000 },
    log: (line) => log.push(line),
    graceMs: 500,
  });
}

function runMain(args: string[]): { child: ChildProcess; lines: string[]; exit: Promise<number> } {
  const child = spawn(process.execPath, [join(import.meta.dirname, "main.ts"), ...args], {
    env: { ...process.env, ETCD_ENDPOINTS: cluster.urls.etcd, ETCD_PREFIX: PREFIX },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream) createInterface({ input: stream }).on("line", (l) => lines.push(l));
  }
  const exit = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? -1)));
  return { child, lines, exit };
}

/** Resolves when the child printed a line matching `pattern`; fails with its output if it exits. */
function untilLine(run: ReturnType<typeof runMain>, pattern: RegExp): Promise<void> {
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

beforeAll(async () => {
  cluster = await up({
    stateDir: join(defaultStateDir(), "origin-reshard"),
    shards: 3,
    replicas: 1,
    basePort: BASE_PORT,
    apps: false,
  });
  etcd = new Etcd3({ hosts: cluster.urls.etcd });
  const topology = await cluster.topology();
  for (const shard of ["s0", "s1", "s2"]) {
    const node = topology.shards[shard]?.primary;
    if (!node) throw new Error(`no primary for ${shard}`);
    primaries.set(
      shard,
      postgres({
        host: node.pg.host,
        port: node.pg.port,
        user: "firstclick",
        database: "firstclick",
        max: 2,
        onnotice: () => {},
      }),
    );
  }
}, 180_000);

afterAll(async () => {
  for (const sql of primaries.values()) await sql.end({ timeout: 5 });
  etcd?.close();
  await cluster?.down();
});

describe("the resharding mover, 2 → 3 shards", () => {
  it("moves exactly the codes the new ring gives s2, with edits made during the copy", async () => {
    await ringOf(["s0", "s1"]);
    await seed();
    const log: string[] = [];
    const mover = moverFor(log);
    const moving = codes.filter((c) => newRing.shardFor(c) === "s2");
    // An origin of our own: edits moving codes on their old owner while the phase is copying,
    // and acknowledges switching (as the origin does) only once its last edit has committed.
    const lease = etcd.lease(10);
    await lease
      .put(reshardKey.ack(PREFIX, "test-origin"))
      .value(JSON.stringify({ reshardId: null, phase: null, version: 0, at: Date.now() }));
    const edited = new Map<string, number>();
    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing) {
        const raw = await etcd.get(etcdKey.reshard(PREFIX)).string();
        const phase = raw ? (JSON.parse(raw) as { id: string; phase: string }) : null;
        if (phase && phase.phase !== "copying") {
          await lease.put(reshardKey.ack(PREFIX, "test-origin")).value(
            JSON.stringify({
              reshardId: phase.id,
              phase: phase.phase,
              version: 1,
              at: Date.now(),
            }),
          );
          if (phase.phase !== "switching") break;
          continue;
        }
        const code = moving[i++ % moving.length] as string;
        const version = (edited.get(code) ?? 0) + 1;
        await sqlOf(oldRing.shardFor(code))`
          update links set target = ${target(code, version)}, updated_at = now() where code = ${code}`;
        edited.set(code, version);
      }
    })();
    await mover.start("s2");
    writing = false;
    await writer;
    await lease.revoke();
    await mover.close();

    const after = await rows();
    expect(moving.length / LINKS).toBeGreaterThan(0.25);
    for (const code of codes) {
      const owner = newRing.shardFor(code);
      expect(after.get(owner)?.get(code), code).toBe(target(code, edited.get(code) ?? 0));
      for (const shard of ["s0", "s1", "s2"]) {
        if (shard !== owner) expect(after.get(shard)?.has(code), `${code} on ${shard}`).toBe(false);
      }
    }
    expect(edited.size).toBeGreaterThan(0);
    // Rollups: every count merged once into the owner, none left behind.
    const [s2] = await sqlOf("s2")<{ n: number; total: number }[]>`
      select count(*)::int as n, coalesce(sum(count), 0)::int as total from click_rollups`;
    expect(s2).toEqual({ n: moving.length, total: moving.length * 3 });
    const ring = JSON.parse((await etcd.get(etcdKey.ring(PREFIX)).string()) ?? "{}");
    expect(ring.shards).toEqual(["s0", "s1", "s2"]);
    expect(await etcd.get(etcdKey.reshard(PREFIX)).string()).toBeNull();
    expect(log.some((l) => /refused for \d+ ms/.test(l))).toBe(true);
  }, 180_000);

  it("a mover killed mid-copy resumes and loses nothing; status says where it is", async () => {
    await ringOf(["s0", "s1"]);
    await seed();
    const first = runMain(["start", "--add", "s2", "--grace-seconds", "1"]);
    await untilLine(first, / pass 1: /);
    first.child.kill("SIGKILL");
    await first.exit;

    const status = runMain(["status"]);
    expect(await status.exit).toBe(0);
    expect(status.lines.join("\n")).toMatch(/phase (copying|switching)/);

    const resumed = runMain(["resume", "--grace-seconds", "1"]);
    expect(await resumed.exit, resumed.lines.join("\n")).toBe(0);
    const after = await rows();
    for (const code of codes) {
      expect(after.get(newRing.shardFor(code))?.get(code), code).toBe(target(code, 0));
    }
    expect([...(after.get("s0")?.keys() ?? [])].every((c) => newRing.shardFor(c) === "s0")).toBe(
      true,
    );
  }, 180_000);

  it("abort before the switch keeps the old ring and empties the new shard", async () => {
    await ringOf(["s0", "s1"]);
    await seed();
    const first = runMain(["start", "--add", "s2"]);
    await untilLine(first, / pass 1: /);
    first.child.kill("SIGKILL");
    await first.exit;
    const abort = runMain(["abort"]);
    expect(await abort.exit, abort.lines.join("\n")).toBe(0);
    const after = await rows();
    expect(after.get("s2")?.size).toBe(0);
    expect((after.get("s0")?.size ?? 0) + (after.get("s1")?.size ?? 0)).toBe(LINKS);
    const ring = JSON.parse((await etcd.get(etcdKey.ring(PREFIX)).string()) ?? "{}");
    expect(ring.shards).toEqual(["s0", "s1"]);
    expect(await etcd.get(etcdKey.reshard(PREFIX)).string()).toBeNull();
  }, 180_000);

  it("refuses bad usage with exit code 2 and a second start with 1", async () => {
    const noShard = runMain(["start"]);
    expect(await noShard.exit).toBe(2);
    expect(noShard.lines.join("\n")).toMatch(/start needs --add/);
    const unknown = runMain(["start", "--add", "s9"]);
    expect(await unknown.exit).toBe(1);
    expect(unknown.lines.join("\n")).toMatch(/s9/);
    expect(await etcd.get(etcdKey.reshard(PREFIX)).string()).toBeNull();
  }, 60_000);
});
