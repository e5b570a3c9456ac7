import { sql } from "drizzle-orm";
import { check, index, pgTable, smallint, text, timestamp } from "drizzle-orm/pg-core";

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
  ],
);

export type LinkRow = typeof links.$inferSelect;
export type NewLinkRow = typeof links.$inferInsert;
