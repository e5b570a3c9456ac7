import { z } from "zod";

/**
 * The shard gateway's answer for `GET /links/:code`, the contract between the gateway (which
 * builds it with these schemas) and the edge (which checks every answer with them before it
 * redirects anyone). docs/architecture.md, "Shard gateway".
 */

export const REDIRECT_STATUSES = [301, 302, 307, 308] as const;
export type RedirectStatus = (typeof REDIRECT_STATUSES)[number];

/** HTTP status per kind of answer. */
export const GATEWAY_STATUS = {
  found: 200,
  missing: 404,
  gone: 410,
  /** The node is down or its database does not answer: ask the next node. */
  unavailable: 503,
} as const;

const isoTime = z.iso.datetime({ offset: true });

/** 200: the link, with the time of its last write (the cache tiers by it). */
export const LinkFoundSchema = z.object({
  code: z.string().min(1).max(64),
  url: z
    .string()
    .max(4096)
    .refine((u) => (u.startsWith("https://") || u.startsWith("http://")) && URL.canParse(u), {
      error: "an absolute http(s) URL",
    }),
  redirectStatus: z.union(REDIRECT_STATUSES.map((s) => z.literal(s))),
  expiresAt: isoTime.nullable(),
  updatedAt: isoTime,
});
export type LinkFound = z.infer<typeof LinkFoundSchema>;

/** 410: deleted or expired. */
export const LinkGoneSchema = z.object({
  code: z.string().min(1).max(64),
  reason: z.enum(["deleted", "expired"]),
  updatedAt: isoTime.optional(),
});
export type LinkGone = z.infer<typeof LinkGoneSchema>;

/** 404: no such code on this node. */
export const LinkMissingSchema = z.object({ error: z.literal("not_found") });

/** What the edge makes of a node's answer. */
export type LinkAnswer =
  | { kind: "found"; url: string; redirectStatus: RedirectStatus; updatedAt: string }
  | { kind: "missing" }
  | { kind: "gone"; reason: "deleted" | "expired" };

/**
 * Reads one gateway answer (status + parsed JSON body) into a LinkAnswer, or null when it is
 * not a well-formed answer of that status (the edge then treats the node as failed).
 */
export function parseLinkAnswer(status: number, body: unknown): LinkAnswer | null {
  if (status === GATEWAY_STATUS.found) {
    const r = LinkFoundSchema.safeParse(body);
    return r.success
      ? {
          kind: "found",
          url: r.data.url,
          redirectStatus: r.data.redirectStatus,
          updatedAt: r.data.updatedAt,
        }
      : null;
  }
  if (status === GATEWAY_STATUS.gone) {
    const r = LinkGoneSchema.safeParse(body);
    return r.success ? { kind: "gone", reason: r.data.reason } : null;
  }
  if (status === GATEWAY_STATUS.missing) {
    return LinkMissingSchema.safeParse(body).success ? { kind: "missing" } : null;
  }
  return null;
}
