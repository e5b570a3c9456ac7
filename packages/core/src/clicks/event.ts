import { z } from "zod";

/**
 * One answered redirect, as the edge records it. Deliberately coarse: no IP address, no user
 * agent, no full referrer (only its host), so a click event identifies nobody.
 */

/** What the edge answered: a redirect, a 404 (unknown, or not yet replicated) or a 410. */
export const CLICK_OUTCOMES = ["redirect", "not_found", "gone"] as const;
export type ClickOutcome = (typeof CLICK_OUTCOMES)[number];

export const DEVICE_CLASSES = ["desktop", "mobile", "tablet", "other"] as const;
export type DeviceClass = (typeof DEVICE_CLASSES)[number];

/** ISO 3166-1 alpha-2 as Cloudflare reports it (`T1` = Tor, `XX` = unknown are kept as given). */
export const CountrySchema = z.string().regex(/^[A-Z0-9]{2}$/);
/** A DNS name (lower case, ≤ 253): the referrer's host, never its path or query. */
export const ReferrerHostSchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9.:[\]-]+$/);
/** Codes as the edge accepts them (core's isShortCode): alias-shaped, at most 64. */
export const ClickCodeSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/);

export const ClickEventSchema = z.strictObject({
  code: ClickCodeSchema,
  /** Epoch milliseconds at the edge. */
  at: z.int().min(0),
  outcome: z.enum(CLICK_OUTCOMES),
  country: CountrySchema.nullable(),
  referrerHost: ReferrerHostSchema.nullable(),
  device: z.enum(DEVICE_CLASSES),
  bot: z.boolean(),
});
export type ClickEvent = z.infer<typeof ClickEventSchema>;

/**
 * Most events one queue message carries. A message is one flush of one isolate's buffer; 100
 * events of ≤ ~350 bytes of JSON stay far below a Queue message's 128 KB.
 */
export const MAX_EVENTS_PER_MESSAGE = 100;

/** The body of one Queue message: a batch of events from one isolate. */
export const ClickMessageSchema = z.strictObject({
  v: z.literal(1),
  events: z.array(ClickEventSchema).min(1).max(MAX_EVENTS_PER_MESSAGE),
});
export type ClickMessage = z.infer<typeof ClickMessageSchema>;

const HOUR_MS = 3_600_000;

/** The start of the UTC hour of `atMs`, in epoch seconds (the rollups' time bucket). */
export function hourOf(atMs: number): number {
  return (Math.floor(atMs / HOUR_MS) * HOUR_MS) / 1000;
}
