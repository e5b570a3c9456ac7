/**
 * Read-your-own-writes cookie. The origin sets `ryow_until` after a create or edit; the edge
 * reads it on each redirect and, inside the window, routes that client to the shard primary.
 * Everything here is in memory: no network call per redirect.
 *
 * Value: unix seconds of the window's end, or `session` when the window lasts until the browser
 * session ends. With a secret the value is `<until>.<base64url HMAC-SHA256(secret, until)>`, so a
 * client cannot forge a window; without one a forged cookie can only send that client to a
 * primary for at most the window (the `until ≤ now + window` bound).
 */

import { cookieValues, MAX_COOKIE_HEADER_LENGTH } from "./cookie-header.ts";
import { sign, signatureMatches, usableSecrets } from "./signing.ts";

export { MAX_COOKIE_HEADER_LENGTH };
export const RYOW_COOKIE = "ryow_until";
export const DEFAULT_RYOW_WINDOW_SECONDS = 30;
/** Tolerated clock difference between the origin that signs and the edge that checks. */
export const RYOW_CLOCK_SKEW_SECONDS = 5;
/** At most this many `ryow_until` cookies in one header are examined; any valid one wins. */
export const MAX_RYOW_CANDIDATES = 4;

export type RyowWindow = number | "session";
export type Route = "primary" | "replica";

export interface SerializeRyowCookieOptions {
  nowSeconds: number;
  window: RyowWindow;
  secure: boolean;
  secret?: string;
}

export interface DecideRouteOptions {
  window: RyowWindow;
  /** `[current, previous?]`: a cookie signed with any of them is accepted (key rotation). */
  secrets?: readonly (string | undefined)[];
}

const SESSION_VALUE = "session";
const UNTIL_PATTERN = /^\d{1,12}$/;

function isValidWindow(window: RyowWindow): boolean {
  return window === "session" || (Number.isInteger(window) && window > 0);
}

/** The `Set-Cookie` value for a response to a create or edit. Throws on invalid options. */
export async function serializeRyowCookie(o: SerializeRyowCookieOptions): Promise<string> {
  if (!isValidWindow(o.window)) {
    throw new RangeError(
      `RYOW window must be a positive integer or "session" (got ${String(o.window)})`,
    );
  }
  if (!Number.isFinite(o.nowSeconds) || o.nowSeconds < 0) {
    throw new RangeError(`nowSeconds must be a non-negative number (got ${String(o.nowSeconds)})`);
  }
  const payload =
    o.window === "session" ? SESSION_VALUE : String(Math.floor(o.nowSeconds) + o.window);
  const value = o.secret ? `${payload}.${await sign(o.secret, payload)}` : payload;
  const maxAge = o.window === "session" ? "" : `; Max-Age=${o.window}`;
  return `${RYOW_COOKIE}=${value}${maxAge}; Path=/; HttpOnly; SameSite=Lax${o.secure ? "; Secure" : ""}`;
}

async function isValid(
  value: string,
  nowSeconds: number,
  window: RyowWindow,
  secrets: readonly string[],
): Promise<boolean> {
  const dot = value.indexOf(".");
  const payload = dot === -1 ? value : value.slice(0, dot);
  if (window === "session") {
    if (payload !== SESSION_VALUE) return false;
  } else {
    if (!UNTIL_PATTERN.test(payload)) return false;
    const until = Number(payload);
    if (until < nowSeconds || until > nowSeconds + window + RYOW_CLOCK_SKEW_SECONDS) return false;
  }
  // Without secrets a signature, if present, is ignored: removing the secret keeps old cookies.
  if (secrets.length === 0) return true;
  if (dot === -1) return false;
  return signatureMatches(payload, value.slice(dot + 1), secrets);
}

/**
 * Where a redirect for this client should read: "primary" only inside a valid RYOW window.
 * Never throws; anything malformed, expired, too far in the future or badly signed is "replica".
 * When the header holds several `ryow_until` cookies (e.g. set for a parent domain too), the
 * first MAX_RYOW_CANDIDATES are examined and any valid one wins.
 */
export async function decideRoute(
  cookieHeader: string | null | undefined,
  nowSeconds: number,
  o: DecideRouteOptions,
): Promise<Route> {
  try {
    if (typeof cookieHeader !== "string" || cookieHeader.length > MAX_COOKIE_HEADER_LENGTH) {
      return "replica";
    }
    if (!Number.isFinite(nowSeconds) || !isValidWindow(o.window)) return "replica";
    const values = cookieValues(cookieHeader, RYOW_COOKIE, MAX_RYOW_CANDIDATES);
    if (values.length === 0) return "replica";
    const secrets = usableSecrets(o.secrets);
    for (const value of values) {
      if (await isValid(value, nowSeconds, o.window, secrets)) return "primary";
    }
    return "replica";
  } catch {
    return "replica";
  }
}
