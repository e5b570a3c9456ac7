// In-process cost of the routing decision (cookie check + ring lookup + plan), no I/O, in
// workerd. One op = OPS decisions over distinct codes; the test prints µs per decision.
import { decideRoute, Topology } from "@firstclick/core";
import { expect, test } from "vitest";
import { makeSnapshot } from "../test/support.ts";
import { planRedirect } from "./route.ts";

const OPS = 1000;
const topology = Topology.from(makeSnapshot({ prefix: "b", shards: 4, replicas: 2, version: 1 }));
const codes = Array.from({ length: OPS }, (_, i) => `c${i.toString(36).padStart(6, "0")}`);
const cookie = `session=abc; ryow_until=${Math.floor(Date.now() / 1000) + 20}; theme=dark`;
let sink = 0;

test("routing decision", async ({ bench }) => {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const plan = `planRedirect ×${OPS}`;
  const full = `decideRoute(cookie) + planRedirect ×${OPS}`;
  const result = await bench.compare(
    bench(plan, () => {
      for (let i = 0; i < OPS; i++) {
        const code = codes[i] ?? "abc1234";
        sink += planRedirect({
          nowMs: 0,
          topology,
          code,
          route: "replica",
          replicaStart: i,
          fallback: false,
        }).attempts.length;
      }
    }),
    bench(full, async () => {
      for (let i = 0; i < OPS; i++) {
        const code = codes[i] ?? "abc1234";
        const route = await decideRoute(cookie, nowSeconds, { window: 30 });
        sink += planRedirect({ nowMs: 0, topology, code, route, replicaStart: i, fallback: false })
          .attempts.length;
      }
    }),
  );
  const perOp = (name: string) => (result.get(name as never).latency.mean * 1e3) / OPS;
  console.log(
    `routing decision: planRedirect ${perOp(plan).toFixed(2)} µs, with the cookie check ${perOp(full).toFixed(2)} µs`,
  );
  expect(sink).toBeGreaterThan(0);
});
