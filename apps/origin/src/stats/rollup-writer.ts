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
 */

export interface RollupWriterOptions {
  pools: NodePools;
  /** Client-side bound on one shard's transaction: a hanging primary cannot hang the consumer. */
  deadlineMs?: number;
}

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

  constructor(options: RollupWriterOptions) {
    this.#pools = options.pools;
    this.#deadlineMs = options.deadlineMs ?? 10_000;
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
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.#deadlineMs} ms`)),
        this.#deadlineMs,
      );
    });
    const transaction = sql.begin(async (tx) => {
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
      throw new ShardUnavailableError(shard, `clicks on ${node.id}: ${describe(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}
