import { regexes, z } from "zod";
import { isLsn } from "./position/lsn.ts";
import { PROBLEM, type Problem } from "./problem.ts";

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
  /** The replica has not replayed the request's `minLsn` yet: ask the next node (425 Too Early). */
  behind: 425,
  /** The node is down or its database does not answer: ask the next node. */
  unavailable: 503,
} as const;

/**
 * `GET /links/:code?minLsn=X/Y`: answer the link only once this node has replayed WAL up to
 * `X/Y` (a position's LSN, strategy `position`), otherwise answer "behind". Absent: no minimum.
 */
export const MIN_LSN_PARAM = "minLsn";

const lsn = z.string().refine(isLsn, { error: "an LSN in PostgreSQL's text form X/Y" });

const isoTime = z.iso.datetime({ offset: true });
/** The same check as `isoTime`, zod's own regex, for the fast path below. */
const ISO_TIME = regexes.datetime({ offset: true });

const isHttpUrl = (u: string): boolean =>
  (u.startsWith("https://") || u.startsWith("http://")) && URL.canParse(u);

/**
 * A replica's answers say how far it had replayed WAL before the lookup started (`lsn`): every
 * write up to there is in the answer. The edge's cache keeps it, so a cached answer can serve a
 * position token it satisfies (apps/edge/src/cache/README.md). Absent on a primary's answers.
 */
const answeredAt = lsn.optional();

/** 200: the link, with the time of its last write (the cache tiers by it). */
export const LinkFoundSchema = z.object({
  code: z.string().min(1).max(64),
  url: z.string().max(4096).refine(isHttpUrl, { error: "an absolute http(s) URL" }),
  redirectStatus: z.union(REDIRECT_STATUSES.map((s) => z.literal(s))),
  expiresAt: isoTime.nullable(),
  updatedAt: isoTime,
  lsn: answeredAt,
});
export type LinkFound = z.infer<typeof LinkFoundSchema>;

/** 410: deleted or expired. */
export const LinkGoneSchema = z.object({
  code: z.string().min(1).max(64),
  reason: z.enum(["deleted", "expired"]),
  updatedAt: isoTime.optional(),
  lsn: answeredAt,
});
export type LinkGone = z.infer<typeof LinkGoneSchema>;

/** 404: no such code on this node. */
export const LinkMissingSchema = z.object({ error: z.literal("not_found") });

/** 425: a problem+json body naming how far this node has replayed. */
export const LinkBehindSchema = z.looseObject({
  type: z.literal(PROBLEM.replicaBehind),
  status: z.literal(GATEWAY_STATUS.behind),
  replayLsn: lsn,
});
export type LinkBehind = z.infer<typeof LinkBehindSchema> & Problem;

/** The gateway's 425 body (send it with `problem()`). */
export function linkBehind(replayLsn: string, minLsn: string): LinkBehind {
  return {
    type: PROBLEM.replicaBehind,
    title: "Replica behind",
    status: GATEWAY_STATUS.behind,
    detail: `This node has replayed WAL up to ${replayLsn}, not yet ${minLsn}: ask another node.`,
    replayLsn,
  };
}

/**
 * What the edge makes of a node's answer. `updatedAt` and `expiresAt` are kept for the edge's
 * cache: its TTL grows with the time since the last write, and never outlives the link's expiry.
 */
export type LinkAnswer =
  | {
      kind: "found";
      url: string;
      redirectStatus: RedirectStatus;
      updatedAt: string;
      expiresAt: string | null;
      /** A replica's: WAL it had replayed before the lookup (absent: unknown, a primary). */
      lsn?: string;
    }
  | { kind: "missing" }
  | { kind: "gone"; reason: "deleted" | "expired"; updatedAt?: string; lsn?: string }
  | { kind: "behind"; replayLsn: string };

/**
 * Reads one gateway answer (status + parsed JSON body) into a LinkAnswer, or null when it is
 * not a well-formed answer of that status (the edge then treats the node as failed).
 */
export function parseLinkAnswer(status: number, body: unknown): LinkAnswer | null {
  if (status === GATEWAY_STATUS.found) {
    const fast = foundFast(body);
    if (fast) return fast;
    const r = LinkFoundSchema.safeParse(body);
    if (!r.success) return null;
    const { url, redirectStatus, updatedAt, expiresAt, lsn } = r.data;
    const answer: LinkAnswer = { kind: "found", url, redirectStatus, updatedAt, expiresAt };
    if (lsn !== undefined) answer.lsn = lsn;
    return answer;
  }
  if (status === GATEWAY_STATUS.gone) {
    const r = LinkGoneSchema.safeParse(body);
    if (!r.success) return null;
    const { reason, updatedAt, lsn } = r.data;
    const answer: LinkAnswer = { kind: "gone", reason };
    if (updatedAt !== undefined) answer.updatedAt = updatedAt;
    if (lsn !== undefined) answer.lsn = lsn;
    return answer;
  }
  if (status === GATEWAY_STATUS.missing) {
    return LinkMissingSchema.safeParse(body).success ? { kind: "missing" } : null;
  }
  if (status === GATEWAY_STATUS.behind) {
    const r = LinkBehindSchema.safeParse(body);
    return r.success ? { kind: "behind", replayLsn: r.data.replayLsn } : null;
  }
  return null;
}

/**
 * LinkFoundSchema's checks written out, for the one answer every redirect reads. zod without
 * JIT (workerd forbids `new Function`) takes 5–18 µs per answer there, this 1 µs (4.95 vs 1.06 µs
 * in one run, `npm run bench -w @firstclick/edge`, apps/edge/src/upstream.bench.ts); the schema
 * was 6 % of the edge's busy time per redirect (test/bench/README.md, profile of 7 Dec). It only
 * ever accepts what the schema accepts (link-answer.test.ts checks both on every case); anything
 * else goes to the schema, which decides.
 */
function foundFast(body: unknown): LinkAnswer | null {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  const { code, url, redirectStatus, expiresAt, updatedAt, lsn } = b;
  if (typeof code !== "string" || code.length < 1 || code.length > 64) return null;
  if (typeof url !== "string" || url.length > 4096 || !isHttpUrl(url)) return null;
  if (
    redirectStatus !== 301 &&
    redirectStatus !== 302 &&
    redirectStatus !== 307 &&
    redirectStatus !== 308
  )
    return null;
  if (expiresAt !== null && (typeof expiresAt !== "string" || !ISO_TIME.test(expiresAt)))
    return null;
  if (typeof updatedAt !== "string" || !ISO_TIME.test(updatedAt)) return null;
  if (lsn === undefined) return { kind: "found", url, redirectStatus, updatedAt, expiresAt };
  if (!isLsn(lsn)) return null;
  return { kind: "found", url, redirectStatus, updatedAt, expiresAt, lsn };
}
