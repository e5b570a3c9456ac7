import { createRoute, z } from "@hono/zod-openapi";
import type { MountRoute } from "./context.ts";

const HealthSchema = z.object({
  ok: z.boolean(),
  topologyVersion: z.int().nullable(),
  etcd: z.enum(["connected", "disconnected"]),
});

const route = createRoute({
  method: "get",
  path: "/health",
  summary: "Liveness and topology state",
  responses: {
    200: {
      description: "Serving with a topology.",
      content: { "application/json": { schema: HealthSchema } },
    },
    503: {
      description: "No topology yet: creates would fail.",
      content: { "application/json": { schema: HealthSchema } },
    },
  },
});

export const health: MountRoute = (app, ctx) => {
  app.openapi(route, (c) => {
    const t = ctx.deps.topology.current();
    const body = {
      ok: t !== null,
      topologyVersion: t?.version ?? null,
      etcd: ctx.deps.topology.sourceStatus(),
    };
    c.header("cache-control", "no-store");
    return t ? c.json(body, 200) : c.json(body, 503);
  });
};
