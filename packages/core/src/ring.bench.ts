import { expect, test } from "vitest";
import { murmur3_32 } from "./murmur3.ts";
import { HashRing } from "./ring.ts";
import { seededCodes } from "./seeded-random.ts";

// One op = LOOKUPS calls over distinct codes (a single call is too short to time alone), so
// ns/lookup = mean latency (ms) × 1e6 / LOOKUPS; the test prints it.
const LOOKUPS = 1000;
const shards = Array.from({ length: 16 }, (_, i) => `s${i}`);
const ring = new HashRing(shards);
const codes = seededCodes(99, LOOKUPS);
// Consumed results, so the engine cannot drop the calls as dead code.
let sink = 0;

test(`shardFor, 16 shards × ${ring.vnodes} vnodes`, async ({ bench }) => {
  const result = await bench.compare(
    bench(`shardFor ×${LOOKUPS}`, () => {
      for (const code of codes) sink += ring.shardFor(code).length;
    }),
    bench(`murmur3_32 ×${LOOKUPS} (the hash alone)`, () => {
      for (const code of codes) sink += murmur3_32(code) & 1;
    }),
  );
  const perLookup = (name: string) => (result.get(name as never).latency.mean * 1e6) / LOOKUPS;
  const shardFor = perLookup(`shardFor ×${LOOKUPS}`);
  const hash = perLookup(`murmur3_32 ×${LOOKUPS} (the hash alone)`);
  console.log(
    `shardFor: ${shardFor.toFixed(1)} ns/lookup (murmur3_32 alone: ${hash.toFixed(1)} ns), 16 shards × ${ring.vnodes} vnodes`,
  );
  expect(sink).toBeGreaterThan(0);
  expect(shardFor).toBeLessThan(300);
});

test("new HashRing(16 shards)", async ({ bench }) => {
  await bench("new HashRing(16 shards)", () => {
    sink += new HashRing(shards).shardIds.length;
  }).run();
});
