import { z } from "@hono/zod-openapi";

/** Query and answer of `GET /api/links/{code}/stats` (OpenAPI documented from these). */

export const STATS_INTERVALS = ["hour", "day"] as const;
export type StatsInterval = (typeof STATS_INTERVALS)[number];

/** The longest range per interval: a chart of at most ~750 points. */
export const MAX_RANGE_MS: Record<StatsInterval, number> = {
  hour: 31 * 86_400_000,
  day: 731 * 86_400_000,
};
/** Without `from`: the last day by hour, the last 30 days by day. */
export const DEFAULT_RANGE_MS: Record<StatsInterval, number> = {
  hour: 86_400_000,
  day: 30 * 86_400_000,
};

export const StatsQuerySchema = z.object({
  from: z.iso
    .datetime({ offset: true, error: "from must be an ISO 8601 date-time with a zone" })
    .optional()
    .openapi({ example: "2026-11-01T00:00:00Z", description: "Start (inclusive)." }),
  to: z.iso
    .datetime({ offset: true, error: "to must be an ISO 8601 date-time with a zone" })
    .optional()
    .openapi({ description: "End (exclusive); default now." }),
  interval: z
    .enum(STATS_INTERVALS, { error: "interval is hour or day" })
    .optional()
    .openapi({ description: "Bucket of the series; default hour." }),
});

const Count = z.int().min(0);

export const StatsSchema = z
  .object({
    code: z.string(),
    from: z.string(),
    to: z.string(),
    interval: z.enum(STATS_INTERVALS),
    total: Count,
    outcomes: z.object({ redirect: Count, not_found: Count, gone: Count }),
    bots: z.object({ count: Count, share: z.number().min(0).max(1) }),
    series: z.array(z.object({ t: z.string(), count: Count })),
    countries: z.array(z.object({ country: z.string().nullable(), count: Count })),
    referrers: z.array(z.object({ host: z.string().nullable(), count: Count })),
    devices: z.array(z.object({ device: z.string(), count: Count })),
  })
  .openapi("LinkStats");
export type Stats = z.infer<typeof StatsSchema>;
