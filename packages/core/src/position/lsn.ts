/**
 * PostgreSQL WAL positions (LSNs) in their text form `X/Y`: the high and low 32 bits of a 64-bit
 * byte offset, in hex, up to 8 digits each (what `pg_current_wal_lsn()::text` prints). Compared
 * as two uint32 halves, exactly: a float cannot hold 64 bits and BigInt is not needed for `<`.
 */

const LSN_PATTERN = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const TWO_32 = 2 ** 32;

export interface Lsn {
  readonly hi: number;
  readonly lo: number;
}

/** `"16/B374D848"` → its halves, or null when it is not an LSN's text form. Never throws. */
export function parseLsn(text: unknown): Lsn | null {
  if (typeof text !== "string" || text.length > 17) return null;
  const m = LSN_PATTERN.exec(text);
  if (!m?.[1] || !m[2]) return null;
  return { hi: Number.parseInt(m[1], 16), lo: Number.parseInt(m[2], 16) };
}

export function isLsn(text: unknown): text is string {
  return parseLsn(text) !== null;
}

/** PostgreSQL's own spelling: upper-case hex without leading zeros (`0/3000060`). */
export function formatLsn(lsn: Lsn): string {
  return `${lsn.hi.toString(16).toUpperCase()}/${lsn.lo.toString(16).toUpperCase()}`;
}

/** An LSN as the byte integer Patroni stores (its `history` key), or null out of range. */
export function lsnFromBytes(bytes: number): Lsn | null {
  if (!Number.isSafeInteger(bytes) || bytes < 0) return null;
  return { hi: Math.floor(bytes / TWO_32), lo: bytes % TWO_32 };
}

function compareParsed(a: Lsn, b: Lsn): -1 | 0 | 1 {
  if (a.hi !== b.hi) return a.hi < b.hi ? -1 : 1;
  if (a.lo !== b.lo) return a.lo < b.lo ? -1 : 1;
  return 0;
}

/** -1, 0 or 1 as `a` is before, at or after `b`. Throws RangeError on a malformed LSN. */
export function compareLsn(a: string | Lsn, b: string | Lsn): -1 | 0 | 1 {
  const pa = typeof a === "string" ? parseLsn(a) : a;
  const pb = typeof b === "string" ? parseLsn(b) : b;
  if (!pa || !pb) throw new RangeError(`not an LSN: ${JSON.stringify(pa ? b : a)}`);
  return compareParsed(pa, pb);
}
