import type { Topology, TopologyNode } from "@firstclick/core";
import { ShardUnavailableError } from "../links/store.ts";
import type { NodePools } from "./node-pools.ts";
import type { Stats, StatsInterval } from "./schemas.ts";

/**
 * Reads a link's click statistics from a REPLICA of its shard, never the primary: the pools'
 * `standby` sessions refuse a node that is not in recovery. Replicas are tried in turn (rotated
 * per call); when none answers the read fails with ShardUnavailableError (503), it does not fall
 * back to the primary. Replicas lag by milliseconds, far less than the Queue's own delay.
 */

export interface StatsRange {
  from: Date;
  to: Date;
  interval: StatsInterval;
}

export interface LinkStats {
  editTokenHash: string;
  stats: Stats;
}

const TOP = 10;

interface GroupedRow {
  t: Date | null;
  outcome: string | null;
  country: string | null;
  referrer_host: string | null;
  device: string | null;
  bot: boolean | null;
  n: number;
  gt: number;
  go: number;
  gc: number;
  gr: number;
  gd: number;
  gb: number;
}

function truncate(ms: number, interval: StatsInterval): number {
  const unit = interval === "hour" ? 3_600_000 : 86_400_000;
  return Math.floor(ms / unit) * unit;
}

function series(rows: GroupedRow[], range: StatsRange): Stats["series"] {
  const unit = range.interval === "hour" ? 3_600_000 : 86_400_000;
  const counts = new Map<number, number>();
  for (const r of rows) if (r.t) counts.set(r.t.getTime(), r.n);
  const out: Stats["series"] = [];
  for (let t = truncate(range.from.getTime(), range.interval); t < range.to.getTime(); t += unit) {
    out.push({ t: new Date(t).toISOString(), count: counts.get(t) ?? 0 });
  }
  return out;
}

const top = <T extends { count: number }>(items: T[]): T[] =>
  items.sort((a, b) => b.count - a.count).slice(0, TOP);

export function summarize(code: string, rows: GroupedRow[], range: StatsRange): Stats {
  const outcomes = { redirect: 0, not_found: 0, gone: 0 };
  let total = 0;
  let bots = 0;
  for (const r of rows) {
    if (r.go === 0 && r.outcome && r.outcome in outcomes) {
      outcomes[r.outcome as keyof typeof outcomes] = r.n;
      total += r.n;
    }
    if (r.gb === 0 && r.bot) bots = r.n;
  }
  return {
    code,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    interval: range.interval,
    total,
    outcomes,
    bots: { count: bots, share: total === 0 ? 0 : bots / total },
    series: series(
      rows.filter((r) => r.gt === 0),
      range,
    ),
    countries: top(
      rows.filter((r) => r.gc === 0).map((r) => ({ country: r.country || null, count: r.n })),
    ),
    referrers: top(
      rows.filter((r) => r.gr === 0).map((r) => ({ host: r.referrer_host || null, count: r.n })),
    ),
    devices: top(
      rows.filter((r) => r.gd === 0).map((r) => ({ device: r.device ?? "other", count: r.n })),
    ),
  };
}

export class StatsReader {
  readonly #pools: NodePools;
  #cursor = 0;

  constructor(pools: NodePools) {
    this.#pools = pools;
  }

  /** The link's token hash and statistics; null when the replica has no such link. */
  async read(topology: Topology, code: string, range: StatsRange): Promise<LinkStats | null> {
    const shard = topology.shardFor(code);
    const replicas = topology.snapshot.shards[shard]?.replicas ?? [];
    if (replicas.length === 0) {
      throw new ShardUnavailableError(shard, `shard ${shard} has no replica to read stats from`);
    }
    const start = this.#cursor++ % replicas.length;
    const failures: string[] = [];
    for (let i = 0; i < replicas.length; i++) {
      const node = replicas[(start + i) % replicas.length] as TopologyNode;
      try {
        return await this.#readOn(node, code, range);
      } catch (error) {
        failures.push(`${node.id}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    throw new ShardUnavailableError(shard, `no replica answered: ${failures.join("; ")}`);
  }

  async #readOn(node: TopologyNode, code: string, range: StatsRange): Promise<LinkStats | null> {
    const sql = this.#pools.sql(node, "standby");
    const links = await sql<{ edit_token_hash: string }[]>`
      select edit_token_hash from links where code = ${code}`;
    const link = links[0];
    if (!link) return null;
    // One statement, every breakdown: a grouping set per dimension, told apart by grouping().
    const rows = await sql<GroupedRow[]>`
      with r as (
        select date_trunc(${range.interval}, hour, 'UTC') as t, outcome, country, referrer_host,
               device, bot, count
        from click_rollups
        where code = ${code} and hour >= ${range.from} and hour < ${range.to}
      )
      select t, outcome, country, referrer_host, device, bot, sum(count)::float8 as n,
             grouping(t) as gt, grouping(outcome) as go, grouping(country) as gc,
             grouping(referrer_host) as gr, grouping(device) as gd, grouping(bot) as gb
      from r
      group by grouping sets ((t), (outcome), (country), (referrer_host), (device), (bot))`;
    return { editTokenHash: link.edit_token_hash, stats: summarize(code, rows, range) };
  }
}
