/**
 * The one way this package waits for something: `poll` a check until it yields a value or a
 * deadline passes, failing with what was awaited (and why, when a check can tell).
 */
import { setTimeout as sleep } from "node:timers/promises";

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Thrown inside a `poll` check to stop polling at once with `cause`. */
export class AbortPoll extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

/**
 * Polls `check` until it returns a value other than undefined, or throws at the deadline with
 * `what` in the message. A check that throws counts as "not yet" (its last error is reported);
 * one that throws AbortPoll stops the wait at once.
 */
export async function poll<T>(
  check: () => Promise<T | undefined> | T | undefined,
  options: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof AbortPoll) throw error.cause;
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(
        `timed out after ${options.timeoutMs} ms waiting for ${options.what}${detail}`,
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}

/** `poll` for a synchronous condition (every 50 ms): whether it became true in time. */
export function waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
  return poll(() => (done() ? true : undefined), { timeoutMs, intervalMs: 50, what: "" }).then(
    () => true,
    () => false,
  );
}

/** Awaits every task; throws the first failure only once all have settled (nothing left running). */
export async function settleAll(tasks: readonly (Promise<unknown> | null)[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}
