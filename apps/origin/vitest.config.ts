import { defineConfig } from "vitest/config";
import { reporters } from "../../vitest.shared.ts";

export default defineConfig({
  test: {
    reporters: reporters(import.meta.dirname),
    include: ["src/**/*.test.ts"],
    // Integration tests start real etcd + PostgreSQL shards (packages/cluster) on this package's
    // own ports (23000–23999): one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
