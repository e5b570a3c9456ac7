/** What a node says about itself: recovery, WAL position, replay pause, lag, its streamers. */
import type { NodeLayout } from "../layout.ts";
import { errorMessage } from "../poll.ts";
import { withSql } from "./sql.ts";

export interface NodeHealth {
  reachable: boolean;
  inRecovery: boolean | null;
  lsn: string | null;
  replayPaused: boolean | null;
  lagSeconds: number | null;
  /** On a primary: the replicas streaming from it (application_name = node id). */
  streaming: { name: string; state: string; replayLsn: string | null }[];
  error: string | null;
}

/** The health of a node that could not be asked (not running, or not answering). */
export function unreachableHealth(error: string): NodeHealth {
  return {
    reachable: false,
    inRecovery: null,
    lsn: null,
    replayPaused: null,
    lagSeconds: null,
    streaming: [],
    error,
  };
}

export async function isInRecovery(node: NodeLayout): Promise<boolean> {
  return withSql(node.pg.port, async (sql) => {
    const rows = await sql<{ r: boolean }[]>`SELECT pg_is_in_recovery() AS r`;
    return rows[0]?.r === true;
  });
}

export async function nodeHealth(node: NodeLayout): Promise<NodeHealth> {
  try {
    return await withSql(node.pg.port, async (sql) => {
      const [row] = await sql<
        { recovery: boolean; lsn: string | null; paused: boolean | null; lag: number | null }[]
      >`SELECT pg_is_in_recovery() AS recovery,
               (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                     ELSE pg_current_wal_lsn() END)::text AS lsn,
               (CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END) AS paused,
               (CASE WHEN NOT pg_is_in_recovery() THEN NULL
                     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                     ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
                END)::float8 AS lag`;
      const streaming = await sql<{ name: string; state: string; replay_lsn: string | null }[]>`
        SELECT application_name AS name, state, replay_lsn::text AS replay_lsn
        FROM pg_stat_replication ORDER BY application_name`;
      return {
        reachable: true,
        inRecovery: row?.recovery ?? null,
        lsn: row?.lsn ?? null,
        replayPaused: row?.paused ?? null,
        lagSeconds: row?.lag ?? null,
        streaming: streaming.map((s) => ({
          name: s.name,
          state: s.state,
          replayLsn: s.replay_lsn,
        })),
        error: null,
      };
    });
  } catch (error) {
    return unreachableHealth(errorMessage(error));
  }
}
