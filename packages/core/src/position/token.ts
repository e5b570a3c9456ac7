import { cookieValues, MAX_COOKIE_HEADER_LENGTH } from "../cookie-header.ts";
import { RYOW_CLOCK_SKEW_SECONDS } from "../ryow.ts";
import { sign, signatureMatches, usableSecrets } from "../signing.ts";
import { compareLsn } from "./lsn.ts";
import { formatPosition, type Position, parsePosition } from "./position.ts";

/**
 * The position token: the highest position per shard a client wrote, each with the unix time
 * of that write. The origin hands it out after every write (cookie `ryow_pos`, response header
 * and body field), the edge reads it on each redirect. Value, a cookie-octet string:
 *
 *   s0:2/0/3000060@1800000000|s1:1/16/B374D848@1800000042.<base64url HMAC-SHA256>
 *
 * entries oldest first, the signature over `ryow_pos=<entries>` (so no other signed value of
 * ours can be replayed as a token). Without a secret the signature is left off and unsigned
 * tokens are accepted: a forged position can at most send that client's reads to a replica that
 * has caught up, or on to the primary, one extra subrequest per redirect.
 */

export const POSITION_COOKIE = "ryow_pos";
/** Response header with the token after a write; request header to send it back on a redirect. */
export const POSITION_HEADER = "x-firstclick-position";
export const DEFAULT_POSITION_TTL_SECONDS = 86_400;
/** One entry per shard, at most this many; the oldest write is dropped first. */
export const MAX_POSITION_ENTRIES = 16;
/** The entries' text is kept under this many bytes (oldest dropped): a cookie is capped at 4 KiB. */
export const MAX_POSITION_PAYLOAD_LENGTH = 1024;
/** Longer input is not looked at: the payload, a dot and a 43-character signature. */
export const MAX_POSITION_TOKEN_LENGTH = MAX_POSITION_PAYLOAD_LENGTH + 1 + 43;
/** At most this many `ryow_pos` cookies in one header are read (e.g. a parent-domain copy). */
export const MAX_POSITION_CANDIDATES = 4;

export interface PositionEntry extends Position {
  /** Unix seconds of the write: the entry is dropped `ttlSeconds` later. */
  readonly writtenAt: number;
}
/** Oldest write first, one entry per shard. */
export type PositionToken = readonly PositionEntry[];

export interface ReadPositionTokenOptions {
  /** `[current, previous?]`: a token signed with any of them is accepted (key rotation). */
  secrets?: readonly (string | undefined)[];
  ttlSeconds: number;
  /** When given, entries for other shards are dropped (the ring's shard ids). */
  knownShards?: readonly string[];
}

export interface SerializePositionCookieOptions {
  ttlSeconds: number;
  secure: boolean;
}

const WRITTEN_AT = /^\d{1,12}$/;
// RFC 6265 cookie-octet: no control characters, space, quote, comma, semicolon or backslash.
const COOKIE_OCTETS = /^[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*$/;

/** Timeline first (a later timeline is a later write), then LSN. */
export function comparePositions(a: Position, b: Position): -1 | 0 | 1 {
  if (a.timeline !== b.timeline) return a.timeline < b.timeline ? -1 : 1;
  return compareLsn(a.lsn, b.lsn);
}

function entryText(e: PositionEntry): string {
  return `${formatPosition(e)}@${e.writtenAt}`;
}

function payloadOf(token: PositionToken): string {
  return token.map(entryText).join("|");
}

function byWrittenAt(a: PositionEntry, b: PositionEntry): number {
  return a.writtenAt - b.writtenAt;
}

/**
 * The token after a write at `position`: that shard's entry becomes the higher of the two
 * positions, written now; then the oldest entries go until at most MAX_POSITION_ENTRIES remain
 * and their text fits MAX_POSITION_PAYLOAD_LENGTH. Pure; throws RangeError on a bad position.
 */
export function mergePosition(
  token: PositionToken | null,
  position: Position,
  nowSeconds: number,
): PositionToken {
  // Normalised (PostgreSQL's spelling of the LSN), and a RangeError when not a position.
  const normal = parsePosition(formatPosition(position));
  if (!normal) throw new RangeError(`not a position: ${JSON.stringify(position)}`);
  if (!Number.isFinite(nowSeconds) || nowSeconds < 0) {
    throw new RangeError(`nowSeconds must be a non-negative number (got ${String(nowSeconds)})`);
  }
  const previous = token?.find((e) => e.shard === normal.shard);
  const higher = previous && comparePositions(previous, normal) > 0 ? previous : normal;
  const entry: PositionEntry = {
    shard: normal.shard,
    timeline: higher.timeline,
    lsn: higher.lsn,
    writtenAt: Math.floor(nowSeconds),
  };
  const next = [...(token ?? []).filter((e) => e.shard !== normal.shard), entry].sort(byWrittenAt);
  while (
    next.length > MAX_POSITION_ENTRIES ||
    payloadOf(next).length > MAX_POSITION_PAYLOAD_LENGTH
  ) {
    next.shift();
  }
  return next;
}

/** The token as the string clients carry (cookie value, header, body field). */
export async function encodePositionToken(token: PositionToken, secret?: string): Promise<string> {
  const payload = payloadOf(token);
  return secret ? `${payload}.${await sign(secret, `${POSITION_COOKIE}=${payload}`)}` : payload;
}

/** The `Set-Cookie` value for an encoded token. Throws RangeError on a bad value or lifetime. */
export function serializePositionCookie(value: string, o: SerializePositionCookieOptions): string {
  if (!COOKIE_OCTETS.test(value) || value.length > MAX_POSITION_TOKEN_LENGTH) {
    throw new RangeError("a position token must be a cookie-octet string of bounded length");
  }
  if (!Number.isInteger(o.ttlSeconds) || o.ttlSeconds < 1) {
    throw new RangeError(`ttlSeconds must be a positive integer (got ${String(o.ttlSeconds)})`);
  }
  return `${POSITION_COOKIE}=${value}; Max-Age=${o.ttlSeconds}; Path=/; HttpOnly; SameSite=Lax${o.secure ? "; Secure" : ""}`;
}

/** The entries of a payload, or null when any part is malformed (the whole token is refused). */
function decodePayload(payload: string): PositionEntry[] | null {
  if (payload === "") return null;
  const parts = payload.split("|", MAX_POSITION_ENTRIES + 1);
  if (parts.length > MAX_POSITION_ENTRIES) return null;
  const entries: PositionEntry[] = [];
  for (const part of parts) {
    const at = part.lastIndexOf("@");
    const time = part.slice(at + 1);
    const position = at === -1 ? null : parsePosition(part.slice(0, at));
    if (!position || !WRITTEN_AT.test(time)) return null;
    if (entries.some((e) => e.shard === position.shard)) return null;
    entries.push({ ...position, writtenAt: Number(time) });
  }
  return entries;
}

async function readOne(
  value: string,
  nowSeconds: number,
  o: ReadPositionTokenOptions,
  secrets: readonly string[],
): Promise<PositionEntry[]> {
  if (value.length > MAX_POSITION_TOKEN_LENGTH) return [];
  const dot = value.indexOf(".");
  const payload = dot === -1 ? value : value.slice(0, dot);
  const entries = decodePayload(payload)?.filter(
    (e) =>
      e.writtenAt >= nowSeconds - o.ttlSeconds &&
      e.writtenAt <= nowSeconds + RYOW_CLOCK_SKEW_SECONDS &&
      (o.knownShards === undefined || o.knownShards.includes(e.shard)),
  );
  // Checked before the signature: a token with nothing left costs no crypto.
  if (!entries || entries.length === 0) return [];
  // Without secrets a signature, if present, is ignored: removing the secret keeps old tokens.
  if (secrets.length === 0) return entries;
  if (dot === -1) return [];
  const ok = await signatureMatches(`${POSITION_COOKIE}=${payload}`, value.slice(dot + 1), secrets);
  return ok ? entries : [];
}

/**
 * The verified entries a request carries: the `ryow_pos` cookies (up to
 * MAX_POSITION_CANDIDATES) and the `x-firstclick-position` header together, highest position
 * per shard, oldest write first. Never throws: a token that is unsigned (while a secret is
 * set), badly signed, malformed or oversized counts as absent; an entry older than the lifetime,
 * from the future, or for a shard not in `knownShards` is dropped. A timeline from the future
 * is judgePosition's to ignore (it needs the shard's history).
 */
export async function readPositionToken(
  cookieHeader: string | null | undefined,
  headerValue: string | null | undefined,
  nowSeconds: number,
  o: ReadPositionTokenOptions,
): Promise<PositionToken> {
  try {
    if (!Number.isFinite(nowSeconds) || !Number.isFinite(o.ttlSeconds)) return [];
    const values: string[] = [];
    if (typeof cookieHeader === "string" && cookieHeader.length <= MAX_COOKIE_HEADER_LENGTH) {
      values.push(...cookieValues(cookieHeader, POSITION_COOKIE, MAX_POSITION_CANDIDATES));
    }
    if (typeof headerValue === "string" && headerValue.length <= MAX_POSITION_TOKEN_LENGTH) {
      values.push(headerValue.trim());
    }
    if (values.length === 0) return [];
    const secrets = usableSecrets(o.secrets);
    const best = new Map<string, PositionEntry>();
    for (const value of new Set(values)) {
      for (const entry of await readOne(value, nowSeconds, o, secrets)) {
        const seen = best.get(entry.shard);
        if (!seen || comparePositions(entry, seen) > 0) best.set(entry.shard, entry);
      }
    }
    return [...best.values()].sort(byWrittenAt);
  } catch {
    return [];
  }
}
