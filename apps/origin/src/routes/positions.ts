import {
  encodePositionToken,
  mergePosition,
  POSITION_HEADER,
  type Position,
  type PositionToken,
  readPositionToken,
  serializePositionCookie,
  type Topology,
} from "@firstclick/core";
import type { Context } from "hono";

/**
 * The position token on the origin's side (strategy `position`, core's position/token.ts):
 * read what a request carries (the `ryow_pos` cookies and the `x-firstclick-position` header,
 * verified with the current or previous RYOW secret), and after a write answer with that
 * token merged with the write's position, signed, in the header and the cookie, so the cookie
 * holds the highest position per shard this browser wrote. A forged or stale incoming token
 * reads as empty: the answer then holds the new write's position alone.
 */

export interface PositionTokenOptions {
  secret?: string | undefined;
  previousSecret?: string | undefined;
  ttlSeconds: number;
  secureCookie: boolean;
  now: () => Date;
}

export interface PositionTokens {
  /** The verified entries the request carries, for the shards of `topology`'s ring. */
  read(c: Context, topology: Topology): Promise<PositionToken>;
  /** Sets the merged token on the answer (header and cookie) and returns it for the body. */
  answer(c: Context, topology: Topology, position: Position): Promise<string>;
}

export function positionTokens(o: PositionTokenOptions): PositionTokens {
  const nowSeconds = () => o.now().getTime() / 1000;
  const read = (c: Context, topology: Topology) =>
    readPositionToken(c.req.header("cookie"), c.req.header(POSITION_HEADER), nowSeconds(), {
      secrets: [o.secret, o.previousSecret],
      ttlSeconds: o.ttlSeconds,
      knownShards: topology.snapshot.ring.shards,
    });
  return {
    read,
    answer: async (c, topology, position) => {
      const merged = mergePosition(await read(c, topology), position, nowSeconds());
      const token = await encodePositionToken(merged, o.secret);
      c.header(POSITION_HEADER, token);
      c.header(
        "set-cookie",
        serializePositionCookie(token, { ttlSeconds: o.ttlSeconds, secure: o.secureCookie }),
        { append: true },
      );
      return token;
    },
  };
}
