/** Runs a task past the response: the request's `ExecutionContext.waitUntil`. */
export type Background = (task: Promise<unknown>) => void;

/**
 * The request's `waitUntil`; without an ExecutionContext (`app.request` in a unit test) the task
 * runs on its own, its failure ignored.
 */
export function backgroundOf(
  ctx: { waitUntil(task: Promise<unknown>): void } | undefined,
): Background {
  return (task) => {
    if (ctx) ctx.waitUntil(task);
    else void task.catch(() => {});
  };
}
