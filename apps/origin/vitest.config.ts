import { defineConfig } from "vitest/config";
import { reporters } from "../../vitest.shared.ts";

export default defineConfig({
  test: {
    reporters: reporters(import.meta.dirname),
    // Unit tests (`*.test.ts`, app.request on in-memory stores) and integration tests
    // (`*.integration.test.ts`: real etcd + PostgreSQL shards from packages/cluster, on this
    // package's own ports 23000–23999, hence one file at a time).
    include: ["src/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
