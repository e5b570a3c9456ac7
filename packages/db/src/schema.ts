import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  index,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

/**
 * One row per short link. The same table exists on every shard primary; a code lives on the
 * shard that `shardFor(code)` names and nowhere else.
 */
export const links = pgTable(
  "links",
  {
    code: text("code").primaryKey(),
    target: text("target").notNull(),
    redirectStatus: smallint("redirect_status").notNull().default(302),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }),
    deletedAt: timestamp("deleted_at", { withTimezone: true, mode: "date" }),
    /** SHA-256 (hex) of the edit token handed out once at creation; the token itself is never stored. */
    editTokenHash: text("edit_token_hash").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    check("links_redirect_status_check", sql`${t.redirectStatus} in (301, 302, 307, 308)`),
    index("links_expires_at_idx").on(t.expiresAt),
    // The resharding mover follows changes by a watermark on updated_at (apps/origin/src/reshard).
    index("links_updated_at_idx").on(t.updatedAt),
  ],
);

export type LinkRow = typeof links.$inferSelect;
export type NewLinkRow = typeof links.$inferInsert;

/**
 * Click counts per (code, hour, outcome, country, referrer host, device, bot), written by the
 * origin once per Queue batch per shard (apps/origin/src/stats/README.md). Unknown country or
 * referrer is '' rather than NULL, because the columns form the primary key the upsert targets.
 */
export const clickRollups = pgTable(
  "click_rollups",
  {
    code: text("code").notNull(),
    hour: timestamp("hour", { withTimezone: true, mode: "date" }).notNull(),
    outcome: text("outcome").notNull(),
    country: text("country").notNull(),
    referrerHost: text("referrer_host").notNull(),
    device: text("device").notNull(),
    bot: boolean("bot").notNull(),
    count: bigint("count", { mode: "number" }).notNull(),
  },
  (t) => [
    primaryKey({
      name: "click_rollups_pkey",
      columns: [t.code, t.hour, t.outcome, t.country, t.referrerHost, t.device, t.bot],
    }),
    check("click_rollups_outcome_check", sql`${t.outcome} in ('redirect', 'not_found', 'gone')`),
    check("click_rollups_count_check", sql`${t.count} > 0`),
  ],
);

/**
 * Queue messages already counted on this shard: inserted in the same transaction as their
 * rollups, so a redelivered message finds its id here and adds nothing.
 */
export const clickBatches = pgTable(
  "click_batches",
  {
    id: text("id").primaryKey(),
    countedAt: timestamp("counted_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  // The ingest prunes ids older than the Queue's retention by this index (rollup-writer.ts).
  (t) => [index("click_batches_counted_at_idx").on(t.countedAt)],
);

export type ClickRollupRow = typeof clickRollups.$inferSelect;

/**
 * Chunks of click rollups a resharding has already added to a code's new shard (one id per
 * chunk, written in the same transaction as the counts), so a mover that crashed between adding
 * them there and deleting them from the old shard never adds them twice (apps/origin/src/reshard).
 */
export const reshardMoves = pgTable("reshard_moves", {
  id: text("id").primaryKey(),
  movedAt: timestamp("moved_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
});
