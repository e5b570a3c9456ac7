import {
  type LinkFound,
  type LinkGone,
  REDIRECT_STATUSES,
  type RedirectStatus,
} from "@firstclick/core";
import { reconnectBackoff } from "@firstclick/db";
import postgres, { type Sql } from "postgres";

export interface DatabaseOptions {
  nodeId: string;
  poolMax: number;
  statementTimeoutMs: number;
}

/**
 * The gateway's connection pool to its own node. Every session is read-only
 * (`default_transaction_read_only`): the gateway never writes, on a primary either, so a bug can
 * not turn a read path into a write. `statement_timeout` bounds every query.
 */
export function connect(url: string, o: DatabaseOptions): Sql {
  return postgres(url, {
    max: o.poolMax,
    // Seconds. Short: a dead node should fail the health check and the request quickly, so the
    // edge moves on to another node well within its own per-attempt timeout.
    connect_timeout: 2,
    backoff: reconnectBackoff,
    idle_timeout: 60,
    onnotice: () => {},
    connection: {
      application_name: `firstclick-gateway-${o.nodeId}`,
      default_transaction_read_only: true,
      statement_timeout: o.statementTimeoutMs,
    },
  });
}

/** The answer bodies are core's contract (link-answer.ts): the edge checks them with its schemas. */
export type LinkLookup =
  | { kind: "found"; link: LinkFound }
  | { kind: "gone"; link: LinkGone }
  | { kind: "missing" }
  /** The node has not replayed `minLsn` yet: its answer could be stale (strategy `position`). */
  | { kind: "behind"; replayLsn: string };

function isRedirectStatus(status: number): status is RedirectStatus {
  return (REDIRECT_STATUSES as readonly number[]).includes(status);
}

interface LookupRow {
  /** Null on a primary (its WAL is the newest there is). */
  replay_lsn: string | null;
  reached: boolean;
  code: string | null;
  target: string | null;
  redirect_status: number | null;
  expires_at: Date | null;
  updated_at: Date | null;
  deleted: boolean | null;
  expired: boolean | null;
}

/**
 * One primary-key lookup, a named prepared statement (postgres.js prepares tagged templates).
 * Expiry is judged with the database's clock, the same clock that wrote `expires_at`.
 *
 * With `minLsn` (strategy `position`) the same statement also says whether this node has
 * replayed that far: one comparison in the lookup's own query, no extra round trip. A primary
 * has everything it acknowledged. PostgreSQL takes the statement's snapshot before it evaluates
 * pg_last_wal_replay_lsn(), so that reading can be a little past what the snapshot holds: the
 * caller judges with a position read by an earlier, finished lookup (app.ts, `read`).
 * `replayLsn` is this statement's reading (null on a primary).
 */
export async function findLink(
  sql: Sql,
  code: string,
  minLsn?: string,
): Promise<{ lookup: LinkLookup; replayLsn: string | null }> {
  const rows = await lookupRows(sql, code, minLsn);
  const row = rows[0];
  return { lookup: lookupOf(row), replayLsn: row?.replay_lsn ?? null };
}

function lookupRows(sql: Sql, code: string, minLsn: string | undefined) {
  return sql<LookupRow[]>`
    with pos as (
      select case when pg_is_in_recovery() then pg_last_wal_replay_lsn() end as replay_lsn
    )
    select pos.replay_lsn::text as replay_lsn,
           coalesce(pos.replay_lsn >= ${minLsn ?? "0/0"}::pg_lsn, true) as reached,
           l.code, l.target, l.redirect_status, l.expires_at, l.updated_at,
           l.deleted_at is not null as deleted,
           coalesce(l.expires_at <= now(), false) as expired
    from pos left join links l on l.code = ${code}`;
}

function lookupOf(row: LookupRow | undefined): LinkLookup {
  if (row && !row.reached) return { kind: "behind", replayLsn: row.replay_lsn ?? "0/0" };
  if (!row?.code || row.target === null || row.redirect_status === null || !row.updated_at) {
    return { kind: "missing" };
  }
  const updatedAt = row.updated_at.toISOString();
  // Deleted wins over expired: it is the more deliberate state.
  if (row.deleted || row.expired) {
    const reason = row.deleted ? "deleted" : "expired";
    return { kind: "gone", link: { code: row.code, reason, updatedAt } };
  }
  // The table's CHECK allows only these; a row outside them is corrupt, and a 503 sends the edge
  // to another node rather than redirecting with a status no browser expects.
  if (!isRedirectStatus(row.redirect_status)) {
    throw new Error(`link ${row.code} has redirect status ${row.redirect_status}`);
  }
  return {
    kind: "found",
    link: {
      code: row.code,
      url: row.target,
      redirectStatus: row.redirect_status,
      expiresAt: row.expires_at ? row.expires_at.toISOString() : null,
      updatedAt,
    },
  };
}

export interface NodeHealth {
  role: "primary" | "replica";
  /** Primary: the current WAL insert position. Replica: the last WAL position received. */
  lsn: string | null;
  /** Replica: the last WAL position replayed (visible to reads). Primary: null. */
  replayLsn: string | null;
  /** Replica: age of the last replayed transaction while WAL is waiting to be replayed; else 0. */
  lagSeconds: number;
}

interface HealthRow {
  in_recovery: boolean;
  lsn: string | null;
  replay_lsn: string | null;
  lag_seconds: number | null;
}

export async function nodeHealth(sql: Sql): Promise<NodeHealth> {
  // pg_current_wal_lsn() raises an error during recovery: the CASE keeps it off replicas.
  const rows = await sql<HealthRow[]>`
    select pg_is_in_recovery() as in_recovery,
           case when pg_is_in_recovery() then pg_last_wal_receive_lsn()::text
                else pg_current_wal_lsn()::text end as lsn,
           case when pg_is_in_recovery() then pg_last_wal_replay_lsn()::text end as replay_lsn,
           case when not pg_is_in_recovery() then 0
                when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
                else coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0)
           end::float8 as lag_seconds`;
  const row = rows[0];
  if (!row) throw new Error("health query returned no row");
  return {
    role: row.in_recovery ? "replica" : "primary",
    lsn: row.lsn,
    replayLsn: row.replay_lsn,
    lagSeconds: Math.max(0, row.lag_seconds ?? 0),
  };
}
