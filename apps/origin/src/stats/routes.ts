import { isShortCode, PROBLEM, problem } from "@firstclick/core";
import { ClickIngestSchema } from "@firstclick/core/clicks";
import { createRoute, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { CodeParamSchema, problemDoc } from "../links/schemas.ts";
import { hashEditToken, matchesHash } from "../links/token.ts";
import { linkNotFound, unauthorized } from "../routes/answers.ts";
import type { OriginApp, RouteContext } from "../routes/context.ts";
import { bearerToken, requireBearer } from "../routes/credentials.ts";
import { invalid } from "../routes/validation.ts";
import type { StatsDeps } from "./deps.ts";
import { qrPng, qrSvg } from "./qr.ts";
import {
  DEFAULT_RANGE_MS,
  MAX_RANGE_MS,
  type StatsInterval,
  StatsQuerySchema,
  StatsSchema,
} from "./schemas.ts";
import type { StatsRange } from "./stats-reader.ts";

export type { ClickSink, StatsDeps, StatsSource } from "./deps.ts";

/** Where the edge's Queue consumer posts (apps/edge/src/analytics/consumer.ts). */
export const INGEST_PATH = "/api/_internal/clicks";

/**
 * The click routes: the Queue consumer's internal ingest, a link's statistics (edit token or
 * admin key, read from a replica) and its QR code (public: the short URL is public).
 */

/** A consumer batch: ≤ 100 messages × ≤ 100 events, each a row of ≤ ~200 bytes, at worst. */
const MAX_INGEST_BYTES = 4 * 1024 * 1024;

// Plain hono, not app.openapi: an internal route (not in the API document), validated with
// core's schema, which both the consumer and this route import.
const ingestBodyLimit = bodyLimit({
  maxSize: MAX_INGEST_BYTES,
  onError: () =>
    problem({
      type: PROBLEM.payloadTooLarge,
      title: "Request body too large",
      status: 413,
      detail: `At most ${MAX_INGEST_BYTES} bytes per ingest.`,
    }),
});

const statsRoute = createRoute({
  method: "get",
  path: "/api/links/{code}/stats",
  summary: "Click statistics of a link (read from a replica of its shard)",
  description:
    "Needs `Authorization: Bearer <editToken>` or the admin key. Counts are exact; a click shows up after the edge's batch (≤ 1 s) and the Queue's batch (≤ 5 s): about 6 s.",
  security: [{ bearer: [] }],
  middleware: [requireBearer] as const,
  request: { params: CodeParamSchema, query: StatsQuerySchema },
  responses: {
    200: {
      description: "Totals, a series per interval, top countries and referrers, bot share.",
      content: { "application/json": { schema: StatsSchema } },
    },
    400: problemDoc("Bad range (reversed, too long) or unknown interval."),
    401: problemDoc("Missing or wrong credentials."),
    404: problemDoc("No such link."),
    503: problemDoc("No replica of the shard answers."),
  },
});

const qrDoc = (type: string) => ({
  200: { description: "The QR code of the short URL.", content: { [type]: { schema: z.any() } } },
  404: problemDoc("Not a short code."),
});
const qrSvgRoute = createRoute({
  method: "get",
  path: "/api/links/{code}/qr.svg",
  summary: "QR code of the short URL (SVG)",
  request: { params: CodeParamSchema },
  responses: qrDoc("image/svg+xml"),
});
const qrPngRoute = createRoute({
  method: "get",
  path: "/api/links/{code}/qr.png",
  summary: "QR code of the short URL (PNG, 512 px)",
  request: { params: CodeParamSchema },
  responses: qrDoc("image/png"),
});

export function statsRange(query: z.infer<typeof StatsQuerySchema>, now: Date): StatsRange {
  const interval: StatsInterval = query.interval ?? "hour";
  const to = query.to ? new Date(query.to) : now;
  const from = query.from
    ? new Date(query.from)
    : new Date(to.getTime() - DEFAULT_RANGE_MS[interval]);
  if (from.getTime() >= to.getTime()) {
    throw invalid([{ field: "from", message: "from must be before to" }]);
  }
  if (to.getTime() - from.getTime() > MAX_RANGE_MS[interval]) {
    const days = MAX_RANGE_MS[interval] / 86_400_000;
    throw invalid([{ field: "to", message: `a range by ${interval} spans at most ${days} days` }]);
  }
  // Rollups are hourly: the range starts on its interval's boundary, or it would drop an hour.
  const unit = interval === "hour" ? 3_600_000 : 86_400_000;
  return { from: new Date(Math.floor(from.getTime() / unit) * unit), to, interval };
}

export function registerStatsRoutes(app: OriginApp, ctx: RouteContext, deps: StatsDeps): void {
  const internalHash = deps.internalSecret ? hashEditToken(deps.internalSecret) : null;
  const adminHash = ctx.config.adminKey ? hashEditToken(ctx.config.adminKey) : null;
  const shortUrl = (code: string) => {
    if (!isShortCode(code)) throw linkNotFound(code.slice(0, 80));
    return `${ctx.config.publicBaseUrl}/${code}`;
  };

  app.post(INGEST_PATH, ingestBodyLimit, async (c) => {
    const token = bearerToken(c.req.header("authorization"));
    if (token === null || internalHash === null || !matchesHash(token, internalHash)) {
      throw unauthorized(token !== null);
    }
    const body: unknown = await c.req.json().catch(() => undefined);
    const parsed = ClickIngestSchema.safeParse(body);
    if (!parsed.success) {
      throw invalid(
        parsed.error.issues.slice(0, 10).map((issue) => ({
          field: issue.path.map(String).join(".") || "(body)",
          message: issue.message,
        })),
      );
    }
    const { deliveries } = parsed.data;
    const topology = ctx.topology();
    const result = await ctx.guarded("count clicks", () => deps.writer.write(topology, deliveries));
    return c.json(result, 200);
  });

  app.openapi(statsRoute, async (c) => {
    const { code } = c.req.valid("param");
    const range = statsRange(c.req.valid("query"), ctx.now());
    if (!isShortCode(code)) throw linkNotFound(code.slice(0, 80));
    const topology = ctx.topology();
    const found = await ctx.guarded(`stats ${code}`, () => deps.reader.read(topology, code, range));
    if (!found) throw linkNotFound(code);
    const token = bearerToken(c.req.header("authorization")) ?? "";
    // Both comparisons always run: the time taken does not say which one matched.
    const byToken = matchesHash(token, found.editTokenHash);
    const byAdmin = adminHash !== null && matchesHash(token, adminHash);
    if (!byToken && !byAdmin) throw unauthorized(true);
    return c.json(found.stats, 200);
  });

  // The short URL never changes for a code: browsers and CDNs may keep its QR code a day.
  const imageHeaders = (type: string) => ({
    "content-type": type,
    "cache-control": "public, max-age=86400",
    "x-content-type-options": "nosniff",
  });
  app.openapi(qrSvgRoute, async (c) => {
    const svg = await qrSvg(shortUrl(c.req.valid("param").code));
    return c.body(svg, 200, imageHeaders("image/svg+xml"));
  });
  app.openapi(qrPngRoute, async (c) => {
    const png = await qrPng(shortUrl(c.req.valid("param").code));
    return c.body(png, 200, imageHeaders("image/png"));
  });
}
