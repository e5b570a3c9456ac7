import { createRoute } from "@hono/zod-openapi";
import { CodeParamSchema, LinkSchema, problemDoc } from "../links/schemas.ts";
import { linkGone } from "./answers.ts";
import type { MountRoute } from "./context.ts";

const route = createRoute({
  method: "get",
  path: "/api/links/{code}",
  summary: "A link's metadata (read from its shard primary)",
  request: { params: CodeParamSchema },
  responses: {
    200: { description: "The link.", content: { "application/json": { schema: LinkSchema } } },
    404: problemDoc("No such link."),
    410: problemDoc("Deleted or expired."),
    503: problemDoc("The shard's primary is unavailable."),
  },
});

export const getLink: MountRoute = (app, ctx) => {
  app.openapi(route, async (c) => {
    const { link } = await ctx.locate(c.req.valid("param").code);
    if (link.deletedAt || ctx.isExpired(link)) throw linkGone(link);
    return c.json(ctx.view(link), 200);
  });
};
