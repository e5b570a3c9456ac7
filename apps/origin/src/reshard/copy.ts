import type { HashRing } from "@firstclick/core";
import type { Sql } from "postgres";

/**
 * Copying a source shard's moving links to their new shards, by a watermark on `updated_at`.
 *
 * Why a watermark and not logical replication: a publication's row filter may not call a
 * user-defined function, and a code's owner is murmur3 over the ring (core ring.ts), so the
 * filter would have to publish every row. Deletes are soft (`deleted_at` and `updated_at` are
 * set in the same UPDATE), so every change a link ever sees moves its `updated_at` to the
 * writing transaction's `now()`; a watermark on it sees creates, edits and deletes alike, needs
 * no replication slot on the source (a crashed mover's slot would keep WAL forever) and resumes
 * from one timestamp.
 *
 * `now()` is the transaction's start, and a transaction may commit long after: each pass
 * therefore starts its successor's watermark at the older of the pass's start and the oldest
 * transaction still open on the source, so a write that commits during a pass is read by the
 * next one. The upsert keeps the newer row (`updated_at`), so reading a row twice is harmless.
 */

export const COPY_BATCH = 1_000;

// Timestamps travel as text (`::text` out, `::text::timestamptz` in): a parameter typed
// timestamptz goes through postgres.js's Date serializer, which drops the microseconds, and a
// keyset cursor that lost them never moves past rows written in the same millisecond.

export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

interface LinkRowText {
  code: string;
  target: string;
  redirect_status: number;
  expires_at: string | null;
  deleted_at: string | null;
  edit_token_hash: string;
  created_at: string;
  updated_at: string;
}

export interface PassResult {
  scanned: number;
  copied: number;
  /** Where the next pass starts. */
  watermark: string;
}

/** The next pass's watermark: the older of now and the oldest open transaction's start. */
async function nextWatermark(source: Sql): Promise<string> {
  const [row] = await source<{ at: string }[]>`
    select least(now(), coalesce(min(xact_start), now()))::text as at
    from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null`;
  if (!row) throw new Error("pg_stat_activity answered no row");
  return row.at;
}

/** Upserts rows into a shard, keeping whichever version is newer. */
export async function upsertLinks(target: Sql, rows: readonly LinkRowText[]): Promise<void> {
  if (rows.length === 0) return;
  const col = <K extends keyof LinkRowText>(k: K) => rows.map((r) => r[k]);
  await target`
    insert into links (code, target, redirect_status, expires_at, deleted_at, edit_token_hash, created_at, updated_at)
    select * from unnest(
      ${col("code")}::text[], ${col("target")}::text[], ${col("redirect_status")}::int[]::smallint[],
      ${col("expires_at")}::text[]::timestamptz[], ${col("deleted_at")}::text[]::timestamptz[],
      ${col("edit_token_hash")}::text[], ${col("created_at")}::text[]::timestamptz[],
      ${col("updated_at")}::text[]::timestamptz[])
    on conflict (code) do update set
      target = excluded.target, redirect_status = excluded.redirect_status,
      expires_at = excluded.expires_at, deleted_at = excluded.deleted_at,
      edit_token_hash = excluded.edit_token_hash, created_at = excluded.created_at,
      updated_at = excluded.updated_at
    where links.updated_at <= excluded.updated_at`;
}

/**
 * One pass over `source`: every link changed at or after `watermark` (null: all of them) whose
 * owner under `to` is another shard is upserted there. `targetSql(shard)` gives that shard's
 * primary.
 */
export async function copyPass(input: {
  sourceShard: string;
  source: Sql;
  to: HashRing;
  watermark: string | null;
  targetSql: (shard: string) => Sql;
}): Promise<PassResult> {
  const watermark = await nextWatermark(input.source);
  let scanned = 0;
  let copied = 0;
  let cursor: { at: string; code: string } | null =
    input.watermark === null ? null : { at: input.watermark, code: "" };
  for (;;) {
    const rows: LinkRowText[] = await input.source<LinkRowText[]>`
      select code, target, redirect_status, expires_at::text, deleted_at::text,
             edit_token_hash, created_at::text, updated_at::text
      from links
      ${cursor ? input.source`where (updated_at, code) > (${cursor.at}::text::timestamptz, ${cursor.code})` : input.source``}
      order by updated_at, code
      limit ${COPY_BATCH}`;
    if (rows.length === 0) break;
    scanned += rows.length;
    const moving = rows.filter((r) => input.to.shardFor(r.code) !== input.sourceShard);
    const byTarget = groupBy(moving, (r) => input.to.shardFor(r.code));
    for (const [shard, list] of byTarget) {
      await upsertLinks(input.targetSql(shard), list);
      copied += list.length;
    }
    const last = rows[rows.length - 1] as LinkRowText;
    cursor = { at: last.updated_at, code: last.code };
    if (rows.length < COPY_BATCH) break;
  }
  return { scanned, copied, watermark };
}
