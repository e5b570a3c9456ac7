import { defineConfig } from "vitest/config";
import { reporters } from "../vitest.shared.ts";

// Tests that span apps: each file starts a real local cluster (packages/cluster) on its own ports.
export default defineConfig({
  test: {
    reporters: reporters(import.meta.dirname),
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "bench/**", "artifacts/**"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
