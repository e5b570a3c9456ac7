import {
  judgePosition,
  POSITION_HEADER,
  type PositionJudgement,
  PROBLEM,
  type Topology,
} from "@firstclick/core";
import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { CodeParamSchema, LinkStatusSchema, problemDoc } from "../links/schemas.ts";
import type { ShardPrimary } from "../links/store.ts";
import { linkGone, linkLost, linkNotFound } from "./answers.ts";
import type { MountRoute, RouteContext } from "./context.ts";

const route = createRoute({
  method: "get",
  path: "/api/links/{code}",
  summary: "A link's metadata (read from its shard primary) and whether it is live everywhere",
  description: `\`replicas\` and \`caughtUp\` come from the shard primary's \`pg_stat_replication\`: once \`caughtUp == replicas\` the link is live for everyone, the moment a stranger's click is sure to work. Send the position token (\`${POSITION_HEADER}\` header or \`ryow_pos\` cookie) to measure against your own write exactly; without it the primary's current WAL position is used, an upper bound of the link's last write, so \`caughtUp\` may lag a little but never runs ahead. With a token whose write on this shard a failover lost, a missing link answers 410 \`${PROBLEM.linkLost}\`.`,
  request: { params: CodeParamSchema },
  responses: {
    200: {
      description: "The link.",
      content: { "application/json": { schema: LinkStatusSchema } },
    },
    404: problemDoc("No such link."),
    410: problemDoc(
      `Deleted or expired, or (problem type ${PROBLEM.linkLost}) created by you and lost in a failover: create it again.`,
    ),
    503: problemDoc("The shard's primary is unavailable."),
  },
});

/** What the client's own token says about the shard of `at` (`ignore` without an entry). */
async function judged(
  ctx: RouteContext,
  c: Context,
  at: ShardPrimary,
  topology: Topology,
): Promise<PositionJudgement> {
  const entry = (await ctx.positions.read(c, topology)).find((e) => e.shard === at.shard);
  return entry ? judgePosition(entry, topology.historyOf(at.shard)) : { kind: "ignore" };
}

export const getLink: MountRoute = (app, ctx) => {
  app.openapi(route, async (c) => {
    const code = c.req.valid("param").code;
    // A token is per shard, not per code: a lost write is only a lost link when it is missing.
    const { at, link, topology } = await ctx.locate(code, async (at, topology) =>
      (await judged(ctx, c, at, topology)).kind === "lost" ? linkLost(code) : linkNotFound(code),
    );
    if (link.deletedAt || ctx.isExpired(link)) throw linkGone(link);
    const mine = await judged(ctx, c, at, topology);
    const live = await ctx.guarded(`replication status of ${at.shard}`, () =>
      ctx.deps.store.replication(at, mine.kind === "wait" ? mine.lsn : null),
    );
    return c.json({ ...ctx.view(link), ...live }, 200);
  });
};
