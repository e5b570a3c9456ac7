import { PROBLEM, type Problem, problem } from "@firstclick/core";
import { HTTPException } from "hono/http-exception";
import type { StoredLink } from "../links/store.ts";

/**
 * The error answers every route shares. A handler throws a `ProblemError` where it cannot go on,
 * so the typed handlers return only their success answers; `answerError` (the app's onError)
 * turns it, and hono's own HTTP errors, into core's problem+json.
 */

export class ProblemError extends Error {
  readonly problem: Problem;
  readonly headers: Record<string, string>;

  constructor(p: Problem, headers: Record<string, string> = {}) {
    super(p.detail);
    this.problem = p;
    this.headers = headers;
  }
}

/** Seconds a client should wait before retrying a write to an unavailable shard. */
export const RETRY_AFTER_SECONDS = 5;

export function unavailable(
  detail: string,
  type: Problem["type"] = PROBLEM.shardUnavailable,
): ProblemError {
  return new ProblemError(
    { type, title: "Service unavailable", status: 503, detail },
    { "retry-after": String(RETRY_AFTER_SECONDS) },
  );
}

/** Seconds a client should wait before retrying a write refused while its link moves. */
export const MOVING_RETRY_AFTER_SECONDS = 1;

/** A resharding's switching phase: writes of the codes that change shard wait (reshard.ts). */
export function linkMoving(code: string): ProblemError {
  return new ProblemError(
    {
      type: PROBLEM.resharding,
      title: "Link is moving",
      status: 503,
      detail: `The link "${code}" is being moved to another shard; changes to it are paused for about a second and nothing was written. Retry shortly.`,
    },
    { "retry-after": String(MOVING_RETRY_AFTER_SECONDS) },
  );
}

export function linkNotFound(code: string): ProblemError {
  return new ProblemError({
    type: PROBLEM.linkNotFound,
    title: "Link not found",
    status: 404,
    detail: `There is no link with the code "${code}".`,
  });
}

export function linkGone(link: StoredLink): ProblemError {
  return new ProblemError({
    type: PROBLEM.linkGone,
    title: "Link gone",
    status: 410,
    detail: link.deletedAt
      ? `The link "${link.code}" was deleted at ${link.deletedAt.toISOString()}.`
      : `The link "${link.code}" expired at ${link.expiresAt?.toISOString() ?? "an earlier time"}.`,
    reason: link.deletedAt ? "deleted" : "expired",
  });
}

/** The client's position token says a failover lost its write, and the link is missing. */
export function linkLost(code: string): ProblemError {
  return new ProblemError({
    type: PROBLEM.linkLost,
    title: "Link lost in a failover",
    status: 410,
    detail: `The link "${code}" was created, then lost when its database failed over before a replica had it. Create it again.`,
  });
}

export function unauthorized(presented: boolean): ProblemError {
  return new ProblemError(
    {
      type: PROBLEM.unauthorized,
      title: "Unauthorized",
      status: 401,
      detail: presented
        ? "The credentials do not match this link. Use the editToken returned when the link was created, or the admin key."
        : "Send `Authorization: Bearer <editToken>` (the token returned when the link was created) or the admin key.",
    },
    {
      "www-authenticate": presented
        ? 'Bearer realm="firstclick", error="invalid_token"'
        : 'Bearer realm="firstclick"',
    },
  );
}

export function methodNotAllowed(allow: string): Response {
  return problem(
    {
      type: PROBLEM.methodNotAllowed,
      title: "Method not allowed",
      status: 405,
      detail: `Allowed methods: ${allow}.`,
    },
    { allow },
  );
}

export function routeNotFound(): Response {
  return problem({
    type: PROBLEM.notFound,
    title: "Not found",
    status: 404,
    detail: "No such route. The API is under /api/links; its description is /api/openapi.json.",
  });
}

/** hono's own refusals (the body validators throw these) in the API's words. */
function fromHttpException(error: HTTPException): Problem {
  if (error.status === 415) {
    return {
      type: PROBLEM.unsupportedMediaType,
      title: "Unsupported media type",
      status: 415,
      detail: 'Send the body as JSON with "Content-Type: application/json".',
    };
  }
  if (error.status === 400) {
    return {
      type: PROBLEM.malformedJson,
      title: "Malformed JSON",
      status: 400,
      detail: "The request body is not valid JSON; send a JSON object.",
    };
  }
  return { type: "about:blank", title: error.message, status: error.status, detail: error.message };
}

export function answerError(error: Error, logError: (message: string) => void): Response {
  if (error instanceof ProblemError) return problem(error.problem, error.headers);
  if (error instanceof HTTPException) return problem(fromHttpException(error));
  logError(`origin: unexpected error: ${error.stack ?? error.message}`);
  return problem({
    type: PROBLEM.internal,
    title: "Internal error",
    status: 500,
    detail: "Something went wrong on our side; nothing about your request was wrong.",
  });
}
