import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { reporters } from "../../vitest.shared.ts";

// Every test runs inside workerd, with the bindings wrangler derives from the root
// wrangler.toml; upstreams (gateways, origin) are a real local HTTP server (test/fixture-server.ts).
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => {
      const fixtureUrl = inject("fixtureUrl");
      return {
        remoteBindings: false,
        wrangler: { configPath: "../../wrangler.toml" },
        miniflare: {
          bindings: {
            ORIGIN_URL: `${fixtureUrl}/origin`,
            INTERNAL_SECRET: "test-internal-secret-0123456789",
            UPSTREAM_TIMEOUT_MS: "300",
            FIXTURE_URL: fixtureUrl,
            REDIS_BENCH_URL: process.env.REDIS_BENCH_URL ?? "",
          },
          // An always-empty namespace: tests of a cold isolate with no snapshot anywhere.
          kvNamespaces: ["TOPOLOGY", "EMPTY_TOPOLOGY"],
        },
      };
    }),
  ],
  test: {
    reporters: reporters(import.meta.dirname),
    include: ["src/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    benchmark: {
      include: ["src/**/*.bench.ts"],
      // The Redis client benchmark needs a Redis: bench/redis-client.ts starts one and runs it.
      exclude: process.env.REDIS_BENCH_URL ? [] : ["src/strategies/redis/clients.bench.ts"],
    },
    // The Worker tests share one fixture server and one isolate's topology: one file at a time.
    fileParallelism: false,
  },
});
