import { z } from "zod";
import { DEFAULT_POSITION_TTL_SECONDS } from "./position/token.ts";
import { DEFAULT_RYOW_WINDOW_SECONDS, type RyowWindow } from "./ryow.ts";

/**
 * Settings the edge and the origin must read the same way: the consistency strategies, the
 * RYOW window and the position token's lifetime. Both env modules build their schema from these, so a value one side accepts the
 * other accepts too.
 */

export const STRATEGIES = ["cookie", "fallback", "redis", "primary", "position"] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const DEFAULT_STRATEGIES: readonly Strategy[] = ["position"];

/** A zod error as one line: `path: message; path: message` (`(root)` for the whole value). */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length ? issue.path.join(".") : "(root)"}: ${issue.message}`)
    .join("; ");
}

/** Parses an app's environment with its schema, or throws one error naming every bad setting. */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  source: unknown,
  fail: (problems: string) => Error,
): z.output<S> {
  const result = schema.safeParse(source);
  if (!result.success) throw fail(describeIssues(result.error));
  return result.data;
}

/** Unset vars arrive as undefined from wrangler.toml and as "" from shells: same meaning. */
export const optionalSetting = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === "" ? undefined : v), schema.optional());

/** `STRATEGY`: a comma list of strategy names, at least one. */
export const StrategyListSchema = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean),
  )
  .pipe(
    z
      .array(z.enum(STRATEGIES, { error: `a strategy is one of ${STRATEGIES.join(", ")}` }))
      .min(1, "name at least one strategy"),
  );

/** `RYOW_WINDOW_SECONDS`: seconds (1 s – a year) or `session`. */
export const RyowWindowSchema = z.union([
  z.literal("session"),
  z.coerce
    .number()
    .int()
    .min(1)
    .max(366 * 86_400, "at most a year"),
]);

/** `RYOW_POSITION_TTL_SECONDS`: how long a position token entry lives (60 s – 366 days). */
export const PositionTtlSchema = z.coerce
  .number()
  .int()
  .min(60, "at least 60 seconds")
  .max(366 * 86_400, "at most 366 days");

/** The shared part of both env schemas, with defaults applied. */
export const ConsistencySettingsSchema = z.object({
  STRATEGY: optionalSetting(StrategyListSchema).transform(
    (s): Strategy[] => s ?? [...DEFAULT_STRATEGIES],
  ),
  RYOW_WINDOW_SECONDS: optionalSetting(RyowWindowSchema).transform(
    (w): RyowWindow => w ?? DEFAULT_RYOW_WINDOW_SECONDS,
  ),
  RYOW_POSITION_TTL_SECONDS: optionalSetting(PositionTtlSchema).transform(
    (t): number => t ?? DEFAULT_POSITION_TTL_SECONDS,
  ),
  RYOW_SECRET: optionalSetting(z.string()),
  RYOW_PREVIOUS_SECRET: optionalSetting(z.string()),
});
