/**
 * RFC 9457 problem details. Every error the API returns has this shape, with a `detail` that
 * tells the caller what to change; the `type` URIs are stable identifiers, not links.
 */

export const PROBLEM = {
  validation: "tag:firstclick,2026:validation-failed",
  malformedJson: "tag:firstclick,2026:malformed-json",
  unsupportedMediaType: "tag:firstclick,2026:unsupported-media-type",
  payloadTooLarge: "tag:firstclick,2026:payload-too-large",
  aliasTaken: "tag:firstclick,2026:alias-taken",
  linkNotFound: "tag:firstclick,2026:link-not-found",
  linkGone: "tag:firstclick,2026:link-gone",
  unauthorized: "tag:firstclick,2026:unauthorized",
  rateLimited: "tag:firstclick,2026:rate-limited",
  noTopology: "tag:firstclick,2026:no-topology",
  shardUnavailable: "tag:firstclick,2026:shard-unavailable",
  replicationTimeout: "tag:firstclick,2026:replication-timeout",
  notFound: "tag:firstclick,2026:not-found",
  methodNotAllowed: "tag:firstclick,2026:method-not-allowed",
  internal: "tag:firstclick,2026:internal-error",
} as const;

export interface FieldError {
  /** Dotted path of the offending field in the request body (`url`, `expiresAt`), or `(body)`. */
  field: string;
  message: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problemResponse(problem: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, "cache-control": "no-store", ...headers },
  });
}

export function validationProblem(errors: FieldError[]): Problem {
  const first = errors[0];
  return {
    type: PROBLEM.validation,
    title: "Invalid request",
    status: 400,
    detail:
      errors.length === 1 && first
        ? `${first.field}: ${first.message}`
        : `${errors.length} fields are invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join("; ")}`,
    errors,
  };
}
