import type { HashRing } from "@firstclick/core";
import type { Sql } from "postgres";
import { groupBy } from "./copy.ts";
import type { Progress, SourceProgress } from "./etcd.ts";

/**
 * Cleanup, once every origin and edge serves from the new ring: each old shard loses the links
 * it no longer owns, and their click rollups are merged into the new shard (counts added).
 *
 * Rollups are not copied before the switch: they are additive, the ingest keeps writing them
 * to whichever shard owns the code at that moment, and the sum over both shards is the count.
 * Adding them to the new shard and deleting them from the old one are two databases, so each
 * chunk is named in the progress (etcd) before it starts and marked on the new shard
 * (`reshard_moves`) in the same transaction as its counts: a mover that crashed in between
 * finds the mark on resume and only deletes.
 */

export const CLEANUP_SCAN = 5_000;

export interface CleanupDeps {
  reshardId: string;
  sourceShard: string;
  source: Sql;
  to: HashRing;
  targetSql: (shard: string) => Sql;
  progress: Progress;
  state: SourceProgress;
  save: () => Promise<void>;
}

async function finishChunk(d: CleanupDeps, key: string, codes: readonly string[]): Promise<void> {
  const byTarget = groupBy(codes, (code) => d.to.shardFor(code));
  for (const [shard, list] of byTarget) {
    const rollups = await d.source`
      select code, hour::text, outcome, country, referrer_host, device, bot::text, count::text
      from click_rollups where code = any(${list}::text[])`;
    const target = d.targetSql(shard);
    await target.begin(async (tx) => {
      const [fresh] = await tx`
        insert into reshard_moves (id) values (${`${key}@${shard}`})
        on conflict do nothing returning id`;
      if (!fresh || rollups.length === 0) return;
      const col = (k: string) => rollups.map((r) => r[k]);
      await tx`
        insert into click_rollups (code, hour, outcome, country, referrer_host, device, bot, count)
        select * from unnest(${col("code")}::text[], ${col("hour")}::text[]::timestamptz[],
          ${col("outcome")}::text[], ${col("country")}::text[], ${col("referrer_host")}::text[],
          ${col("device")}::text[], ${col("bot")}::text[]::boolean[], ${col("count")}::text[]::bigint[])
        on conflict on constraint click_rollups_pkey
        do update set count = click_rollups.count + excluded.count`;
    });
  }
  await d.source.begin(async (tx) => {
    await tx`delete from click_rollups where code = any(${codes as string[]}::text[])`;
    await tx`delete from links where code = any(${codes as string[]}::text[])`;
  });
  d.state.deleted += codes.length;
}

/** Deletes (and merges) everything `sourceShard` no longer owns; resumable from the progress. */
export async function cleanupSource(d: CleanupDeps): Promise<void> {
  const pending = d.progress.pending;
  if (pending && pending.source === d.sourceShard) {
    await finishChunk(d, pending.key, pending.codes);
    d.progress.pending = null;
    await d.save();
  }
  for (;;) {
    const after = d.state.cleanedTo ?? "";
    const rows = await d.source<{ code: string }[]>`
      select code from links where code > ${after} order by code limit ${CLEANUP_SCAN}`;
    if (rows.length === 0) break;
    const moved = rows.map((r) => r.code).filter((c) => d.to.shardFor(c) !== d.sourceShard);
    const last = (rows[rows.length - 1] as { code: string }).code;
    if (moved.length > 0) {
      const key = `${d.reshardId}:${d.sourceShard}:${moved[0]}`;
      d.progress.pending = { source: d.sourceShard, key, codes: moved };
      await d.save();
      await finishChunk(d, key, moved);
      d.progress.pending = null;
    }
    d.state.cleanedTo = last;
    await d.save();
    if (rows.length < CLEANUP_SCAN) break;
  }
  d.state.cleaned = true;
  await d.save();
}
