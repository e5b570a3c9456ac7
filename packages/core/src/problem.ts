/**
 * RFC 9457 problem details, the one error shape of every firstclick HTTP answer (origin API,
 * edge pages in JSON, internal routes). The `type` URIs are stable identifiers (tag: URIs,
 * RFC 9457 §3.1.1), not links; `detail` tells the caller what to change.
 */

export const PROBLEM = {
  validation: "tag:firstclick,2026:validation-failed",
  malformedJson: "tag:firstclick,2026:malformed-json",
  unsupportedMediaType: "tag:firstclick,2026:unsupported-media-type",
  payloadTooLarge: "tag:firstclick,2026:payload-too-large",
  aliasTaken: "tag:firstclick,2026:alias-taken",
  linkNotFound: "tag:firstclick,2026:link-not-found",
  linkGone: "tag:firstclick,2026:link-gone",
  /** A write the client was told succeeded was lost when its shard failed over (position token). */
  linkLost: "tag:firstclick,2026:link-lost-in-failover",
  /** A replica gateway has not replayed the position the request asked for (strategy position). */
  replicaBehind: "tag:firstclick,2026:replica-behind",
  unauthorized: "tag:firstclick,2026:unauthorized",
  rateLimited: "tag:firstclick,2026:rate-limited",
  noTopology: "tag:firstclick,2026:no-topology",
  shardUnavailable: "tag:firstclick,2026:shard-unavailable",
  shardsUnavailable: "tag:firstclick,2026:shards-unavailable",
  originUnavailable: "tag:firstclick,2026:origin-unavailable",
  replicationTimeout: "tag:firstclick,2026:replication-timeout",
  /** The link's code is being moved to another shard (resharding, switching phase): retry. */
  resharding: "tag:firstclick,2026:resharding",
  badSnapshot: "tag:firstclick,2026:bad-topology-snapshot",
  notFound: "tag:firstclick,2026:not-found",
  methodNotAllowed: "tag:firstclick,2026:method-not-allowed",
  misconfigured: "tag:firstclick,2026:misconfigured",
  internal: "tag:firstclick,2026:internal-error",
} as const;

export type ProblemType = (typeof PROBLEM)[keyof typeof PROBLEM] | "about:blank";

export interface Problem {
  type: ProblemType;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** The one builder: a problem+json Response that no cache keeps. */
export function problem(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, "cache-control": "no-store", ...headers },
  });
}
