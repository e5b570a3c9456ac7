// What checking a gateway's found answer costs per redirect, in workerd: core's parseLinkAnswer
// (its written-out fast check) beside the zod schema alone (LinkFoundSchema, the contract) and
// the JSON.parse every answer needs anyway. One op = OPS answers; the test prints µs per answer.
import { LinkFoundSchema, parseLinkAnswer } from "@firstclick/core";
import { expect, test } from "vitest";

const OPS = 1000;
const bodies = Array.from({ length: OPS }, (_, i) =>
  JSON.stringify({
    code: `c${i.toString(36).padStart(6, "0")}`,
    url: `https://example.com/page/${i}?ref=bench`,
    redirectStatus: 302,
    expiresAt: null,
    updatedAt: "2026-11-20T10:00:00.000Z",
  }),
);
const parsed: unknown[] = bodies.map((b) => JSON.parse(b));
let sink = 0;

test("gateway answer check", async ({ bench }) => {
  const fast = `parseLinkAnswer ×${OPS}`;
  const zod = `LinkFoundSchema.safeParse ×${OPS}`;
  const json = `JSON.parse ×${OPS}`;
  const result = await bench.compare(
    bench(fast, () => {
      for (const body of parsed) sink += parseLinkAnswer(200, body) ? 1 : 0;
    }),
    bench(zod, () => {
      for (const body of parsed) sink += LinkFoundSchema.safeParse(body).success ? 1 : 0;
    }),
    bench(json, () => {
      for (const body of bodies) sink += JSON.parse(body) ? 1 : 0;
    }),
  );
  const perOp = (name: string) => (result.get(name as never).latency.mean * 1e3) / OPS;
  console.log(
    `gateway answer: parseLinkAnswer ${perOp(fast).toFixed(2)} µs, LinkFoundSchema.safeParse ${perOp(zod).toFixed(2)} µs, JSON.parse ${perOp(json).toFixed(2)} µs`,
  );
  expect(sink).toBeGreaterThan(0);
});
