import { createEdgeApp } from "./app.ts";
import type { EdgeBindings } from "./env.ts";

// One app per isolate: its topology, replica cursor and fallback budget live as long as it does.
const app = createEdgeApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<EdgeBindings>;
