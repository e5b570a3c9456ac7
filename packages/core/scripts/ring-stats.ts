/**
 * Prints the ring's balance and movement figures quoted in README.md, for the same 1,000,000
 * deterministic codes the tests use: `npm run ring-stats -w @firstclick/core [-- vnodes]`.
 */
import { HashRing } from "../src/ring.ts";
import { seededCodes } from "../src/seeded-random.ts";

const vnodes = Number(process.argv[2] ?? "") || undefined;
const codes = seededCodes(42, 1_000_000);
const four = new HashRing(["s0", "s1", "s2", "s3"], { vnodes });
const five = new HashRing(["s0", "s1", "s2", "s3", "s4"], { vnodes });

const counts = new Map<string, number>();
let moved = 0;
let movedElsewhere = 0;
for (const code of codes) {
  const from = four.shardFor(code);
  const to = five.shardFor(code);
  counts.set(from, (counts.get(from) ?? 0) + 1);
  if (from !== to) {
    moved++;
    if (to !== "s4") movedElsewhere++;
  }
}
const mean = codes.length / 4;
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;
console.log(`vnodes per shard: ${four.vnodes}, codes: ${codes.length}`);
console.log(`4 shards: ${[...counts].map(([s, n]) => `${s}=${n}`).join(" ")}`);
console.log(
  `  fullest/mean = ${(Math.max(...counts.values()) / mean).toFixed(4)}, emptiest/mean = ${(Math.min(...counts.values()) / mean).toFixed(4)}`,
);
console.log(
  `adding s4 moves ${pct(moved / codes.length)} (ideal 20 %), ${movedElsewhere} not onto s4`,
);
