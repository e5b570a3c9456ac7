import {
  compareLsn,
  GATEWAY_STATUS,
  isLsn,
  isShortCode,
  type LinkMissingSchema,
  linkBehind,
  MIN_LSN_PARAM,
  PROBLEM,
  problem,
} from "@firstclick/core";
import { Hono } from "hono";
import type { Sql } from "postgres";
import type { z } from "zod";
import { findLink, type LinkLookup, nodeHealth } from "./db.ts";

export interface GatewayAppOptions {
  /** A pool to this node's own database (see db.ts `connect`). */
  db: Sql;
  nodeId: string;
  /** Errors are reported here (default: console.error); tests silence them. */
  logError?: (message: string) => void;
}

// core's LinkMissingSchema: the edge accepts a 404 only with exactly this body.
const NOT_FOUND = { error: "not_found" } as const satisfies z.infer<typeof LinkMissingSchema>;

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The shard gateway: one per PostgreSQL node, reading only that node's database. The edge calls
 * `GET /links/:code[?minLsn=X/Y]` (425 "behind" while this node has not replayed minLsn; a
 * replica's found and gone answers say, as `lsn`, up to where they include every write);
 * operators and benchmarks call `GET /health`.
 */
export function createGatewayApp({ db, nodeId, logError = console.error }: GatewayAppOptions) {
  // Served `/links/*` requests, whatever their answer: the benchmarks read it from /health to
  // see where the edge sent its reads.
  let linkReads = 0;
  /**
   * The replay position read by the last lookup that had finished (null: a primary, none yet,
   * or the last one failed). PostgreSQL takes a lookup's snapshot before it evaluates
   * pg_last_wal_replay_lsn(), so a lookup's own reading can be a little past what its snapshot
   * holds: replay may cross a commit in between and the row come back without it. A reading by
   * a lookup that finished before this one was sent is not: replay only moves forward, and what
   * was replayed before a snapshot is in it. The last reading, not the highest: an older one is
   * only more cautious, and a promoted or rebuilt node must not keep a position from before.
   */
  let lastReplayLsn: string | null = null;
  const app = new Hono();

  /**
   * The lookup, and the WAL position its answer certainly includes (`lsn`, a replica's; null
   * on a primary or while unknown): `lastReplayLsn` as it was when the lookup was sent. A
   * `minLsn` it does not cover, met only by the lookup's own reading, is looked up once more:
   * now a finished lookup has read it.
   */
  async function read(
    code: string,
    minLsn: string | undefined,
  ): Promise<{ lookup: LinkLookup; lsn: string | null }> {
    const known = lastReplayLsn;
    const first = await findLink(db, code, minLsn);
    lastReplayLsn = first.replayLsn;
    if (first.replayLsn === null) return { lookup: first.lookup, lsn: null };
    const raced =
      minLsn !== undefined &&
      first.lookup.kind !== "behind" &&
      (known === null || compareLsn(known, minLsn) < 0);
    if (!raced) return { lookup: first.lookup, lsn: known };
    const again = await findLink(db, code, minLsn);
    lastReplayLsn = again.replayLsn;
    return { lookup: again.lookup, lsn: again.replayLsn === null ? null : first.replayLsn };
  }

  app.get("/links/:code", async (c) => {
    linkReads++;
    const code = c.req.param("code");
    // The same filter the edge applies: nothing that cannot be a code reaches the database.
    if (!isShortCode(code)) return c.json(NOT_FOUND, GATEWAY_STATUS.missing);
    const minLsn = c.req.query(MIN_LSN_PARAM);
    if (minLsn !== undefined && !isLsn(minLsn)) {
      return problem({
        type: PROBLEM.validation,
        title: "Bad minLsn",
        status: 400,
        detail: `${MIN_LSN_PARAM} must be a WAL position in PostgreSQL's text form X/Y.`,
      });
    }
    let lookup: LinkLookup;
    let lsn: string | null;
    try {
      ({ lookup, lsn } = await read(code, minLsn));
    } catch (error) {
      lastReplayLsn = null;
      logError(`gateway ${nodeId}: link lookup failed: ${describe(error)}`);
      // 503 (not 500): the edge reads it as "this node cannot answer now" and tries another.
      return c.json({ error: "database_unavailable" }, GATEWAY_STATUS.unavailable);
    }
    switch (lookup.kind) {
      case "found":
        return c.json(lsn ? { ...lookup.link, lsn } : lookup.link, GATEWAY_STATUS.found);
      case "gone":
        return c.json(lsn ? { ...lookup.link, lsn } : lookup.link, GATEWAY_STATUS.gone);
      case "missing":
        return c.json(NOT_FOUND, GATEWAY_STATUS.missing);
      case "behind":
        return problem(linkBehind(lookup.replayLsn, minLsn ?? "0/0"));
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

  app.notFound((c) => c.json(NOT_FOUND, 404));
  app.onError((error, c) => {
    logError(`gateway ${nodeId}: ${describe(error)}`);
    return c.json({ error: "internal" }, 500);
  });
  return app;
}
