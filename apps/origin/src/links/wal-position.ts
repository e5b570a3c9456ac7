import { type Position, parsePosition } from "@firstclick/core";
import type { Sql } from "postgres";
import type { ReplicationStatus } from "./store.ts";

/**
 * Where a committed write sits in the shard primary's WAL (strategy `position`), and who has
 * replayed it. Why these functions, in short (the long form is docs/architecture.md, Origin):
 *
 * - `pg_current_wal_flush_lsn()`, read on the connection that just committed, after COMMIT
 *   returned. With synchronous_commit `on`, `local` or `remote_apply` (ours: the default, or
 *   remote_apply per transaction) COMMIT returns only once the commit record is flushed, so the
 *   flush position is at or after that record's end; it is the smallest of flush ≤ write ≤
 *   insert, so the tightest bound, and it is exactly what walsenders stream: a replica can reach
 *   it, never a position past it. With synchronous_commit `off` the commit record may not be
 *   flushed yet: only the insert position is then sure to be past it, so we read that instead.
 * - The timeline: the first 8 hex digits of `pg_walfile_name()` are the primary's current
 *   (insert) timeline; `pg_control_checkpoint().timeline_id` lags until the first checkpoint
 *   after a promotion.
 */

interface PositionRow {
  lsn: string;
  walfile: string;
}

export async function writePosition(conn: Sql, shard: string): Promise<Position> {
  const rows = await conn<PositionRow[]>`
    with p as (
      select case when current_setting('synchronous_commit') = 'off'
        then pg_current_wal_insert_lsn() else pg_current_wal_flush_lsn() end as lsn
    )
    select lsn::text as lsn, pg_walfile_name(lsn) as walfile from p`;
  const row = rows[0];
  const timeline = row ? Number.parseInt(row.walfile.slice(0, 8), 16) : Number.NaN;
  const position = row ? parsePosition(`${shard}:${timeline}/${row.lsn}`) : null;
  if (!position) throw new Error(`unexpected WAL position ${JSON.stringify(row)}`);
  return position;
}

interface ReplicationRow {
  replicas: number;
  caught_up: number;
}

/**
 * One query on the primary. `replay_lsn` is what each standby last reported (its status
 * messages: on receipt of WAL and every `wal_receiver_status_interval`), so it can trail the
 * real replay by up to that interval: `caughtUp` errs on the low side, never the high side.
 * States `catchup` and `streaming` are replicas; `backup` is a pg_basebackup, not one.
 */
export async function replicationStatus(sql: Sql, lsn: string | null): Promise<ReplicationStatus> {
  const rows = await sql<ReplicationRow[]>`
    select count(*)::int as replicas,
      count(*) filter (
        where replay_lsn >= coalesce(${lsn}::pg_lsn, pg_current_wal_flush_lsn())
      )::int as caught_up
    from pg_stat_replication
    where state in ('catchup', 'streaming')`;
  const row = rows[0];
  return { replicas: row?.replicas ?? 0, caughtUp: row?.caught_up ?? 0 };
}
