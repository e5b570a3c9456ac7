/**
 * What click analytics write on the primaries, and what each click costs end to end: N counted
 * redirects through (c) with analytics on, then wait until the primaries have counted all N
 * (the edge's batch, the Queue's batch, the origin's ingest), reading on every shard primary
 * before and after: clicks counted (sum of `click_rollups.count`), Queue messages counted
 * (`click_batches` rows), ingest transactions (distinct `counted_at`: `now()` is the
 * transaction's start, shared by the ids one transaction records), rollup rows inserted or
 * updated (`pg_stat_user_tables`, forced flush) and WAL bytes. The same N through (c) without
 * analytics gives the CPU baseline: the difference per click, by process group, is the cost.
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

async function cpuPerClick(
  ctx: BenchContext,
  clicks: number,
  run: () => Promise<void>,
): Promise<Record<string, number>> {
  const groups = cpuGroups(ctx);
  const before = sampleCpu(groups);
  await run();
  const cpu = cpuDelta(before, sampleCpu(groups));
  return Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, (s * 1e6) / clicks]));
}

export async function analyticsWrites(
  ctx: BenchContext,
  requests: readonly BenchRequest[],
  clicks: number,
): Promise<AnalyticsWrites | null> {
  const { analytics, cookie } = ctx.workers.urls;
  if (!analytics || !cookie) return null;
  const shards = Object.keys(ctx.topology.snapshot.shards);
  // One connection per primary for the whole measurement: polling opens none.
  const clients = shards.map((s) =>
    postgres(ctx.cluster.databaseUrl(ctx.cluster.primaryOf(s).id), { max: 1, onnotice: () => {} }),
  );
  try {
    return await measure(ctx, clients, analytics, cookie, requests, clicks);
  } finally {
    await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
  }
}

async function measure(
  ctx: BenchContext,
  clients: readonly Sql[],
  analytics: string,
  cookie: string,
  requests: readonly BenchRequest[],
  clicks: number,
): Promise<AnalyticsWrites> {
  const load = (origin: string) =>
    runLoad(
      { origin, requests, connections: ctx.env.connections },
      { count: clicks, maxSeconds: 120 },
    );
  ctx.log(`click analytics: ${clicks} counted redirects, analytics off then on`);
  const cpuOff = await cpuPerClick(ctx, clicks, async () => {
    await load(cookie);
  });
  // Whatever earlier runs left in the pipeline is counted before the baseline is read (no change
  // for 7 s: longer than the edge batch and the Queue batch together).
  let before = await readPrimaries(clients);
  for (let stable = 0; stable < 70; ) {
    await sleep(100);
    const next = await readPrimaries(clients);
    stable = next.clicks === before.clicks ? stable + 1 : 0;
    before = next;
  }
  let after = before;
  let drainMs = Number.NaN;
  const cpuOn = await cpuPerClick(ctx, clicks, async () => {
    const sent = await load(analytics);
    const ended = Date.now();
    const deadline = ended + 60_000;
    while (Date.now() < deadline) {
      after = await readPrimaries(clients);
      if (after.clicks - before.clicks >= sent.requests) {
        drainMs = Date.now() - ended;
        break;
      }
      await sleep(50);
    }
  });
  // Table statistics reach pg_stat_user_tables when a backend flushes them (≤ 1 s when idle).
  await sleep(1_500);
  const rowsAfter = (await readPrimaries(clients)).rows;
  return {
    clicks,
    counted: after.clicks - before.clicks,
    messages: after.messages - before.messages,
    transactions: after.transactions - before.transactions,
    rowsWritten: rowsAfter - before.rows,
    walBytes: Number(after.wal - before.wal),
    drainMs,
    cpuOn,
    cpuOff,
  };
}
