import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { reporters } from "../../vitest.shared.ts";

// The same test files, run inside workerd: core must give the same answers in the Worker.
export default defineConfig({
  plugins: [
    cloudflareTest({
      remoteBindings: false,
      // Not newer than the workerd bundled with the plugin, which refuses future dates.
      miniflare: { compatibilityDate: "2026-11-01" },
    }),
  ],
  test: {
    reporters: reporters(import.meta.dirname, "-workerd"),
    include: ["src/**/*.test.ts"],
    provide: { runtime: "workerd" },
  },
});
