import { PROBLEM, type ReshardPhase, Topology, type TopologySnapshot } from "@firstclick/core";
import { describe, expect, it } from "vitest";
import { type App, create, created, del, node, patch, rowOf, setup, snapshot } from "./test-app.ts";

/**
 * A resharding's switching phase (core/reshard.ts): writes of the codes that change shard are
 * refused with 503 + Retry-After: 1 and write nothing; every other code is served as usual.
 */

/** The test app's two-shard topology, resharding to three shards, in `phase`. */
function resharding(version: number, phase: ReshardPhase): TopologySnapshot {
  const base = snapshot(version);
  const from = base.ring;
  const to = { shards: ["s0", "s1", "s2"], vnodes: from.vnodes };
  const switched = phase === "serving" || phase === "cleanup";
  return {
    ...base,
    // The snapshot's ring is `from` until the switch, `to` from then on.
    ring: switched ? to : from,
    shards: { ...base.shards, s2: { primary: node("s2n0", 104), replicas: [] } },
    reshard: {
      id: "r1",
      phase,
      from,
      to,
      graceUntil: phase === "serving" ? Date.parse("2030-01-01T00:01:00Z") : null,
    },
  };
}

const plan = Topology.from(resharding(1, "copying"));

/** The first alias `${prefix}-<i>` that moves (or does not) in the resharding. */
function alias(prefix: string, moving: boolean): string {
  for (let i = 0; ; i++) {
    const a = `${prefix}-${i}`;
    if ((plan.moveOf(a) !== null) === moving) return a;
  }
}

async function expectMoving(res: Response, code: string) {
  expect(res.status).toBe(503);
  expect(res.headers.get("retry-after")).toBe("1");
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  expect(res.headers.get("set-cookie")).toBeNull();
  const body = (await res.json()) as { type: string; title: string; detail: string };
  expect(body.type).toBe(PROBLEM.resharding);
  expect(body.title).toBe("Link is moving");
  expect(body.detail).toContain(`"${code}"`);
  expect(body.detail).toMatch(/moved to another shard.*Retry shortly/);
}

function rowCount(memory: ReturnType<typeof setup>["memory"]): number {
  let n = 0;
  for (const table of memory.nodes.values()) n += table.size;
  return n;
}

async function createAll(app: App, n: number) {
  const codes: string[] = [];
  for (let i = 0; i < n; i++) codes.push((await created(app, { url: `https://e.com/${i}` })).code);
  return codes;
}

describe("write freeze while a resharding switches", () => {
  it("a moving alias answers 503 resharding with Retry-After: 1 and creates nothing", async () => {
    const { app, memory } = setup({ topology: resharding(8, "switching") });
    const code = alias("moving", true);
    await expectMoving(await create(app, { url: "https://example.com/a", alias: code }), code);
    expect(rowOf(memory, code)).toBeUndefined();
    expect(rowCount(memory)).toBe(0);
  });

  it("a non-moving alias is created as usual, on its owner under the old ring", async () => {
    const { app, memory } = setup({ topology: resharding(8, "switching") });
    const code = alias("staying", false);
    const link = await created(app, { url: "https://example.com/s", alias: code });
    expect(link.code).toBe(code);
    const owner = plan.shardFor(code);
    expect(memory.nodes.get(`${owner}n0`)?.get(code)?.url).toBe("https://example.com/s");
  });

  it("PATCH and DELETE of a moving link answer 503 and leave it unchanged", async () => {
    const { app, memory, topology } = setup({ topology: resharding(7, "copying") });
    const code = alias("edit", true);
    const link = await created(app, { url: "https://example.com/before", alias: code });
    const staying = await created(app, {
      url: "https://example.com/before",
      alias: alias("edit", false),
    });
    expect(topology.apply(resharding(8, "switching"))).toBe(true);
    const auth = `Bearer ${link.editToken}`;
    await expectMoving(await patch(app, code, { url: "https://example.com/after" }, auth), code);
    await expectMoving(await del(app, code, auth), code);
    const row = rowOf(memory, code);
    expect(row?.url).toBe("https://example.com/before");
    expect(row?.deletedAt).toBeNull();
    expect(row?.updatedAt.toISOString()).toBe(link.updatedAt);

    // A code that stays is edited and deleted as usual.
    const other = `Bearer ${staying.editToken}`;
    const edited = await patch(app, staying.code, { url: "https://example.com/after" }, other);
    expect(edited.status).toBe(200);
    expect(rowOf(memory, staying.code)?.url).toBe("https://example.com/after");
    expect((await del(app, staying.code, other)).status).toBe(204);
    expect(rowOf(memory, staying.code)?.deletedAt).not.toBeNull();

    // Once the ring switched, the moved link is edited on its new owner.
    expect(topology.apply(resharding(9, "serving"))).toBe(true);
    const moved = plan.moveOf(code)?.to;
    // (What the mover's copy does: the row on its new owner, s2, which had no rows yet.)
    expect(moved).toBe("s2");
    memory.nodes.set("s2n0", new Map([[code, { ...(row as NonNullable<typeof row>) }]]));
    expect((await patch(app, code, { url: "https://example.com/after" }, auth)).status).toBe(200);
    expect(memory.nodes.get(`${moved}n0`)?.get(code)?.url).toBe("https://example.com/after");
  });

  it("generated codes never land on a moving code, and the client never notices", async () => {
    const { app, memory } = setup({ topology: resharding(8, "switching") });
    // A third of the codes move from s0/s1 to s2: 150 creates draw about 75 frozen codes.
    const codes = await createAll(app, 150);
    expect(new Set(codes).size).toBe(150);
    expect(codes.filter((c) => plan.moveOf(c) !== null)).toEqual([]);
    expect(rowCount(memory)).toBe(150);
    for (const c of codes) expect(rowOf(memory, c)).toBeDefined();
  });

  it("outside the switching phase moving codes are written as usual", async () => {
    for (const phase of ["copying", "serving", "cleanup"] as const) {
      const { app, memory } = setup({ topology: resharding(8, phase) });
      const code = alias(`free-${phase}`, true);
      const link = await created(app, { url: "https://example.com/x", alias: code });
      const owner = phase === "copying" ? plan.moveOf(code)?.from : plan.moveOf(code)?.to;
      expect(memory.nodes.get(`${owner}n0`)?.get(code)).toBeDefined();
      const res = await patch(
        app,
        code,
        { url: "https://example.com/y" },
        `Bearer ${link.editToken}`,
      );
      expect(res.status).toBe(200);
    }
  });

  it("just after the switch, until the edge has the new ring, moving codes are still refused", async () => {
    let edgeVersion = 8;
    const { app, memory } = setup({
      topology: resharding(9, "serving"),
      edgeHas: (version) => edgeVersion >= version,
    });
    const code = alias("early", true);
    // The edge still routes this code to its old owner: a create there would be invisible.
    await expectMoving(await create(app, { url: "https://example.com/e", alias: code }), code);
    expect(rowCount(memory)).toBe(0);
    const staying = alias("early-staying", false);
    expect((await create(app, { url: "https://example.com/s", alias: staying })).status).toBe(201);
    edgeVersion = 9;
    expect((await create(app, { url: "https://example.com/e", alias: code })).status).toBe(201);
    expect(memory.nodes.get("s2n0")?.get(code)).toBeDefined();
  });
});
