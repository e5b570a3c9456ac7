import { isLsn, REDIRECT_STATUSES } from "@firstclick/core";
import { z } from "zod";

/**
 * What both tiers hold for a code: the gateway's answer without anything request-specific (no
 * cookies, no route, no position), when it was fetched, and until when it may be served.
 */

const isoTime = z.iso.datetime({ offset: true });

export const CachedAnswerSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("found"),
    url: z.string().max(4096),
    redirectStatus: z.union(REDIRECT_STATUSES.map((s) => z.literal(s))),
    updatedAt: isoTime,
  }),
  z.object({
    kind: z.literal("gone"),
    reason: z.enum(["deleted", "expired"]),
    updatedAt: isoTime.optional(),
  }),
]);
export type CachedAnswer = z.infer<typeof CachedAnswerSchema>;

/**
 * Where a replica's answer was read (its gateway's `lsn`, core's link-answer.ts): every write to
 * `shard` on `timeline` up to `lsn` is in it, so it serves a position token for the same shard and
 * timeline at or before `lsn` (link-cache.ts). Absent for a primary's answer.
 */
export const EntryPositionSchema = z.object({
  shard: z.string().min(1).max(64),
  timeline: z.number().int().positive(),
  lsn: z.string().refine(isLsn),
});
export type EntryPosition = z.infer<typeof EntryPositionSchema>;

export const CacheEntrySchema = z.object({
  answer: CachedAnswerSchema,
  position: EntryPositionSchema.optional(),
  /** When a gateway gave this answer (ms since the epoch). */
  fetchedAtMs: z.number().int().nonnegative(),
  /** Past this the entry is not served, whatever a tier still holds. */
  expiresAtMs: z.number().int().nonnegative(),
});
export type CacheEntry = z.infer<typeof CacheEntrySchema>;

/**
 * Bookkeeping a memory entry costs beyond its strings. bench/cache-memory.ts measured 277 B of
 * V8 heap per entry with 65 characters of strings (one byte each for ASCII), so about 210 B of
 * objects and LRU slots; charging 200 B plus two bytes per character (330 B there) keeps the
 * real heap under CACHE_MAX_BYTES.
 */
export const ENTRY_OVERHEAD_BYTES = 200;

/** What an entry is charged against CACHE_MAX_BYTES (strings as UTF-16, the worst case). */
export function entryBytes(code: string, entry: CacheEntry): number {
  const a = entry.answer;
  const p = entry.position;
  const strings =
    code.length +
    (a.kind === "found" ? a.url.length : 0) +
    (a.updatedAt?.length ?? 0) +
    (p ? p.shard.length + p.lsn.length : 0);
  return ENTRY_OVERHEAD_BYTES + 2 * strings;
}
