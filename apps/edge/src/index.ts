import { createEdgeApp } from "./app.ts";
import type { EdgeBindings } from "./env.ts";
import { createRedisOracle } from "./redis-strategy.ts";

// The Durable Object class must be exported by the Worker's main module (wrangler.toml binds it).
export { RyowRedis } from "./redis-object.ts";

// One app per isolate: its topology, replica cursor and fallback budget live as long as it does.
const app = createEdgeApp({
  oracles: { redis: (config, bindings) => createRedisOracle(config, bindings) },
});

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<EdgeBindings>;
