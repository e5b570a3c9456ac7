// The redis strategy's client (node-redis through client.ts) inside the RyowRedis Durable Object:
// the GET ryow:<code> of every redirect, OPS of them with CONCURRENCY in flight, µs per GET.
// Run by bench/redis-client.ts, which starts Redis with packages/cluster and sets REDIS_BENCH_URL.
// The comparison with the hand-written RESP client it replaced is this file at commit f18da4e
// (README.md here has both figures).
import { env, runInDurableObject } from "cloudflare:test";
import { expect, test } from "vitest";
import { openClient } from "./client.ts";
import { OBJECT_NAME } from "./durable-object.ts";
import { ryowKey } from "./strategy.ts";

const OPS = 4_000;
const CONCURRENCY = 32;
const ROUNDS = 5;

type Get = (key: string) => Promise<unknown>;

async function run(get: Get): Promise<number> {
  let next = 0;
  let hits = 0;
  const worker = async () => {
    while (next < OPS) {
      const i = next++;
      if ((await get(ryowKey(`c${i % 100}`))) !== null) hits++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = performance.now() - started;
  expect(hits).toBe(OPS / 2);
  return (elapsed * 1_000) / OPS;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

test("redis client inside the Durable Object", async () => {
  const url = env.REDIS_BENCH_URL;
  expect(url, "run through bench/redis-client.ts").toMatch(/^redis:\/\//);
  const stub = env.RYOW_REDIS.get(env.RYOW_REDIS.idFromName(OBJECT_NAME));
  const perGet = await runInDurableObject(stub, async () => {
    const client = await openClient(url, { connectTimeoutMs: 1_000, onError: () => {} });
    // Half the codes are fresh: a hit and a miss per pair, as redirects would see.
    for (let i = 0; i < 100; i += 2) await client.set(ryowKey(`c${i}`), "1", { EX: 600 });
    const get: Get = (key) => client.get(key);
    await run(get);
    const rounds: number[] = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push(await run(get));
    client.destroy();
    return rounds;
  });
  console.log(
    `redis GET in the Durable Object (node-redis), ${OPS} × ${ROUNDS} rounds, ` +
      `${CONCURRENCY} in flight: ${median(perGet).toFixed(1)} µs/GET ` +
      `(${perGet.map((x) => x.toFixed(1)).join(" ")})`,
  );
});
