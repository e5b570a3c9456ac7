import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Edit tokens: handed out once at creation, only their SHA-256 (hex) is stored, so a database
 * leak does not let anyone edit links.
 */

/** 32 random bytes, base64url (43 characters). */
export function newEditToken(): string {
  return randomBytes(32).toString("base64url");
}

export function hashEditToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/**
 * Constant-time comparison of a presented secret against a stored SHA-256 hex hash: both sides
 * are fixed-length digests, so neither the content nor the length of the secret leaks.
 */
export function matchesHash(presented: string, storedHashHex: string): boolean {
  const given = createHash("sha256").update(presented, "utf8").digest();
  const stored = Buffer.from(storedHashHex, "hex");
  return stored.length === given.length && timingSafeEqual(given, stored);
}
