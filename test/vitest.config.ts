import { defineConfig } from "vitest/config";
import { serverTests } from "../vitest.shared.ts";

// Tests that span apps: each file starts a real local cluster (packages/cluster) on its own ports.
export default defineConfig({
  test: {
    ...serverTests(import.meta.dirname, ["**/*.test.ts"]),
    exclude: ["node_modules/**", "bench/**", "artifacts/**"],
  },
});
