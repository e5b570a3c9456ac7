import { currentTimeline, POSITION_HEADER, PROBLEM } from "@firstclick/core";
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { clickAnalytics } from "./analytics/middleware.ts";
import { type Background, backgroundOf } from "./background.ts";
import type { CachedAnswer } from "./cache/entry.ts";
import { answerFromMemory } from "./cache/hit-path.ts";
import { LinkCaches, type LinkCachesOptions } from "./cache/link-caches.ts";
import {
  type EdgeBindings,
  type EdgeConfig,
  EdgeConfigError,
  type EdgeEnv,
  edgeConfig,
} from "./env.ts";
import { FallbackBudget } from "./fallback-budget.ts";
import { internalRoutes } from "./internal.ts";
import {
  linkGone,
  linkLost,
  linkNotFound,
  NO_TOPOLOGY,
  NOT_FOUND,
  problemPage,
  shardsUnavailable,
} from "./pages.ts";
import { passThrough } from "./passthrough.ts";
import { codeOf, redirectResponse } from "./redirect.ts";
import { cacheRouteHeader, planRedirect, routeHeader } from "./route.ts";
import {
  decideWithStrategies,
  type InstalledStrategies,
  type RyowStrategy,
  strategiesFor,
} from "./strategies/index.ts";
import { judgeClientPosition } from "./strategies/position.ts";
import { TopologyCache } from "./topology-cache.ts";
import { type Fetcher, resolveRedirect, type ServedAnswer } from "./upstream.ts";

export { REDIRECT_CACHE_CONTROL } from "./redirect.ts";
/** Seconds a client should wait before retrying a 503. */
export const RETRY_AFTER_SECONDS = 5;

export interface EdgeAppOptions {
  /** The isolate's topology (default: a new, empty one). Tests pass their own. */
  topologyCache?: TopologyCache;
  /** Strategies built outside the pure part (`redis`), see strategies/index.ts. */
  strategies?: InstalledStrategies;
  /** Subrequests to gateways and the origin (default: the global fetch). */
  fetcher?: Fetcher;
  /** The link cache's location tier (default `caches.default`; null: memory only). */
  cacheLocation?: LinkCachesOptions["location"];
  /**
   * Whether the click analytics middleware is on the redirect route (default true; it does
   * nothing without a CLICKS binding). index.ts passes whether the isolate's env binds CLICKS:
   * without it a redirect skips hono's middleware chain (compose) altogether.
   */
  clickAnalytics?: boolean;
  logError?: (message: string) => void;
}

function background(c: Context<EdgeEnv>): Background {
  let ctx: Parameters<typeof backgroundOf>[0];
  try {
    ctx = c.executionCtx; // hono throws when the request came without one
  } catch {
    ctx = undefined;
  }
  return backgroundOf(ctx);
}

/** The redirect or the 410 page for a link's answer, from a gateway or from the cache. */
function answerLink(
  c: Context<EdgeEnv>,
  code: string,
  answer: Exclude<ServedAnswer | CachedAnswer, { kind: "missing" }>,
  routed: Record<string, string>,
): Response | Promise<Response> {
  if (answer.kind === "found") return redirectResponse(answer, routed);
  return problemPage(c, linkGone(code, answer.reason), routed);
}

export function createEdgeApp(options: EdgeAppOptions = {}) {
  const logError = options.logError ?? ((m: string) => console.error(m));
  const cache = options.topologyCache ?? new TopologyCache({ logError });
  const fetcher: Fetcher = options.fetcher ?? ((url, init) => fetch(url, init));
  // Per isolate: where the next redirect starts among a shard's replicas, and the fallback budget.
  let replicaCursor = 0;
  let budget: FallbackBudget | null = null;
  const strategiesByConfig = new WeakMap<EdgeConfig, RyowStrategy[]>();
  const linkCaches = new LinkCaches({ location: options.cacheLocation, logError });

  function strategies(config: EdgeConfig, bindings: EdgeBindings): RyowStrategy[] {
    let built = strategiesByConfig.get(config);
    if (!built) {
      built = strategiesFor(config, bindings, options.strategies ?? {});
      strategiesByConfig.set(config, built);
    }
    return built;
  }

  function fallbackBudget(config: EdgeConfig, nowMs: number): FallbackBudget {
    if (!budget || budget.perMinute !== config.fallbackBudgetPerMinute) {
      budget = new FallbackBudget(config.fallbackBudgetPerMinute, nowMs);
    }
    return budget;
  }

  const app = new Hono<EdgeEnv>();

  app.get("/health", async (c) => {
    edgeConfig(c.env); // a broken configuration fails the health check, not the first redirect
    const topology = await cache.get(c.env.TOPOLOGY, Date.now(), background(c));
    return c.json({ ok: true, topologyVersion: topology?.version ?? null });
  });

  app.route("/_internal", internalRoutes(cache, linkCaches));

  const toOrigin = (c: Context<EdgeEnv>) => passThrough(c, edgeConfig(c.env).originUrl, fetcher);
  app.all("/", toOrigin);
  app.all("/api", toOrigin);
  app.all("/api/*", toOrigin);

  // Click analytics: one event per answered redirect/404/410, sent after the response.
  if (options.clickAnalytics ?? true) {
    app.use("/:segment", clickAnalytics({ waitUntil: background }));
  }
  app.all("/:segment", async (c) => {
    // hono answers HEAD with its GET route and drops the body itself.
    const method = c.req.method;
    const code = codeOf(c.req.url);
    if (code === null) return problemPage(c, NOT_FOUND);
    if (method !== "GET" && method !== "HEAD") {
      return problemPage(
        c,
        {
          status: 405,
          type: PROBLEM.methodNotAllowed,
          title: "Method not allowed",
          detail: "A short link only answers GET and HEAD.",
        },
        { allow: "GET, HEAD" },
      );
    }
    const config = edgeConfig(c.env);
    const now = Date.now();
    const topology = await cache.get(c.env.TOPOLOGY, now, background(c));
    if (!topology) {
      return problemPage(c, NO_TOPOLOGY, { "retry-after": String(RETRY_AFTER_SECONDS) });
    }
    const cookieHeader = c.req.header("cookie") ?? null;
    const nowSeconds = Math.floor(now / 1000);
    const shard = topology.shardFor(code);
    const [route, position] = await Promise.all([
      decideWithStrategies(strategies(config, c.env), { code, cookieHeader, nowSeconds }),
      judgeClientPosition(config, {
        topology,
        shard,
        cookieHeader,
        headerValue: c.req.header(POSITION_HEADER) ?? null,
        nowSeconds,
      }),
    ]);
    // A client the strategies send to the primary may have just written the link: only a
    // gateway can answer it. A position token for this shard is answered from the cache only by
    // an entry a replica read at or past it (cache/README.md, "Exact for the writer").
    const linkCache = linkCaches.for(config);
    const hit = linkCache
      ? await linkCache.get(code, {
          nowMs: now,
          bypass: route === "primary" || position?.kind === "lost",
          position:
            position?.kind === "wait"
              ? { shard, timeline: currentTimeline(topology.historyOf(shard)), lsn: position.lsn }
              : undefined,
        })
      : null;
    if (hit) {
      return answerLink(c, code, hit.entry.answer, {
        "x-firstclick-route": cacheRouteHeader(hit.tier, shard),
      });
    }
    const plan = planRedirect({
      topology,
      code,
      route,
      replicaStart: replicaCursor,
      fallback: config.strategies.has("fallback"),
      position,
      nowMs: now,
    });
    replicaCursor = (replicaCursor + 1) % 1_000_000;
    const result = await resolveRedirect(plan, code, {
      fetcher,
      timeoutMs: config.upstreamTimeoutMs,
      takeFallback: () => fallbackBudget(config, Date.now()).tryTake(Date.now()),
    });
    if (!result.ok) {
      logError(`redirect /${code}: every node of shard ${result.shard} failed: ${result.failures}`);
      return problemPage(c, shardsUnavailable(code), {
        "retry-after": String(RETRY_AFTER_SECONDS),
      });
    }
    const routed = { "x-firstclick-route": routeHeader(result.servedBy, result.shard) };
    const { answer } = result;
    linkCache?.put(code, answer, {
      nowMs: Date.now(),
      background: background(c),
      readAt: { shard: result.shard, timeline: currentTimeline(topology.historyOf(result.shard)) },
    });
    if (answer.kind === "missing") {
      return problemPage(c, plan.lost ? linkLost(code) : linkNotFound(code), routed);
    }
    return answerLink(c, code, answer, routed);
  });

  app.notFound((c) => problemPage(c, NOT_FOUND));

  app.onError((error, c) => {
    // hono's middleware (bearer-auth, body-limit) answers by throwing its response.
    if (error instanceof HTTPException) return error.getResponse();
    if (error instanceof EdgeConfigError) {
      logError(error.message);
      return problemPage(c, {
        status: 500,
        type: PROBLEM.misconfigured,
        title: "Edge misconfigured",
        detail: error.message,
      });
    }
    logError(`edge: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return problemPage(c, {
      status: 500,
      type: PROBLEM.internal,
      title: "Internal Server Error",
      detail: "Something went wrong on our side.",
    });
  });

  // A stranger's click on a link held in this isolate's memory is answered before the router
  // (cache/hit-path.ts); everything else is routed as above. `app.request` calls `app.fetch`.
  const viaRouter = app.fetch;
  const hitPath = { topology: cache, linkCaches };
  app.fetch = (request, env, ctx) =>
    (env && answerFromMemory(request, env as EdgeBindings, ctx, hitPath)) ||
    viaRouter(request, env, ctx);

  return app;
}
