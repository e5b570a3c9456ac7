import { etcdKey } from "@firstclick/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type MoverCluster,
  moverCluster,
  newRing,
  oldRing,
  PREFIX,
  target,
} from "./mover.fixtures.ts";

// Faults during a resharding, 2 → 3 shards: a source primary fails over mid-copy, etcd goes
// away mid-copy. The mover retries the phase on the topology read afresh and loses nothing.
const BASE_PORT = 23_900;
const LINKS = 6_000;

let m: MoverCluster;

beforeAll(async () => {
  m = await moverCluster({ name: "origin-reshard-faults", basePort: BASE_PORT, links: LINKS });
}, 180_000);

afterAll(async () => {
  await m?.close();
});

/**
 * Edits moving codes of s1 (which no fault touches) until `stop()`: each pass then copies
 * something, so the mover is still copying when the fault lands, however fast it is.
 */
function keepCopying() {
  const edited = new Map<string, number>();
  const codes = m.codes.filter((c) => oldRing.shardFor(c) === "s1" && newRing.shardFor(c) === "s2");
  let writing = true;
  const loop = (async () => {
    for (let i = 0; writing; i++) {
      const code = codes[i % codes.length] as string;
      const version = (edited.get(code) ?? 0) + 1;
      await m.sqlOf("s1")`
        update links set target = ${target(code, version)}, updated_at = now() where code = ${code}`;
      edited.set(code, version);
    }
  })();
  return {
    edited,
    stop: async () => {
      writing = false;
      await loop;
    },
  };
}

/** Every code on its owner under the new ring with its last target, and nowhere else. */
async function expectAllMoved(edited: ReadonlyMap<string, number>): Promise<void> {
  const after = await m.rows();
  for (const code of m.codes) {
    const owner = newRing.shardFor(code);
    expect(after.get(owner)?.get(code), code).toBe(target(code, edited.get(code) ?? 0));
  }
  const total = [...after.values()].reduce((n, rows) => n + rows.size, 0);
  expect(total).toBe(LINKS);
  const ring = JSON.parse((await m.etcd.get(etcdKey.ring(PREFIX)).string()) ?? "{}");
  expect(ring.shards).toEqual(["s0", "s1", "s2"]);
}

describe("the mover through faults", () => {
  it("a source primary that fails over mid-copy: the copy goes on from the new primary", async () => {
    await m.seed();
    const log: string[] = [];
    const writer = keepCopying();
    let failover: Promise<unknown> | null = null;
    const watched = (line: string) => {
      log.push(line);
      // s0's first pass is saved: its primary dies, its replica is promoted (manual mode).
      if (!failover && / s0 pass 1: /.test(line)) {
        failover = m.cluster.kill("s0n0").then(() => m.cluster.promote("s0n1"));
      }
      // The mover met the dead primary: the edits may stop, the copy may end.
      if (/failed \(.*\); retrying/.test(line)) void writer.stop();
    };
    const run = m.mover([], { quietRows: 1, log: watched });
    await run.start("s2");
    await run.close();
    await writer.stop();
    await failover;
    expect(log.some((l) => /s0 pass \d+: .*/.test(l) && !/ pass 1: /.test(l))).toBe(true);
    expect(log.some((l) => /failed \(.*\); retrying/.test(l))).toBe(true);
    await m.refresh();
    expect((await m.cluster.topology()).shards.s0?.primary?.id).toBe("s0n1");
    await expectAllMoved(writer.edited);
  }, 240_000);

  it("etcd down mid-copy: the mover waits for it and finishes", async () => {
    await m.seed();
    const log: string[] = [];
    const writer = keepCopying();
    let stopped: Promise<void> | null = null;
    const watched = (line: string) => {
      log.push(line);
      if (!stopped && / s1 pass 1: /.test(line)) stopped = m.cluster.stopEtcd();
    };
    const mover = m.mover([], { quietRows: 1, log: watched });
    const done = mover.start("s2");
    // etcd comes back once the mover has noticed (a logged retry), not after a fixed time.
    const deadline = Date.now() + 60_000;
    while (!log.some((l) => /retrying/.test(l))) {
      if (Date.now() > deadline) throw new Error(`no retry logged:\n${log.join("\n")}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await stopped;
    await m.cluster.startEtcd();
    await writer.stop();
    await done;
    await mover.close();
    expect(log.at(-1)).toMatch(/done$/);
    await expectAllMoved(writer.edited);
  }, 240_000);
});
