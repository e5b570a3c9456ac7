import { Topology } from "@firstclick/core";
import { describe, expect, it } from "vitest";
import { makeSnapshot } from "../test/support.ts";
import { planRedirect, routeHeader } from "./route.ts";

const topology = Topology.from(makeSnapshot({ prefix: "r", replicas: 2, version: 1 }));
const ids = (plan: ReturnType<typeof planRedirect>) =>
  plan.attempts.map((a) => `${a.node.id}:${a.role}`);

describe("planRedirect", () => {
  it("replica route: replicas from the rotating start, then the primary as last resort", () => {
    const base = { topology, code: "abc1234", route: "replica" as const, fallback: false };
    expect(ids(planRedirect({ nowMs: 0, ...base, replicaStart: 0 }))).toEqual([
      "rs0n1:replica",
      "rs0n2:replica",
      "rs0n0:primary",
    ]);
    expect(ids(planRedirect({ nowMs: 0, ...base, replicaStart: 1 }))).toEqual([
      "rs0n2:replica",
      "rs0n1:replica",
      "rs0n0:primary",
    ]);
    expect(planRedirect({ nowMs: 0, ...base, replicaStart: 0 }).fallbackPrimary).toBeNull();
  });

  it("primary route: the primary first, replicas only if it cannot answer, no fallback", () => {
    const plan = planRedirect({
      nowMs: 0,
      topology,
      code: "abc1234",
      route: "primary",
      replicaStart: 1,
      fallback: true,
    });
    expect(ids(plan)).toEqual(["rs0n0:primary", "rs0n2:replica", "rs0n1:replica"]);
    expect(plan.fallbackPrimary).toBeNull();
  });

  it("fallback strategy names the primary for a replica's 404", () => {
    const plan = planRedirect({
      nowMs: 0,
      topology,
      code: "abc1234",
      route: "replica",
      replicaStart: 0,
      fallback: true,
    });
    expect(plan.fallbackPrimary?.id).toBe("rs0n0");
  });

  it("a shard without a primary (mid-failover) is served by its replicas", () => {
    const t = Topology.from(makeSnapshot({ prefix: "np", noPrimary: true, version: 1 }));
    for (const route of ["primary", "replica"] as const) {
      const plan = planRedirect({
        nowMs: 0,
        topology: t,
        code: "abc1234",
        route,
        replicaStart: 0,
        fallback: true,
      });
      expect(ids(plan)).toEqual(["nps0n1:replica", "nps0n2:replica"]);
      expect(plan.fallbackPrimary).toBeNull();
    }
  });

  it("the shard is the ring's owner of the code", () => {
    const t = Topology.from(makeSnapshot({ prefix: "m", shards: 4, replicas: 1, version: 1 }));
    for (const code of ["abc1234", "zzzzzzz", "Q1w2E3r", "my-alias_1"]) {
      const plan = planRedirect({
        nowMs: 0,
        topology: t,
        code,
        route: "replica",
        replicaStart: 0,
        fallback: false,
      });
      expect(plan.shard).toBe(t.shardFor(code));
      expect(plan.attempts.every((a) => a.node.id.startsWith(`m${plan.shard}`))).toBe(true);
    }
  });
});

describe("planRedirect with strategy position", () => {
  const base = { topology, code: "abc1234", replicaStart: 0, fallback: false };
  const wait = { kind: "wait", lsn: "0/3000060" } as const;
  const lost = { kind: "lost" } as const;
  it.each([
    {
      name: "no judgement: a plain replica read",
      route: "replica" as const,
      position: null,
      order: ["rs0n1:replica", "rs0n2:replica", "rs0n0:primary"],
      minLsn: null,
      lost: false,
    },
    {
      name: "wait: the replicas then the primary, each asked with minLsn",
      route: "replica" as const,
      position: wait,
      order: ["rs0n1:replica", "rs0n2:replica", "rs0n0:primary"],
      minLsn: "0/3000060",
      lost: false,
    },
    {
      name: "wait inside a cookie window: the primary read wins, no minLsn",
      route: "primary" as const,
      position: wait,
      order: ["rs0n0:primary", "rs0n1:replica", "rs0n2:replica"],
      minLsn: null,
      lost: false,
    },
    {
      name: "lost: the primary first, and a 404 means lost",
      route: "replica" as const,
      position: lost,
      order: ["rs0n0:primary", "rs0n1:replica", "rs0n2:replica"],
      minLsn: null,
      lost: true,
    },
    {
      name: "lost inside a cookie window: still lost",
      route: "primary" as const,
      position: lost,
      order: ["rs0n0:primary", "rs0n1:replica", "rs0n2:replica"],
      minLsn: null,
      lost: true,
    },
  ])("$name", ({ route, position, order, minLsn, lost: isLost }) => {
    const plan = planRedirect({ nowMs: 0, ...base, route, position });
    expect(ids(plan)).toEqual(order);
    expect(plan.minLsn).toBe(minLsn);
    expect(plan.lost).toBe(isLost);
  });
});

describe("routeHeader", () => {
  it.each([
    ["primary", "primary; shard=s0"],
    ["replica", "replica; shard=s0"],
    ["fallback", "fallback; shard=s0"],
  ] as const)("%s", (servedBy, header) => {
    expect(routeHeader(servedBy, "s0")).toBe(header);
  });
});

describe("planRedirect in a resharding's grace period", () => {
  const from = { shards: ["s0"], vnodes: 160 };
  const to = { shards: ["s0", "s1"], vnodes: 160 };
  const base = makeSnapshot({ prefix: "g", shards: 2, replicas: 1, version: 2 });
  const serving = Topology.from({
    ...base,
    ring: to,
    reshard: { id: "add-s1", phase: "serving", from, to, graceUntil: 10_000 },
  });
  const moving = ["a", "b", "c", "d", "e", "f", "g", "h"]
    .map((c) => `${c}bc1234`)
    .find((c) => serving.moveOf(c) !== null) as string;

  it("a moving code's plan carries its old owner's plan until graceUntil, and only then", () => {
    const input = { topology: serving, code: moving, route: "replica" as const, replicaStart: 0 };
    const during = planRedirect({ ...input, fallback: true, nowMs: 9_999 });
    expect(during.shard).toBe("s1");
    expect(during.grace?.shard).toBe("s0");
    expect(ids(during.grace as NonNullable<typeof during.grace>)).toEqual([
      "gs0n1:replica",
      "gs0n0:primary",
    ]);
    expect(during.grace?.fallbackPrimary).toBeNull();
    expect(during.grace?.grace).toBeNull();
    expect(planRedirect({ ...input, fallback: false, nowMs: 10_000 }).grace).toBeNull();
  });
});
