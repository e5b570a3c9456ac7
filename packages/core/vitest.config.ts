import { defineConfig } from "vitest/config";
import { reporters } from "../../vitest.shared.ts";

export default defineConfig({
  test: {
    reporters: reporters(import.meta.dirname),
    include: ["src/**/*.test.ts"],
    provide: { runtime: "node" },
    benchmark: { include: ["src/**/*.bench.ts"] },
    // Node's own loader (it strips the types itself), as the Node apps run core: through Vite's
    // module runner every cross-module call goes through an export getter, which made the
    // shardFor benchmark about 1.6× slower.
    experimental: { viteModuleRunner: false },
  },
});
