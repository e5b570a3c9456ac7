// Bindings only the test configuration adds (apps/edge/vitest.config.ts).
declare namespace Cloudflare {
  interface Env {
    FIXTURE_URL: string;
    EMPTY_TOPOLOGY: KVNamespace;
    INTERNAL_SECRET: string;
  }
}
