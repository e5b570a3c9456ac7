import { PROBLEM, type Problem, problem } from "@firstclick/core";
import type { Hook } from "@hono/zod-openapi";
import type { Env } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { ProblemError } from "./answers.ts";

/**
 * Request validation in one shape: `{errors: [{field, message}]}` in a 400 problem, whether the
 * schema (through the app's defaultHook) or a handler's own check (target rules, the clock)
 * refused the field.
 */

export interface FieldError {
  /** Dotted path of the offending field in the request body (`url`, `expiresAt`), or `(body)`. */
  field: string;
  message: string;
}

export const MAX_BODY_BYTES = 8 * 1024;

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

/** Ends the request with a 400 naming every field in `errors`. */
export function invalid(errors: FieldError[]): ProblemError {
  return new ProblemError(validationProblem(errors));
}

/** Names fields the way the client sent them; the schemas word the messages (links/schemas.ts). */
export function fieldErrors(issues: readonly z.core.$ZodIssue[]): FieldError[] {
  return issues.map((issue) => ({
    field:
      issue.code === "unrecognized_keys"
        ? issue.keys.join(", ")
        : issue.path.length
          ? issue.path.map(String).join(".")
          : "(body)",
    message: issue.message,
  }));
}

/** The app's one defaultHook: every schema refusal becomes the same 400 problem. */
export const validationHook: Hook<unknown, Env, string, void> = (result) => {
  if (!result.success) throw invalid(fieldErrors(result.error.issues));
};

/** Bodies are small JSON objects: anything larger is cut off while it streams in. */
export const jsonBodyLimit = bodyLimit({
  maxSize: MAX_BODY_BYTES,
  onError: () =>
    problem({
      type: PROBLEM.payloadTooLarge,
      title: "Request body too large",
      status: 413,
      detail: `The request body must be at most ${MAX_BODY_BYTES} bytes of JSON.`,
    }),
});

/** `expiresAt` as sent (the schema checked the format): a future date, or null for none. */
export function parseExpiry(
  raw: string | null | undefined,
  now: Date,
  errors: FieldError[],
): Date | null | undefined {
  if (raw === undefined || raw === null) return raw;
  const at = new Date(raw);
  if (Number.isNaN(at.getTime())) {
    errors.push({ field: "expiresAt", message: "not a valid date-time" });
    return undefined;
  }
  if (at.getTime() <= now.getTime()) {
    errors.push({
      field: "expiresAt",
      message: `must be in the future (it is ${now.toISOString()} now); send null for no expiry`,
    });
  }
  if (at.getUTCFullYear() > 9999) {
    errors.push({ field: "expiresAt", message: "must be before the year 10000" });
  }
  return at;
}
