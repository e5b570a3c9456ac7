import type { Topology } from "@firstclick/core";
import {
  type ClickDelivery,
  type ClickIngestResult,
  mergeRollups,
  type RollupRow,
} from "@firstclick/core/clicks";
import { ShardUnavailableError } from "../links/store.ts";
import type { NodePools } from "./node-pools.ts";

/**
 * Writes the consumer's rollups to the shard primaries that own their codes: per shard ONE
 * transaction that records the deliveries' ids in `click_batches` and upserts the rows of the
 * ids it had not seen before in one statement. A redelivered message finds its id there and
 * adds nothing: exactly-once counts under at-least-once delivery (README.md beside this file).
 * Once an hour per shard the same transaction also deletes the ids older than the Queue's
 * retention, so `click_batches` stays about 14 days of messages long.
 */

export interface RollupWriterOptions {
  pools: NodePools;
  /** Client-side bound on one shard's transaction: a hanging primary cannot hang the consumer. */
  deadlineMs?: number;
  /**
   * How long a counted message id is kept: at least as long as the Queue can deliver the
   * message again. Default 14 days, Cloudflare Queues' longest message retention.
   */
  batchRetentionMs?: number;
  /** How often, per shard, an ingest also prunes ids older than that (default once an hour). */
  pruneEveryMs?: number;
}

export const BATCH_RETENTION_MS = 14 * 24 * 3_600_000;
const PRUNE_EVERY_MS = 3_600_000;
/** Rows one prune deletes at most: a long-unpruned table is worked down an hour at a time. */
const PRUNE_LIMIT = 50_000;

function describe(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e instanceof Error && e.cause !== undefined; depth++)
    e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

/** Rows of each delivery, split by the shard that owns each row's code. */
function byShard(topology: Topology, deliveries: readonly ClickDelivery[]) {
  const shards = new Map<string, Map<string, RollupRow[]>>();
  for (const delivery of deliveries) {
    for (const row of delivery.rows) {
      const shard = topology.shardFor(row.code);
      let ids = shards.get(shard);
      if (!ids) {
        ids = new Map();
        shards.set(shard, ids);
      }
      const rows = ids.get(delivery.id) ?? [];
      rows.push(row);
      ids.set(delivery.id, rows);
    }
  }
  return shards;
}

export class RollupWriter {
  readonly #pools: NodePools;
  readonly #deadlineMs: number;
  readonly #retentionSeconds: number;
  readonly #pruneEveryMs: number;
  /** When each shard was last pruned by this process (in memory: a restart prunes at once). */
  readonly #prunedAt = new Map<string, number>();

  constructor(options: RollupWriterOptions) {
    this.#pools = options.pools;
    this.#deadlineMs = options.deadlineMs ?? 10_000;
    this.#retentionSeconds = Math.ceil((options.batchRetentionMs ?? BATCH_RETENTION_MS) / 1000);
    this.#pruneEveryMs = options.pruneEveryMs ?? PRUNE_EVERY_MS;
  }

  /** Whether this ingest also prunes the shard's old ids (claimed now, released on failure). */
  #claimPrune(shard: string, nowMs: number): boolean {
    const last = this.#prunedAt.get(shard);
    if (last !== undefined && nowMs - last < this.#pruneEveryMs) return false;
    this.#prunedAt.set(shard, nowMs);
    return true;
  }

  /**
   * Counts the deliveries; throws ShardUnavailableError when a shard's primary cannot take them
   * (the other shards' transactions may have committed: the retry skips them by id).
   */
  async write(
    topology: Topology,
    deliveries: readonly ClickDelivery[],
  ): Promise<ClickIngestResult> {
    const fresh = new Set<string>();
    const results = await Promise.allSettled(
      [...byShard(topology, deliveries)].map(async ([shard, rowsById]) => {
        for (const id of await this.#writeShard(topology, shard, rowsById)) fresh.add(id);
      }),
    );
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
    const ids = new Set(deliveries.map((d) => d.id));
    return { counted: fresh.size, duplicates: ids.size - fresh.size };
  }

  async #writeShard(
    topology: Topology,
    shard: string,
    rowsById: Map<string, RollupRow[]>,
  ): Promise<string[]> {
    const node = topology.primaryOf(shard);
    if (!node) throw new ShardUnavailableError(shard, `shard ${shard} has no primary`);
    const sql = this.#pools.sql(node, "primary");
    const prune = this.#claimPrune(shard, Date.now());
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.#deadlineMs} ms`)),
        this.#deadlineMs,
      );
    });
    const transaction = sql.begin(async (tx) => {
      if (prune) {
        // In the ingest's own transaction, by the counted_at index (migration 0002): ids the
        // Queue can no longer deliver again cannot be needed to spot a duplicate.
        await tx`
          delete from click_batches where id in (
            select id from click_batches
            where counted_at < now() - make_interval(secs => ${this.#retentionSeconds})
            limit ${PRUNE_LIMIT})`;
      }
      const ids = [...rowsById.keys()];
      const inserted = await tx<{ id: string }[]>`
        insert into click_batches (id) select unnest(${ids}::text[])
        on conflict (id) do nothing returning id`;
      const freshIds = inserted.map((r) => r.id);
      const rows = mergeRollups(freshIds.flatMap((id) => rowsById.get(id) ?? []));
      if (rows.length === 0) return freshIds;
      // Every array travels as text[] and is converted in SQL: postgres.js serializes an array
      // parameter by the element type the server infers, and got booleans (the string "true"
      // became f) and Date arrays wrong here.
      // Rows of codes this shard does not hold (a scanner's 404s) are not stored: the join
      // keeps the table's size bounded by real links, not by what clients type.
      await tx`
        insert into click_rollups
          (code, hour, outcome, country, referrer_host, device, bot, count)
        select r.code, to_timestamp(r.hour::bigint), r.outcome, r.country, r.referrer_host,
               r.device, r.bot::boolean, r.count::bigint
        from unnest(
          ${rows.map((r) => r.code)}::text[],
          ${rows.map((r) => String(r.hour))}::text[],
          ${rows.map((r) => r.outcome)}::text[],
          ${rows.map((r) => r.country ?? "")}::text[],
          ${rows.map((r) => r.referrerHost ?? "")}::text[],
          ${rows.map((r) => r.device)}::text[],
          ${rows.map((r) => String(r.bot))}::text[],
          ${rows.map((r) => String(r.count))}::text[]
        ) as r(code, hour, outcome, country, referrer_host, device, bot, count)
        where exists (select 1 from links l where l.code = r.code)
        on conflict (code, hour, outcome, country, referrer_host, device, bot)
        do update set count = click_rollups.count + excluded.count`;
      return freshIds;
    });
    try {
      return await Promise.race([transaction, deadline]);
    } catch (error) {
      if (prune) this.#prunedAt.delete(shard);
      throw new ShardUnavailableError(shard, `clicks on ${node.id}: ${describe(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
