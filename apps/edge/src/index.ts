import { handleClickQueue } from "./analytics/consumer.ts";
import { createEdgeApp } from "./app.ts";
import type { EdgeBindings } from "./env.ts";
import { createRedisStrategy } from "./strategies/redis/index.ts";

// The Durable Object class must be exported by the Worker's main module (wrangler.toml binds it).
export { RyowRedis } from "./strategies/redis/durable-object.ts";

// One app per isolate: its topology, replica cursor and fallback budget live as long as it does.
// Built on the first request: workerd hands every request of an isolate the same env, whose
// CLICKS binding decides whether the click analytics middleware is on the redirect route.
let app: ReturnType<typeof createEdgeApp> | null = null;

export default {
  fetch: (request, env, ctx) => {
    app ??= createEdgeApp({
      strategies: { redis: (config, bindings) => createRedisStrategy(config, bindings) },
      clickAnalytics: env.CLICKS !== undefined,
    });
    return app.fetch(request, env, ctx);
  },
  // The clicks Queue's consumer (wrangler.toml): rollups to the origin, exactly once per message.
  queue: handleClickQueue,
} satisfies ExportedHandler<EdgeBindings>;
