import {
  DEFAULT_POSITION_TTL_SECONDS,
  isShortCode,
  type Position,
  PROBLEM,
  type RyowWindow,
  serializeRyowCookie,
  type Topology,
} from "@firstclick/core";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { LinkView } from "../links/schemas.ts";
import {
  type LinkStore,
  ReplicationTimeoutError,
  type ShardPrimary,
  ShardUnavailableError,
  type StoredLink,
} from "../links/store.ts";
import { hashEditToken, matchesHash } from "../links/token.ts";
import type { RateLimiter } from "../rate-limit.ts";
import type { StatsDeps } from "../stats/deps.ts";
import type { TopologyView } from "../topology/state.ts";
import { WriteGate } from "../topology/write-gate.ts";
import { linkNotFound, type ProblemError, unauthorized, unavailable } from "./answers.ts";
import { bearerToken } from "./credentials.ts";
import { type PositionTokens, positionTokens } from "./positions.ts";

/** Something that remembers recent writes for the edge's Redis strategy (`SET ryow:<code>`). */
export interface WriteTracker {
  track(code: string): Promise<void>;
}

/** Tells the edge's link cache to forget a code after an edit or delete; never rejects. */
export interface EdgePurge {
  purge(code: string): Promise<void>;
}

export interface OriginAppConfig {
  /** The short domain: short links are `${publicBaseUrl}/${code}`; its host is never a target. */
  publicBaseUrl: string;
  ryowWindow: RyowWindow;
  ryowSecret?: string | undefined;
  /** Still accepted when reading a position token (key rotation). */
  ryowPreviousSecret?: string | undefined;
  /** RYOW_POSITION_TTL_SECONDS: the `ryow_pos` cookie's Max-Age and each entry's lifetime. */
  positionTtlSeconds?: number | undefined;
  adminKey?: string | undefined;
}

export interface OriginDeps {
  store: LinkStore;
  topology: TopologyView;
  rateLimiter: RateLimiter;
  /** The key the create rate limit counts per (the client's IP; see env CLIENT_IP_HEADER). */
  clientKey: (c: Context) => string;
  config: OriginAppConfig;
  now?: () => Date;
  tracker?: WriteTracker | undefined;
  /** The edge cache's purge (links/edge-purge.ts); absent without EDGE_URL. */
  edgePurge?: EdgePurge | undefined;
  /** Click analytics (ingest, stats, QR); without it those routes are not mounted. */
  stats?: StatsDeps | undefined;
  /** Link writes in flight by topology version (reshard acknowledgements); default: a new one. */
  writes?: WriteGate | undefined;
  /** Whether the edge has been sent topology `version` (EdgePublisher); default: always. */
  edgeHas?: ((version: number) => boolean) | undefined;
  logError?: (message: string) => void;
}

export type OriginApp = OpenAPIHono;

/** What every route needs besides its own request: the deps, and the steps routes share. */
export interface RouteContext {
  readonly deps: OriginDeps;
  readonly config: OriginAppConfig;
  readonly now: () => Date;
  readonly logError: (message: string) => void;
  readonly positions: PositionTokens;
  view(link: StoredLink): LinkView;
  isExpired(link: StoredLink): boolean;
  /** The current topology; without one, a 503. */
  topology(): Topology;
  /** The shard and primary node that own `code`; a shard without a primary is a 503. */
  primaryFor(topology: Topology, code: string): ShardPrimary;
  /**
   * A link write (create, update, delete) under the current topology, counted in flight under
   * its version until it settles: a resharding's acknowledgement waits for it (reshard-acks.ts).
   */
  write<T>(fn: (topology: Topology) => Promise<T>): Promise<T>;
  /** Whether a write of `code` must be refused now (core Topology#writeFrozen, given the edge). */
  writeFrozen(topology: Topology, code: string): boolean;
  /** Runs a store call; the store's failures become 503s with Retry-After, never 500s. */
  guarded<T>(what: string, fn: () => Promise<T>): Promise<T>;
  /**
   * The link and its primary, for the routes with a `:code`; 404 when there is none, or what
   * `missing` says (GET: 410 when the client's position says a failover lost it). Under
   * `topology` when given (a write's), else the current one.
   */
  locate(
    code: string,
    missing?: (at: ShardPrimary, topology: Topology) => Promise<ProblemError>,
    topology?: Topology,
  ): Promise<{ at: ShardPrimary; link: StoredLink; topology: Topology }>;
  /** Checks the bearer credential against the link's token hash or the admin key (401). */
  authorize(c: Context, link: StoredLink): void;
  /**
   * After a write: the Redis strategy's key, the RYOW cookie, and, when the store learned the
   * write's position, the merged position token (header and cookie), returned for the body.
   */
  confirmWrite(
    c: Context,
    code: string,
    written: { topology: Topology; position: Position | null },
  ): Promise<string | undefined>;
}

/** A route module: `app.openapi(route, handler)` with what it needs from `ctx`. */
export type MountRoute = (app: OriginApp, ctx: RouteContext) => void;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function createRouteContext(deps: OriginDeps): RouteContext {
  const { store, config } = deps;
  const now = deps.now ?? (() => new Date());
  const logError = deps.logError ?? console.error;
  const writes = deps.writes ?? new WriteGate();
  const adminKeyHash = config.adminKey ? hashEditToken(config.adminKey) : null;
  const secureCookie = config.publicBaseUrl.startsWith("https:");
  const positions = positionTokens({
    secret: config.ryowSecret,
    previousSecret: config.ryowPreviousSecret,
    ttlSeconds: config.positionTtlSeconds ?? DEFAULT_POSITION_TTL_SECONDS,
    secureCookie,
    now,
  });

  const topology = (): Topology => {
    const current = deps.topology.current();
    if (current) return current;
    throw unavailable(
      "The origin has not loaded the shard topology yet (etcd unreachable since start). Retry in a few seconds.",
      PROBLEM.noTopology,
    );
  };

  const primaryFor = (current: Topology, code: string): ShardPrimary => {
    const shard = current.shardFor(code);
    const node = current.primaryOf(shard);
    if (!node) {
      throw unavailable(
        `Shard ${shard} has no primary right now (a failover is in progress). Retry in a few seconds.`,
      );
    }
    return { shard, node };
  };

  const guarded = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ShardUnavailableError) {
        logError(`${what}: shard ${error.shard} unavailable: ${error.message}`);
        throw unavailable(
          `The database for shard ${error.shard} is not reachable right now; nothing was changed. Retry in a few seconds.`,
        );
      }
      if (error instanceof ReplicationTimeoutError) {
        logError(`${what}: ${error.message}`);
        throw unavailable(
          error.committedOnPrimary
            ? `The change was saved on shard ${error.shard}'s primary but no replica confirmed it in time; it becomes visible everywhere once the replicas catch up. Retrying the same request is safe.`
            : `No replica of shard ${error.shard} confirmed the write in time, so it was undone: nothing was created. Retry in a few seconds.`,
          PROBLEM.replicationTimeout,
        );
      }
      throw error;
    }
  };

  return {
    deps,
    config,
    now,
    logError,
    positions,
    view: (link) => ({
      code: link.code,
      shortUrl: `${config.publicBaseUrl}/${link.code}`,
      url: link.url,
      expiresAt: link.expiresAt ? link.expiresAt.toISOString() : null,
      redirectStatus: link.redirectStatus,
      createdAt: link.createdAt.toISOString(),
      updatedAt: link.updatedAt.toISOString(),
    }),
    isExpired: (link) => link.expiresAt !== null && link.expiresAt.getTime() <= now().getTime(),
    topology,
    primaryFor,
    guarded,
    writeFrozen: (under, code) =>
      under.reshard !== null && under.writeFrozen(code, deps.edgeHas?.(under.version) ?? true),
    write: (fn) => {
      const current = topology();
      return writes.run(current.version, () => fn(current));
    },
    locate: async (code, missing, under) => {
      // Anything that cannot be a code is not looked up anywhere.
      if (!isShortCode(code)) throw linkNotFound(code.slice(0, 80));
      const current = under ?? topology();
      const at = primaryFor(current, code);
      const link = await guarded(`find ${code}`, () => store.find(at, code));
      if (!link) throw missing ? await missing(at, current) : linkNotFound(code);
      return { at, link, topology: current };
    },
    authorize: (c, link) => {
      const header = c.req.header("authorization");
      const token = bearerToken(header);
      if (token === null) throw unauthorized(header !== undefined);
      // Both comparisons always run: the time taken does not say which one matched.
      const byToken = matchesHash(token, link.editTokenHash);
      const byAdmin = adminKeyHash !== null && matchesHash(token, adminKeyHash);
      if (!byToken && !byAdmin) throw unauthorized(true);
    },
    confirmWrite: async (c, code, written) => {
      if (deps.tracker) {
        // Awaited before answering, so the creator's first click cannot overtake the key (the
        // redis strategy's only promise); the tracker bounds it with a short timeout. Best
        // effort: a Redis outage degrades RYOW for the redis strategy, it does not fail a write
        // already committed.
        try {
          await deps.tracker.track(code);
        } catch (error) {
          logError(`ryow tracking of ${code} failed: ${describe(error)}`);
        }
      }
      const cookie = await serializeRyowCookie({
        nowSeconds: now().getTime() / 1000,
        window: config.ryowWindow,
        secure: secureCookie,
        ...(config.ryowSecret ? { secret: config.ryowSecret } : {}),
      });
      c.header("set-cookie", cookie, { append: true });
      return written.position
        ? await positions.answer(c, written.topology, written.position)
        : undefined;
    },
  };
}
