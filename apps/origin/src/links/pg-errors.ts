import postgres from "postgres";

/** How the PostgreSQL LinkStore tells "the primary cannot take this now" from a bug. */

// SQLSTATE classes that mean "this node cannot take the write now", not "the request is wrong":
// 08 connection, 53 resources, 57 operator intervention (shutdown, cancel, cannot connect now),
// 58 system error, 25006 read-only transaction (the node is no longer a primary), 40 rollback.
const UNAVAILABLE_SQLSTATE = /^(08|53|57|58|40)|^25006$/;

export function sqlState(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    if (e instanceof postgres.PostgresError) return e.code;
    e = e instanceof Error ? e.cause : undefined;
  }
  return null;
}

/**
 * The connection itself is lost: postgres.js's own connection errors (CONNECTION_CLOSED, …),
 * socket errors (ECONNRESET, EPIPE), or the server's connection-class and shutdown SQLSTATEs.
 */
export function connectionGone(error: unknown): boolean {
  const state = sqlState(error);
  if (state !== null) return state.startsWith("08") || state.startsWith("57P");
  for (let e: unknown = error, depth = 0; e && depth < 5; depth++) {
    const code = e instanceof Error && "code" in e ? e.code : undefined;
    if (typeof code === "string" && /^(CONNECTION_|CONNECT_TIMEOUT$|E[A-Z]+$)/.test(code)) {
      return true;
    }
    e = e instanceof Error ? e.cause : undefined;
  }
  return false;
}

export function isUnavailable(error: unknown): boolean {
  const state = sqlState(error);
  // Anything that is not a server-side SQL error is the connection failing (refused, reset,
  // timed out, closed, wrong session type).
  return state === null || UNAVAILABLE_SQLSTATE.test(state);
}

/**
 * The root cause only: drizzle's wrapper message repeats the query with its parameters (targets,
 * token hashes), which do not belong in logs.
 */
export function describe(error: unknown): string {
  let e: unknown = error;
  for (let depth = 0; depth < 5 && e instanceof Error && e.cause !== undefined; depth++)
    e = e.cause;
  const state = sqlState(error);
  const message = e instanceof Error ? e.message : String(e);
  return state ? `${message} (SQLSTATE ${state})` : message;
}
