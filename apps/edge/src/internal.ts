import {
  isShortCode,
  PROBLEM,
  parseTopologySnapshot,
  problem,
  TopologyError,
  type TopologySnapshot,
} from "@firstclick/core";
import { type Context, Hono } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { timingSafeEqual } from "hono/utils/buffer";
import type { LinkCaches } from "./cache/link-caches.ts";
import { type EdgeEnv, edgeConfig } from "./env.ts";
import { TOPOLOGY_KV_KEY, type TopologyCache } from "./topology-cache.ts";

/**
 * `PUT|GET /_internal/topology`: the origin publishes snapshots here (docs/architecture.md).
 * `DELETE /_internal/cache/:code`: the origin purges a code from the link cache after an edit or
 * a delete. hono's bearer-auth (and body-limit on the snapshot) guard them; app.ts mounts this
 * under `/_internal`.
 */

/** A snapshot of 1024 shards with a few replicas each stays well below this. */
export const MAX_SNAPSHOT_BYTES = 1024 * 1024;

function json(body: unknown): Response {
  return new Response(JSON.stringify(body), {
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

const unauthorized = () =>
  problem({
    type: PROBLEM.unauthorized,
    title: "Unauthorized",
    status: 401,
    detail: "This internal route needs `Authorization: Bearer <INTERNAL_SECRET>`.",
  });

/**
 * The configured secret, compared by hono's timingSafeEqual (both sides hashed first, so neither
 * the comparison nor the secret's length leaks through timing). No secret: nobody gets in.
 */
async function isInternalSecret(token: string, c: Context<EdgeEnv>): Promise<boolean> {
  const secret = edgeConfig(c.env).internalSecret;
  if (secret === null || secret === "") return false;
  return timingSafeEqual(secret, token);
}

async function putTopology(c: Context<EdgeEnv>, cache: TopologyCache): Promise<Response> {
  let snapshot: TopologySnapshot;
  try {
    snapshot = parseTopologySnapshot(JSON.parse(await c.req.text()));
  } catch (error) {
    const detail =
      error instanceof TopologyError
        ? error.message
        : `the body is not JSON: ${error instanceof Error ? error.message : String(error)}`;
    return problem({
      type: PROBLEM.badSnapshot,
      title: "Invalid topology snapshot",
      status: 400,
      detail,
    });
  }
  // Compare against what every isolate shares, not only this isolate's memory.
  const current = await cache.refresh(c.env.TOPOLOGY, Date.now());
  if (current !== null && snapshot.version <= current.version) {
    return json({ version: current.version, accepted: false });
  }
  await c.env.TOPOLOGY.put(TOPOLOGY_KV_KEY, JSON.stringify(snapshot));
  cache.offer(snapshot);
  return json({ version: snapshot.version, accepted: true });
}

/**
 * Drops the code from this isolate's memory and this location's Cache API (cache/README.md:
 * other isolates and locations keep theirs until the TTL cap).
 */
async function purgeCode(c: Context<EdgeEnv>, caches: LinkCaches): Promise<Response> {
  const code = c.req.param("code") ?? "";
  if (!isShortCode(code)) {
    return problem({
      type: PROBLEM.validation,
      title: "Not a short code",
      status: 400,
      detail: "Purge a short code: 7 base62 characters or a 3–64 character alias.",
    });
  }
  const linkCache = caches.for(edgeConfig(c.env));
  if (!linkCache) return json({ code, cache: "off" });
  const { location } = await linkCache.purge(code, Date.now());
  return json({ code, cache: "on", location });
}

export function internalRoutes(cache: TopologyCache, linkCaches: LinkCaches) {
  const app = new Hono<EdgeEnv>();
  const internalAuth = bearerAuth({
    verifyToken: isInternalSecret,
    realm: "firstclick-internal",
    noAuthenticationHeader: { message: unauthorized },
    invalidToken: { message: unauthorized },
    // RFC 6750 §3.1: a header that is not `Bearer <token68>` is a bad request, not a bad token.
    invalidAuthenticationHeader: {
      message: () =>
        problem({
          type: PROBLEM.unauthorized,
          title: "Malformed Authorization header",
          status: 400,
          detail: "Send `Authorization: Bearer <INTERNAL_SECRET>`.",
        }),
    },
  });
  app.use("/topology", internalAuth);
  app.use("/cache/*", internalAuth);
  app.use(
    "/topology",
    bodyLimit({
      maxSize: MAX_SNAPSHOT_BYTES,
      onError: () =>
        problem({
          type: PROBLEM.payloadTooLarge,
          title: "Snapshot too large",
          status: 413,
          detail: `A topology snapshot is at most ${MAX_SNAPSHOT_BYTES} bytes.`,
        }),
    }),
  );
  app.put("/topology", (c) => putTopology(c, cache));
  app.get("/topology", async (c) => {
    const current = await cache.refresh(c.env.TOPOLOGY, Date.now());
    return json({ version: current?.version ?? null });
  });
  app.all("/topology", () =>
    problem(
      {
        type: PROBLEM.methodNotAllowed,
        title: "Method not allowed",
        status: 405,
        detail: "Use GET or PUT.",
      },
      { allow: "GET, PUT" },
    ),
  );
  app.delete("/cache/:code", (c) => purgeCode(c, linkCaches));
  app.all("/cache/:code", () =>
    problem(
      {
        type: PROBLEM.methodNotAllowed,
        title: "Method not allowed",
        status: 405,
        detail: "Use DELETE to purge a code.",
      },
      { allow: "DELETE" },
    ),
  );
  return app;
}
