// Bindings only the test configuration adds (apps/edge/vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    FIXTURE_URL: string;
    EMPTY_TOPOLOGY: KVNamespace;
    INTERNAL_SECRET: string;
    /** Set by bench/redis-client.ts only: the Redis the client benchmark talks to. */
    REDIS_BENCH_URL: string;
  }
}
