/**
 * HMAC-SHA256 signatures for the values the origin hands to clients and the edge checks without
 * a network call (the `ryow_until` cookie, the position token). One key cache and one encoding
 * (unpadded base64url, so a signed value stays a valid cookie-octet string and header value).
 */

const utf8 = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

// base64url of a 32-byte HMAC-SHA256, unpadded.
const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      utf8.encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    // Secrets come from configuration, so this stays tiny; the bound only guards misuse.
    if (keys.size >= 16) keys.clear();
    keys.set(secret, key);
    // A failed import is not cached: the next call retries.
    key.catch(() => keys.delete(secret));
  }
  return key;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(s: string): Uint8Array<ArrayBuffer> {
  const binary = atob(s.replaceAll("-", "+").replaceAll("_", "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** base64url(HMAC-SHA256(secret, payload)), 43 characters. */
export async function sign(secret: string, payload: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), utf8.encode(payload));
  return toBase64Url(new Uint8Array(mac));
}

/** True when `signature` is the HMAC of `payload` under any of `secrets` (key rotation). */
export async function signatureMatches(
  payload: string,
  signature: string,
  secrets: readonly string[],
): Promise<boolean> {
  if (!SIGNATURE_PATTERN.test(signature)) return false;
  const mac = fromBase64Url(signature);
  const data = utf8.encode(payload);
  for (const secret of secrets) {
    if (await crypto.subtle.verify("HMAC", await hmacKey(secret), mac, data)) return true;
  }
  return false;
}

/** `[current, previous?]` from configuration: unset or empty secrets are dropped. */
export function usableSecrets(secrets: readonly (string | undefined)[] | undefined): string[] {
  return (secrets ?? []).filter((s): s is string => typeof s === "string" && s !== "");
}
