import { etcdKey, reshardKey } from "@firstclick/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type MoverCluster,
  moverCluster,
  newRing,
  oldRing,
  PREFIX,
  target,
  untilLine,
} from "./mover.fixtures.ts";

// Three shards started, s2 kept out of the ring (as add-shard leaves a new shard), 1 replica each.
const BASE_PORT = 23_600;
const LINKS = 3_000;

let m: MoverCluster;

beforeAll(async () => {
  m = await moverCluster({ name: "origin-reshard", basePort: BASE_PORT, links: LINKS });
}, 180_000);

afterAll(async () => {
  await m?.close();
});

describe("the resharding mover, 2 → 3 shards", () => {
  it("moves exactly the codes the new ring gives s2, with edits made during the copy", async () => {
    await m.seed();
    const log: string[] = [];
    const mover = m.mover(log);
    const moving = m.codes.filter((c) => newRing.shardFor(c) === "s2");
    // An origin of our own: edits moving codes on their old owner while the phase is copying,
    // and acknowledges switching (as the origin does) only once its last edit has committed.
    const lease = m.etcd.lease(10);
    await lease
      .put(reshardKey.ack(PREFIX, "test-origin"))
      .value(JSON.stringify({ reshardId: null, phase: null, version: 0, at: Date.now() }));
    const edited = new Map<string, number>();
    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing) {
        const raw = await m.etcd.get(etcdKey.reshard(PREFIX)).string();
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
        await m.sqlOf(oldRing.shardFor(code))`
          update links set target = ${target(code, version)}, updated_at = now() where code = ${code}`;
        edited.set(code, version);
      }
    })();
    await mover.start("s2");
    writing = false;
    await writer;
    await lease.revoke();
    await mover.close();

    const after = await m.rows();
    expect(moving.length / LINKS).toBeGreaterThan(0.25);
    for (const code of m.codes) {
      const owner = newRing.shardFor(code);
      expect(after.get(owner)?.get(code), code).toBe(target(code, edited.get(code) ?? 0));
      for (const shard of ["s0", "s1", "s2"]) {
        if (shard !== owner) expect(after.get(shard)?.has(code), `${code} on ${shard}`).toBe(false);
      }
    }
    expect(edited.size).toBeGreaterThan(0);
    // Rollups: every count merged once into the owner, none left behind.
    const [s2] = await m.sqlOf("s2")<{ n: number; total: number }[]>`
      select count(*)::int as n, coalesce(sum(count), 0)::int as total from click_rollups`;
    expect(s2).toEqual({ n: moving.length, total: moving.length * 3 });
    const ring = JSON.parse((await m.etcd.get(etcdKey.ring(PREFIX)).string()) ?? "{}");
    expect(ring.shards).toEqual(["s0", "s1", "s2"]);
    expect(await m.etcd.get(etcdKey.reshard(PREFIX)).string()).toBeNull();
    expect(log.some((l) => /refused for \d+ ms/.test(l))).toBe(true);
  }, 180_000);

  it("a mover killed mid-copy resumes and loses nothing; status says where it is", async () => {
    await m.seed();
    const first = m.runMain(["start", "--add", "s2", "--grace-seconds", "1"]);
    await untilLine(first, / pass 1: /);
    first.child.kill("SIGKILL");
    await first.exit;

    const status = m.runMain(["status"]);
    expect(await status.exit).toBe(0);
    expect(status.lines.join("\n")).toMatch(/phase (copying|switching)/);

    const resumed = m.runMain(["resume", "--grace-seconds", "1"]);
    expect(await resumed.exit, resumed.lines.join("\n")).toBe(0);
    const after = await m.rows();
    for (const code of m.codes) {
      expect(after.get(newRing.shardFor(code))?.get(code), code).toBe(target(code, 0));
    }
    expect([...(after.get("s0")?.keys() ?? [])].every((c) => newRing.shardFor(c) === "s0")).toBe(
      true,
    );
  }, 180_000);

  it("abort before the switch keeps the old ring and empties the new shard", async () => {
    await m.seed();
    const first = m.runMain(["start", "--add", "s2"]);
    await untilLine(first, / pass 1: /);
    first.child.kill("SIGKILL");
    await first.exit;
    const abort = m.runMain(["abort"]);
    expect(await abort.exit, abort.lines.join("\n")).toBe(0);
    const after = await m.rows();
    expect(after.get("s2")?.size).toBe(0);
    expect((after.get("s0")?.size ?? 0) + (after.get("s1")?.size ?? 0)).toBe(LINKS);
    const ring = JSON.parse((await m.etcd.get(etcdKey.ring(PREFIX)).string()) ?? "{}");
    expect(ring.shards).toEqual(["s0", "s1"]);
    expect(await m.etcd.get(etcdKey.reshard(PREFIX)).string()).toBeNull();
  }, 180_000);

  it("refuses bad usage with exit code 2 and a second start with 1", async () => {
    const noShard = m.runMain(["start"]);
    expect(await noShard.exit).toBe(2);
    expect(noShard.lines.join("\n")).toMatch(/start needs --add/);
    const unknown = m.runMain(["start", "--add", "s9"]);
    expect(await unknown.exit).toBe(1);
    expect(unknown.lines.join("\n")).toMatch(/s9/);
    expect(await m.etcd.get(etcdKey.reshard(PREFIX)).string()).toBeNull();
  }, 60_000);
});
