import { isShortCode } from "@firstclick/core";
import { Hono } from "hono";
import type { Sql } from "postgres";
import { findLink, nodeHealth } from "./db.ts";

export interface GatewayAppOptions {
  /** A pool to this node's own database (see db.ts `connect`). */
  db: Sql;
  nodeId: string;
  /** Errors are reported here (default: console.error); tests silence them. */
  logError?: (message: string) => void;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The shard gateway: one per PostgreSQL node, reading only that node's database. The edge calls
 * `GET /links/:code`; operators and benchmarks call `GET /health`.
 */
export function createGatewayApp({ db, nodeId, logError = console.error }: GatewayAppOptions) {
  // Served `/links/*` requests, whatever their answer: the benchmarks read it from /health to
  // see where the edge sent its reads.
  let linkReads = 0;
  const app = new Hono();

  app.get("/links/:code", async (c) => {
    linkReads++;
    const code = c.req.param("code");
    // The same filter the edge applies: nothing that cannot be a code reaches the database.
    if (!isShortCode(code)) return c.json({ error: "not_found" }, 404);
    let lookup: Awaited<ReturnType<typeof findLink>>;
    try {
      lookup = await findLink(db, code);
    } catch (error) {
      logError(`gateway ${nodeId}: link lookup failed: ${describe(error)}`);
      // 503 (not 500): the edge reads it as "this node cannot answer now" and tries another.
      return c.json({ error: "database_unavailable" }, 503);
    }
    switch (lookup.kind) {
      case "found":
        return c.json(lookup.link, 200);
      case "gone":
        return c.json({ code: lookup.code, reason: lookup.reason }, 410);
      case "missing":
        return c.json({ error: "not_found" }, 404);
    }
  });

  app.get("/health", async (c) => {
    try {
      const health = await nodeHealth(db);
      return c.json({ nodeId, ...health, linkReads });
    } catch (error) {
      return c.json({ nodeId, error: "database_unavailable", detail: describe(error) }, 503);
    }
  });

  app.notFound((c) => c.json({ error: "not_found" }, 404));
  app.onError((error, c) => {
    logError(`gateway ${nodeId}: ${describe(error)}`);
    return c.json({ error: "internal" }, 500);
  });
  return app;
}
