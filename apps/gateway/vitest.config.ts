import { defineConfig } from "vitest/config";
import { reporters } from "../../vitest.shared.ts";

export default defineConfig({
  test: {
    reporters: reporters(import.meta.dirname),
    include: ["src/**/*.test.ts"],
    // The tests start a real PostgreSQL primary + replica (packages/cluster) on their own ports.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
