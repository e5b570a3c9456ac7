/**
 * The Redis client benchmark: starts Redis with packages/cluster (one small shard beside it,
 * as `up()` always has one), then runs src/strategies/redis/clients.bench.ts inside workerd
 * against it. Loopback ports from 22300 (the cluster's layout for base port 22300).
 *
 *   npm run bench:redis -w @firstclick/edge
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { defaultStateDir, up } from "@firstclick/cluster";

const BASE_PORT = 22_300;

const cluster = await up({
  stateDir: join(defaultStateDir(), "edge-redis-bench"),
  shards: 1,
  replicas: 0,
  redis: true,
  apps: false,
  basePort: BASE_PORT,
});
let status = 1;
try {
  const redisUrl = cluster.urls.redis;
  if (!redisUrl) throw new Error("the cluster started without redis");
  const run = spawnSync(
    "npx",
    ["vitest", "bench", "--run", "src/strategies/redis/clients.bench.ts"],
    {
      cwd: join(import.meta.dirname, ".."),
      stdio: "inherit",
      env: { ...process.env, REDIS_BENCH_URL: redisUrl },
    },
  );
  status = run.status ?? 1;
} finally {
  await cluster.down();
}
process.exit(status);
