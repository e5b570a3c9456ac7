/**
 * Writes: create throughput with `async` vs `remote_apply` durability (the origin's DURABILITY,
 * on a cluster started with `durability: "remote_apply"` so its standbys can confirm), and the
 * replication lag a creator would otherwise hit: create at a steady rate, then probe the
 * replica's gateway until the new code is there, while sampling `pg_stat_replication.replay_lag`.
 */
import postgres from "postgres";
import { type BenchContext, compareOptions } from "../context.ts";
import {
  compare,
  percentile,
  type Run,
  ratio,
  summarize,
  type VariantSummary,
} from "../measure.ts";

type Durability = "async" | "remote_apply";

const CREATE_BODY = JSON.stringify({ url: "https://example.com/created-by-the-bench" });

function originUrl(ctx: BenchContext): string {
  const url = ctx.cluster.urls.origin;
  if (!url) throw new Error("the cluster has no origin");
  return url;
}

/** Restarts the origin (only: the cluster runs no edge of its own here) with DURABILITY. */
async function useDurability(ctx: BenchContext, durability: Durability): Promise<void> {
  const current = ctx.cluster.layout.appEnv.originEnv.DURABILITY ?? ctx.cluster.layout.durability;
  if (current === durability) return;
  ctx.log(`  origin: DURABILITY=${durability} (restart)`);
  await ctx.cluster.restartApps({
    originEnv: { DURABILITY: durability, CREATE_RATE_LIMIT_PER_MINUTE: "0" },
  });
  const res = await fetch(`${originUrl(ctx)}/api/links`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: CREATE_BODY,
  });
  await res.body?.cancel();
  if (res.status !== 201)
    throw new Error(`origin (${durability}): a create answered ${res.status}`);
}

export interface CreatesSection {
  runs: Run[];
  variants: VariantSummary[];
  /** rps(remote_apply) / rps(async), round by round. */
  ratio: ReturnType<typeof ratio>;
}

export async function creates(ctx: BenchContext): Promise<CreatesSection> {
  const request = {
    method: "POST" as const,
    path: "/api/links",
    headers: { "content-type": "application/json" },
    body: CREATE_BODY,
  };
  const names: Record<Durability, string> = {
    async: "create, async",
    remote_apply: "create, remote_apply",
  };
  ctx.log("creates");
  const runs = await compare(
    (["async", "remote_apply"] as const).map((d) => ({
      name: names[d],
      origin: originUrl(ctx),
      requests: [request],
      prepare: () => useDurability(ctx, d),
    })),
    // Creates are slower than redirects: a smaller cap keeps each run's growth of the tables modest.
    { ...compareOptions(ctx), probes: {}, maxRequests: Math.min(ctx.env.maxRequests, 50_000) },
  );
  return {
    runs,
    variants: [summarize(runs, names.async), summarize(runs, names.remote_apply)],
    ratio: ratio(runs, names.remote_apply, names.async),
  };
}

export interface LagSection {
  durability: Durability;
  rate: number;
  seconds: number;
  creates: number;
  failedCreates: number;
  /** Create acknowledged → first 200 from the replica's gateway, ms. */
  visibleMs: { p50: number; p99: number; max: number; samples: number };
  /** Probes still 404 when the deadline passed. */
  neverVisible: number;
  /** How many probes the first one was enough for (visible at once). */
  visibleOnFirstProbe: number;
  createMs: { p50: number; p99: number };
  /** pg_stat_replication.replay_lag samples (non-null), ms. */
  replayLagMs: { p50: number; p99: number; max: number; samples: number; nullSamples: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls the gateway until it has `code`: returns ms after `ackAt`, or null at the deadline. */
async function probe(
  gatewayUrl: string,
  code: string,
  ackAt: number,
): Promise<{ ms: number; probes: number } | null> {
  const deadline = ackAt + 5_000;
  for (let probes = 1; ; probes++) {
    const res = await fetch(`${gatewayUrl}/links/${code}`);
    await res.body?.cancel();
    if (res.status === 200) return { ms: performance.now() - ackAt, probes };
    if (performance.now() > deadline) return null;
    // Back to back at first (lag on loopback is about a millisecond), then gentler.
    if (probes > 20) await sleep(1);
  }
}

export async function replicationLag(ctx: BenchContext): Promise<LagSection> {
  await useDurability(ctx, "async");
  const { lagRate: rate, lagSeconds: seconds } = ctx.env;
  const total = rate * seconds;
  const origin = originUrl(ctx);
  const visible: number[] = [];
  const createMs: number[] = [];
  let failedCreates = 0;
  let neverVisible = 0;
  let atOnce = 0;

  const createAndProbe = async () => {
    const t0 = performance.now();
    const res = await fetch(`${origin}/api/links`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: CREATE_BODY,
    });
    const ackAt = performance.now();
    if (res.status !== 201) {
      failedCreates++;
      await res.body?.cancel();
      return;
    }
    createMs.push(ackAt - t0);
    const { code } = (await res.json()) as { code: string };
    const shard = ctx.topology.shardFor(code);
    const replica = ctx.cluster.replicasOf(shard)[0];
    if (!replica) throw new Error(`no replica of ${shard}`);
    const seen = await probe(replica.gatewayUrl, code, ackAt);
    if (!seen) neverVisible++;
    else {
      visible.push(seen.ms);
      if (seen.probes === 1) atOnce++;
    }
  };

  const lagSamples: number[] = [];
  let nullSamples = 0;
  let sampling = true;
  const primaries = [...new Set(ctx.cluster.nodes.map((n) => n.shard))].map((s) =>
    ctx.cluster.primaryOf(s),
  );
  // One connection per primary for the whole probe: a new one every sample would cost a fork.
  const connections = primaries.map((p) =>
    postgres(ctx.cluster.databaseUrl(p.id), { max: 1, onnotice: () => {} }),
  );
  const sampler = (async () => {
    while (sampling) {
      for (const sql of connections) {
        const rows = await sql<{ ms: number | null }[]>`
          select extract(epoch from replay_lag) * 1000 as ms from pg_stat_replication`;
        for (const row of rows) {
          if (row.ms === null) nullSamples++;
          else lagSamples.push(Number(row.ms));
        }
      }
      await sleep(100);
    }
  })();

  ctx.log(`replication lag: ${total} creates at ${rate}/s`);
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  try {
    for (let i = 0; i < total; i++) {
      // Steady rate: the i-th create starts at i/rate seconds, whatever the previous ones do.
      const wait = started + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      if (performance.now() - started > (seconds + 10) * 1000) break; // hard bound in time
      inflight.push(
        createAndProbe().catch((error: unknown) => {
          failedCreates++;
          ctx.log(
            `  create/probe failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }),
      );
    }
    await Promise.all(inflight);
  } finally {
    sampling = false;
    await sampler;
    await Promise.all(connections.map((sql) => sql.end({ timeout: 1 })));
  }
  return {
    durability: "async",
    rate,
    seconds,
    creates: createMs.length,
    failedCreates,
    visibleMs: {
      p50: percentile(visible, 50),
      p99: percentile(visible, 99),
      max: visible.length > 0 ? Math.max(...visible) : Number.NaN,
      samples: visible.length,
    },
    neverVisible,
    visibleOnFirstProbe: atOnce,
    createMs: { p50: percentile(createMs, 50), p99: percentile(createMs, 99) },
    replayLagMs: {
      p50: percentile(lagSamples, 50),
      p99: percentile(lagSamples, 99),
      max: lagSamples.length > 0 ? Math.max(...lagSamples) : Number.NaN,
      samples: lagSamples.length,
      nullSamples,
    },
  };
}
