// What core's zod check (parseLinkAnswer) costs per redirect, in workerd, beside the
// hand-written check it replaced and the JSON.parse every answer needs anyway. One op = OPS
// answers; the test prints µs per answer.
import { parseLinkAnswer } from "@firstclick/core";
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

// The edge's check before the shared contract: url and redirectStatus only.
function handWritten(body: unknown): boolean {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  const url = b.url;
  return (
    typeof url === "string" &&
    (url.startsWith("https://") || url.startsWith("http://")) &&
    URL.canParse(url) &&
    [301, 302, 307, 308].includes(Number(b.redirectStatus))
  );
}

test("gateway answer check", async ({ bench }) => {
  const zod = `parseLinkAnswer ×${OPS}`;
  const hand = `hand-written check ×${OPS}`;
  const json = `JSON.parse ×${OPS}`;
  const result = await bench.compare(
    bench(zod, () => {
      for (const body of parsed) sink += parseLinkAnswer(200, body) ? 1 : 0;
    }),
    bench(hand, () => {
      for (const body of parsed) sink += handWritten(body) ? 1 : 0;
    }),
    bench(json, () => {
      for (const body of bodies) sink += JSON.parse(body) ? 1 : 0;
    }),
  );
  const perOp = (name: string) => (result.get(name as never).latency.mean * 1e3) / OPS;
  console.log(
    `gateway answer: parseLinkAnswer ${perOp(zod).toFixed(2)} µs, hand-written ${perOp(hand).toFixed(2)} µs, JSON.parse ${perOp(json).toFixed(2)} µs`,
  );
  expect(sink).toBeGreaterThan(0);
});
