/**
 * What click analytics write on the primaries, and what each click costs end to end: N counted
 * redirects through (c) with analytics on, then wait until the primaries have counted all N
 * (the edge's batch, the Queue's batch, the origin's ingest), reading on every shard primary
 * before and after: clicks counted (sum of `click_rollups.count`), Queue messages counted
 * (`click_batches` rows), ingest transactions (distinct `counted_at`: `now()` is the
 * transaction's start, shared by the ids one transaction records), rollup rows inserted or
 * updated (`pg_stat_user_tables`, forced flush) and WAL bytes. The same N through (c) without
 * analytics gives the CPU baseline: the difference per click, by process group, is the cost
 * (medians over alternating rounds, each with the same settle wait and none of our queries).
 */
import postgres from "postgres";
import { type BenchContext, cpuGroups } from "../context.ts";
import { cpuDelta, sampleCpu } from "../cpu.ts";
import { type BenchRequest, runLoad } from "../load.ts";

export interface AnalyticsWrites {
  clicks: number;
  /** Clicks the primaries counted (exactly `clicks` when nothing was lost). */
  counted: number;
  messages: number;
  transactions: number;
  rowsWritten: number;
  walBytes: number;
  /** From the last answered redirect to every click counted on the primaries. */
  drainMs: number;
  /** CPU µs per click with analytics on (counted run + drain) and off (counted run), by group. */
  cpuOn: Record<string, number>;
  cpuOff: Record<string, number>;
}

interface PrimaryCounters {
  clicks: number;
  messages: number;
  transactions: number;
  rows: number;
  wal: bigint;
}

type Sql = ReturnType<typeof postgres>;

async function readPrimaries(clients: readonly Sql[]): Promise<PrimaryCounters> {
  const total: PrimaryCounters = { clicks: 0, messages: 0, transactions: 0, rows: 0, wal: 0n };
  for (const sql of clients) {
    const [row] = await sql<
      { clicks: string; messages: string; transactions: string; rows: string; wal: string }[]
    >`
        select (select coalesce(sum(count), 0) from click_rollups)::text as clicks,
               (select count(*) from click_batches)::text as messages,
               (select count(distinct counted_at) from click_batches)::text as transactions,
               (select coalesce(sum(n_tup_ins + n_tup_upd), 0) from pg_stat_user_tables
                 where relname = 'click_rollups')::text as rows,
               (pg_current_wal_lsn() - '0/0'::pg_lsn)::text as wal`;
    total.clicks += Number(row?.clicks ?? 0);
    total.messages += Number(row?.messages ?? 0);
    total.transactions += Number(row?.transactions ?? 0);
    total.rows += Number(row?.rows ?? 0);
    total.wal += BigInt(String(row?.wal ?? "0").split(".")[0] ?? "0");
  }
  return total;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Longer than the edge's batch (1 s) and the Queue's (5 s) together: a run's clicks are in. */
const SETTLE_MS = 8_000;
const ROUNDS = 3;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** CPU µs per click of each group over a run and the settle wait after it. */
async function cpuPerClick(
  ctx: BenchContext,
  clicks: number,
  run: () => Promise<unknown>,
): Promise<Record<string, number>> {
  const groups = cpuGroups(ctx);
  const before = sampleCpu(groups);
  await run();
  await sleep(SETTLE_MS);
  const cpu = cpuDelta(before, sampleCpu(groups));
  return Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, (s * 1e6) / clicks]));
}

function medians(samples: readonly Record<string, number>[]): Record<string, number> {
  const keys = new Set(samples.flatMap((s) => Object.keys(s)));
  return Object.fromEntries([...keys].map((k) => [k, median(samples.map((s) => s[k] ?? 0))]));
}

export async function analyticsWrites(
  ctx: BenchContext,
  requests: readonly BenchRequest[],
  clicks: number,
): Promise<AnalyticsWrites | null> {
  const { analytics, cookie } = ctx.workers.urls;
  if (!analytics || !cookie) return null;
  const shards = Object.keys(ctx.topology.snapshot.shards);
  // One connection per primary for the whole measurement.
  const clients = shards.map((s) =>
    postgres(ctx.cluster.databaseUrl(ctx.cluster.primaryOf(s).id), { max: 1, onnotice: () => {} }),
  );
  try {
    return await measure(ctx, clients, { analytics, cookie }, requests, clicks);
  } finally {
    await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
  }
}

/**
 * ROUNDS × (N redirects with analytics off, N with it on, alternating which goes first), each
 * followed by the same settle wait inside its CPU window and no query of ours inside it; then
 * N more with analytics on, polled until counted, for the latency.
 */
async function measure(
  ctx: BenchContext,
  clients: readonly Sql[],
  urls: { analytics: string; cookie: string },
  requests: readonly BenchRequest[],
  clicks: number,
): Promise<AnalyticsWrites> {
  const load = (origin: string) =>
    runLoad(
      { origin, requests, connections: ctx.env.connections },
      { count: clicks, maxSeconds: 120 },
    );
  ctx.log(
    `click analytics: ${ROUNDS} rounds of ${clicks} redirects off and on, ${SETTLE_MS} ms settle`,
  );
  await sleep(SETTLE_MS);
  const first = await readPrimaries(clients);
  const off: Record<string, number>[] = [];
  const on: Record<string, number>[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const analyticsOn of round % 2 ? [true, false] : [false, true]) {
      const cpu = await cpuPerClick(ctx, clicks, () =>
        load(analyticsOn ? urls.analytics : urls.cookie),
      );
      (analyticsOn ? on : off).push(cpu);
    }
  }
  const after = await readPrimaries(clients);
  // Latency: the last click of a run to all of that run's clicks counted on the primaries.
  const sent = await load(urls.analytics);
  const ended = Date.now();
  let drainMs = Number.NaN;
  while (Date.now() < ended + 60_000) {
    const now = await readPrimaries(clients);
    if (now.clicks - after.clicks >= sent.requests) {
      drainMs = Date.now() - ended;
      break;
    }
    await sleep(100);
  }
  const total = clicks * ROUNDS;
  return {
    clicks: total,
    counted: after.clicks - first.clicks,
    messages: after.messages - first.messages,
    transactions: after.transactions - first.transactions,
    rowsWritten: after.rows - first.rows,
    walBytes: Number(after.wal - first.wal),
    drainMs,
    cpuOn: medians(on),
    cpuOff: medians(off),
  };
}
