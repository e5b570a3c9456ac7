import { z } from "zod";
import {
  CLICK_OUTCOMES,
  ClickCodeSchema,
  type ClickEvent,
  CountrySchema,
  DEVICE_CLASSES,
  hourOf,
  ReferrerHostSchema,
} from "./event.ts";

/**
 * Click counts aggregated by (code, hour, outcome, country, referrer host, device, bot): what the
 * Queue consumer sends to the origin and what the shards store, one row per distinct key.
 */
export const RollupRowSchema = z.strictObject({
  code: ClickCodeSchema,
  /** Start of the UTC hour, epoch seconds. */
  hour: z
    .int()
    .min(0)
    .refine((s) => s % 3600 === 0, "hour must be the start of an hour (epoch seconds)"),
  outcome: z.enum(CLICK_OUTCOMES),
  country: CountrySchema.nullable(),
  referrerHost: ReferrerHostSchema.nullable(),
  device: z.enum(DEVICE_CLASSES),
  bot: z.boolean(),
  count: z.int().min(1).max(1_000_000_000),
});
export type RollupRow = z.infer<typeof RollupRowSchema>;

/**
 * The deduplication unit: one Queue message (one isolate's flush). Its id is the Queue's message
 * id, which stays the same on every redelivery, whatever batch the message is redelivered in.
 */
export const ClickDeliverySchema = z.strictObject({
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9_:.-]+$/),
  rows: z.array(RollupRowSchema).max(10_000),
});
export type ClickDelivery = z.infer<typeof ClickDeliverySchema>;

/** Most deliveries per request: a consumer batch is at most 100 messages (wrangler's limit). */
export const MAX_DELIVERIES_PER_INGEST = 100;

/** `POST /api/_internal/clicks` body (consumer → origin). */
export const ClickIngestSchema = z.strictObject({
  deliveries: z.array(ClickDeliverySchema).min(1).max(MAX_DELIVERIES_PER_INGEST),
});
export type ClickIngest = z.infer<typeof ClickIngestSchema>;

/** `200` answer of the ingest route: how many deliveries were counted now and how many before. */
export const ClickIngestResultSchema = z.strictObject({
  counted: z.int().min(0),
  duplicates: z.int().min(0),
});
export type ClickIngestResult = z.infer<typeof ClickIngestResultSchema>;

type RollupKey = Omit<RollupRow, "count">;

function keyOf(r: RollupKey): string {
  // JSON of a fixed field order: unambiguous whatever characters the values hold.
  return JSON.stringify([r.code, r.hour, r.outcome, r.country, r.referrerHost, r.device, r.bot]);
}

/** Sums rows that share a key (rows of several deliveries, or events already rolled up). */
export function mergeRollups(rows: Iterable<RollupRow>): RollupRow[] {
  const byKey = new Map<string, RollupRow>();
  for (const row of rows) {
    const key = keyOf(row);
    const seen = byKey.get(key);
    if (seen) seen.count += row.count;
    else byKey.set(key, { ...row });
  }
  return [...byKey.values()];
}

/** Counts events by their rollup key (the hour of `at`, and every other field as is). */
export function rollUp(events: Iterable<ClickEvent>): RollupRow[] {
  const rows: RollupRow[] = [];
  for (const e of events) {
    rows.push({
      code: e.code,
      hour: hourOf(e.at),
      outcome: e.outcome,
      country: e.country,
      referrerHost: e.referrerHost,
      device: e.device,
      bot: e.bot,
      count: 1,
    });
  }
  return mergeRollups(rows);
}
