import { defineConfig } from "vitest/config";
import { reporters } from "../../vitest.shared.ts";

export default defineConfig({
  test: {
    reporters: reporters(import.meta.dirname),
    include: ["src/**/*.test.ts"],
    // Every integration test file starts real servers on its own ports: one file at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
