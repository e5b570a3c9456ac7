import { checkTarget } from "@firstclick/core";
import { createRoute } from "@hono/zod-openapi";
import {
  CodeParamSchema,
  EditedLinkSchema,
  PositionHeaderDoc,
  problemDoc,
  UpdateLinkBodySchema,
} from "../links/schemas.ts";
import type { LinkChanges } from "../links/store.ts";
import { linkGone, linkMoving } from "./answers.ts";
import type { MountRoute } from "./context.ts";
import { requireBearer } from "./credentials.ts";
import { type FieldError, invalid, jsonBodyLimit, parseExpiry } from "./validation.ts";

const route = createRoute({
  method: "patch",
  path: "/api/links/{code}",
  summary: "Edit a link (target, expiry, redirect status)",
  description:
    "Needs `Authorization: Bearer <editToken>` (from the create answer) or the admin key. Sets `ryow_until`, so the editor's next click sees the edit at once; under STRATEGY `position` also answers with the merged position token (header, `position` field, `ryow_pos` cookie).",
  security: [{ bearer: [] }],
  middleware: [requireBearer, jsonBodyLimit] as const,
  request: {
    params: CodeParamSchema,
    body: { required: true, content: { "application/json": { schema: UpdateLinkBodySchema } } },
  },
  responses: {
    200: {
      description: "The edited link.",
      headers: PositionHeaderDoc,
      content: { "application/json": { schema: EditedLinkSchema } },
    },
    400: problemDoc("Invalid body."),
    401: problemDoc("Missing or wrong credentials."),
    404: problemDoc("No such link."),
    410: problemDoc("Deleted."),
    413: problemDoc("Body larger than 8 KiB."),
    415: problemDoc("Body is not application/json."),
    503: problemDoc(
      "The shard's primary is unavailable, or (remote_apply) the edit was not confirmed on a replica in time: it is applied on the primary and becomes visible when replicas catch up; retrying is safe. Also (type `…:resharding`, `Retry-After: 1`) while the link is being moved to another shard: nothing was changed; retry shortly.",
    ),
  },
});

export const updateLink: MountRoute = (app, ctx) => {
  const shortHosts = [ctx.config.publicBaseUrl];

  app.openapi(route, async (c) => {
    const { code } = c.req.valid("param");
    const input = c.req.valid("json");
    const errors: FieldError[] = [];
    const changes: LinkChanges = {};
    if (input.url !== undefined) {
      const target = checkTarget(input.url, { shortHosts });
      if (target.ok) changes.url = target.url;
      else errors.push({ field: "url", message: target.message });
    }
    if (input.expiresAt !== undefined) {
      const expiresAt = parseExpiry(input.expiresAt, ctx.now(), errors);
      if (expiresAt !== undefined) changes.expiresAt = expiresAt;
    }
    if (input.redirectStatus !== undefined) changes.redirectStatus = input.redirectStatus;
    if (errors.length > 0) throw invalid(errors);

    return ctx.write(async (topology) => {
      const { at, link } = await ctx.locate(code, undefined, topology);
      ctx.authorize(c, link);
      // An expired link can be edited (e.g. given a new expiry); a deleted one cannot.
      if (link.deletedAt) throw linkGone(link);
      if (ctx.writeFrozen(topology, code)) throw linkMoving(code);
      const updated = await ctx.guarded(`update ${code}`, () =>
        ctx.deps.store.update(at, code, changes),
      );
      // Deleted between the lookup and the update.
      if (!updated) throw linkGone({ ...link, deletedAt: ctx.now() });
      await ctx.deps.edgePurge?.purge(code);
      const position = await ctx.confirmWrite(c, code, { topology, position: updated.position });
      return c.json({ ...ctx.view(updated), ...(position ? { position } : {}) }, 200);
    });
  });
};
