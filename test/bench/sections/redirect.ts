/**
 * The redirect path, and the load on primaries, for each Worker variant:
 *   (a) constant 302, (b) bare proxy to the same gateway, (c) cookie, (d) redis, (e) primary,
 *   (f) fallback with 5 % unknown codes, (g) position.
 * Same codes, same keep-alive load. Network calls per redirect are counted at the gateways
 * (`linkReads`) and at Redis (`INFO commandstats`), before and after each run.
 */
import { serializeRyowCookie } from "@firstclick/core";
import { type BenchContext, compareOptions } from "../context.ts";
import type { ReadsDelta, RedisDelta } from "../counters.ts";
import type { BenchRequest } from "../load.ts";
import { compare, type Run, ratio, summarize, type VariantSummary } from "../measure.ts";
import { type AnalyticsWrites, analyticsWrites } from "./redirect-analytics.ts";
import { caughtUpPositionCookie } from "./redirect-position.ts";

export const VARIANTS = {
  constant: "(a) constant 302",
  bare: "(b) bare proxy",
  cookie: "(c) cookie",
  cookieOld: "(o) cookie, BENCH_EDGE_OLD_BUNDLE",
  redis: "(d) redis",
  primary: "(e) primary",
  fallback: "(f) fallback, 5 % unknown",
  position: "(g) position",
  analytics: "(c) cookie + click analytics",
} as const;

/** Length of the cyclic request list every connection walks. */
const LIST = 2_000;

function cycle(codes: readonly string[], n: number): string[] {
  return Array.from({ length: n }, (_, i) => codes[i % codes.length] ?? "");
}

export interface PerRedirect {
  /** Gateway reads per completed redirect. */
  gatewayReads: number;
  primaryReads: number;
  redisGets: number | null;
  redisCommands: number | null;
  redisConnections: number | null;
  /** Redirects counted, and whether every counted run got all its answers. */
  counted: number;
  complete: boolean;
}

export interface VariantResult extends VariantSummary {
  perRedirect: PerRedirect;
  /** Share of gateway reads that reached a primary. */
  primaryShare: number;
}

/** From the counted runs: exactly N answered redirects each, counters settled before and after. */
function perRedirect(runs: readonly Run[], variant: string): PerRedirect {
  const mine = runs.flatMap((r) => (r.variant === variant && r.count ? [r.count] : []));
  const requests = mine.reduce((sum, c) => sum + c.requests, 0);
  let reads = 0;
  let primary = 0;
  let gets = 0;
  let commands = 0;
  let connections = 0;
  let withRedis = false;
  for (const r of mine) {
    const d = r.counters.reads as ReadsDelta | undefined;
    reads += d?.total ?? 0;
    primary += d?.primary ?? 0;
    const rd = r.counters.redis as RedisDelta | undefined;
    if (rd) {
      withRedis = true;
      gets += rd.get;
      commands += rd.commands;
      connections += rd.connections;
    }
  }
  const per = (n: number) => (requests > 0 ? n / requests : Number.NaN);
  return {
    gatewayReads: per(reads),
    primaryReads: per(primary),
    redisGets: withRedis ? per(gets) : null,
    redisCommands: withRedis ? per(commands) : null,
    redisConnections: withRedis ? per(connections) : null,
    counted: requests,
    complete: mine.length > 0 && mine.every((c) => c.complete),
  };
}

function results(runs: readonly Run[], names: readonly string[]): VariantResult[] {
  return names.map((name) => {
    const p = perRedirect(runs, name);
    return {
      ...summarize(runs, name),
      perRedirect: p,
      primaryShare: p.gatewayReads > 0 ? p.primaryReads / p.gatewayReads : Number.NaN,
    };
  });
}

/** One check per variant before any load: the right status and route, or the run is void. */
async function check(url: string, headers: Record<string, string>, expect: string): Promise<void> {
  const res = await fetch(url, { redirect: "manual", headers });
  await res.body?.cancel();
  const got = `${res.status} ${res.headers.get("x-firstclick-route") ?? "-"}`;
  if (!got.startsWith(expect)) throw new Error(`${url}: expected "${expect}…", got "${got}"`);
}

export interface RedirectSection {
  runs: Run[];
  variants: VariantResult[];
  ratios: Record<string, ReturnType<typeof ratio>>;
  requestList: { length: number; unknownShare: number };
  /** Writes on the primaries and CPU per click of click analytics (redirect-analytics.ts). */
  analytics?: AnalyticsWrites | null;
}

export async function redirectPath(ctx: BenchContext): Promise<RedirectSection> {
  const { urls } = ctx.workers;
  const { old, unknown } = ctx.seed;
  const oldPaths = cycle(old, LIST).map((c) => `/${c}`);
  // Every 20th request a code that exists nowhere: 5 %.
  const withUnknown = oldPaths.map((p, i) =>
    i % 20 === 19 ? `/${unknown[Math.floor(i / 20) % unknown.length]}` : p,
  );
  const plain = (paths: string[]): BenchRequest[] => paths.map((path) => ({ path }));
  const shard = ctx.seed.shard;
  const sample = `/${old[0]}`;

  const names: { key: keyof typeof VARIANTS; requests: BenchRequest[]; expect: string }[] = [
    { key: "constant", requests: plain(oldPaths), expect: "302 -" },
    { key: "bare", requests: plain(oldPaths), expect: "302 -" },
    { key: "cookie", requests: plain(oldPaths), expect: `302 replica; shard=${shard}` },
    { key: "cookieOld", requests: plain(oldPaths), expect: `302 replica; shard=${shard}` },
    { key: "redis", requests: plain(oldPaths), expect: `302 replica; shard=${shard}` },
    { key: "primary", requests: plain(oldPaths), expect: `302 primary; shard=${shard}` },
    { key: "fallback", requests: plain(withUnknown), expect: `302 replica; shard=${shard}` },
    { key: "position", requests: plain(oldPaths), expect: `302 replica; shard=${shard}` },
    { key: "analytics", requests: plain(oldPaths), expect: `302 replica; shard=${shard}` },
  ];
  const wanted = ctx.env.variants;
  const present = names.filter((n) => urls[n.key] && (!wanted || wanted.has(n.key)));
  for (const n of present) await check(`${urls[n.key]}${sample}`, {}, n.expect);

  ctx.log("redirect path");
  const runs = await compare(
    present.map((n) => ({
      name: VARIANTS[n.key],
      origin: urls[n.key] ?? "",
      requests: n.requests,
    })),
    compareOptions(ctx),
  );
  const ratios = {
    "(c)/(b)": ratio(runs, VARIANTS.cookie, VARIANTS.bare),
    "(g)/(b)": ratio(runs, VARIANTS.position, VARIANTS.bare),
    "(c)/(o)": ratio(runs, VARIANTS.cookie, VARIANTS.cookieOld),
    "(o)/(b)": ratio(runs, VARIANTS.cookieOld, VARIANTS.bare),
    "(c)/(d)": ratio(runs, VARIANTS.cookie, VARIANTS.redis),
    "(c)/(a)": ratio(runs, VARIANTS.cookie, VARIANTS.constant),
    "(c)/(e)": ratio(runs, VARIANTS.cookie, VARIANTS.primary),
    "(f)/(c)": ratio(runs, VARIANTS.fallback, VARIANTS.cookie),
    "(c+analytics)/(c)": ratio(runs, VARIANTS.analytics, VARIANTS.cookie),
  };
  const withAnalytics = present.some((n) => n.key === "analytics");
  return {
    runs,
    variants: results(
      runs,
      present.map((n) => VARIANTS[n.key]),
    ),
    ratios,
    requestList: { length: LIST, unknownShare: 0.05 },
    analytics: withAnalytics
      ? await analyticsWrites(ctx, plain(oldPaths), 2 * ctx.env.countRequests)
      : null,
  };
}

export interface PrimariesSection {
  runs: Run[];
  variants: VariantResult[];
  creatorShare: number;
}

/**
 * A realistic mix: 1 request in 100 is a creator inside their window (a fresh, signed
 * `ryow_until` cookie and a `ryow_pos` token for a create the replica has replayed, on a code
 * that is also fresh in Redis), the rest are old links without a cookie. The same request list
 * for (c), (d), (e) and (g); the gateways say where the reads went.
 */
export async function primaryLoad(ctx: BenchContext): Promise<PrimariesSection> {
  const { urls } = ctx.workers;
  const { old, fresh } = ctx.seed;
  const now = Math.floor(Date.now() / 1000);
  // Valid for the window (30 s) from now: built again before each variant's runs.
  const cookie = async () =>
    (
      await serializeRyowCookie({
        nowSeconds: Math.floor(Date.now() / 1000),
        window: 30,
        secure: false,
        secret: ctx.ryowSecret,
      })
    ).split(";", 1)[0] ?? "";
  const position = urls.position ? `; ${await caughtUpPositionCookie(ctx)}` : "";
  const build = async (): Promise<BenchRequest[]> => {
    const value = `${await cookie()}${position}`;
    return cycle(old, LIST).map((code, i) =>
      i % 100 === 99
        ? { path: `/${fresh[Math.floor(i / 100) % fresh.length]}`, headers: { cookie: value } }
        : { path: `/${code}` },
    );
  };
  if (ctx.redis) {
    // What the origin does on create (`SET ryow:<code> 1 EX <window>`), for the fresh codes;
    // a longer expiry so the keys outlive the section.
    for (const code of fresh)
      await ctx.redis.set(`ryow:${code}`, "1", { expiration: { type: "EX", value: 900 } });
  }
  const shard = ctx.seed.shard;
  const freshPath = `/${fresh[0]}`;
  const wanted = ctx.env.variants;
  const keys = (["cookie", "redis", "primary", "position"] as const).filter(
    (k) => urls[k] && (!wanted || wanted.has(k)),
  );
  // Checked only for the variants measured (a loaded machine can time a Redis lookup out).
  if (urls.cookie && keys.includes("cookie")) {
    await check(
      `${urls.cookie}${freshPath}`,
      { cookie: await cookie() },
      `302 primary; shard=${shard}`,
    );
    await check(`${urls.cookie}${freshPath}`, {}, `302 replica; shard=${shard}`);
  }
  if (urls.redis && keys.includes("redis")) {
    await check(`${urls.redis}${freshPath}`, {}, `302 primary; shard=${shard}`);
  }

  const variants = await Promise.all(
    keys.map(async (key) => {
      const variant = {
        name: VARIANTS[key],
        origin: urls[key] ?? "",
        requests: await build(),
        // Cookies expire with the window: rebuild the list before every run of the variant.
        prepare: async () => {
          variant.requests = await build();
        },
      };
      return variant;
    }),
  );
  ctx.log(`load on primaries (1 % creators, cookie issued at ${now})`);
  const runs = await compare(variants, compareOptions(ctx));
  return {
    runs,
    variants: results(
      runs,
      keys.map((k) => VARIANTS[k]),
    ),
    creatorShare: 0.01,
  };
}
