/**
 * Writes src/ring.golden.json: which shard owns each of 1,000 deterministic codes on a fixed
 * 4-shard and 5-shard ring. Run once (`npm run golden -w @firstclick/core`) and commit the result;
 * ring.test.ts then fails on any change to the routing math, in Node and in workerd alike.
 * Re-running it is only legitimate together with a data migration that moves the codes.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { HashRing } from "../src/ring.ts";
import { mulberry32, seededCodes } from "../src/seeded-random.ts";

const SEED = 20261123;
const VNODES = 256;
const ALIAS_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";

// 900 generated-shaped codes, then 100 alias-shaped ones of every length from 3 to 64.
const codes = seededCodes(SEED, 900);
const next = mulberry32(SEED + 1);
for (let n = 0; n < 100; n++) {
  const length = 3 + (n % 62);
  let alias = "";
  for (let i = 0; i < length; i++) alias += ALIAS_CHARS[Math.floor(next() * ALIAS_CHARS.length)];
  codes.push(alias);
}

const rings = [
  ["s0", "s1", "s2", "s3"],
  ["s0", "s1", "s2", "s3", "s4"],
].map((shards) => {
  const ring = new HashRing(shards, { vnodes: VNODES });
  return { shards, vnodes: VNODES, owners: codes.map((code) => ring.shardFor(code)) };
});

const golden = { hash: "murmur3_x86_32", seed: SEED, codes, rings };
const file = join(import.meta.dirname, "..", "src", "ring.golden.json");
writeFileSync(file, `${JSON.stringify(golden)}\n`);
console.log(`wrote ${codes.length} codes × ${rings.length} rings to ${file}`);
