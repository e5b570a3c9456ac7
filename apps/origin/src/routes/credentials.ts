import type { MiddlewareHandler } from "hono";
import { unauthorized } from "./answers.ts";

/**
 * `Authorization: Bearer <editToken | admin key>` for the routes that change a link. hono's
 * bearer-auth compares against fixed tokens; here the token to match is the link's own hash,
 * known only after the lookup, so the route checks it (RouteContext.authorize).
 */

const MAX_AUTHORIZATION_LENGTH = 1024;

export function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header.length > MAX_AUTHORIZATION_LENGTH) return null;
  const match = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(header);
  return match?.[1] ?? null;
}

/** Without any credential the request ends here: its body is not even read. */
export const requireBearer: MiddlewareHandler = async (c, next) => {
  const header = c.req.header("authorization");
  if (bearerToken(header) === null) throw unauthorized(header !== undefined);
  await next();
};
