/**
 * Streaming replication between manual-mode nodes: slots, waiting for replay, promotion,
 * re-pointing a replica, pg_rewind of a former primary, and the timeline history a promotion
 * leaves behind (recorded in etcd for issue 12).
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { NodeLayout } from "../layout.ts";
import { poll } from "../poll.ts";
import { slotName, writeNodeConfig, writeStandbyConfig } from "./config.ts";
import { isInRecovery } from "./health.ts";
import { pgRun, removeStalePidFile } from "./process.ts";
import { conninfo, type PgContext, withSql } from "./sql.ts";

/** The primary's current WAL position, to wait for replicas to replay up to it. */
export async function currentLsn(primary: NodeLayout): Promise<string> {
  return withSql(primary.pg.port, async (sql) => {
    const rows = await sql<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`;
    const lsn = rows[0]?.lsn;
    if (!lsn) throw new Error(`${primary.id} reported no WAL position`);
    return lsn;
  });
}

export async function waitForReplay(replica: NodeLayout, lsn: string): Promise<void> {
  await poll(
    () =>
      withSql(
        replica.pg.port,
        async (sql) => {
          const rows = await sql<{ ok: boolean | null }[]>`
          SELECT pg_last_wal_replay_lsn() >= ${lsn}::pg_lsn AS ok`;
          return rows[0]?.ok === true ? true : undefined;
        },
        "postgres",
      ),
    { timeoutMs: 60_000, what: `${replica.id} to replay up to ${lsn}` },
  );
}

export async function setReplayPaused(node: NodeLayout, paused: boolean): Promise<void> {
  await withSql(node.pg.port, async (sql) => {
    const rows = await sql<{ r: boolean }[]>`SELECT pg_is_in_recovery() AS r`;
    if (rows[0]?.r !== true) {
      throw new Error(`${node.id} is not a replica: replay cannot be paused`);
    }
    if (paused) await sql`SELECT pg_wal_replay_pause()`;
    else await sql`SELECT pg_wal_replay_resume()`;
  });
}

/** SELECT pg_promote(), then wait until the node accepts writes. */
export async function promoteNode(node: NodeLayout): Promise<void> {
  await withSql(node.pg.port, async (sql) => {
    const rows = await sql<{ r: boolean }[]>`SELECT pg_is_in_recovery() AS r`;
    if (rows[0]?.r !== true) throw new Error(`${node.id} is already a primary`);
    // A paused replay would hold the promotion back: resume first.
    await sql`SELECT pg_wal_replay_resume()`;
    await sql`SELECT pg_promote(true, 60)`;
  });
  await poll(async () => ((await isInRecovery(node)) ? undefined : true), {
    timeoutMs: 60_000,
    what: `${node.id} to leave recovery`,
  });
  await withSql(node.pg.port, async (sql) => {
    // It follows nobody now; drop the stale pointer so nothing reads it later.
    await sql`ALTER SYSTEM RESET primary_conninfo`;
    await sql`ALTER SYSTEM RESET primary_slot_name`;
    await sql`SELECT pg_reload_conf()`;
  });
}

/**
 * A physical slot for `replica` on `primary`, reserving WAL from now on (immediately_reserve):
 * created before the primary writes anything, it keeps every record a fresh replica needs.
 */
export async function ensureSlot(primary: NodeLayout, replica: NodeLayout): Promise<void> {
  // The `postgres` database: at start-up `firstclick` does not exist yet.
  await withSql(
    primary.pg.port,
    async (sql) => {
      const name = slotName(replica);
      const existing = await sql`SELECT 1 FROM pg_replication_slots WHERE slot_name = ${name}`;
      if (existing.length === 0) {
        await sql`SELECT pg_create_physical_replication_slot(${name}, true)`;
      }
    },
    "postgres",
  );
}

/** Points a running replica at a new primary (primary_conninfo is reloadable since PG 13). */
export async function repointReplica(primary: NodeLayout, replica: NodeLayout): Promise<void> {
  await ensureSlot(primary, replica);
  await withSql(replica.pg.port, async (sql) => {
    await sql.unsafe(`ALTER SYSTEM SET primary_conninfo = '${conninfo(primary.pg.port)}'`);
    await sql.unsafe(`ALTER SYSTEM SET primary_slot_name = '${slotName(replica)}'`);
    await sql`SELECT pg_reload_conf()`;
  });
}

/**
 * Turns a stopped (or killed) former primary into a replica of `primary`: pg_rewind (which runs
 * crash recovery first when the node was killed), then our own config (pg_rewind copied the new
 * primary's, port included), standby.signal, primary_conninfo and a slot on the new primary.
 */
export async function rewindAsReplica(
  ctx: PgContext,
  node: NodeLayout,
  primary: NodeLayout,
): Promise<void> {
  await removeStalePidFile(node.pg.dataDir);
  // pg_rewind reads the source's timeline from pg_control, which a promoted node updates only
  // at its next checkpoint: without this, it sees "same timeline" and rewinds nothing.
  await withSql(primary.pg.port, async (sql) => {
    await sql`CHECKPOINT`;
  });
  await pgRun(
    ctx,
    "pg_rewind",
    ["--target-pgdata", node.pg.dataDir, "--source-server", conninfo(primary.pg.port), "--no-sync"],
    { cwd: node.pg.dataDir, timeoutMs: 120_000 },
  );
  await writeNodeConfig(ctx, node);
  await writeStandbyConfig(node, primary);
  // Slots this node held as a primary would pin WAL forever on a standby.
  const slotDir = join(node.pg.dataDir, "pg_replslot");
  for (const entry of await readdir(slotDir).catch(() => [] as string[])) {
    await rm(join(slotDir, entry), { recursive: true, force: true });
  }
  await ensureSlot(primary, node);
}

/** One past timeline: it forked into the next one at `switchLsn`. */
export interface TimelineEntry {
  timeline: number;
  switchLsn: string;
}

/** At most this many past timelines are kept in etcd: the newest ones. */
export const HISTORY_LIMIT = 32;

const HISTORY_LINE = /^(\d+)\s+([0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8})(?:\s|$)/;

/**
 * Parses a `<timeline>.history` file: one `<parentTLI>\t<switchpoint LSN>\t<reason>` line per
 * past timeline, oldest first; blank and `#` lines are skipped, as PostgreSQL does. Throws on
 * any other line rather than publish a history that is not the node's.
 */
export function parseTimelineHistory(text: string): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = HISTORY_LINE.exec(line);
    if (!match?.[1] || !match[2]) throw new Error(`not a timeline history line: ${line}`);
    const timeline = Number(match[1]);
    const previous = entries.at(-1);
    if (timeline < 1 || (previous && timeline <= previous.timeline)) {
      throw new Error(`timeline history out of order at: ${line}`);
    }
    entries.push({ timeline, switchLsn: match[2].toUpperCase() });
  }
  return entries.slice(-HISTORY_LIMIT);
}

const HISTORY_FILE = /^([0-9A-F]{8})\.history$/;

/**
 * The past timelines of a node that has left recovery, from the history file of its newest
 * timeline in `pg_wal` (it lists every ancestor). Timeline 1 has no file: an empty list.
 */
export async function readTimelineHistory(node: NodeLayout): Promise<TimelineEntry[]> {
  const wal = join(node.pg.dataDir, "pg_wal");
  const newest = (await readdir(wal))
    .filter((name) => HISTORY_FILE.test(name))
    .sort()
    .at(-1);
  return newest ? parseTimelineHistory(await readFile(join(wal, newest), "utf8")) : [];
}
