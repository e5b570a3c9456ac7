/**
 * Short codes and custom aliases. Generated codes are 7 base62 characters from the platform's
 * cryptographic RNG; aliases are chosen by users. Both share one shape, so the edge can reject
 * anything else before it touches a shard.
 */

export const CODE_LENGTH = 7;
export const ALIAS_MIN_LENGTH = 3;
export const ALIAS_MAX_LENGTH = 64;

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// Bytes ≥ 248 (= 4 × 62) are dropped: mapping 0..255 onto 62 symbols with `%` would make the
// first 8 symbols more likely (rejection sampling, no modulo bias).
const ACCEPT_BELOW = 248;

/**
 * First path segments the edge or origin serve themselves, plus words that would confuse users
 * if they were someone's link. Matched case-insensitively. Aliases cannot contain dots, so
 * `favicon.ico`, `robots.txt` and `openapi.json` are already impossible; their stems are here.
 */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  "_internal",
  "about",
  "admin",
  "api",
  "app",
  "assets",
  "docs",
  "favicon",
  "health",
  "help",
  "links",
  "login",
  "logout",
  "metrics",
  "openapi",
  "robots",
  "signup",
  "sitemap",
  "static",
  "status",
  "well-known",
  "www",
]);

/**
 * A new random code: CODE_LENGTH characters of [0-9A-Za-z], unbiased. Never a reserved word
 * (7-letter ones such as "metrics" exist), so every generated code passes isShortCode.
 */
export function generateCode(): string {
  for (;;) {
    const code = randomBase62(CODE_LENGTH);
    if (!RESERVED_WORDS.has(code.toLowerCase())) return code;
  }
}

function randomBase62(length: number): string {
  let code = "";
  // Each byte is rejected with p = 8/256, so 16 bytes almost always suffice; loop for the rest.
  const bytes = new Uint8Array(16);
  while (code.length < length) {
    crypto.getRandomValues(bytes);
    for (let i = 0; i < bytes.length && code.length < length; i++) {
      const b = bytes[i] as number;
      if (b < ACCEPT_BELOW) code += BASE62[b % 62];
    }
  }
  return code;
}

function isAliasChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) || // 0-9
    (c >= 65 && c <= 90) || // A-Z
    (c >= 97 && c <= 122) || // a-z
    c === 95 || // _
    c === 45 // -
  );
}

function hasOnlyAliasChars(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    if (!isAliasChar(s.charCodeAt(i))) return false;
  }
  return true;
}

export type AliasCheck = { ok: true } | { ok: false; reason: string };

/** Whether a user-chosen alias is acceptable; the reason is a sentence fit for an API error. */
export function checkAlias(alias: string): AliasCheck {
  if (typeof alias !== "string") return { ok: false, reason: "An alias must be a string." };
  if (alias.length < ALIAS_MIN_LENGTH || alias.length > ALIAS_MAX_LENGTH) {
    return {
      ok: false,
      reason: `An alias must be ${ALIAS_MIN_LENGTH} to ${ALIAS_MAX_LENGTH} characters long (got ${alias.length}).`,
    };
  }
  if (!hasOnlyAliasChars(alias)) {
    return {
      ok: false,
      reason: "An alias may only contain letters A-Z and a-z, digits, '_' and '-'.",
    };
  }
  if (RESERVED_WORDS.has(alias.toLowerCase())) {
    return { ok: false, reason: `"${alias}" is reserved and cannot be used as an alias.` };
  }
  return { ok: true };
}

/**
 * The edge's pre-network filter for the first path segment: true only for alias-shaped,
 * non-reserved strings (generated codes are alias-shaped). The segment is taken as it appears in
 * the path: a percent-encoded segment is not a code.
 */
export function isShortCode(segment: string): boolean {
  return (
    typeof segment === "string" &&
    segment.length >= ALIAS_MIN_LENGTH &&
    segment.length <= ALIAS_MAX_LENGTH &&
    hasOnlyAliasChars(segment) &&
    !RESERVED_WORDS.has(segment.toLowerCase())
  );
}
