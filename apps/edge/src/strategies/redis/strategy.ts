import type { RyowStrategy } from "../strategy.ts";

/**
 * The `redis` strategy (kept to measure it against `cookie`): the origin sets `ryow:<code>` for
 * the window after every create and edit; here every redirect asks Redis whether the code was
 * written recently, and a fresh code is read from the primary by everyone. That is one extra
 * network round trip on every redirect, which is the cost the cookie strategy avoids.
 *
 * Failure policy: Redis is an optimisation of freshness, never a dependency of the redirect. A
 * lookup that errors or does not answer within the timeout counts as "not fresh" (replica), and
 * the redirect goes on.
 */

/**
 * Asks Redis whether `code` was written inside the window. Rejects on any failure; `signal`
 * aborts when the strategy stops waiting, so the lookup can release its connection at once.
 */
export type FreshnessLookup = (code: string, signal: AbortSignal) => Promise<boolean>;

export interface RedisStrategyOptions {
  timeoutMs: number;
  logError: (message: string) => void;
  /** Minimum time between two logged failures, so an outage does not log once per redirect. */
  logEveryMs?: number;
  now?: () => number;
}

export function redisStrategy(
  lookup: FreshnessLookup,
  options: RedisStrategyOptions,
): RyowStrategy {
  const now = options.now ?? Date.now;
  const logEveryMs = options.logEveryMs ?? 10_000;
  let lastLogged = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  const report = (code: string, error: unknown) => {
    const at = now();
    if (at - lastLogged < logEveryMs) {
      suppressed++;
      return;
    }
    const more = suppressed > 0 ? ` (${suppressed} similar failures not logged)` : "";
    lastLogged = at;
    suppressed = 0;
    options.logError(
      `redis strategy: lookup of ${code} failed, reading a replica: ${describe(error)}${more}`,
    );
  };
  return {
    name: "redis",
    async route(query) {
      try {
        const fresh = await withTimeout((signal) => lookup(query.code, signal), options.timeoutMs);
        return fresh ? "primary" : "replica";
      } catch (error) {
        report(query.code, error);
        return "replica";
      }
    },
  };
}

export class RedisTimeoutError extends Error {
  override readonly name = "RedisTimeoutError";
}

/**
 * Runs `task`, or rejects with RedisTimeoutError after `ms` and aborts the signal it was given.
 * The timer never outlives the task.
 */
export function withTimeout<T>(task: (signal: AbortSignal) => Promise<T>, ms: number): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new RedisTimeoutError(`no answer within ${ms} ms`);
      controller.abort(error);
      reject(error);
    }, ms);
  });
  return Promise.race([task(controller.signal), timeout]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/** The key the origin sets after a create or edit, and the edge reads on every redirect. */
export function ryowKey(code: string): string {
  return `ryow:${code}`;
}

/**
 * What a `GET ryow:<code>` reply means: any value is a hit, nil a miss, anything else a failure
 * (node-redis throws error replies itself).
 */
export function isFreshReply(reply: unknown): boolean {
  if (reply === null) return false;
  if (typeof reply === "string") return true;
  throw new Error(`redis: unexpected reply to GET: ${JSON.stringify(reply)}`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
