import { HashRing, type TopologySnapshot } from "@firstclick/core";
import { describe, expect, it } from "vitest";
import {
  fixtureLog,
  found,
  makeSnapshot,
  newCode,
  newPrefix,
  nodeId,
  program,
  testEdge,
} from "../test/support.ts";

/** s1 joined s0's ring; the resharding switched to the new ring and is in its grace period. */
function serving(prefix: string, graceUntil: number): TopologySnapshot {
  const base = makeSnapshot({ prefix, shards: 2, replicas: 1 });
  const from = { shards: ["s0"], vnodes: 160 };
  const to = { shards: ["s0", "s1"], vnodes: 160 };
  return { ...base, ring: to, reshard: { id: "add-s1", phase: "serving", from, to, graceUntil } };
}

const newRing = new HashRing(["s0", "s1"], { vnodes: 160 });
/** A fresh code that the resharding moves from s0 to s1 (or stays on s0, `moving` false). */
function codeThat(moving: boolean): string {
  for (;;) {
    const code = newCode();
    if ((newRing.shardFor(code) === "s1") === moving) return code;
  }
}

async function edgeDuring(graceUntil: number) {
  const prefix = newPrefix();
  const edge = testEdge({ prefix, shards: 2, replicas: 1, env: { CACHE: "off" } });
  expect(edge.cache.offer(serving(prefix, graceUntil))).toBe(true);
  const old = [nodeId(prefix, 0, 0), nodeId(prefix, 0, 1)];
  const next = [nodeId(prefix, 1, 0), nodeId(prefix, 1, 1)];
  return { edge, old, next };
}

describe("a resharding's grace period at the edge", () => {
  it("a moving code the new owner does not have yet is read from its old owner, once", async () => {
    const code = codeThat(true);
    const { edge, old, next } = await edgeDuring(Date.now() + 60_000);
    await program(old, code, found(code));
    const res = await edge.fetch(`/${code}`);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`https://example.com/${code}`);
    expect(res.headers.get("x-firstclick-route")).toBe("replica; shard=s0");
    const asked = (await fixtureLog(`/links/${code}`)).map((e) => e.node);
    expect(asked).toEqual([next[1], old[1]]);
  });

  it("a moving code the new owner has is served by it, without asking the old owner", async () => {
    const code = codeThat(true);
    const { edge, old, next } = await edgeDuring(Date.now() + 60_000);
    await program([...old, ...next], code, found(code));
    const res = await edge.fetch(`/${code}`);
    expect(res.headers.get("x-firstclick-route")).toBe("replica; shard=s1");
    expect(await fixtureLog(`/links/${code}`)).toHaveLength(1);
  });

  it("a code that does not move, or a grace period that ended, gets the plain 404", async () => {
    const staying = codeThat(false);
    const during = await edgeDuring(Date.now() + 60_000);
    expect((await during.edge.fetch(`/${staying}`)).status).toBe(404);
    expect(await fixtureLog(`/links/${staying}`)).toHaveLength(1);

    const moving = codeThat(true);
    const after = await edgeDuring(Date.now() - 1);
    await program(after.old, moving, found(moving));
    expect((await after.edge.fetch(`/${moving}`)).status).toBe(404);
    expect((await fixtureLog(`/links/${moving}`)).map((e) => e.node)).toEqual([after.next[1]]);
  });

  it("a moving code neither owner has is a 404 after two reads", async () => {
    const code = codeThat(true);
    const { edge } = await edgeDuring(Date.now() + 60_000);
    const res = await edge.fetch(`/${code}`, { headers: { accept: "application/json" } });
    expect(res.status).toBe(404);
    expect(await fixtureLog(`/links/${code}`)).toHaveLength(2);
  });
});
