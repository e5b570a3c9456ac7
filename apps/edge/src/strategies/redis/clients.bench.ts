// node-redis (the `redis` package, over nodejs_compat's node:net) against the hand-written RESP
// client (connection.ts, over cloudflare:sockets), both inside the RyowRedis Durable Object, in
// the same run: the GET ryow:<code> of every redirect, OPS of them with CONCURRENCY in flight.
// Run by bench/redis-client.ts, which starts Redis with packages/cluster and sets REDIS_BENCH_URL.
import { env, runInDurableObject } from "cloudflare:test";
import { createClient } from "redis";
import { expect, test } from "vitest";
import { RedisConnection } from "./connection.ts";
import { OBJECT_NAME } from "./durable-object.ts";
import { parseRedisUrl, ryowKey } from "./resp.ts";

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

test("redis clients inside the Durable Object", async () => {
  const url = env.REDIS_BENCH_URL;
  expect(url, "run through bench/redis-client.ts").toMatch(/^redis:\/\//);
  const stub = env.RYOW_REDIS.get(env.RYOW_REDIS.idFromName(OBJECT_NAME));
  const result = await runInDurableObject(stub, async () => {
    const hand = RedisConnection.open(parseRedisUrl(url));
    const library = createClient({ url, disableOfflineQueue: true });
    await library.connect();
    // Half the codes are fresh: a hit and a miss per pair, as redirects would see.
    for (let i = 0; i < 100; i += 2) await library.set(ryowKey(`c${i}`), "1", { EX: 600 });
    const handGet: Get = (key) => hand.command(["GET", key]);
    const libraryGet: Get = (key) => library.get(key);
    await run(handGet);
    await run(libraryGet);
    const handUs: number[] = [];
    const libraryUs: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate which goes first, so a load spike does not always land on the same client.
      if (round % 2 === 0) {
        handUs.push(await run(handGet));
        libraryUs.push(await run(libraryGet));
      } else {
        libraryUs.push(await run(libraryGet));
        handUs.push(await run(handGet));
      }
    }
    hand.close();
    await library.quit();
    return { hand: median(handUs), library: median(libraryUs), handUs, libraryUs };
  });
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" ");
  console.log(
    `redis GET in the Durable Object, ${OPS} × ${ROUNDS} rounds, ${CONCURRENCY} in flight: ` +
      `hand-written ${result.hand.toFixed(1)} µs/GET (${fmt(result.handUs)}), ` +
      `node-redis ${result.library.toFixed(1)} µs/GET (${fmt(result.libraryUs)}), ` +
      `node-redis / hand-written = ${(result.library / result.hand).toFixed(2)}`,
  );
});
