import { createRoute } from "@hono/zod-openapi";
import { CodeParamSchema, PositionHeaderDoc, problemDoc } from "../links/schemas.ts";
import { linkGone, linkMoving } from "./answers.ts";
import type { MountRoute } from "./context.ts";
import { requireBearer } from "./credentials.ts";

const route = createRoute({
  method: "delete",
  path: "/api/links/{code}",
  summary: "Delete a link (it then answers 410)",
  security: [{ bearer: [] }],
  middleware: [requireBearer] as const,
  request: { params: CodeParamSchema },
  responses: {
    204: {
      description:
        "Deleted. Sets `ryow_until`; under STRATEGY position also `ryow_pos` and the `x-firstclick-position` header (no body).",
      headers: PositionHeaderDoc,
    },
    401: problemDoc("Missing or wrong credentials."),
    404: problemDoc("No such link."),
    410: problemDoc("Already deleted."),
    503: problemDoc(
      "The shard's primary is unavailable, or (type `…:resharding`, `Retry-After: 1`) the link is being moved to another shard; nothing was deleted. Retry shortly.",
    ),
  },
});

export const deleteLink: MountRoute = (app, ctx) => {
  app.openapi(route, async (c) => {
    const { code } = c.req.valid("param");
    return ctx.write(async (topology) => {
      const { at, link } = await ctx.locate(code, undefined, topology);
      ctx.authorize(c, link);
      if (link.deletedAt) throw linkGone(link);
      if (ctx.writeFrozen(topology, code)) throw linkMoving(code);
      const deleted = await ctx.guarded(`delete ${code}`, () =>
        ctx.deps.store.softDelete(at, code),
      );
      // Deleted by someone else between the lookup and this delete.
      if (!deleted) throw linkGone({ ...link, deletedAt: ctx.now() });
      await ctx.deps.edgePurge?.purge(code);
      // Still 204: the token travels in the header (and cookie) only, so clients that expect no
      // body keep working.
      await ctx.confirmWrite(c, code, { topology, position: deleted.position });
      return c.body(null, 204);
    });
  });
};
